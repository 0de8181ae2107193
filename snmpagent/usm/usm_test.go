package usm

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPasswordToKeyRFC3414 checks RFC 3414 A.3.2's SHA vectors: password
// "maplesyrup", engine ID 000000000000000000000002.
func TestPasswordToKeyRFC3414(t *testing.T) {
	ku, err := PasswordToKey(AuthSHA1, []byte("maplesyrup"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "9f b5 cc 03 81 49 7b 37 93 52 89 39 ff 78 8d 5d 79 14 52 11"); !bytes.Equal(ku, want) {
		t.Errorf("Ku = %x, want %x", ku, want)
	}
	kul, err := LocalizeKey(AuthSHA1, ku, unhex(t, "000000000000000000000002"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "66 95 fe bc 92 88 e3 62 82 23 5f c7 15 1f 12 84 97 b3 8f 3f"); !bytes.Equal(kul, want) {
		t.Errorf("Kul = %x, want %x", kul, want)
	}
}

func TestKeyLengths(t *testing.T) {
	for a := AuthSHA1; a <= AuthSHA512; a++ {
		auth, priv, err := LocalizedKeys(a, []byte("authpassword"), []byte("privpassword"), unhex(t, "80007ed90501020304"))
		if err != nil {
			t.Fatal(err)
		}
		if len(auth) != a.KeyLen() || len(priv) != a.KeyLen() || bytes.Equal(auth, priv) {
			t.Errorf("%s: keys %x %x", a, auth, priv)
		}
		for p := PrivAES128; p <= PrivAES256; p++ {
			k := cipherKey(a, p, priv)
			if len(k) != p.KeyLen() || !bytes.Equal(k[:min(len(k), len(priv))], priv[:min(len(k), len(priv))]) {
				t.Errorf("%s/%s: cipher key %x from %x", a, p, k, priv)
			}
		}
	}
	if _, err := PasswordToKey(AuthSHA256, []byte("short")); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short password: %v", err)
	}
}

// TestBlumenthalExtension: SHA1's 20-octet key is extended with SHA1 of
// itself (draft-blumenthal-aes-usm-04 3.1.2.1), as net-snmp's AES256 does.
func TestBlumenthalExtension(t *testing.T) {
	kul := unhex(t, "6695febc9288e36282235fc7151f128497b38f3f")
	got := cipherKey(AuthSHA1, PrivAES256, kul)
	// sha1(6695febc...8f3f), computed independently with sha1sum.
	if want := "6695febc9288e36282235fc7151f128497b38f3f" + "505e07eb9af25568fa1f5dbe"; hex.EncodeToString(got) != want {
		t.Errorf("AES256 key %x, want %s", got, want)
	}
}

func TestParseProtocols(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want AuthProtocol
		err  string
	}{
		{"SHA1", AuthSHA1, ""}, {"sha256", AuthSHA256, ""}, {"SHA-512", AuthSHA512, ""}, {"none", AuthNone, ""},
		{"MD5", 0, "MD5 is a broken hash"}, {"SHA3", 0, `authentication "SHA3" is not supported (allowed: none, SHA1, SHA224, SHA256, SHA384, SHA512)`},
	} {
		got, err := ParseAuthProtocol(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v, want error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
	if _, err := ParseAuthProtocol("md5"); err == nil || !strings.Contains(err.Error(), "ESXi 7") {
		t.Errorf("md5: %v", err)
	}
	if _, err := ParsePrivProtocol("DES"); err == nil || !strings.Contains(err.Error(), "56-bit") {
		t.Errorf("DES: %v", err)
	}
	if p, err := ParsePrivProtocol("aes192"); err != nil || p != PrivAES192 {
		t.Errorf("aes192: %v %v", p, err)
	}
	if _, err := ParsePrivProtocol("AES512"); err == nil || err.Error() != `privacy "AES512" is not supported (allowed: none, AES128, AES192, AES256)` {
		t.Errorf("AES512: %v", err)
	}
	if l, err := ParseLevel("priv"); err != nil || l != AuthPriv {
		t.Errorf("priv: %v %v", l, err)
	}
	if _, err := ParseLevel("secret"); err == nil || !strings.Contains(err.Error(), "none, auth, priv") {
		t.Errorf("level: %v", err)
	}
}

func TestEngineID(t *testing.T) {
	id, err := NewEngineID()
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 13 || !bytes.Equal(id[:5], []byte{0x80, 0x00, 0x7e, 0xd9, 5}) {
		t.Errorf("engine ID %x: want 80007ed905 and 8 random octets", id)
	}
	if back, err := ParseEngineID(FormatEngineID(id)); err != nil || !bytes.Equal(back, id) {
		t.Errorf("round trip %x: %x %v", id, back, err)
	}
	if back, err := ParseEngineID("0x80:00:1f:88:80:59:dc:48:61:45:a2:63:22"); err != nil || len(back) != 13 {
		t.Errorf("with separators: %x %v", back, err)
	}
	for in, msg := range map[string]string{
		"80007ed9":               "4 octets (allowed: 5 to 32 octets)",
		"0000000000":             "reserved",
		"ffffffffff":             "reserved",
		"80007ed90g":             "not a hex string",
		"":                       "not a hex string",
		"80007ed9051":            "not a hex string",
		strings.Repeat("ab", 33): "33 octets",
	} {
		if _, err := ParseEngineID(in); err == nil || !strings.Contains(err.Error(), msg) || !strings.Contains(err.Error(), "engine ID") {
			t.Errorf("ParseEngineID(%q) = %v, want %q", in, err, msg)
		}
	}
}

func TestFormatHashes(t *testing.T) {
	got := FormatHashes(unhex(t, "08248c6eb8b333e75a29ca0af06b224faa7d22d6"), unhex(t, "232ba5cbe8c55b8f979455d3c9ca8b48812adb97"))
	want := "Authhash: 08248c6eb8b333e75a29ca0af06b224faa7d22d6\nPrivhash: 232ba5cbe8c55b8f979455d3c9ca8b48812adb97\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	k, err := ParseKey(`user "ops" authhash`, AuthSHA1, "08248c6eb8b333e75a29ca0af06b224faa7d22d6")
	if err != nil || len(k) != 20 {
		t.Errorf("ParseKey: %x %v", k, err)
	}
	_, err = ParseKey(`user "ops" authhash`, AuthSHA256, "08248c6eb8b333e75a29ca0af06b224faa7d22d6")
	if err == nil || !strings.Contains(err.Error(), `user "ops" authhash: 20 octets, but a SHA256 key has 32`) || strings.Contains(err.Error(), "08248c") {
		t.Errorf("ParseKey with the wrong length: %v (must not show the secret)", err)
	}
}

// TestCFBMatchesStandardLibrary: the hand-written CFB-128 equals crypto/cipher's.
func TestCFBMatchesStandardLibrary(t *testing.T) {
	block, _ := aes.NewCipher(unhex(t, "000102030405060708090a0b0c0d0e0f"))
	var iv [16]byte
	copy(iv[:], "0123456789abcdef")
	for _, n := range []int{0, 1, 15, 16, 17, 100} {
		plain := bytes.Repeat([]byte{0x5a}, n)
		want := make([]byte, n)
		cipher.NewCFBEncrypter(block, iv[:]).XORKeyStream(want, plain) //nolint:staticcheck // the reference
		got := bytes.Clone(plain)
		var ks [16]byte
		cfbEncrypt(block, &iv, &ks, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d octets: %x, want %x", n, got, want)
		}
		cfbDecrypt(block, &iv, got)
		if !bytes.Equal(got, plain) {
			t.Fatalf("%d octets: decrypted %x", n, got)
		}
	}
}

func TestUserValidate(t *testing.T) {
	key := make([]byte, 32)
	for _, tc := range []struct {
		u   User
		err string
	}{
		{User{Name: "", Level: NoAuthNoPriv}, `user name "": 0 octets (allowed: 1 to 32)`},
		{User{Name: strings.Repeat("u", 33)}, "33 octets"},
		{User{Name: "ops", Level: AuthNoPriv}, `user "ops": security level auth needs authentication, but it is none`},
		{User{Name: "ops", Level: AuthNoPriv, Auth: AuthSHA256, AuthKey: key[:20]}, `user "ops": authhash of 20 octets, but a SHA256 key has 32`},
		{User{Name: "ops", Level: AuthPriv, Auth: AuthSHA256, AuthKey: key}, `user "ops": security level priv needs privacy, but it is none`},
		{User{Name: "ops", Level: AuthPriv, Auth: AuthSHA256, Priv: PrivAES128, AuthKey: key, PrivKey: key[:16]}, `privhash of 16 octets`},
		{User{Name: "ops", Level: AuthPriv, Auth: AuthSHA256, Priv: PrivAES128, AuthKey: key, PrivKey: key}, ""},
	} {
		err := tc.u.Validate()
		if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: %v, want %q", tc.u, err, tc.err)
		}
	}
}

func TestClock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "engine.toml")
	for want := uint32(1); want <= 3; want++ {
		c, err := StartClock(path)
		if err != nil {
			t.Fatal(err)
		}
		if b, tm := c.Now(); b != want || tm > 1 {
			t.Errorf("start %d: boots %d time %d", want, b, tm)
		}
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "engine_boots = 3") {
		t.Errorf("file:\n%s", data)
	}
	if err := os.WriteFile(path, []byte("engine_boots = 2147483647\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := StartClock(path); err == nil || !strings.Contains(err.Error(), "maximum") {
		t.Errorf("latched boots: %v", err)
	}
	if err := os.WriteFile(path, []byte("engine_boots = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := StartClock(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt file: %v", err)
	}
}
