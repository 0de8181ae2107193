package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestNoAccessUserIsNotPolled: a user whose role lacks System.Read (here
// NoAccess) logs in and is told the dashboard needs it; the page is not
// mounted, so nothing is polled, refused and audited every 2 s, and the
// pages it needs are not in the navigation.
func TestNoAccessUserIsNotPolled(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	d.addUser(t, "nora", "NoAccess")
	tb := newTab(t, d)
	tb.submitLogin("nora", d.passwords["nora"])
	tb.do(chromedp.WaitVisible(chromedp.CSS("#page-dashboard .notice")))
	if got := tb.text("#page-dashboard .notice"); !strings.Contains(got, "lacks System.Read") {
		t.Errorf("the dashboard says %q, want that the role lacks System.Read", got)
	}
	if eval[bool](tb, `document.getElementById('agent-state') !== null`) {
		t.Error("the dashboard was mounted for a user without System.Read")
	}
	if n := eval[int](tb, `performance.getEntriesByType('resource').filter((e) => /\/api\/v1\/(snmp|syslog|host|history)/.test(e.name)).length`); n != 0 {
		t.Errorf("%d reads of the dashboard's endpoints were sent", n)
	}
	if eval[bool](tb, `!document.querySelector('a[href="#/dashboard"]').parentElement.hidden`) {
		t.Error("the Dashboard link is shown to a user without System.Read")
	}
	code, body := d.apiCall(t, "GET", "/api/v1/audit?user=nora&result=denied", d.login(t, adminUser), nil)
	var page struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if code != http.StatusOK || json.Unmarshal(body, &page) != nil || len(page.Entries) != 0 {
		t.Errorf("audit of nora's refusals: %d %s, want none", code, body)
	}
}
