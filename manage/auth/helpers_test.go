package auth

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

// testParams make hashing cost microseconds; production uses defaultParams.
var testParams = hashParams{time: 1, memory: 8, threads: 1, keyLen: 32, saltLen: 16}

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

type env struct {
	s     *Store
	clock *fakeClock
	path  string
	kdfs  *atomic.Int64 // calls of the key derivation function
}

// newEnv opens a store on a fresh file with the cheap parameters, a fake
// clock and a counting kdf.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{clock: &fakeClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}, path: filepath.Join(t.TempDir(), "users.toml")}
	e.reopen(t)
	return e
}

func (e *env) reopen(t *testing.T) {
	t.Helper()
	s, err := open(e.path, e.clock.now, testParams)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	e.s = s
	e.kdfs = countKDF(s)
}

func countKDF(s *Store) *atomic.Int64 {
	n := new(atomic.Int64)
	s.kdf = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		n.Add(1)
		return argon2.IDKey(password, salt, time, memory, threads, keyLen)
	}
	return n
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (e *env) login(t *testing.T, user, password string) string {
	t.Helper()
	tok, err := e.s.Login(user, password, "192.0.2.1:5000")
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return tok
}
