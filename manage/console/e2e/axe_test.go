package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"hostagent/internal/peertest"
)

// axe-core is the accessibility checker run in the page. It has no Debian
// package, so the test fetches its npm tarball once into the user's cache
// (outside the repository) and checks it against the integrity npm
// published before using it.
const (
	axeVersion   = "4.14.1"
	axeIntegrity = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
)

var axe struct {
	sync.Mutex
	source string
}

// axeSource returns axe.min.js, fetching the tarball with npm when it is
// not cached yet (npm missing: skipped, or failed when CI=true).
func axeSource(t testing.TB) string {
	t.Helper()
	axe.Lock()
	defer axe.Unlock()
	if axe.source != "" {
		return axe.source
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "hostagent-e2e")
	tgz := filepath.Join(dir, "axe-core-"+axeVersion+".tgz")
	if _, err := os.Stat(tgz); err != nil {
		npm := peertest.RequireCommand(t, "npm", "npm")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(npm, "pack", "--silent", "--pack-destination", dir, "axe-core@"+axeVersion)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("npm pack axe-core@%s: %v\n%s", axeVersion, err, out)
		}
	}
	b, err := os.ReadFile(tgz)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512(b)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != axeIntegrity {
		t.Fatalf("%s: integrity %s, want %s; remove the file to fetch it again", tgz, got, axeIntegrity)
	}
	src, err := fileInTarball(b, "package/axe.min.js")
	if err != nil {
		t.Fatalf("%s: %v", tgz, err)
	}
	axe.source = src
	return src
}

func fileInTarball(tgz []byte, name string) (string, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return "", err
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("no %s in the tarball", name)
		}
		if err != nil {
			return "", err
		}
		if h.Name == name {
			b, err := io.ReadAll(tr)
			return string(b), err
		}
	}
}

// axeViolation is the part of an axe-core result the test reports.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// checkAccessibility injects axe-core into the page (through the DevTools
// protocol, which the page's Content-Security-Policy does not govern: the
// policy stays on) and fails on any serious or critical violation; minor
// and moderate ones are logged.
func (tb *tab) checkAccessibility(page string) {
	tb.t.Helper()
	src := axeSource(tb.t)
	if !eval[bool](tb, "typeof window.axe === 'object'") {
		eval[chromedp.Void](tb, src+"\n;undefined")
	}
	out := eval[string](tb,
		"axe.run(document, {resultTypes: ['violations']}).then(r => JSON.stringify(r.violations))",
		chromedp.EvalAwaitPromise)
	var violations []axeViolation
	if err := json.Unmarshal([]byte(out), &violations); err != nil {
		tb.t.Fatalf("axe-core's result on %s: %v", page, err)
	}
	for _, v := range violations {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprint(n.Target)+" "+n.HTML)
		}
		msg := fmt.Sprintf("%s: axe-core %s (%s): %s\n  %s", page, v.ID, v.Impact, v.Help, strings.Join(where, "\n  "))
		if v.Impact == "serious" || v.Impact == "critical" {
			tb.t.Error(msg)
		} else {
			tb.t.Log(msg)
		}
	}
}
