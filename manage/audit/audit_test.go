package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

type recorder struct {
	mu   sync.Mutex
	recs []syslogd.Record
}

func (r *recorder) forward(rec syslogd.Record) {
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
}

func (r *recorder) records() []syslogd.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]syslogd.Record(nil), r.recs...)
}

func openTest(t *testing.T) (*Log, string, *recorder) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	rec := &recorder{}
	l, err := Open(path, rec.forward)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path, rec
}

func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e Entry
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRecordAppendsJSONLines(t *testing.T) {
	l, path, _ := openTest(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	in := []Entry{
		{Time: at, User: "alice", Source: "192.0.2.4:5123", Action: "snmp.update", Setting: "notraps",
			Old: "warmStart", New: "warmStart,coldStart", Result: "ok"},
		{User: "root", Source: "unix", Action: "user.add", Result: "denied", Detail: "needs admin"},
	}
	before := time.Now()
	for _, e := range in {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
		// Written and synced by the time Record returns: read it back now.
		_ = readEntries(t, path)
	}
	got := readEntries(t, path)
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2", len(got))
	}
	if !got[0].Time.Equal(at) {
		t.Errorf("time %v, want %v", got[0].Time, at)
	}
	if got[1].Time.Before(before.Add(-time.Second)) || got[1].Time.After(time.Now().Add(time.Second)) {
		t.Errorf("zero time not set to now: %v", got[1].Time)
	}
	got[0].Time, got[1].Time = time.Time{}, time.Time{}
	in[0].Time = time.Time{}
	for i := range in {
		if got[i] != in[i] {
			t.Errorf("entry %d: got %+v, want %+v", i, got[i], in[i])
		}
	}

	// Reopening appends.
	l.Close()
	if err := l.Record(in[0]); err == nil {
		t.Error("Record after Close succeeded")
	}
	l2, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	if err := l2.Record(in[1]); err != nil {
		t.Fatal(err)
	}
	if n := len(readEntries(t, path)); n != 3 {
		t.Errorf("after reopening: %d entries, want 3", n)
	}

	// Omitted empty fields.
	raw, _ := os.ReadFile(path)
	last := strings.Split(strings.TrimSpace(string(raw)), "\n")[2]
	for _, k := range []string{`"setting"`, `"old"`, `"new"`} {
		if strings.Contains(last, k) {
			t.Errorf("%s in %s", k, last)
		}
	}
}

func TestFileMode(t *testing.T) {
	_, path, _ := openTest(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("mode %o, want 600", m)
	}

	// An existing file with a looser mode is tightened.
	loose := filepath.Join(t.TempDir(), "audit.log")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(loose, 0o644)
	l, err := Open(loose, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	fi, _ = os.Stat(loose)
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("existing file: mode %o, want 600", m)
	}
}

func TestForward(t *testing.T) {
	l, _, rec := openTest(t)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	entries := []Entry{
		{Time: at, User: "alice", Source: "192.0.2.4:5123", Action: "snmp.update", Setting: "notraps",
			Old: "warmStart", New: "warmStart,coldStart", Result: "ok"},
		{Time: at, User: "bob", Source: "192.0.2.5:4000", Action: "syslog.update", Result: "denied", Detail: "missing privilege config.write"},
		{Time: at, User: "root", Source: "unix", Action: "snmp.update", Setting: "port", Old: "161", New: "99999", Result: "invalid", Detail: "port out of range"},
		{Time: at, User: "root", Source: "unix", Action: "syslog.update", Result: "failed", Detail: "write: disk full"},
		{Time: at, User: "", Source: "unix", Action: "login", Result: "ok"},
	}
	want := []struct {
		sev syslogd.Severity
		msg string
	}{
		{5, `user=alice source=192.0.2.4:5123 action=snmp.update setting=notraps old="warmStart" new="warmStart,coldStart" result=ok`},
		{4, `user=bob source=192.0.2.5:4000 action=syslog.update result=denied detail="missing privilege config.write"`},
		{4, `user=root source=unix action=snmp.update setting=port old="161" new="99999" result=invalid detail="port out of range"`},
		{4, `user=root source=unix action=syslog.update result=failed detail="write: disk full"`},
		{5, `user="" source=unix action=login result=ok`},
	}
	for _, e := range entries {
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	recs := rec.records()
	if len(recs) != len(want) {
		t.Fatalf("%d records forwarded, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if r.Facility != 13 || r.Facility.String() != "security" {
			t.Errorf("%d: facility %d (%s), want 13", i, r.Facility, r.Facility)
		}
		if r.Severity != want[i].sev {
			t.Errorf("%d: severity %s, want %s", i, r.Severity, want[i].sev)
		}
		if r.AppName != "hostagentd-audit" {
			t.Errorf("%d: app-name %q", i, r.AppName)
		}
		if r.Message != want[i].msg {
			t.Errorf("%d: message\n got %s\nwant %s", i, r.Message, want[i].msg)
		}
		if !r.Time.Equal(at) {
			t.Errorf("%d: time %v", i, r.Time)
		}
		if r.ProcID != strconv.Itoa(os.Getpid()) {
			t.Errorf("%d: procid %q", i, r.ProcID)
		}
	}
	if p := syslogd.Priority(recs[0].Facility, recs[0].Severity); p != 109 {
		t.Errorf("PRI %d, want 109", p)
	}
}

func TestMessageQuoting(t *testing.T) {
	got := Message(Entry{User: "a b", Source: "unix", Action: "snmp.update", Setting: "syscontact",
		Old: "", New: "line1\nline2 \"x\"", Result: "ok", Detail: ""})
	want := `user="a b" source=unix action=snmp.update setting=syscontact old="" new="line1\nline2 \"x\"" result=ok`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if strings.Contains(got, "\n") {
		t.Error("message spans lines")
	}
}

func TestPasswordsHidden(t *testing.T) {
	l, path, rec := openTest(t)
	for _, setting := range []string{"password", "root_password", "Password", "users.password", "tls_key_passphrase", "auth-secret"} {
		if err := l.Record(Entry{User: "root", Source: "unix", Action: "user.passwd", Setting: setting,
			Old: "hunter2", New: "correct horse", Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	// Setting a password where there was none still shows as such.
	if err := l.Record(Entry{User: "root", Source: "unix", Action: "user.add", Setting: "password",
		New: "s3cret!", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"hunter2", "correct horse", "s3cret!"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("file holds %q:\n%s", secret, raw)
		}
		for _, r := range rec.records() {
			if strings.Contains(r.Message, secret) {
				t.Errorf("forwarded message holds %q: %s", secret, r.Message)
			}
		}
	}
	es := readEntries(t, path)
	for _, e := range es[:len(es)-1] {
		if e.Old != Hidden || e.New != Hidden {
			t.Errorf("%s: old %q new %q", e.Setting, e.Old, e.New)
		}
	}
	if last := es[len(es)-1]; last.Old != "" || last.New != Hidden {
		t.Errorf("new password: old %q new %q", last.Old, last.New)
	}
	if m := rec.records()[0].Message; !strings.Contains(m, `old="(hidden)" new="(hidden)"`) {
		t.Errorf("message %s", m)
	}

	// Other settings are recorded as they are.
	if err := l.Record(Entry{User: "root", Source: "unix", Action: "snmp.update", Setting: "syscontact",
		Old: "a", New: "b", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	es = readEntries(t, path)
	if e := es[len(es)-1]; e.Old != "a" || e.New != "b" {
		t.Errorf("syscontact: %+v", e)
	}
}

func TestConcurrentRecord(t *testing.T) {
	l, path, rec := openTest(t)
	l.SetMaxSize(4 << 10) // rotate under concurrency too
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l.Record(Entry{User: fmt.Sprintf("u%d", w), Source: "unix", Action: "snmp.update",
					Setting: "syscontact", New: fmt.Sprintf("%d-%d", w, i), Result: "ok"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	seen := map[string]bool{}
	files := []string{path}
	for i := 1; i <= Generations; i++ {
		files = append(files, fmt.Sprintf("%s.%d", path, i))
	}
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			continue
		}
		for _, e := range readEntries(t, f) {
			if seen[e.New] {
				t.Errorf("%s twice", e.New)
			}
			seen[e.New] = true
		}
	}
	// 400 entries of ~150 bytes over 6 files of ~4 KiB: the oldest are
	// rotated away; those kept are whole lines, none twice, and every
	// entry was forwarded.
	if len(seen) == 0 {
		t.Error("no entries kept")
	}
	if len(rec.records()) != workers*each {
		t.Errorf("%d forwarded, want %d", len(rec.records()), workers*each)
	}

	// Without rotation, every entry is there.
	l2, path2, _ := openTest(t)
	wg = sync.WaitGroup{}
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				if err := l2.Record(Entry{User: "root", Source: "unix", Action: "login",
					Detail: fmt.Sprintf("%d-%d", w, i), Result: "ok"}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got := map[string]bool{}
	for _, e := range readEntries(t, path2) {
		got[e.Detail] = true
	}
	for w := range workers {
		for i := range each {
			if !got[fmt.Sprintf("%d-%d", w, i)] {
				t.Errorf("entry %d-%d missing", w, i)
			}
		}
	}
}

func TestRotation(t *testing.T) {
	l, path, _ := openTest(t)
	const max = 1000
	l.SetMaxSize(max)
	n := 0
	record := func() {
		t.Helper()
		n++
		if err := l.Record(Entry{User: "root", Source: "unix", Action: "snmp.update", Setting: "syscontact",
			New: fmt.Sprintf("entry %04d %s", n, strings.Repeat("x", 100)), Result: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return -1
		}
		return fi.Size()
	}
	// Fill past max: no rotation until the file exceeds it.
	for size(path) <= max {
		record()
		if size(path+".1") != -1 {
			t.Fatal("rotated before exceeding max size")
		}
	}
	firstFull := n
	record()
	if size(path+".1") == -1 {
		t.Fatal("not rotated once past max size")
	}
	if es := readEntries(t, path); len(es) != 1 || !strings.HasPrefix(es[0].New, fmt.Sprintf("entry %04d", firstFull+1)) {
		t.Fatalf("new file: %+v", es)
	}
	if es := readEntries(t, path+".1"); len(es) != firstFull {
		t.Fatalf(".1 holds %d entries, want %d", len(es), firstFull)
	}

	// Many more rotations: only 5 generations are kept.
	for range 20 * firstFull {
		record()
	}
	for i := 1; i <= Generations; i++ {
		p := fmt.Sprintf("%s.%d", path, i)
		if size(p) == -1 {
			t.Errorf("%s missing", p)
			continue
		}
		fi, _ := os.Stat(p)
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode %o", p, m)
		}
	}
	if size(fmt.Sprintf("%s.%d", path, Generations+1)) != -1 {
		t.Errorf("generation %d kept", Generations+1)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %o", fi.Mode().Perm())
	}
	// Generations are in order: .5 oldest … .1, then the current file, contiguous.
	var all []Entry
	for i := Generations; i >= 1; i-- {
		all = append(all, readEntries(t, fmt.Sprintf("%s.%d", path, i))...)
	}
	all = append(all, readEntries(t, path)...)
	if len(all) == 0 {
		t.Fatal("no entries")
	}
	for i := 1; i < len(all); i++ {
		var a, b int
		fmt.Sscanf(all[i-1].New, "entry %d", &a)
		fmt.Sscanf(all[i].New, "entry %d", &b)
		if b != a+1 {
			t.Fatalf("entries not contiguous: %d then %d", a, b)
		}
	}
	var lastN int
	fmt.Sscanf(all[len(all)-1].New, "entry %d", &lastN)
	if lastN != n {
		t.Errorf("last entry %d, want %d", lastN, n)
	}
	for i := 1; i <= Generations; i++ {
		if s := size(fmt.Sprintf("%s.%d", path, i)); s <= max {
			t.Errorf("generation %d: %d bytes, not past max", i, s)
		}
	}
}

// Changes

type nested struct {
	Format  string
	Max     int
	Verbose bool
}

type testConfig struct {
	Enabled  bool              `toml:"enabled"`
	Port     int               `toml:"port"`
	Name     string            `toml:"name"`
	Hosts    []string          `toml:"hosts"`
	Ports    []int             `toml:"ports"`
	Opts     nested            `toml:"opts"`
	Extra    map[string]nested `toml:"extra,omitempty"`
	Verify   *bool             `toml:"verify"`
	Password string            `toml:"password"`
	Users    []user            `toml:"users"`
	Timeout  configstore.Duration
	Skipped  string `toml:"-"`
	internal string
}

type user struct {
	Name     string `toml:"name"`
	Password string `toml:"password"`
}

func boolp(b bool) *bool { return &b }

func TestChanges(t *testing.T) {
	old := testConfig{
		Enabled: false, Port: 161, Name: "a", Hosts: []string{"h1", "h2"}, Ports: []int{1, 2},
		Opts:   nested{Format: "rfc5424", Max: 10},
		Extra:  map[string]nested{"b": {Max: 2}, "a": {Max: 1}},
		Verify: boolp(true), Password: "old-pass", Users: []user{{"alice", "pw1"}},
		Timeout: configstore.Duration(5 * time.Second), Skipped: "x", internal: "y",
	}
	nw := old
	nw.Enabled = true
	nw.Port = 1161
	nw.Hosts = []string{"h1", "h3", "h4"}
	nw.Opts = nested{Format: "rfc3164", Max: 10, Verbose: true}
	nw.Verify = boolp(false)
	nw.Password = "new-pass"
	nw.Users = []user{{"alice", "pw2"}}
	nw.Timeout = configstore.Duration(90 * time.Second)
	nw.Skipped, nw.internal = "changed", "changed"

	got := Changes(old, &nw)
	want := []Entry{
		{Setting: "enabled", Old: "false", New: "true"},
		{Setting: "port", Old: "161", New: "1161"},
		{Setting: "hosts", Old: "h1,h2", New: "h1,h3,h4"},
		{Setting: "opts", Old: fmt.Sprintf("%v", old.Opts), New: fmt.Sprintf("%v", nw.Opts)},
		{Setting: "verify", Old: "true", New: "false"},
		{Setting: "password", Old: Hidden, New: Hidden},
		{Setting: "users", Old: "{alice (hidden)}", New: "{alice (hidden)}"},
		{Setting: "Timeout", Old: "5s", New: "1m30s"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if want[3].Old != "{rfc5424 10 false}" || want[3].New != "{rfc3164 10 true}" {
		t.Errorf("nested %%v form: %q %q", want[3].Old, want[3].New)
	}
	for _, e := range got {
		if e.User != "" || e.Source != "" || e.Action != "" || e.Result != "" || !e.Time.IsZero() {
			t.Errorf("Changes filled caller fields: %+v", e)
		}
	}
}

func TestChangesUnchanged(t *testing.T) {
	mk := func() testConfig {
		return testConfig{Port: 161, Hosts: []string{"h"}, Opts: nested{Max: 1},
			Extra:  map[string]nested{"x": {Max: 1}, "y": {Max: 2}},
			Verify: boolp(true), Users: []user{{"a", "p"}}}
	}
	a, b := mk(), mk() // equal contents, different pointers and backing arrays
	if got := Changes(a, b); len(got) != 0 {
		t.Errorf("equal configs: %+v", got)
	}
	if got := Changes(&a, &a); len(got) != 0 {
		t.Errorf("same config: %+v", got)
	}
	// A nil and an empty slice are the same setting.
	a.Hosts, b.Hosts = nil, []string{}
	if got := Changes(a, b); len(got) != 0 {
		t.Errorf("nil vs empty: %+v", got)
	}
	// Only the changed field.
	b.Extra = map[string]nested{"x": {Max: 1}, "y": {Max: 3}}
	got := Changes(a, b)
	if len(got) != 1 || got[0].Setting != "extra" ||
		got[0].Old != "map[x:{ 1 false} y:{ 2 false}]" || got[0].New != "map[x:{ 1 false} y:{ 3 false}]" {
		t.Errorf("map change: %+v", got)
	}
	if got[0].Old != fmt.Sprintf("%v", a.Extra) {
		t.Errorf("map not in %%v form: %q vs %q", got[0].Old, fmt.Sprintf("%v", a.Extra))
	}
}

func TestChangesSNMPConfig(t *testing.T) {
	old := snmpconfig.DefaultConfig()
	nw := snmpconfig.DefaultConfig()
	nw.Communities = append([]string{"public"}, "ops")
	old.Communities = []string{"public"}
	nw.Syscontact = "ops@example.com"
	got := Changes(old, nw)
	want := []Entry{
		{Setting: "communities", Old: Hidden, New: Hidden}, // communities are secrets
		{Setting: "syscontact", Old: old.Syscontact, New: "ops@example.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %+v, want %+v", got[i], want[i])
		}
	}

	// Entries from Changes are recorded as they are.
	l, path, rec := openTest(t)
	for _, e := range got {
		e.User, e.Source, e.Action, e.Result = "alice", "192.0.2.4:5123", "snmp.update", "ok"
		if err := l.Record(e); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(readEntries(t, path)); n != 2 {
		t.Errorf("%d entries", n)
	}
	if m := rec.records()[0].Message; m != `user=alice source=192.0.2.4:5123 action=snmp.update setting=communities old="(hidden)" new="(hidden)" result=ok` {
		t.Errorf("message %s", m)
	}
}

func TestChangesPanicsOnMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for different types")
		}
	}()
	Changes(testConfig{}, nested{})
}
