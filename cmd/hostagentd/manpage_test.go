package main_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hostagent/internal/manpage"
	"hostagent/internal/manpage/manpagetest"
)

// TestManPage builds the daemon and reads hostagentd(8) from it: every
// option --help shows is there, the hidden --help-man is not in --help,
// the files and signals are named, and man formats it without a warning.
func TestManPage(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hostagentd")
	if out, err := exec.Command("go", "build", "-o", bin, "hostagent/cmd/hostagentd").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var page, stderr bytes.Buffer
	cmd := exec.Command(bin, "--help-man")
	cmd.Stdout, cmd.Stderr = &page, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("hostagentd --help-man: %v, stderr %q", err, stderr.String())
	}
	// pflag prints --help on stderr.
	help, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("hostagentd --help: %v\n%s", err, help)
	}
	if bytes.Contains(help, []byte("help-man")) {
		t.Errorf("hostagentd --help shows --help-man:\n%s", help)
	}
	opts := regexp.MustCompile(`(?m)^\s+--([a-z0-9.-]+)`).FindAllSubmatch(help, -1)
	if len(opts) < 10 {
		t.Fatalf("hostagentd --help: %d options found, the parse is wrong:\n%s", len(opts), help)
	}
	for _, o := range opts {
		if tag := `.TP` + "\n" + `\fB` + manpage.Escape("--"+string(o[1])) + `\fR`; !strings.Contains(page.String(), tag) {
			t.Errorf("the page lacks --%s", o[1])
		}
	}
	for _, want := range []string{
		`.TH "HOSTAGENTD" "8" ""`,
		`\fB/etc/hostagent/snmp.toml\fR`, `\fB/etc/hostagent/syslog.toml\fR`, `\fB/etc/hostagent/collectors.toml\fR`,
		`\fB/var/lib/hostagent\fR`, `\fB/run/hostagent/api.sock\fR`,
		`\fBSIGTERM, SIGINT\fR`, `\fBSIGHUP\fR`,
		`\fBhostagent\-snmp.toml\fR(5)`, `\fBvicfg\-snmp\fR(1)`, `\fBsnmpd\fR(8)`, `\fBsystemctl\fR(1)`,
	} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	manpagetest.Lint(t, "hostagentd.8", page.Bytes())
}
