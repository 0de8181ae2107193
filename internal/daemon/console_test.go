package daemon_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
)

// TestConsoleMount: the web console is served on the HTTPS listener, with
// its security headers, / redirects to it and the API is still there;
// the local socket serves the API only, never the console.
func TestConsoleMount(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir, func(o *daemon.Options) { o.HTTPSListen = "127.0.0.1:0" })
	id, err := tlsid.Load(filepath.Join(dir, "state"), "", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(id.Leaf)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	remote := &http.Client{CheckRedirect: noRedirect, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}}
	local := &http.Client{CheckRedirect: noRedirect, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", r.sock)
		}}}
	get := func(c *http.Client, url string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	base := "https://" + r.daemon.HTTPSAddr()

	resp, _ := get(remote, base+"/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /: %d Location %q, want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := get(remote, base+"/ui/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<script type="module" src="js/app.js">`) {
		t.Errorf("GET /ui/: %d %.200s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("GET /ui/: Content-Security-Policy %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("GET /ui/: X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}
	if resp, body := get(remote, base+"/ui/js/app.js"); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Errorf("GET /ui/js/app.js: %d %q %.100s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, body := get(remote, base+api.PathIdentity); resp.StatusCode != http.StatusOK || !strings.Contains(body, id.Fingerprint()) {
		t.Errorf("the API beside the console: GET %s: %d %s", api.PathIdentity, resp.StatusCode, body)
	}
	if resp, _ := get(remote, base+api.PathSNMP); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET %s without a session: %d, want 401", api.PathSNMP, resp.StatusCode)
	}

	for _, path := range []string{"/ui/", "/ui/js/app.js", "/"} {
		if resp, body := get(local, "http://console"+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("the local socket serves %s: %d %.100s", path, resp.StatusCode, body)
		}
	}
	if resp, _ := get(local, "http://console"+api.PathSNMP); resp.StatusCode != http.StatusOK {
		t.Errorf("the local socket's API: GET %s: %d", api.PathSNMP, resp.StatusCode)
	}
}
