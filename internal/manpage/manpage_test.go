package manpage_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"hostagent/internal/manpage"
	"hostagent/internal/manpage/manpagetest"
)

// flags are a flag set with each kind of flag the pages show.
func flags() *pflag.FlagSet {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.StringP("server", "s", "", "the daemon, `HOST`, or unix:PATH")
	fs.Int("port", 161, "the UDP `PORT`")
	fs.Bool("show", false, "show the settings")
	fs.String("dir", "/etc/hostagent", `a directory with a \ in its name`)
	fs.StringSlice("root", []string{"/var/log"}, "a `directory`; repeat for several")
	fs.Bool("secret", false, "a hidden flag")
	if err := fs.MarkHidden("secret"); err != nil {
		panic(err)
	}
	return fs
}

func page() *manpage.Page {
	return &manpage.Page{
		Name: "demo-cmd", Aliases: []string{"other-cmd"}, Section: "1",
		Source: "hostagent 0.0.0-dev", Manual: "User Commands",
		Summary:  "show what the renderer does",
		Synopsis: []string{"[--server HOST] OPTIONS"},
		Sections: []manpage.Section{
			{Title: "DESCRIPTION", Text: "First paragraph,\n  on two lines.\n\n.A line that roff would take for a request,\n'and another, and a path C:\\dir."},
			{Title: "OPTIONS", Flags: []*pflag.FlagSet{flags()}},
			{Title: "FILES", Items: []manpage.Item{{Tag: "/etc/hostagent/snmp.toml", Text: "The agent's settings.\n\nA second paragraph."}}},
		},
		SeeAlso: []string{"vicfg(1)", "snmpd(8)"},
	}
}

func render(t *testing.T, p *manpage.Page) string {
	t.Helper()
	var b strings.Builder
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestManPageRoff: the header, the names, the flags with their value names
// and defaults, the escapes, and no hidden flag.
func TestManPageRoff(t *testing.T) {
	out := render(t, page())
	for _, want := range []string{
		".TH \"DEMO\\-CMD\" \"1\" \"\" \"hostagent 0.0.0\\-dev\" \"User Commands\"\n",
		".SH NAME\ndemo\\-cmd, other\\-cmd \\- show what the renderer does\n",
		".SY \"demo\\-cmd\"\n[\\-\\-server HOST] OPTIONS\n.YS\n",
		"First paragraph,\non two lines.\n.PP\n\\&.A line",
		"\n\\&'and another, and a path C:\\edir.\n",
		".TP\n\\fB\\-s\\fR, \\fB\\-\\-server\\fR \\fIHOST\\fR\nthe daemon, HOST, or unix:PATH\n",
		".TP\n\\fB\\-\\-port\\fR \\fIPORT\\fR\nthe UDP PORT (default 161)\n",
		".TP\n\\fB\\-\\-show\\fR\nshow the settings\n",
		"\\fB\\-\\-dir\\fR \\fIstring\\fR\na directory with a \\e in its name (default \"/etc/hostagent\")\n",
		"\\fB\\-\\-root\\fR \\fIdirectory\\fR\na directory; repeat for several (default /var/log)\n",
		".TP\n\\fB/etc/hostagent/snmp.toml\\fR\nThe agent's settings.\n.IP\nA second paragraph.\n",
		".SH \"SEE ALSO\"\n\\fBvicfg\\fR(1),\n\\fBsnmpd\\fR(8)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the page lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("the page shows the hidden flag:\n%s", out)
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "'") {
			t.Errorf("line %d starts with an apostrophe, a roff request: %q", i+1, line)
		}
	}
}

// TestManPageDate: no date unless one is given, so that a build is
// reproducible.
func TestManPageDate(t *testing.T) {
	p := page()
	if a, b := render(t, p), render(t, p); a != b {
		t.Errorf("two renderings differ")
	}
	p.Date = "2026-12-03"
	if out := render(t, p); !strings.HasPrefix(out, `.TH "DEMO\-CMD" "1" "2026\-12\-03" `) {
		t.Errorf("the date given is not in .TH: %s", strings.SplitN(out, "\n", 2)[0])
	}
}

// TestManPageLint: man formats the page without a warning.
func TestManPageLint(t *testing.T) {
	manpagetest.Lint(t, "demo-cmd.1", []byte(render(t, page())))
}

// failures records the errors Lint reports instead of failing the test.
type failures struct {
	testing.TB
	errs []string
}

func (f *failures) Errorf(format string, args ...any) {
	f.errs = append(f.errs, fmt.Sprintf(format, args...))
}

// TestManPageLintFindsWarnings: Lint does catch what man warns about, an
// unknown macro here, so that a silent Lint means a clean page.
func TestManPageLintFindsWarnings(t *testing.T) {
	f := &failures{TB: t}
	manpagetest.Lint(f, "bad.1", []byte(".TH BAD 1\n.SH NAME\nbad \\- a page\n.XX not a macro\n"))
	if len(f.errs) != 1 || !strings.Contains(f.errs[0], "XX") {
		t.Errorf("Lint reported %q, want the warning about macro XX", f.errs)
	}
}
