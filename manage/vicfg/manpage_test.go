package vicfg

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hostagent/internal/manpage"
	"hostagent/internal/manpage/manpagetest"
	"hostagent/internal/peertest"
)

// docRegistry holds vicfg-doc (alias esxcfg-doc), with a hidden option,
// an option taking one of a few words and a switch, and vicfg-plain.
func docRegistry() *Registry {
	var r Registry
	r.Register(&Command{
		Name: "vicfg-doc", Aliases: []string{"esxcfg-doc"}, Short: "document things",
		Synopsis: []string{"[--server unix:PATH] OPTIONS"},
		About:    "Document things, as ESXi's vicfg-doc does.",
		Notes:    "A note with a backslash \\ and\n.a line roff would take for a request.\n",
		Flags: func(fs *pflag.FlagSet) Runner {
			f := &fake{ran: &[]string{}, word: new(string)}
			fs.StringVarP(f.word, "word", "w", "", "a `WORD`")
			fs.String("mode", "", "`on|off|auto` the mode")
			fs.BoolP("show", "s", false, "show them")
			fs.String("internal", "", "not for users")
			if err := fs.MarkHidden("internal"); err != nil {
				panic(err)
			}
			return f
		},
	})
	r.Register(&Command{
		Name: "vicfg-plain", Short: "a command without options", Synopsis: []string{"[CONNECTION OPTIONS]"},
		About: "Nothing.", Flags: func(*pflag.FlagSet) Runner { return &fake{ran: &[]string{}, word: new(string)} },
	})
	return &r
}

// TestManPageFlags: a command's page lists every option its run parses
// but the hidden ones, connection options included, and the variables;
// --help shows no hidden option.
func TestManPageFlags(t *testing.T) {
	r := docRegistry()
	for _, prog := range []string{"vicfg-doc", "esxcfg-doc", "vicfg-plain"} {
		c, _ := r.Lookup(prog)
		code, page, stderr := mainOf(r, prog, "--help-man")
		if code != 0 || stderr != "" {
			t.Fatalf("%s --help-man: exit %d, stderr %q", prog, code, stderr)
		}
		if !strings.HasPrefix(page, `.TH "`+strings.ToUpper(manpage.Escape(c.Name))+`" "1" ""`) {
			t.Errorf("%s: the page is not %s(1), with no date: %.80q", prog, c.Name, page)
		}
		_, help, _ := mainOf(r, prog, "--help")
		cl := c.commandLine(prog)
		visible := 0
		cl.fs.VisitAll(func(f *pflag.Flag) {
			tag := manpage.FlagTag(f)
			switch {
			case f.Hidden && strings.Contains(page, manpage.Escape("--"+f.Name)):
				t.Errorf("%s: the page shows the hidden --%s", prog, f.Name)
			case f.Hidden && strings.Contains(help, "--"+f.Name):
				t.Errorf("%s --help shows the hidden --%s", prog, f.Name)
			case !f.Hidden && !strings.Contains(page, ".TP\n"+tag+"\n"):
				t.Errorf("%s: the page lacks --%s as %q", prog, f.Name, tag)
			case !f.Hidden:
				visible++
			}
		})
		if visible < 11 { // -h and the ten connection options at least
			t.Errorf("%s: %d options checked, want the command's and the connection options", prog, visible)
		}
		for _, ev := range envVars {
			if !strings.Contains(page, ".TP\n\\fB"+ev.env+"\\fR\n") {
				t.Errorf("%s: ENVIRONMENT lacks %s", prog, ev.env)
			}
		}
		for _, section := range []string{"NAME", "SYNOPSIS", `"DESCRIPTION"`, `"OPTIONS"`, `"CONNECTION OPTIONS"`, `"EXIT STATUS"`, `"ENVIRONMENT"`, `"SEE ALSO"`} {
			if !strings.Contains(page, ".SH "+section+"\n") {
				t.Errorf("%s: the page has no %s section", prog, section)
			}
		}
		manpagetest.Lint(t, c.Name+".1", []byte(page))
	}
	_, page, _ := mainOf(r, "vicfg-doc", "--help-man")
	for _, want := range []string{
		".SH NAME\nvicfg\\-doc, esxcfg\\-doc \\- document things\n",
		"\\fB\\-\\-mode\\fR \\fIon|off|auto\\fR\non|off|auto the mode\n",
		".SH \"NOTES\"\nA note with a backslash \\e and\n\\&.a line roff",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("vicfg-doc's page lacks %q:\n%s", want, page)
		}
	}
}

// TestProgramManPage: vicfg(1) names every command and alias, and refers
// to each command's page.
func TestProgramManPage(t *testing.T) {
	r := docRegistry()
	code, page, stderr := mainOf(r, "vicfg", "--help-man")
	if code != 0 || stderr != "" {
		t.Fatalf("vicfg --help-man: exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		".TP\n\\fBvicfg\\-doc, esxcfg\\-doc\\fR\ndocument things; see vicfg\\-doc(1).\n",
		".TP\n\\fBvicfg\\-plain\\fR\n",
		"\\fBvicfg\\-doc\\fR(1),\n\\fBvicfg\\-plain\\fR(1),\n\\fBhostagentd\\fR(8)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("vicfg(1) lacks %q:\n%s", want, page)
		}
	}
	if _, help, _ := mainOf(r, "vicfg", "--help"); strings.Contains(help, "help-man") || strings.Contains(help, "completion") {
		t.Errorf("vicfg --help shows the hidden options:\n%s", help)
	}
	manpagetest.Lint(t, "vicfg.1", []byte(page))
}

// complete runs the completion script in bash for the command line words,
// the cursor at the end of the last one, and returns the candidates.
func complete(t *testing.T, script string, words ...string) []string {
	t.Helper()
	bash := peertest.RequireCommand(t, "bash", "bash")
	file := filepath.Join(t.TempDir(), "vicfg")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	const run = `source "$1" || exit 1; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
_vicfg || exit 1
printf '%s\n' "${COMPREPLY[@]}"
complete -p "${COMP_WORDS[0]##*/}" >/dev/null || echo "no completion for ${COMP_WORDS[0]}"`
	out, err := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", run, "bash", file}, words...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completing %q: %v\n%s", words, err, out)
	}
	got := strings.Fields(string(out))
	slices.Sort(got)
	return got
}

// TestCompletion runs the script in bash: the command names after vicfg,
// each command's options as its run parses them (no hidden one), the
// words of an option's value, and nothing (bash's files) for another
// value.
func TestCompletion(t *testing.T) {
	r := docRegistry()
	code, script, stderr := mainOf(r, "vicfg", "--completion", "bash")
	if code != 0 || stderr != "" {
		t.Fatalf("vicfg --completion bash: exit %d, stderr %q", code, stderr)
	}
	docOptions := []string{"--cacertsfile", "--help", "--mode", "--password", "--password-file", "--portnumber", "--protocol",
		"--savesessionfile", "--server", "--sessionfile", "--show", "--thumbprint", "--username", "--word", "-h", "-s", "-w"}
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"vicfg", ""}, []string{"--help", "doc", "esxcfg-doc", "plain", "vicfg-doc", "vicfg-plain"}},
		{[]string{"vicfg", "esx"}, []string{"esxcfg-doc"}},
		{[]string{"/usr/bin/vicfg-doc", ""}, docOptions},
		{[]string{"esxcfg-doc", "--w"}, []string{"--word"}},
		{[]string{"vicfg", "doc", "-"}, docOptions},
		{[]string{"vicfg", "vicfg-doc", "--s"}, []string{"--savesessionfile", "--server", "--sessionfile", "--show"}},
		{[]string{"vicfg-doc", "--mode", ""}, []string{"auto", "off", "on"}},
		{[]string{"vicfg-doc", "--mode", "=", "o"}, []string{"off", "on"}},
		{[]string{"vicfg-doc", "--word", ""}, nil},
		{[]string{"vicfg-doc", "-w", "--"}, nil},
		{[]string{"vicfg-doc", "--show", "--he"}, []string{"--help"}},
		{[]string{"vicfg", "nosuch", "--"}, nil},
		{[]string{"vicfg-plain", "--h"}, []string{"--help"}},
	} {
		if got := complete(t, script, tc.words...); !slices.Equal(got, tc.want) {
			t.Errorf("completing %q: %q, want %q", tc.words, got, tc.want)
		}
	}
	if code, _, stderr := mainOf(r, "vicfg", "--completion", "zsh"); code != 1 || !strings.Contains(stderr, "bash") {
		t.Errorf("vicfg --completion zsh: exit %d, stderr %q; want 1 and the shells there are", code, stderr)
	}
}
