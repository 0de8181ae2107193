package peertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestCA is a throw-away certificate authority for TLS tests. Its files are
// PEM, as rsyslog's gtls driver (GnuTLS) wants them; GnuTLS accepts ECDSA
// P-256 keys in SEC 1 ("EC PRIVATE KEY") form.
type TestCA struct {
	CertFile, KeyFile string // PEM files in a t.TempDir()
	Cert              *x509.Certificate
	Pool              *x509.CertPool // holds only Cert: RootCAs for a client, ClientCAs for a server

	key    *ecdsa.PrivateKey
	dir    string
	serial int64
}

// NewTestCA generates an ECDSA P-256 CA valid from an hour ago (clock skew
// between test processes) for a day.
func NewTestCA(t testing.TB) *TestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &TestCA{key: key, dir: t.TempDir(), serial: 1}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "hostagent peertest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if ca.Cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	ca.Pool = x509.NewCertPool()
	ca.Pool.AddCert(ca.Cert)
	ca.CertFile, ca.KeyFile = ca.write(t, "ca", der, key)
	return ca
}

// Issue returns the PEM files of a new leaf certificate signed by the CA, for
// servers and clients alike (both extended key usages). It always carries the
// SANs 127.0.0.1, ::1 and localhost; hosts adds more (IPs or DNS names), and
// the first of all names is the subject's common name. Not safe for
// concurrent use.
func (ca *TestCA) Issue(t testing.TB, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca.serial++
	names := append(slices.Clone(hosts), "localhost", "127.0.0.1", "::1")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range names {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return ca.write(t, "leaf"+big.NewInt(ca.serial).String(), der, key)
}

// write stores a certificate and its key as NAME.pem and NAME-key.pem; the
// key file is private, as a daemon may refuse a readable one.
func (ca *TestCA) write(t testing.TB, name string, der []byte, key *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(ca.dir, name+".pem")
	keyFile = filepath.Join(ca.dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
