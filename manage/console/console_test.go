package console

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
)

// serve answers one request to the console's handler.
func serve(t *testing.T, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func checkSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy":    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
		"X-Frame-Options":            "DENY",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

func TestHeaders(t *testing.T) {
	gz := http.Header{"Accept-Encoding": {"gzip, deflate, br"}}
	for _, tc := range []struct {
		target, contentType, cache string
		gzip                       bool
	}{
		{"/ui/", "text/html; charset=utf-8", "no-cache", true},
		{"/ui/index.html", "text/html; charset=utf-8", "no-cache", true},
		{"/ui/js/app.js", "text/javascript; charset=utf-8", "max-age=300", true},
		{"/ui/js/pages/dashboard.js", "text/javascript; charset=utf-8", "max-age=300", true},
		{"/ui/app.css", "text/css; charset=utf-8", "max-age=300", true},
		{"/ui/vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", "max-age=300", true},
		{"/ui/vendor/uPlot.min.css", "text/css; charset=utf-8", "max-age=300", true},
		{"/ui/favicon.svg", "image/svg+xml", "max-age=300", false},
		{"/ui/vendor/LICENSE-uPlot", "text/plain; charset=utf-8", "max-age=300", true},
	} {
		resp := serve(t, "GET", tc.target, gz)
		checkSecurityHeaders(t, tc.target, resp.Header)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", tc.target, resp.StatusCode)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("%s: Content-Type %q, want %q", tc.target, got, tc.contentType)
		}
		if got := resp.Header.Get("Cache-Control"); got != tc.cache {
			t.Errorf("%s: Cache-Control %q, want %q", tc.target, got, tc.cache)
		}
		body, _ := io.ReadAll(resp.Body)
		if tc.gzip && resp.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("%s: Content-Encoding %q, want gzip", tc.target, resp.Header.Get("Content-Encoding"))
		}
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", tc.target, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("%s: %v", tc.target, err)
			}
			name := strings.TrimPrefix(tc.target, Prefix)
			if name == "" {
				name = "index.html"
			}
			if want, _ := fs.ReadFile(assets, "assets/"+name); !bytes.Equal(plain, want) {
				t.Errorf("%s: the gzipped body is not the file", tc.target)
			}
			if resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("%s: Vary %q", tc.target, resp.Header.Get("Vary"))
			}
		}
	}
}

// A client that does not take gzip gets the file as it is; a revalidation
// with the ETag gets 304, still with the headers.
func TestPlainAndRevalidation(t *testing.T) {
	resp := serve(t, "GET", "/ui/js/api.js", http.Header{"Accept-Encoding": {"gzip;q=0, identity"}})
	body, _ := io.ReadAll(resp.Body)
	want, _ := fs.ReadFile(assets, "assets/js/api.js")
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(body, want) {
		t.Fatalf("identity: encoding %q, %d bytes, want the file's %d", resp.Header.Get("Content-Encoding"), len(body), len(want))
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := serve(t, "GET", "/ui/js/api.js", http.Header{"If-None-Match": {etag}})
	if again.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", again.StatusCode)
	}
	checkSecurityHeaders(t, "304", again.Header)
	zipped := serve(t, "GET", "/ui/js/api.js", http.Header{"Accept-Encoding": {"gzip"}, "If-None-Match": {etag}})
	if zipped.StatusCode != http.StatusOK || zipped.Header.Get("ETag") == etag {
		t.Errorf("the gzipped body must have its own ETag: %d %q", zipped.StatusCode, zipped.Header.Get("ETag"))
	}
	head := serve(t, "HEAD", "/ui/", nil)
	if b, _ := io.ReadAll(head.Body); head.StatusCode != http.StatusOK || len(b) != 0 || head.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD: %d, %d bytes, Content-Length %q", head.StatusCode, len(b), head.Header.Get("Content-Length"))
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		code           int
	}{
		{"GET", "/ui/nothing.js", http.StatusNotFound},
		{"GET", "/ui/js/", http.StatusNotFound},
		{"GET", "/ui/../console.go", http.StatusNotFound},
		{"POST", "/ui/", http.StatusMethodNotAllowed},
		{"PUT", "/ui/js/app.js", http.StatusMethodNotAllowed},
	} {
		resp := serve(t, tc.method, tc.target, nil)
		if resp.StatusCode != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.target, resp.StatusCode, tc.code)
		}
		checkSecurityHeaders(t, tc.method+" "+tc.target, resp.Header)
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "gzip": true, "deflate, gzip;q=0.5": true, "GZIP": true, "gzip;q=0": false,
		"br": false, "*": true, "*;q=0": false, "x-gzip": false, "gzip ; q=0.0": false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

var (
	attrRef     = regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*"([^"]*)"`)
	jsImport    = regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]|^\s*export\s[^'"\n]*\sfrom\s+['"]([^'"]+)['"]`)
	scriptTag   = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	inlineAttrs = regexp.MustCompile(`(?i)<[a-z][^>]*\s(style|on[a-z]+)\s*=`)
	styleTag    = regexp.MustCompile(`(?i)<style\b`)
)

// firstLoad is what the dashboard's first load fetches: index.html, what
// it references, and every module app.js imports, transitively.
func firstLoad(t *testing.T) []string {
	t.Helper()
	index, err := fs.ReadFile(assets, "assets/index.html")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{"index.html": true}
	order := []string{"index.html"}
	var queue []string
	for _, m := range attrRef.FindAllStringSubmatch(string(index), -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "#") {
			continue // in-page links of the skip link and the nav
		}
		if strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
			t.Errorf("index.html references %q: only relative, same-origin paths are allowed", ref)
			continue
		}
		queue = append(queue, path.Clean(ref))
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		order = append(order, name)
		b, err := fs.ReadFile(assets, "assets/"+name)
		if err != nil {
			t.Errorf("%s is referenced but not embedded: %v", name, err)
			continue
		}
		if path.Ext(name) != ".js" || strings.HasPrefix(name, "vendor/") {
			continue
		}
		for _, m := range jsImport.FindAllStringSubmatch(string(b), -1) {
			ref := m[1] + m[2]
			if !strings.HasPrefix(ref, "./") && !strings.HasPrefix(ref, "../") {
				t.Errorf("%s imports %q: only relative modules of the console are allowed", name, ref)
				continue
			}
			queue = append(queue, path.Join(path.Dir(name), ref))
		}
	}
	return order
}

// TestSameOriginOnly: index.html and the modules load only embedded,
// same-origin files, and every module of js/ is reachable from app.js.
func TestSameOriginOnly(t *testing.T) {
	load := firstLoad(t)
	loaded := map[string]bool{}
	for _, n := range load {
		loaded[n] = true
	}
	for _, want := range []string{"js/app.js", "js/api.js", "app.css", "vendor/uPlot.iife.min.js", "vendor/uPlot.min.css", "js/pages/dashboard.js"} {
		if !loaded[want] {
			t.Errorf("the first load does not include %s (loads %v)", want, load)
		}
	}
	_ = fs.WalkDir(assets, "assets/js", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !loaded[strings.TrimPrefix(p, "assets/")] {
			t.Errorf("%s is embedded but no module imports it", p)
		}
		return err
	})
}

// TestNoInlineCode: the CSP forbids inline scripts and styles; none may be
// written, in the HTML or by the modules.
func TestNoInlineCode(t *testing.T) {
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(assets, p)
		s := string(b)
		switch path.Ext(p) {
		case ".html":
			for _, m := range scriptTag.FindAllStringSubmatch(s, -1) {
				if !strings.Contains(strings.ToLower(m[1]), "src=") || strings.TrimSpace(m[2]) != "" {
					t.Errorf("%s: inline <script%s>", p, m[1])
				}
			}
			if m := inlineAttrs.FindString(s); m != "" {
				t.Errorf("%s: inline attribute in %q", p, m)
			}
			if styleTag.MatchString(s) {
				t.Errorf("%s: a <style> element", p)
			}
			if strings.Contains(strings.ToLower(s), "javascript:") {
				t.Errorf("%s: a javascript: URL", p)
			}
		case ".js":
			if strings.HasPrefix(p, "assets/vendor/") {
				return nil // uPlot sets element.style properties only, which the CSP allows
			}
			for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute('style'", `setAttribute("style"`, "'style'", "localStorage", "sessionStorage", "document.cookie"} {
				if strings.Contains(s, bad) {
					t.Errorf("%s uses %s", p, bad)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFirstLoadSize: the dashboard's first load, gzipped as served, stays
// within the 200 KB.
func TestFirstLoadSize(t *testing.T) {
	files, err := load()
	if err != nil {
		t.Fatal(err)
	}
	const limit = 200 * 1000
	total, plain := 0, 0
	for _, name := range firstLoad(t) {
		f := files[name]
		if f == nil {
			t.Fatalf("%s not served", name)
		}
		n := len(f.plain)
		if f.gzipped != nil {
			n = len(f.gzipped)
		}
		total += n
		plain += len(f.plain)
		t.Logf("%-28s %7d bytes, %6d on the wire", name, len(f.plain), n)
	}
	t.Logf("first load: %d bytes, %d on the wire (limit %d)", plain, total, limit)
	if total > limit {
		t.Errorf("the dashboard's first load is %d bytes on the wire, over %d", total, limit)
	}
}
