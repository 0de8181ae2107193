// Package console is hostagentd's web console: a few plain JavaScript
// modules, a style sheet and the uPlot chart library, embedded in the
// binary and served under /ui/ on the HTTPS listener. The console is a
// client of the management API (it logs in and calls /api/v1/... like
// vicfg does), so it adds no way in: this package serves static files only.
//
// Every response carries a strict Content-Security-Policy (same-origin
// scripts and styles, no inline code, no framing). The assets are
// gzip-compressed once at start: net/http compresses nothing by itself,
// the files never change while the daemon runs, and compressing them per
// request would spend CPU on every poll of a browser cache check.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// securityHeaders go on every console response, whatever its status: the
// console runs only code and styles of its own origin, never in a frame.
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"Cross-Origin-Opener-Policy": "same-origin",
	"X-Frame-Options":            "DENY",
}

// assetMaxAge is how long a browser may reuse an asset without asking:
// short, since the names carry no content hash and a new daemon must be
// seen within minutes. index.html is always revalidated (its ETag makes
// that a 304).
const assetMaxAge = 300

// contentTypes are the types of the console's files; mime.TypeByExtension
// would depend on the host's /etc/mime.types.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
	".ico":  "image/x-icon",
	".json": "application/json",
}

// file is one asset, ready to serve.
type file struct {
	contentType string
	plain       []byte
	gzipped     []byte // nil when gzip would not make it smaller
	etag        string // of plain; the gzipped body's is etag with a suffix
}

var (
	filesOnce sync.Once
	files     map[string]*file // by path below assets/, "index.html", "js/app.js"
	filesErr  error
)

// load reads and compresses every asset once.
func load() (map[string]*file, error) {
	filesOnce.Do(func() {
		files = map[string]*file{}
		filesErr = fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := assets.ReadFile(p)
			if err != nil {
				return fmt.Errorf("console asset %s: %w", p, err)
			}
			name := strings.TrimPrefix(p, "assets/")
			ct, ok := contentTypes[path.Ext(name)]
			if !ok {
				ct = "text/plain; charset=utf-8" // LICENSE-uPlot
			}
			sum := sha256.Sum256(b)
			f := &file{contentType: ct, plain: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
			if ct != "image/png" {
				gz, err := compress(b)
				if err != nil {
					return fmt.Errorf("console asset %s: %w", p, err)
				}
				if len(gz) < len(b) {
					f.gzipped = gz
				}
			}
			files[name] = f
			return nil
		})
	})
	return files, filesErr
}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Handler serves the console under Prefix: index.html at /ui/, the other
// assets by their path below it. It answers GET and HEAD only.
func Handler() http.Handler {
	files, err := load()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for k, v := range securityHeaders {
			h.Set(k, v)
		}
		if err != nil { // the embedded files are broken: a build error, not a request's
			http.Error(w, "console unavailable: "+err.Error(), http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" {
			name = "index.html"
		}
		f := files[name]
		if f == nil {
			http.NotFound(w, r)
			return
		}
		if name == "index.html" {
			h.Set("Cache-Control", "no-cache")
		} else {
			h.Set("Cache-Control", "max-age="+strconv.Itoa(assetMaxAge))
		}
		body, etag := f.plain, f.etag
		if f.gzipped != nil {
			h.Set("Vary", "Accept-Encoding")
			if acceptsGzip(r.Header.Get("Accept-Encoding")) {
				body, etag = f.gzipped, strings.TrimSuffix(f.etag, `"`)+`-gz"`
				h.Set("Content-Encoding", "gzip")
			}
		}
		h.Set("Content-Type", f.contentType)
		h.Set("ETag", etag)
		if matchesETag(r.Header.Get("If-None-Match"), etag) {
			h.Del("Content-Encoding")
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

// acceptsGzip reports whether an Accept-Encoding header admits gzip: named
// (or "*") without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

// matchesETag reports whether If-None-Match names etag (or is "*"); weak
// comparison, as RFC 9110 asks for If-None-Match.
func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
