package tlsid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixedHost(t *testing.T, name string) {
	t.Helper()
	old := hostName
	hostName = func() string { return name }
	t.Cleanup(func() { hostName = old })
}

func TestGenerateThenReuse(t *testing.T) {
	fixedHost(t, "esx01.example.com")
	dir := t.TempDir()
	before := time.Now()
	id, err := Load(dir, "", "", []string{"mgmt.example.com", "192.0.2.10", "2001:db8::1", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	if !id.Generated {
		t.Error("first Load: Generated = false")
	}
	if id.CertFile != filepath.Join(dir, "server.crt") || id.KeyFile != filepath.Join(dir, "server.key") {
		t.Errorf("files = %s, %s", id.CertFile, id.KeyFile)
	}
	for path, want := range map[string]os.FileMode{id.KeyFile: 0o600, id.CertFile: 0o644} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode = %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("state dir holds %d entries, want 2 (no temp files left)", len(entries))
	}

	leaf := id.Leaf
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || leaf.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P256() {
		t.Errorf("key is %T, want ECDSA P-256", leaf.PublicKey)
	}
	if leaf.Subject.CommonName != "esx01.example.com" {
		t.Errorf("CN = %q", leaf.Subject.CommonName)
	}
	if got, want := strings.Join(leaf.DNSNames, ","), "esx01.example.com,localhost,mgmt.example.com"; got != want {
		t.Errorf("DNS SANs = %s, want %s", got, want)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got, want := strings.Join(ips, ","), "127.0.0.1,::1,192.0.2.10,2001:db8::1"; got != want {
		t.Errorf("IP SANs = %s, want %s", got, want)
	}
	if d := before.Add(-time.Hour).Sub(leaf.NotBefore); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("NotBefore = %v, want about an hour before %v", leaf.NotBefore, before)
	}
	if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 10*365*24*time.Hour {
		t.Errorf("validity = %v, want 10 years", got)
	}
	// The self-signed certificate verifies as its own root for each SAN.
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"esx01.example.com", "localhost", "mgmt.example.com", "127.0.0.1", "::1", "192.0.2.10"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}
	// The key file is PKCS#8 PEM, readable by openssl and others.
	keyPEM, _ := os.ReadFile(id.KeyFile)
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("key file is not a PRIVATE KEY PEM block")
	}

	again, err := Load(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.Generated {
		t.Error("second Load: Generated = true")
	}
	if again.Fingerprint() != id.Fingerprint() {
		t.Errorf("fingerprint changed: %s then %s", id.Fingerprint(), again.Fingerprint())
	}
}

func TestInterruptedGenerationRetried(t *testing.T) {
	dir := t.TempDir()
	// A key without a certificate: generation stopped after the key was
	// written; no certificate was ever served, so generating again is safe.
	if err := os.WriteFile(filepath.Join(dir, "server.key"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, err := Load(dir, "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !id.Generated {
		t.Error("Generated = false")
	}
}

// writePair writes a certificate and key made to the given validity.
func writePair(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certPath, keyPath string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key) // SEC 1 form, as `openssl ecparam -genkey` writes
	certPath = filepath.Join(dir, name+".crt")
	keyPath = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath, cert
}

func TestConfiguredPair(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	certPath, keyPath, cert := writePair(t, dir, "host.example.com", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	id, err := Load(state, certPath, keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.Generated || id.CertFile != certPath || id.KeyFile != keyPath {
		t.Errorf("identity = Generated %v, %s, %s", id.Generated, id.CertFile, id.KeyFile)
	}
	if id.Fingerprint() != FingerprintOf(cert) {
		t.Errorf("fingerprint = %s, want %s", id.Fingerprint(), FingerprintOf(cert))
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state dir touched when a pair is configured: %v", err)
	}
}

func TestConfiguredPairRefused(t *testing.T) {
	dir := t.TempDir()
	goodCert, goodKey, _ := writePair(t, dir, "good", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	_, otherKey, _ := writePair(t, dir, "other", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	oldCert, oldKey, _ := writePair(t, dir, "old", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("this is not a certificate\n"), 0o644)
	badDER := filepath.Join(dir, "baddder.pem")
	os.WriteFile(badDER, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}}), 0o644)
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name, cert, key string
		want            []string
	}{
		{"mismatch", goodCert, otherKey, []string{otherKey, goodCert, "does not match"}},
		{"cert unreadable", missing, goodKey, []string{missing, "unreadable"}},
		{"cert is a directory", dir, goodKey, []string{dir, "unreadable"}},
		{"key unreadable", goodCert, missing, []string{missing, "unreadable"}},
		{"cert not PEM", garbage, goodKey, []string{garbage, "not PEM"}},
		{"key not PEM", goodCert, garbage, []string{garbage, "not PEM"}},
		{"key file holds a certificate", goodCert, goodCert, []string{goodCert, "no PRIVATE KEY"}},
		{"cert DER invalid", badDER, goodKey, []string{badDER, "invalid"}},
		{"expired", oldCert, oldKey, []string{oldCert, "expired"}},
		{"cert without key", goodCert, "", []string{goodCert, "without a key"}},
		{"key without cert", "", goodKey, []string{goodKey, "without a certificate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(t.TempDir(), tc.cert, tc.key, nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestCorruptStatePairRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(t *testing.T, dir string)
		file    string
	}{
		{"cert not PEM", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "server.crt"), []byte("garbage"), 0o644)
		}, "server.crt"},
		{"key truncated", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "server.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{0x30, 0x01}}), 0o600)
		}, "server.key"},
		{"key replaced", func(t *testing.T, dir string) {
			_, other, _ := writePair(t, t.TempDir(), "other", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			data, _ := os.ReadFile(other)
			os.WriteFile(filepath.Join(dir, "server.key"), data, 0o600)
		}, "server.key"},
		{"key removed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "server.key"))
		}, "server.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			first, err := Load(dir, "", "", nil)
			if err != nil {
				t.Fatal(err)
			}
			tc.corrupt(t, dir)
			certBefore, _ := os.ReadFile(first.CertFile)
			_, err = Load(dir, "", "", nil)
			if err == nil {
				t.Fatal("corrupt state pair accepted")
			}
			for _, w := range []string{filepath.Join(dir, tc.file), "remove", "generate a new identity"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// Nothing was regenerated behind the pinning clients' backs.
			certAfter, _ := os.ReadFile(first.CertFile)
			if string(certAfter) != string(certBefore) {
				t.Error("certificate file changed")
			}
		})
	}
}

func TestExpiredStatePairRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(dir, "", "", nil); err != nil {
		t.Fatal(err)
	}
	old := now
	now = func() time.Time { return time.Now().Add(11 * 365 * 24 * time.Hour) }
	defer func() { now = old }()
	_, err := Load(dir, "", "", nil)
	if err == nil || !strings.Contains(err.Error(), "expired") || !strings.Contains(err.Error(), "remove") {
		t.Fatalf("err = %v", err)
	}
}

func TestFingerprintFormat(t *testing.T) {
	id, err := Load(t.TempDir(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(id.Leaf.Raw)
	var pairs []string
	for _, b := range sum {
		pairs = append(pairs, fmt.Sprintf("%02X", b))
	}
	want := strings.Join(pairs, ":")
	if got := id.Fingerprint(); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if len(want) != 95 {
		t.Errorf("fingerprint length %d, want 95", len(want))
	}
	// The DER in the file is what the fingerprint covers.
	data, _ := os.ReadFile(id.CertFile)
	b, _ := pem.Decode(data)
	if s := sha256.Sum256(b.Bytes); hex.EncodeToString(s[:]) != hex.EncodeToString(sum[:]) {
		t.Error("fingerprint is not of the DER in the certificate file")
	}

	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Log("openssl not installed; skipping the comparison with its output")
		return
	}
	out, err := exec.Command(openssl, "x509", "-noout", "-fingerprint", "-sha256", "-in", id.CertFile).Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	// OpenSSL 3 prints "sha256 Fingerprint=AA:..", 1.1 "SHA256 Fingerprint=AA:..".
	line := strings.TrimSpace(string(out))
	_, fp, ok := strings.Cut(line, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(strings.SplitN(line, "=", 2)[0]), "sha256 Fingerprint") {
		t.Fatalf("unexpected openssl output %q", line)
	}
	if fp != id.Fingerprint() {
		t.Errorf("openssl says %s, Fingerprint %s", fp, id.Fingerprint())
	}
	if n, err := ParseFingerprint(fp); err != nil || n != id.Fingerprint() {
		t.Errorf("ParseFingerprint(openssl output) = %q, %v", n, err)
	}
}

func TestParseFingerprint(t *testing.T) {
	const upper = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"
	plain := strings.ReplaceAll(upper, ":", "")
	for _, tc := range []struct {
		in      string
		want    string
		errWant string
	}{
		{upper, upper, ""},
		{strings.ToLower(upper), upper, ""},
		{plain, upper, ""},
		{strings.ToLower(plain), upper, ""},
		{"  " + upper + "\n", upper, ""},
		{"", "", "empty"},
		{"zz" + plain[2:], "", "not hexadecimal"},
		{plain[:40], "", "SHA-1"},
		{upper[:59], "", "SHA-1"}, // 20 colon-separated pairs
		{plain + "ab", "", "66 hex digits"},
		{plain[:63], "", "63 hex digits"},
		{"ABC:" + upper[3:], "", "pairs"},
		{upper + ":", "", "pairs"},
		{"A:B" + upper[3:], "", "pairs"},
	} {
		got, err := ParseFingerprint(tc.in)
		if tc.errWant == "" {
			if err != nil || got != tc.want {
				t.Errorf("ParseFingerprint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseFingerprint(%q) = %q, want error", tc.in, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.errWant) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
			t.Errorf("ParseFingerprint(%q) error %q: want it to mention %q and the value", tc.in, err, tc.errWant)
		}
	}
}

// pinnedClient returns a client config that accepts exactly the certificate
// with the given fingerprint, as a vCLI --thumbprint client does.
func pinnedClient(pin string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by the pin check below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("no certificate")
			}
			c, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			if got := FingerprintOf(c); got != pin {
				return fmt.Errorf("fingerprint %s does not match pinned %s", got, pin)
			}
			return nil
		},
	}
}

func TestHandshakeWithPinnedFingerprint(t *testing.T) {
	id, err := Load(t.TempDir(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := id.TLSConfig()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				io.WriteString(c, "hello\n")
			}(c)
		}
	}()
	addr := ln.Addr().String()

	pin, err := ParseFingerprint(strings.ToLower(strings.ReplaceAll(id.Fingerprint(), ":", "")))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, pinnedClient(pin))
	if err != nil {
		t.Fatalf("pinned handshake: %v", err)
	}
	got, err := io.ReadAll(conn)
	conn.Close()
	if err != nil || string(got) != "hello\n" {
		t.Errorf("read %q, %v", got, err)
	}
	if v := conn.ConnectionState().Version; v < tls.VersionTLS12 {
		t.Errorf("negotiated version %x", v)
	}

	// A different pin is refused.
	other, err := Load(t.TempDir(), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := tls.Dial("tcp", addr, pinnedClient(other.Fingerprint())); err == nil {
		c.Close()
		t.Error("handshake with a wrong pin succeeded")
	} else if !strings.Contains(err.Error(), "does not match pinned") {
		t.Errorf("wrong pin error = %v", err)
	}

	// TLS 1.1 is refused.
	old := pinnedClient(pin)
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if c, err := tls.Dial("tcp", addr, old); err == nil {
		c.Close()
		t.Error("TLS 1.1 handshake succeeded")
	}

	// A client that verifies the chain normally, trusting the certificate,
	// also succeeds for the "localhost" SAN.
	roots := x509.NewCertPool()
	roots.AddCert(id.Leaf)
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost"}); err != nil {
		t.Errorf("verified handshake: %v", err)
	} else {
		c.Close()
	}
	ln.Close()
	<-done
}
