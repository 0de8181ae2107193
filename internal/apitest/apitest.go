// Package apitest serves an API handler on a unix socket for the tests of
// the vicfg-* commands, as the daemon serves its console.
package apitest

import (
	"net"
	"net/http"
	"path/filepath"
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
