// Package manpagetest checks a generated manual page with the real man
// toolchain (man-db and groff), as Debian's lintian and a user's man do.
package manpagetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"hostagent/internal/peertest"
)

// Lint formats page (roff) with man --warnings, as man -l FILE would show
// it, and fails the test on any warning or error. file is the page's file
// name (vicfg-snmp.1), for the messages. Without man the test is skipped,
// or fails under CI=true.
func Lint(t testing.TB, file string, page []byte) {
	t.Helper()
	man := peertest.RequireCommand(t, "man", "man-db")
	peertest.RequireCommand(t, "groff", "groff-base")
	path := filepath.Join(t.TempDir(), file)
	if err := os.WriteFile(path, page, 0o644); err != nil {
		t.Fatal(err)
	}
	// -Z stops after troff: its warnings are what matter, not a
	// terminal's rendering. MANWIDTH fixes the line length, so that the
	// result does not depend on the terminal the tests run in.
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", path)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil || stderr.Len() > 0 {
		t.Errorf("man --warnings -l %s: %v\n%s", file, err, stderr.Bytes())
	}
	if stdout.Len() == 0 {
		t.Errorf("man -l %s printed nothing", file)
	}
}
