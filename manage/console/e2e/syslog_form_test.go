package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"hostagent/manage/api"
)

// TestSyslogFormSetsFilesAndOptions: an Administrator changes a file glob
// and two options of the loghost in the syslog form, sent in one PATCH;
// vicfg-syslog --show lists the glob and GET /api/v1/syslog holds the
// options. A glob outside the log roots and an option out of range are
// refused, each with the server's message next to its field, and nothing
// of that submit is applied.
func TestSyslogFormSetsFilesAndOptions(t *testing.T) {
	addr, err := freeTCPAddr() // nobody listens: the loghost is stored, not reached
	if err != nil {
		t.Fatal(err)
	}
	loghost := "tcp://" + addr
	d := startDaemon(t, daemonOptions{loghost: loghost})
	token := d.login(t, adminUser)
	syslogState := func() api.SyslogState {
		t.Helper()
		status, body := d.apiCall(t, http.MethodGet, api.PathSyslog, token, nil)
		var st api.SyslogState
		if status != http.StatusOK || json.Unmarshal(body, &st) != nil {
			t.Fatalf("GET %s: %d %s", api.PathSyslog, status, body)
		}
		return st
	}

	tb := newTab(t, d)
	tb.loginAs(adminUser)
	tb.route("#/settings/syslog")
	glob := filepath.Join(d.dir, "log", "apps", "*.log")
	tb.setField("#syslog-files-0-glob", glob)
	tb.setField("#syslog-options-0-max_message", "2048")
	tb.do(chromedp.SetValue(chromedp.CSS("#syslog-options-0-format"), "rfc3164"))
	tb.do(chromedp.Click(chromedp.CSS("#syslog-submit")))
	tb.waitJS("the change accepted", `(document.querySelector('#syslog-status')?.textContent ?? '').startsWith('Saved')`)
	if show := d.vicfg(t, "vicfg-syslog", "--show"); !strings.Contains(show, glob) {
		t.Errorf("vicfg-syslog --show does not list %s:\n%s", glob, show)
	}
	if o := syslogState().Config.Options[loghost]; o.MaxMessage != 2048 || o.Format != "rfc3164" {
		t.Errorf("GET %s: options of %s = %+v, want max_message 2048 and format rfc3164", api.PathSyslog, loghost, o)
	}
	// The duplicate read-only table is gone: the form shows the files.
	if n := eval[int](tb, `document.querySelectorAll('table#syslog-files, table#syslog-options').length`); n != 0 {
		t.Errorf("%d read-only tables of files or options beside the form", n)
	}

	// Refused: each message beside its field, nothing applied.
	before := syslogState().Config
	bad := "/etc/*.conf"
	status, body := d.apiCall(t, http.MethodPatch, api.PathSyslog, token,
		map[string]any{"files": []map[string]string{{"glob": bad}}})
	if status != http.StatusForbidden {
		t.Fatalf("PATCH files %s: %d %s", bad, status, body)
	}
	want := apiError(t, body)
	tb.setField("#syslog-files-0-glob", bad)
	tb.setField("#syslog-options-0-max_message", "10")
	tb.do(chromedp.Click(chromedp.CSS("#syslog-submit")))
	tb.waitJS("the server's message beside the glob",
		`(document.querySelector('#syslog-files-0-glob-error')?.textContent ?? '').trim() !== ''`)
	if got := tb.text("#syslog-files-0-glob-error"); !strings.Contains(got, want) {
		t.Errorf("#syslog-files-0-glob-error = %q, want the server's message %q", got, want)
	}
	// The path check answers first (403); the option is then refused on
	// its own, beside its field.
	tb.setField("#syslog-files-0-glob", glob)
	tb.do(chromedp.Click(chromedp.CSS("#syslog-submit")))
	tb.waitJS("the server's message beside max_message",
		`(document.querySelector('#syslog-options-0-max_message-error')?.textContent ?? '').includes('max_message 10')`)
	if got := tb.text("#syslog-files-0-glob-error") + tb.text("#syslog-error"); got != "" {
		t.Errorf("messages beside other fields: %q", got)
	}
	if after := syslogState().Config; after.Files[0].Glob != before.Files[0].Glob || after.Options[loghost].MaxMessage != 2048 {
		t.Errorf("a refused submit changed the configuration: files %+v, options %+v", after.Files, after.Options)
	}
}
