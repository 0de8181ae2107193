package daemon_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"hostagent/manage/api"
)

// auditPage reads GET /api/v1/audit?query as c (over HTTPS), failing the
// test on anything but 200.
func auditPage(t *testing.T, c *httpsClient, query string) api.AuditPage {
	t.Helper()
	code, body, _ := c.do("GET", api.PathAudit+"?"+query, nil)
	if code != http.StatusOK {
		t.Fatalf("GET audit?%s: %d %s", query, code, body)
	}
	var p api.AuditPage
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("GET audit?%s: %v in %s", query, err, body)
	}
	return p
}

// TestAuditQueryOverHTTPS: changes made over HTTPS show in the audit
// trail newest first; each filter, the limit and truncated work; a
// ReadOnly user is refused and the refusal is itself audited; bad
// parameters are refused with a message naming them; the console reads
// the trail on the socket.
func TestAuditQueryOverHTTPS(t *testing.T) {
	e := startPrivileges(t)
	alice := e.as("alice", "alice-passw0rd")
	sam := e.as("sam", "sam-passw0rd")

	for _, c := range []struct {
		who     *httpsClient
		contact string
	}{{alice, "first"}, {sam, "second"}, {alice, "third"}} {
		if code, body, _ := c.who.do("PATCH", api.PathSNMP, api.SNMPPatch{Syscontact: ptr(c.contact)}); code != http.StatusOK {
			t.Fatalf("PATCH snmp syscontact=%s: %d %s", c.contact, code, body)
		}
	}
	if code, body, _ := alice.do("PATCH", api.PathSyslog, json.RawMessage(`{"loghosts":["udp://127.0.0.1:5514"]}`)); code != http.StatusOK {
		t.Fatalf("PATCH syslog: %d %s", code, body)
	}

	// Newest first: the syslog change, then the three contacts in reverse.
	all := auditPage(t, alice, "")
	if all.Truncated || len(all.Entries) < 5 {
		t.Fatalf("whole trail: %d entries, truncated %v", len(all.Entries), all.Truncated)
	}
	for i := 1; i < len(all.Entries); i++ {
		if all.Entries[i].Time.After(all.Entries[i-1].Time) {
			t.Errorf("entry %d (%s) is newer than entry %d (%s)", i, all.Entries[i].Time, i-1, all.Entries[i-1].Time)
		}
	}
	if first := all.Entries[0]; first.Action != "syslog.update" || first.User != "alice" || first.Result != "ok" {
		t.Errorf("newest entry: %+v, want alice's syslog.update", first)
	}
	contacts := auditPage(t, alice, "setting=syscontact")
	var news, users []string
	for _, en := range contacts.Entries {
		news, users = append(news, en.New), append(users, en.User)
	}
	if !slices.Equal(news, []string{"third", "second", "first"}) || !slices.Equal(users, []string{"alice", "sam", "alice"}) {
		t.Errorf("setting=syscontact: new %q by %q, want third, second, first by alice, sam, alice", news, users)
	}

	// Each filter, and the action prefix.
	for _, tc := range []struct {
		query string
		check func(api.AuditEntry) bool
		min   int
	}{
		{"user=sam", func(en api.AuditEntry) bool { return en.User == "sam" }, 2}, // login, syscontact
		{"action=snmp.update", func(en api.AuditEntry) bool { return en.Action == "snmp.update" }, 3},
		{"action=snmp.", func(en api.AuditEntry) bool { return strings.HasPrefix(en.Action, "snmp.") }, 3},
		{"action=login&user=alice", func(en api.AuditEntry) bool { return en.Action == "login" && en.User == "alice" }, 1},
		{"setting=loghosts", func(en api.AuditEntry) bool { return en.Setting == "loghosts" }, 1},
		{"result=ok&user=sam&action=snmp.", func(en api.AuditEntry) bool { return en.Result == "ok" && en.User == "sam" }, 1},
		{"action=snmp", func(api.AuditEntry) bool { return false }, 0},                                             // exact: no entry is just "snmp"
		{"user=&setting=syscontact&limit=", func(en api.AuditEntry) bool { return en.Setting == "syscontact" }, 3}, // blank form fields
	} {
		p := auditPage(t, alice, tc.query)
		if len(p.Entries) < tc.min {
			t.Errorf("%s: %d entries, want at least %d", tc.query, len(p.Entries), tc.min)
		}
		for _, en := range p.Entries {
			if !tc.check(en) {
				t.Errorf("%s: entry %+v does not match", tc.query, en)
			}
		}
	}

	// The limit, and truncated.
	if p := auditPage(t, alice, "limit=1&setting=syscontact"); len(p.Entries) != 1 || !p.Truncated || p.Entries[0].New != "third" {
		t.Errorf("limit=1: %+v", p)
	}
	if p := auditPage(t, alice, "limit=3&setting=syscontact"); len(p.Entries) != 3 || p.Truncated {
		t.Errorf("limit=3 of 3: %d entries, truncated %v", len(p.Entries), p.Truncated)
	}

	// ReadOnly is refused, and the refusal is in the trail.
	bob := e.as("bob", "bob-passw0rd")
	if code, body, _ := bob.do("GET", api.PathAudit, nil); code != http.StatusForbidden || !strings.Contains(body, "lacks privilege Host.Config.Users") {
		t.Errorf("ReadOnly GET audit: %d %s, want 403 naming Host.Config.Users", code, body)
	}
	denied := auditPage(t, alice, "user=bob&result=denied")
	if len(denied.Entries) != 1 || denied.Entries[0].Action != "GET "+api.PathAudit || !strings.Contains(denied.Entries[0].Detail, "Host.Config.Users") {
		t.Errorf("bob's refusal in the trail: %+v", denied.Entries)
	}

	// Bad parameters: 400 naming the parameter, the value, what is allowed.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"limit=0", []string{"limit", `"0"`, "1 to 1000"}},
		{"limit=1001", []string{"limit", `"1001"`, "1 to 1000"}},
		{"limit=ten", []string{"limit", `"ten"`, "whole number"}},
		{"result=maybe", []string{"result", `"maybe"`, "ok, denied, invalid, failed"}},
		{"since=yesterday", []string{`"since"`, "unknown", "user, action, setting, result, limit"}},
		{"user=alice&user=bob", []string{"user", "2 times", "at most once"}},
	} {
		code, body, _ := alice.do("GET", api.PathAudit+"?"+tc.query, nil)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", tc.query, code, body)
			continue
		}
		var apiErr api.Error
		_ = json.Unmarshal([]byte(body), &apiErr)
		for _, w := range tc.want {
			if !strings.Contains(apiErr.Error, w) {
				t.Errorf("%s: message %q lacks %q", tc.query, apiErr.Error, w)
			}
		}
	}

	// The console (unix socket) reads the same trail.
	code, out := call(t, e.console, "GET", api.PathAudit+"?"+url.Values{"user": {"sam"}, "action": {"snmp."}}.Encode(), nil)
	var p api.AuditPage
	if err := json.Unmarshal(out, &p); code != http.StatusOK || err != nil || len(p.Entries) != 1 || p.Entries[0].New != "second" {
		t.Errorf("console GET audit: %d %s", code, out)
	}
}

// TestSessionPrivileges: the login reply and GET /api/v1/session carry the
// session role's privileges, sorted; the console holds every one.
func TestSessionPrivileges(t *testing.T) {
	e := startPrivileges(t)
	all := []string{"Host.Config.Backup", "Host.Config.SNMP", "Host.Config.Syslog", "Host.Config.Users", "System.Read"}
	for _, tc := range []struct {
		user, password string
		want           []string
	}{
		{"alice", "alice-passw0rd", all},                                     // Administrator
		{"bob", "bob-passw0rd", []string{"System.Read"}},                     // ReadOnly
		{"sam", "sam-passw0rd", []string{"Host.Config.SNMP", "System.Read"}}, // custom SNMPOps
		{"frank", "frank-passw0rd", all},                                     // custom, every privilege
	} {
		c := e.as(tc.user, tc.password) // logs in
		code, body := c.login(tc.user, tc.password)
		var login api.SessionInfo
		if err := json.Unmarshal([]byte(body), &login); code != http.StatusOK || err != nil {
			t.Fatalf("login %s: %d %s", tc.user, code, body)
		}
		if !slices.Equal(login.Privileges, tc.want) {
			t.Errorf("login %s: privileges %q, want %q", tc.user, login.Privileges, tc.want)
		}
		code, body, _ = c.do("GET", api.PathSession, nil)
		var who api.SessionInfo
		if err := json.Unmarshal([]byte(body), &who); code != http.StatusOK || err != nil {
			t.Fatalf("GET session %s: %d %s", tc.user, code, body)
		}
		if who.User != tc.user || !slices.Equal(who.Privileges, tc.want) {
			t.Errorf("GET session %s: %+v, want privileges %q", tc.user, who, tc.want)
		}
	}
	var console api.SessionInfo
	if err := json.Unmarshal(e.consoleOK("GET", api.PathSession, nil), &console); err != nil || console.User != "root" || !slices.Equal(console.Privileges, all) {
		t.Errorf("console GET session: %+v %v, want root with %q", console, err, all)
	}
}

// TestAuditHidesRefusedSNMPDetails: the reason a change of the SNMP
// configuration was refused quotes the value refused, a community
// included; a reader of the trail without Host.Config.SNMP gets the entry
// with that reason hidden, a holder (and the console) in full.
func TestAuditHidesRefusedSNMPDetails(t *testing.T) {
	e := startPrivileges(t)
	alice := e.as("alice", "alice-passw0rd")    // Administrator
	ursula := e.as("ursula", "ursula-passw0rd") // UsersOnly: may read the trail, not set SNMP
	const secret = "Sup3rSecretCommunity"
	if code, body, _ := alice.do("PATCH", api.PathSNMP, api.SNMPPatch{Targets: &[]string{"bad host@99999/" + secret}}); code != http.StatusBadRequest {
		t.Fatalf("PATCH a bad target: %d %s, want 400", code, body)
	}
	detail := func(p api.AuditPage) string {
		for _, en := range p.Entries {
			if en.Action == "snmp.update" && en.Result == "invalid" {
				return en.Detail
			}
		}
		t.Fatalf("no refused snmp.update in %+v", p.Entries)
		return ""
	}
	if d := detail(auditPage(t, alice, "action=snmp.")); !strings.Contains(d, secret) {
		t.Errorf("an SNMP holder reads the reason %q: want it whole", d)
	}
	if d := detail(auditPage(t, ursula, "action=snmp.")); strings.Contains(d, secret) || !strings.Contains(d, "hidden") {
		t.Errorf("a reader without Host.Config.SNMP reads the reason %q: want it hidden", d)
	}
	var console api.AuditPage
	if err := json.Unmarshal(e.consoleOK("GET", api.PathAudit+"?action=snmp.", nil), &console); err != nil || !strings.Contains(detail(console), secret) {
		t.Errorf("the console reads %q (%v): want it whole", detail(console), err)
	}
}
