package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
)

// The headers the contract fixes for every /ui/ response.
var wantHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"Cross-Origin-Opener-Policy": "same-origin",
	"X-Frame-Options":            "DENY",
}

func TestLoginSucceeds(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	tb := newTab(t, d)
	tb.loginAs(adminUser)
	tb.waitJS("the session's user and role in the header",
		`(document.querySelector('#session-user')?.textContent ?? '').includes('`+adminUser+`') &&
		 (document.querySelector('#session-user')?.textContent ?? '').includes('Administrator')`)
	if tb.text("#session-expiry") == "" {
		t.Error("#session-expiry is empty: the idle expiry is not shown")
	}
	if got := tb.text("#login-error"); got != "" {
		t.Errorf("#login-error after a successful login: %q", got)
	}
}

func TestLoginWrongPasswordShowsServerMessage(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	// What the server says to a wrong password (asked for a user that does
	// not exist: the same answer, and alice's failure count stays at one).
	status, body := d.apiCall(t, http.MethodPost, api.PathSession, "", api.Login{User: "nobody", Password: "wrong"})
	if status != http.StatusUnauthorized {
		t.Fatalf("a wrong password over the API: %d %s", status, body)
	}
	want := apiError(t, body)

	tb := newTab(t, d)
	tb.submitLogin(adminUser, "not-her-password")
	tb.waitJS("the server's message in #login-error",
		`(document.querySelector('#login-error')?.textContent ?? '').includes(`+jsString(want)+`)`)
	if eval[bool](tb, `!!document.querySelector('#page-dashboard')`) {
		t.Error("the dashboard is shown after a wrong password")
	}
	if role := eval[string](tb, `document.querySelector('#login-error').getAttribute('role') ?? ''`); role != "alert" {
		t.Errorf("#login-error role = %q, want alert", role)
	}
}

func TestLoginRefusedInLockdown(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	d.vicfg(t, "vicfg-hostops", "--lockdown", "enable")
	if out := d.vicfg(t, "vicfg-hostops", "--show"); !strings.Contains(out, "normal") {
		t.Fatalf("lockdown not entered:\n%s", out)
	}
	tb := newTab(t, d)
	// The right password of a user who is not an exception.
	tb.submitLogin(readOnlyUser, d.passwords[readOnlyUser])
	tb.waitJS("the lockdown refusal in #login-error",
		`(document.querySelector('#login-error')?.textContent ?? '').includes('lockdown mode')`)
	got := tb.text("#login-error")
	// The same words as the API's answer to the same login.
	status, body := d.apiCall(t, http.MethodPost, api.PathSession, "", api.Login{User: readOnlyUser, Password: d.passwords[readOnlyUser]})
	if status != http.StatusUnauthorized || !strings.Contains(got, apiError(t, body)) {
		t.Errorf("#login-error %q; the API said %d %s", got, status, body)
	}
	if eval[bool](tb, `!!document.querySelector('#page-dashboard')`) {
		t.Error("the dashboard is shown to a user refused by lockdown")
	}
}

func TestDashboardCountersFollowSNMPTest(t *testing.T) {
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	target := fmt.Sprintf("127.0.0.1@%d/public", trapd.Port())
	d := startDaemon(t, daemonOptions{trapTarget: target})
	tb := newTab(t, d)
	tb.loginAs(adminUser)
	row := `tr[data-target="` + target + `"]`
	sent := `Number((document.querySelector(` + jsString(row+" td.sent") + `)?.textContent ?? '').trim())`
	tb.waitJS("the target's row with its sent counter", `!!document.querySelector(`+jsString(row+" td.sent")+`) && !isNaN(`+sent+`)`)
	before := eval[float64](tb, sent)
	// A marker that only this load of the page holds: a reload (or any
	// navigation) would lose it, and the navigation entries would change.
	eval[chromedp.Void](tb, `window.e2eMarker = 'loaded-once'; undefined`)
	origin := eval[float64](tb, `performance.timeOrigin`) // a new document has a new one

	out := d.vicfg(t, "vicfg-snmp", "--test")
	trapd.WaitTraps(t, 1, 15*time.Second)
	// The daemon's count once the test notification is sent: the page must
	// reach it (the agent may send others meanwhile, so at least it).
	after := d.sentTo(t, target)
	if float64(after) <= before {
		t.Fatalf("the API counts %d sent to %s after vicfg-snmp --test; the page showed %v before", after, target, before)
	}
	tb.waitJS("td.sent to reach the API's count after vicfg-snmp --test", sent+` >= `+strconv.FormatUint(after, 10))
	if got := eval[string](tb, `window.e2eMarker ?? ''`); got != "loaded-once" {
		t.Errorf("the page was loaded again (marker %q): the counters must update in place", got)
	}
	if got := eval[float64](tb, `performance.timeOrigin`); got != origin {
		t.Errorf("the document's time origin went from %v to %v: the page was loaded again", origin, got)
	}
	t.Logf("vicfg-snmp --test:\n%s", out)
}

// sentTo returns the daemon's count of notifications sent to target.
func (d *daemon) sentTo(t testing.TB, target string) uint64 {
	t.Helper()
	status, body := d.apiCall(t, http.MethodGet, api.PathSNMP, d.login(t, adminUser), nil)
	var st api.SNMPState
	if err := json.Unmarshal(body, &st); status != http.StatusOK || err != nil {
		t.Fatalf("GET %s: %d %v %s", api.PathSNMP, status, err, body)
	}
	for _, ts := range st.Targets {
		if ts.Target == target {
			return ts.Sent
		}
	}
	t.Fatalf("GET %s: no target %s in %s", api.PathSNMP, target, body)
	return 0
}

func TestSyslogFormChangesLoghost(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	addr, err := freeTCPAddr() // nobody listens: the loghost is stored, not reached
	if err != nil {
		t.Fatal(err)
	}
	loghost := "tcp://" + addr
	tb := newTab(t, d)
	tb.loginAs(adminUser)
	tb.route("#/settings/syslog")
	tb.setField("#syslog-loghosts", loghost)
	tb.do(chromedp.Click(chromedp.CSS("#syslog-submit")))
	var show string
	peertest.Eventually(t, 15*time.Second, "vicfg-syslog --show to list "+loghost, func() bool {
		show = d.vicfg(t, "vicfg-syslog", "--show")
		return strings.Contains(show, loghost)
	})
	if got := tb.text("#syslog-loghosts-error") + tb.text("#syslog-error"); got != "" {
		t.Errorf("an error shown after an accepted change: %q", got)
	}
}

func TestBadValueShowsServerMessage(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	token := d.login(t, adminUser)
	cases := []struct {
		route, field, value, form string
		patchPath                 string
		patch                     any
	}{
		{"#/settings/snmp", "#snmp-port", "0", "snmp", api.PathSNMP, map[string]any{"port": 0}},
		{"#/settings/syslog", "#syslog-loghosts", "tcp://h:0", "syslog", api.PathSyslog, map[string]any{"loghosts": []string{"tcp://h:0"}}},
	}
	tb := newTab(t, d)
	tb.loginAs(adminUser)
	for _, c := range cases {
		t.Run(c.form, func(t *testing.T) {
			tb.t = t
			// The API's own answer to the same change (refused, so nothing changes).
			status, body := d.apiCall(t, http.MethodPatch, c.patchPath, token, c.patch)
			if status != http.StatusBadRequest {
				t.Fatalf("PATCH %s %v: %d %s", c.patchPath, c.patch, status, body)
			}
			want := apiError(t, body)
			tb.route(c.route)
			tb.setField(c.field, c.value)
			tb.do(chromedp.Click(chromedp.CSS("#" + c.form + "-submit")))
			errSel := c.field + "-error"
			tb.waitJS("the server's message in "+errSel,
				`(document.querySelector(`+jsString(errSel)+`)?.textContent ?? '').trim() !== ''`)
			if got := tb.text(errSel); !strings.Contains(got, want) {
				t.Errorf("%s = %q, want the server's message %q", errSel, got, want)
			}
		})
	}
}

// editControls lists the enabled controls that could change something in
// the page's main element (the start of each one's HTML).
const editControls = `Array.from(document.querySelectorAll(
	'main input, main select, main textarea, main button[type=submit], main button[id$="-submit"], main form button'))
	.filter(e => !e.disabled && !e.readOnly && e.type !== 'hidden')
	.map(e => e.outerHTML.slice(0, 120))`

// settingsPages are the forms a ReadOnly user must not be offered.
var settingsPages = []string{"snmp", "syslog", "users", "lockdown", "backup"}

func TestReadOnlyUserSeesNoEditControl(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	tb := newTab(t, d)
	tb.loginAs(readOnlyUser)
	for _, page := range settingsPages {
		t.Run(page, func(t *testing.T) {
			tb.t = t
			tb.route("#/settings/" + page)
			tb.waitSettingsShown(page)
			controls := eval[[]string](tb, editControls)
			if len(controls) > 0 {
				t.Errorf("a ReadOnly user is offered edit controls on %s:\n%s", page, strings.Join(controls, "\n"))
			}
		})
	}
	t.Run("an Administrator has them", func(t *testing.T) {
		// The same query finds the controls where they belong, so that its
		// finding none above means something.
		admin := newTab(t, d)
		admin.loginAs(adminUser)
		admin.route("#/settings/snmp")
		admin.do(chromedp.WaitVisible(chromedp.CSS("#snmp-submit")))
		if controls := eval[[]string](admin, editControls); len(controls) < 5 {
			t.Errorf("an Administrator is offered %d controls on the SNMP settings:\n%s", len(controls), strings.Join(controls, "\n"))
		}
	})
	t.Run("forged PATCH", func(t *testing.T) {
		tb.t = t
		// From the page's own JavaScript context: the user's token (a new
		// session of theirs, since the console keeps its token out of
		// reach), then the change the console would not offer.
		js := `(async () => {
			const s = await fetch('/api/v1/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
				body: JSON.stringify({user: ` + jsString(readOnlyUser) + `, password: ` + jsString(d.passwords[readOnlyUser]) + `})});
			const {token} = await s.json();
			const r = await fetch('/api/v1/snmp', {method: 'PATCH',
				headers: {'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token},
				body: JSON.stringify({syscontact: 'forged'})});
			return JSON.stringify({login: s.status, status: r.status, body: await r.text()});
		})()`
		var got struct {
			Login  int    `json:"login"`
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		if err := json.Unmarshal([]byte(eval[string](tb, js, chromedp.EvalAwaitPromise)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Login != http.StatusOK || got.Status != http.StatusForbidden || !strings.Contains(got.Body, "Host.Config.SNMP") {
			t.Errorf("forged PATCH /api/v1/snmp: login %d, then %d %s; want 403 naming Host.Config.SNMP", got.Login, got.Status, got.Body)
		}
		if out := d.vicfg(t, "vicfg-snmp", "--show"); strings.Contains(out, "forged") {
			t.Errorf("the forged change was applied:\n%s", out)
		}
	})
}

// waitSettingsShown waits until a settings page is drawn for a ReadOnly
// user: the note naming the privilege the role lacks and, for a form, its
// values as text. The check for missing controls must not pass on a page
// not drawn yet.
func (tb *tab) waitSettingsShown(page string) {
	tb.t.Helper()
	privilege := map[string]string{"snmp": "Host.Config.SNMP", "syslog": "Host.Config.Syslog",
		"users": "Host.Config.Users", "lockdown": "Host.Config.Users", "backup": "Host.Config.Backup"}[page]
	readonlyForm := "true"
	if page == "snmp" || page == "syslog" || page == "lockdown" {
		readonlyForm = `!!document.querySelector('main .readonly-form[data-form="` + page + `"]')`
	}
	tb.waitJS("the "+page+" settings drawn read-only",
		`location.hash === '#/settings/`+page+`' && `+readonlyForm+` &&
		 Array.from(document.querySelectorAll('main .notice')).some(e => e.textContent.includes('`+privilege+`'))`)
	if page == "snmp" && !strings.Contains(tb.text("main"), "e2e contact") {
		tb.t.Errorf("the SNMP settings do not show the host's syscontact:\n%s", tb.text("main"))
	}
}

func TestConsoleHeadersCarryCSP(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	t.Run("Go client", func(t *testing.T) {
		for _, path := range []string{"/ui/", "/ui/index.html"} {
			resp, err := d.client.Get(d.base + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", path, resp.Status)
			}
			for name, want := range wantHeaders {
				if got := resp.Header.Get(name); got != want {
					t.Errorf("GET %s: %s = %q, want %q", path, name, got, want)
				}
			}
		}
		resp, err := d.client.Get(d.base + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
			t.Errorf("GET /: %s, Location %q; want 303 to /ui/", resp.Status, resp.Header.Get("Location"))
		}
	})
	t.Run("browser", func(t *testing.T) {
		tb := newTab(t, d)
		tb.t = t
		resp, err := chromedp.Run(tb.ctx, chromedp.NavigateResponse(d.base+"/ui/"))
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for k, v := range resp.Headers {
			got[strings.ToLower(k)] = fmt.Sprint(v)
		}
		for name, want := range wantHeaders {
			if got[strings.ToLower(name)] != want {
				t.Errorf("the browser got %s = %q, want %q", name, got[strings.ToLower(name)], want)
			}
		}
		// And the policy holds in the page: an inline script is refused.
		blocked := eval[bool](tb, `new Promise(resolve => {
			document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective.startsWith('script-src')), {once: true});
			const s = document.createElement('script'); s.textContent = 'window.e2eInline = 1'; document.body.append(s);
			setTimeout(() => resolve(false), 2000);
		})`, chromedp.EvalAwaitPromise)
		if !blocked || eval[bool](tb, `window.e2eInline === 1`) {
			t.Error("an inline script ran: the CSP is not in force in the page")
		}
	})
}

// consolePages are every page of the console, by route, with the element
// that shows it is drawn.
var consolePages = []struct{ name, route, ready string }{
	{"dashboard", "#/dashboard", "#page-dashboard"},
	{"notifications", "#/notifications", "#page-notifications"},
	{"settings-snmp", "#/settings/snmp", "#snmp-submit"},
	{"settings-syslog", "#/settings/syslog", "#syslog-submit"},
	{"settings-users", "#/settings/users", "#users-submit"},
	{"settings-lockdown", "#/settings/lockdown", "#lockdown-submit"},
	{"settings-backup", "#/settings/backup", "#backup-submit"},
	{"audit", "#/audit", "#audit-table"},
}

func TestAccessibility(t *testing.T) {
	d := startDaemon(t, daemonOptions{})
	tb := newTab(t, d)
	t.Run("login", func(t *testing.T) {
		tb.t = t
		tb.open("#/login")
		tb.do(chromedp.WaitVisible(chromedp.CSS("#login-user")))
		tb.checkAccessibility("login")
	})
	tb.t = t
	tb.loginAs(adminUser)
	for _, p := range consolePages {
		t.Run(p.name, func(t *testing.T) {
			tb.t = t
			tb.route(p.route)
			tb.do(chromedp.WaitVisible(chromedp.CSS(p.ready)))
			tb.checkAccessibility(p.name)
		})
	}
}
