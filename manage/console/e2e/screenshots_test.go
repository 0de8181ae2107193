package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
)

// screenshotsEnv names the folder the screenshots are written to (the
// repository's docs/screenshots when they are to be refreshed):
//
//	HOSTAGENT_SCREENSHOTS=$PWD/docs/screenshots go test -run TestScreenshots ./manage/console/e2e/
const screenshotsEnv = "HOSTAGENT_SCREENSHOTS"

// Screenshots are of a 1280x800 viewport: the size of a small laptop
// screen, and small PNG files.
const shotWidth, shotHeight = 1280, 800

// TestScreenshots draws every page with a live target and a notification
// sent, and checks each capture is a PNG of the viewport; with
// $HOSTAGENT_SCREENSHOTS set it writes them there.
func TestScreenshots(t *testing.T) {
	out := os.Getenv(screenshotsEnv)
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	target := fmt.Sprintf("127.0.0.1@%d/public", trapd.Port())
	// And a loghost, rsyslogd, fed lines from a file the daemon reads.
	rsyslogd := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})
	d := startDaemon(t, daemonOptions{trapTarget: target, loghost: "tcp://" + rsyslogd.TCPAddr()})
	logLines := func(n int) {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(d.dir, "log", "demo.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for i := range n {
			fmt.Fprintf(f, "hostagent demo: line %d\n", i)
		}
	}
	logLines(50)
	d.vicfg(t, "vicfg-snmp", "--test")
	trapd.WaitTraps(t, 1, 15*time.Second)

	tb := newTab(t, d)
	tb.do(chromedp.EmulateViewport(shotWidth, shotHeight))
	shoot := func(name string) {
		t.Helper()
		// Fonts and images loaded, and a frame drawn after the last change.
		tb.waitJS("the page settled", `document.readyState === 'complete' && document.fonts.status === 'loaded'`)
		eval[bool](tb, `new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)
		shot, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot of %s: %v", name, err)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("screenshot of %s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() != shotWidth || b.Dy() != shotHeight {
			t.Errorf("screenshot of %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), shotWidth, shotHeight)
		}
		if out == "" {
			return
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(out, name+".png")
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", file, len(shot))
	}

	tb.open("#/login")
	tb.do(chromedp.WaitVisible(chromedp.CSS("#login-user")))
	shoot("login")
	tb.loginAs(adminUser)
	row := `tr[data-target="` + target + `"] td.sent`
	tb.waitJS("the dashboard's target row counting the test notification",
		`Number((document.querySelector(`+jsString(row)+`)?.textContent ?? '').trim()) > 0`)
	for _, p := range consolePages {
		tb.route(p.route)
		tb.do(chromedp.WaitVisible(chromedp.CSS(p.ready)))
		switch p.name {
		case "dashboard":
			if out != "" {
				// Worth a picture: the charts drawn from the history,
				// sampled every 10 s (too slow a wait for every run).
				// A few samples (one every 10 s) for a line, then the
				// dashboard drawn again from them.
				token := d.login(t, adminUser)
				for i := range 3 {
					d.vicfg(t, "vicfg-snmp", "--test")
					logLines(100 * (i + 1))
					peertest.Eventually(t, 60*time.Second, "a sample of the history", func() bool {
						_, body := d.apiCall(t, http.MethodGet, api.PathHistory, token, nil)
						var h api.History
						return json.Unmarshal(body, &h) == nil && len(h.Times) >= i+3
					})
				}
				tb.route("#/notifications")
				tb.do(chromedp.WaitVisible(chromedp.CSS("#page-notifications")))
				tb.route(p.route)
				tb.do(chromedp.WaitVisible(chromedp.CSS(p.ready)))
				tb.waitJS("the dashboard's charts", `!!document.querySelector('#chart-targets canvas') && !!document.querySelector('#chart-loghosts canvas')`)
			}
		case "notifications":
			tb.waitJS("the feed listing the test notification", `!!document.querySelector('#feed li[data-seq]')`)
		case "audit":
			tb.waitJS("the audit trail listing entries", `!!document.querySelector('#audit-table tr.audit-entry')`)
		}
		shoot(p.name)
	}
}
