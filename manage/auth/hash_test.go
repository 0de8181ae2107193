package auth

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// The production parameters are the specified ones, and new hashes are
// written with them. The kdf is replaced so the test does not spend 64 MiB.
func TestDefaultParams(t *testing.T) {
	want := hashParams{time: 1, memory: 65536, threads: 2, keyLen: 32, saltLen: 16}
	if defaultParams != want {
		t.Fatalf("defaultParams = %+v, want %+v", defaultParams, want)
	}
	s, err := Open(t.TempDir()+"/users.toml", nil)
	must(t, err)
	if s.params != want {
		t.Fatalf("Open uses %+v", s.params)
	}
	var got [4]uint32
	s.kdf = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		got = [4]uint32{time, memory, uint32(threads), keyLen}
		if len(salt) != 16 {
			t.Errorf("salt of %d bytes", len(salt))
		}
		return make([]byte, keyLen)
	}
	must(t, s.AddUser("root", "correct horse", RoleAdministrator))
	if got != [4]uint32{1, 65536, 2, 32} {
		t.Fatalf("kdf called with t,m,p,len = %v", got)
	}
	hash := s.st.users["root"].hash
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=1,p=2$") {
		t.Fatalf("hash %q", hash)
	}
	parts := strings.Split(hash, "$")
	salt, _ := base64.RawStdEncoding.DecodeString(parts[4])
	key, _ := base64.RawStdEncoding.DecodeString(parts[5])
	if len(salt) != 16 || len(key) != 32 {
		t.Fatalf("salt %d bytes, hash %d bytes", len(salt), len(key))
	}
	if s.dummy.memory != 65536 || s.dummy.time != 1 || s.dummy.threads != 2 || len(s.dummy.key) != 32 {
		t.Fatalf("dummy hash does not cost what a real one does: %+v", s.dummy)
	}
}

func TestHashRoundTripAndOtherParams(t *testing.T) {
	for _, p := range []hashParams{
		testParams,
		{time: 2, memory: 32, threads: 2, keyLen: 16, saltLen: 8},
		{time: 3, memory: 64, threads: 4, keyLen: 64, saltLen: 32},
	} {
		h, err := newHash(argon2.IDKey, p, "s3cret-pass")
		must(t, err)
		parsed, err := parseHash(h.String())
		if err != nil {
			t.Fatalf("parse %q: %v", h, err)
		}
		if parsed.String() != h.String() {
			t.Fatalf("round trip %q -> %q", h, parsed)
		}
		if !parsed.verify(argon2.IDKey, "s3cret-pass") {
			t.Errorf("%+v: right password refused", p)
		}
		if parsed.verify(argon2.IDKey, "s3cret-pasS") {
			t.Errorf("%+v: wrong password accepted", p)
		}
	}
}

func TestParseHashRejects(t *testing.T) {
	salt := base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	ok := "$argon2id$v=19$m=65536,t=1,p=2$" + salt + "$" + key
	if _, err := parseHash(ok); err != nil {
		t.Fatalf("valid hash refused: %v", err)
	}
	for _, bad := range []string{
		"",
		"plaintext",
		"$argon2i$v=19$m=65536,t=1,p=2$" + salt + "$" + key,
		"$argon2id$v=16$m=65536,t=1,p=2$" + salt + "$" + key,
		"$argon2id$v=19$t=1,m=65536,p=2$" + salt + "$" + key,  // order
		"$argon2id$v=19$m=065536,t=1,p=2$" + salt + "$" + key, // leading zero
		"$argon2id$v=19$m=65536,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=0,p=2$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=1,p=256$" + salt + "$" + key,
		"$argon2id$v=19$m=15,t=1,p=2$" + salt + "$" + key, // below 8*p
		"$argon2id$v=19$m=99999999,t=1,p=2$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=1000,p=2$" + salt + "$" + key,
		"$argon2id$v=19$m=65536,t=1,p=2$AAAA$" + key,           // short salt
		"$argon2id$v=19$m=65536,t=1,p=2$" + salt + "$AAAA",     // short hash
		"$argon2id$v=19$m=65536,t=1,p=2$" + salt + "==$" + key, // padding
		"$argon2id$v=19$m=65536,t=1,p=2$" + salt + "$" + key + "$",
		"x$argon2id$v=19$m=65536,t=1,p=2$" + salt + "$" + key,
	} {
		if h, err := parseHash(bad); err == nil {
			t.Errorf("parseHash(%q) = %+v, want error", bad, h)
		}
	}
}

// FuzzParseHash: the parser never panics, and whatever it accepts it writes
// back unchanged (one spelling per hash).
func FuzzParseHash(f *testing.F) {
	h, _ := newHash(argon2.IDKey, testParams, "password")
	f.Add(h.String())
	f.Add("$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Add("$$$$$")
	f.Add("$argon2id$v=19$m=18446744073709551616,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if h.String() != s {
			t.Fatalf("accepted %q but writes it as %q", s, h)
		}
		if h.time < 1 || h.threads < 1 || h.memory < 8*uint32(h.threads) {
			t.Fatalf("accepted parameters argon2 cannot use: %+v", h)
		}
	})
}
