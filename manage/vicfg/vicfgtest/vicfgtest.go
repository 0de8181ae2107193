// Package vicfgtest serves an API handler on a unix socket for the tests of
// the vicfg-* commands, as the daemon serves its console.
package vicfgtest

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Serve serves h on a new unix socket until the test ends and returns the
// --server value that reaches it.
func Serve(t testing.TB, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return "unix:" + sock
}

// Missing is a --server value where no daemon listens.
func Missing(t testing.TB) string {
	return "unix:" + filepath.Join(t.TempDir(), "missing.sock")
}

// CheckOutput compares what a command printed with what a test case
// expects: the exit code, stdout exactly, and stderr holding each of
// wantStderr (or nothing when wantStderr is empty).
func CheckOutput(t testing.TB, code int, stdout, stderr string, wantCode int, wantStdout string, wantStderr []string) {
	t.Helper()
	if code != wantCode {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, wantCode, stderr)
	}
	if stdout != wantStdout {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantStdout)
	}
	if len(wantStderr) == 0 && stderr != "" {
		t.Errorf("stderr: %s", stderr)
	}
	for _, s := range wantStderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr %q lacks %q", stderr, s)
		}
	}
}
