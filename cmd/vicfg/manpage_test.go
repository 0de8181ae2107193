package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"hostagent/internal/manpage"
	"hostagent/internal/manpage/manpagetest"
	"hostagent/internal/peertest"
	"hostagent/manage/vicfg"
)

// commands are the program's commands and the names each answers to.
var commands = map[string][]string{
	"vicfg-snmp":      {"esxcfg-snmp"},
	"vicfg-syslog":    {"esxcfg-syslog"},
	"vicfg-user":      nil,
	"vicfg-hostops":   nil,
	"vicfg-cfgbackup": nil,
}

// run runs the program as argv, in this process.
func run(argv ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = vicfg.Commands.Main(context.Background(), argv, vicfg.IO{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// helpOption finds an option in --help's output: its short form, if any,
// and its name.
var helpOption = regexp.MustCompile(`(?m)^\s+(?:-([A-Za-z]), )?--([a-z0-9.-]+)`)

// TestManPages: each command's page shows every option its --help shows,
// under the same short form, and man formats it without a warning; the
// hidden --help-man stays out of --help.
func TestManPages(t *testing.T) {
	for name, aliases := range commands {
		code, page, stderr := run(name, "--help-man")
		if code != 0 || stderr != "" {
			t.Fatalf("%s --help-man: exit %d, stderr %q", name, code, stderr)
		}
		_, help, _ := run(name, "--help")
		if strings.Contains(help, "help-man") {
			t.Errorf("%s --help shows --help-man", name)
		}
		opts := helpOption.FindAllStringSubmatch(help, -1)
		if len(opts) < 12 {
			t.Fatalf("%s --help: %d options found, the parse is wrong:\n%s", name, len(opts), help)
		}
		for _, o := range opts {
			tag := `\fB` + manpage.Escape("--"+o[2]) + `\fR`
			if o[1] != "" {
				tag = `\fB` + manpage.Escape("-"+o[1]) + `\fR, ` + tag
			}
			if !strings.Contains(page, ".TP\n"+tag) {
				t.Errorf("%s: the page lacks %s", name, tag)
			}
		}
		for _, a := range append([]string{name}, aliases...) {
			if !strings.Contains(page, manpage.Escape(a)+" \\- ") && !strings.Contains(page, manpage.Escape(a)+", ") {
				t.Errorf("%s: NAME does not name %s", name, a)
			}
		}
		manpagetest.Lint(t, name+".1", []byte(page))
	}
	code, page, stderr := run("vicfg", "--help-man")
	if code != 0 || stderr != "" {
		t.Fatalf("vicfg --help-man: exit %d, stderr %q", code, stderr)
	}
	for name := range commands {
		if !strings.Contains(page, `\fB`+manpage.Escape(name)+`\fR(1)`) {
			t.Errorf("vicfg(1) does not refer to %s(1)", name)
		}
	}
	manpagetest.Lint(t, "vicfg.1", []byte(page))
}

// TestCompletionScript runs the generated script in bash: after vicfg the
// commands, and for each command, under each of its names, the options
// its --help shows.
func TestCompletionScript(t *testing.T) {
	bash := peertest.RequireCommand(t, "bash", "bash")
	code, script, stderr := run("vicfg", "--completion", "bash")
	if code != 0 || stderr != "" {
		t.Fatalf("vicfg --completion bash: exit %d, stderr %q", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "vicfg")
	if err := os.WriteFile(file, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		const src = `source "$1" || exit 1; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
_vicfg || exit 1
printf '%s\n' "${COMPREPLY[@]}"
complete -p "${COMP_WORDS[0]}" >/dev/null || echo "no completion for ${COMP_WORDS[0]}"`
		out, err := exec.Command(bash, append([]string{"--norc", "--noprofile", "-c", src, "bash", file}, words...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("bash completing %q: %v\n%s", words, err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		return got
	}
	var names []string
	for name, aliases := range commands {
		names = append(names, name, strings.TrimPrefix(name, "vicfg-"))
		names = append(names, aliases...)
		_, help, _ := run(name, "--help")
		var want []string
		for _, o := range helpOption.FindAllStringSubmatch(help, -1) {
			want = append(want, "--"+o[2])
			if o[1] != "" {
				want = append(want, "-"+o[1])
			}
		}
		slices.Sort(want)
		for _, n := range append([]string{name}, aliases...) {
			if got := complete(n, "-"); !slices.Equal(got, want) {
				t.Errorf("completing %s -: %q, want %q", n, got, want)
			}
		}
		if got := complete("vicfg", strings.TrimPrefix(name, "vicfg-"), "-"); !slices.Equal(got, want) {
			t.Errorf("completing vicfg %s -: %q, want %q", strings.TrimPrefix(name, "vicfg-"), got, want)
		}
	}
	names = append(names, "--help")
	slices.Sort(names)
	if got := complete("vicfg", ""); !slices.Equal(got, names) {
		t.Errorf("completing vicfg: %q, want %q", got, names)
	}
	if got := complete("vicfg-hostops", "--lockdown", ""); !slices.Equal(got, []string{"disable", "enable", "normal", "strict"}) {
		t.Errorf("completing vicfg-hostops --lockdown: %q", got)
	}
}
