// Package tlsid gives the daemon its TLS identity: a certificate and key generated on first start (self-signed) or configured, and the fingerprint clients pin.
package tlsid

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"hostagent/internal/configstore"
)

// File names of the generated pair inside the state directory.
const (
	CertName = "server.crt"
	KeyName  = "server.key"
)

// Validity of a generated certificate.
const (
	validFor     = 10 * 365 * 24 * time.Hour
	backdateBy   = time.Hour
	certFileMode = 0o644
	keyFileMode  = 0o600
)

// now is the clock used for validity checks and generation; tests replace it.
var now = time.Now

// hostName returns the name put in a generated certificate; tests replace it.
var hostName = func() string {
	h, err := os.Hostname()
	if err != nil || strings.TrimSpace(h) == "" {
		return "localhost"
	}
	return strings.TrimSpace(h)
}

// Identity is the daemon's certificate and private key.
type Identity struct {
	// Cert is the chain and private key, ready for tls.Config.Certificates.
	Cert tls.Certificate
	// Leaf is the parsed server certificate (the first of the chain).
	Leaf *x509.Certificate
	// Generated is true when this Load created the pair.
	Generated bool
	// CertFile and KeyFile are the files the identity was read from or written to.
	CertFile, KeyFile string
}

// Load returns the identity: the configured certFile/keyFile when both are given
// (errors name the files and what is wrong: unreadable, not PEM, key does not
// match the certificate, expired), else the generated pair in stateDir
// (server.crt, server.key, key mode 0600), generating it when missing: ECDSA P-256,
// valid 10 years from an hour ago, CN = the host name, SANs = the host name,
// "localhost", 127.0.0.1, ::1 and the extra names/IPs given.
//
// An existing pair in stateDir that cannot be used is an error, never
// silently replaced: clients have pinned its fingerprint. The message says
// which files to remove to generate a new identity. The one exception is a
// key without a certificate, left by an interrupted generation (the key is
// written first); that certificate was never served, so it is generated again.
func Load(stateDir, certFile, keyFile string, extraNames []string) (*Identity, error) {
	switch {
	case certFile != "" && keyFile != "":
		id, err := loadPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("tlsid: configured TLS identity: %w", err)
		}
		return id, nil
	case certFile != "":
		return nil, fmt.Errorf("tlsid: certificate file %s is configured without a key file; configure both or neither", certFile)
	case keyFile != "":
		return nil, fmt.Errorf("tlsid: key file %s is configured without a certificate file; configure both or neither", keyFile)
	}
	if stateDir == "" {
		return nil, errors.New("tlsid: no state directory and no configured certificate and key")
	}
	certPath := filepath.Join(stateDir, CertName)
	keyPath := filepath.Join(stateDir, KeyName)
	removeHint := fmt.Sprintf("remove %s and %s to generate a new identity (clients that pinned the old fingerprint must be updated)", certPath, keyPath)

	certExists, err := exists(certPath)
	if err != nil {
		return nil, fmt.Errorf("tlsid: generated TLS identity: %w; %s", err, removeHint)
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, fmt.Errorf("tlsid: generated TLS identity: %w; %s", err, removeHint)
	}
	switch {
	case certExists && keyExists:
		id, err := loadPair(certPath, keyPath)
		if err != nil {
			return nil, fmt.Errorf("tlsid: generated TLS identity: %w; %s", err, removeHint)
		}
		return id, nil
	case certExists:
		return nil, fmt.Errorf("tlsid: generated TLS identity: certificate %s exists but key %s is missing; %s", certPath, keyPath, removeHint)
	}
	id, err := generate(certPath, keyPath, extraNames)
	if err != nil {
		return nil, fmt.Errorf("tlsid: generating TLS identity in %s: %w", stateDir, err)
	}
	return id, nil
}

func exists(path string) (bool, error) {
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return false, fmt.Errorf("%s is not a regular file", path)
		}
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("%s: %w", path, err)
	}
}

// loadPair reads and checks a PEM certificate (chain) and private key.
func loadPair(certPath, keyPath string) (*Identity, error) {
	chain, err := readCerts(certPath)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return nil, err
	}
	leaf := chain[0]
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("private key %s does not match the certificate %s", keyPath, certPath)
	}
	if t := now(); t.After(leaf.NotAfter) {
		return nil, fmt.Errorf("certificate %s expired on %s", certPath, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	raw := make([][]byte, len(chain))
	for i, c := range chain {
		raw[i] = c.Raw
	}
	return &Identity{
		Cert:     tls.Certificate{Certificate: raw, PrivateKey: key, Leaf: leaf},
		Leaf:     leaf,
		CertFile: certPath,
		KeyFile:  keyPath,
	}, nil
}

func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certificate file %s is unreadable: %w", path, err)
	}
	var certs []*x509.Certificate
	sawPEM := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate file %s: certificate %d is invalid: %w", path, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	switch {
	case !sawPEM:
		return nil, fmt.Errorf("certificate file %s is not PEM (expected a -----BEGIN CERTIFICATE----- block)", path)
	case len(certs) == 0:
		return nil, fmt.Errorf("certificate file %s has no CERTIFICATE PEM block", path)
	}
	return certs, nil
}

func readKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key file %s is unreadable: %w", path, err)
	}
	sawPEM := false
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		sawPEM = true
		if !strings.HasSuffix(b.Type, "PRIVATE KEY") {
			continue // e.g. EC PARAMETERS, or the certificate in a combined file
		}
		if _, encrypted := b.Headers["Proc-Type"]; encrypted || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("key file %s holds an encrypted private key; an unencrypted key is required", path)
		}
		key, err := parseKey(b)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", path, err)
		}
		return key, nil
	}
	if !sawPEM {
		return nil, fmt.Errorf("key file %s is not PEM (expected a -----BEGIN PRIVATE KEY----- block)", path)
	}
	return nil, fmt.Errorf("key file %s has no PRIVATE KEY PEM block", path)
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	var (
		k   any
		err error
	)
	switch b.Type {
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("invalid %s: %w", b.Type, err)
	}
	switch k := k.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported private key type %T", k)
	}
}

// generate creates a self-signed pair and writes it, key first.
func generate(certPath, keyPath string, extraNames []string) (*Identity, error) {
	host := hostName()
	dnsNames, ips, err := sans(host, extraNames)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	notBefore := now().Add(-backdateBy).UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return nil, err
	}
	if err := configstore.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), keyFileMode); err != nil {
		return nil, err
	}
	if err := configstore.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), certFileMode); err != nil {
		return nil, err
	}
	return &Identity{
		Cert:      tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		Leaf:      leaf,
		Generated: true,
		CertFile:  certPath,
		KeyFile:   keyPath,
	}, nil
}

// sans returns the subject alternative names: host, "localhost", 127.0.0.1,
// ::1 and the extra names, IP literals as IP SANs, without duplicates.
func sans(host string, extra []string) ([]string, []net.IP, error) {
	var dnsNames []string
	var ips []net.IP
	seen := map[string]bool{}
	add := func(name string) error {
		name = strings.TrimSpace(name)
		if name == "" {
			return errors.New("empty extra name")
		}
		if strings.ContainsAny(name, " \t\r\n/") {
			return fmt.Errorf("extra name %q is not a host name or IP address", name)
		}
		if ip := net.ParseIP(name); ip != nil {
			if v4 := ip.To4(); v4 != nil {
				ip = v4
			}
			if !seen["ip:"+ip.String()] {
				seen["ip:"+ip.String()] = true
				ips = append(ips, ip)
			}
			return nil
		}
		key := "dns:" + strings.ToLower(strings.TrimSuffix(name, "."))
		if !seen[key] {
			seen[key] = true
			dnsNames = append(dnsNames, strings.TrimSuffix(name, "."))
		}
		return nil
	}
	for _, n := range append([]string{host, "localhost", "127.0.0.1", "::1"}, extra...) {
		if err := add(n); err != nil {
			return nil, nil, err
		}
	}
	return dnsNames, ips, nil
}

// Fingerprint is the SHA-256 fingerprint of the certificate, in the form
// `openssl x509 -fingerprint -sha256` prints: upper-case hex pairs joined by ':'.
func (id *Identity) Fingerprint() string { return FingerprintOf(id.Leaf) }

// TLSConfig returns a new server configuration: TLS 1.2 or later, serving
// the identity's certificate.
func (id *Identity) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{id.Cert},
	}
}

// FingerprintOf returns the SHA-256 fingerprint of the DER certificate,
// upper-case hex pairs joined by ':'.
func FingerprintOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return formatHex(sum[:])
}

func formatHex(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) * 3)
	for i, c := range b {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return sb.String()
}

// ParseFingerprint normalises a user-given thumbprint: accepts colon-separated or plain hex, either case, SHA-256 only (64 hex digits); error names the value.
// The result is in FingerprintOf's form.
func ParseFingerprint(s string) (string, error) {
	v := strings.TrimSpace(s)
	digits := v
	if strings.Contains(v, ":") {
		parts := strings.Split(v, ":")
		for _, p := range parts {
			if len(p) != 2 {
				return "", fmt.Errorf("fingerprint %q: colon-separated form needs pairs of hex digits", s)
			}
		}
		digits = strings.Join(parts, "")
	}
	if digits == "" {
		return "", fmt.Errorf("fingerprint %q is empty", s)
	}
	for _, c := range digits {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", fmt.Errorf("fingerprint %q is not hexadecimal", s)
		}
	}
	switch len(digits) {
	case 2 * sha256.Size:
		b, _ := hex.DecodeString(digits)
		return formatHex(b), nil
	case 40:
		return "", fmt.Errorf("fingerprint %q looks like SHA-1 (40 hex digits); a SHA-256 fingerprint (64 hex digits) is required", s)
	default:
		return "", fmt.Errorf("fingerprint %q has %d hex digits; a SHA-256 fingerprint has 64", s, len(digits))
	}
}
