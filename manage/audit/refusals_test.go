package audit

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hostagent/internal/peertest"
)

func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"alice", 64, "alice"},
		{"abcdef", 3, "abc…(+3 bytes)"},
		{"ééé", 3, "é…(+4 bytes)"}, // never half a rune
		{"", 0, ""},
	} {
		if got := Cut(tc.in, tc.n); got != tc.want || !utf8.ValidString(got) {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

// The audit flood of issue 10: 1 MiB user names in every field a client
// chooses, and 120 refused logins. Record cuts the names; Refuse writes one
// entry for the whole burst, at Close, with the count and a sample.
func TestRefusalsAggregatedAndNamesCut(t *testing.T) {
	l, path, fw := openTest(t)
	big := strings.Repeat("m", 1<<20)
	if err := l.Record(Entry{User: big, Source: big, Action: "login " + big, Result: "denied", Detail: big}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 120 {
		l.Refuse(Entry{Time: t0.Add(time.Duration(i) * time.Second), User: fmt.Sprint(i, big), Source: fmt.Sprintf("127.0.0.%d:%d", 2+i%10, 40000+i), Action: "login", Result: "denied", Detail: "rate limited"})
	}
	l.Refuse(Entry{Time: t0, User: "bob", Source: "192.0.2.9:1", Action: "login", Result: "denied", Detail: "busy"})
	if got := len(readEntries(t, path)); got != 1 {
		t.Fatalf("%d entries before the burst ended, want 1 (the recorded one)", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 8<<10 {
		t.Errorf("audit.log is %d bytes after 1 MiB names and 121 refusals", fi.Size())
	}
	es := readEntries(t, path)
	if len(es) != 3 {
		t.Fatalf("%d entries, want the recorded one and one per burst:\n%+v", len(es), es)
	}
	if e := es[0]; len(e.User) > 100 || len(e.Source) > 100 || len(e.Action) > 300 || len(e.Detail) > 4200 || !strings.Contains(e.User, "…(+") {
		t.Errorf("recorded entry not cut: user %d, source %d, action %d, detail %d bytes", len(e.User), len(e.Source), len(e.Action), len(e.Detail))
	}
	var flood, single Entry
	for _, e := range es[1:] {
		if strings.HasPrefix(e.Detail, "rate limited") {
			flood = e
		} else {
			single = e
		}
	}
	for _, want := range []string{
		"rate limited: 120 attempts refused from 2026-12-02T10:00:00Z to 2026-12-02T10:01:59Z",
		"sources 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6 (+60 more attempts)",
		"(+115 more attempts)",
	} {
		if !strings.Contains(flood.Detail, want) {
			t.Errorf("burst entry lacks %q:\n%+v", want, flood)
		}
	}
	if flood.User != "(various)" || flood.Source != "(various)" || flood.Action != "login" || flood.Result != "denied" || len(flood.Detail) > 1024 {
		t.Errorf("burst entry: %+v", flood)
	}
	if single.User != "bob" || single.Source != "192.0.2.9" || single.Detail != "busy" {
		t.Errorf("a burst of one: %+v, want bob from 192.0.2.9, detail busy", single)
	}
	if n := len(fw.records()); n != 3 {
		t.Errorf("%d records forwarded, want 3", n)
	}
}

// A burst is written a window after its first refusal, without waiting
// for Close.
func TestRefusalsFlushedAfterTheWindow(t *testing.T) {
	l, path, _ := openTest(t)
	l.burstWindow = 50 * time.Millisecond
	l.Refuse(Entry{User: "x", Source: "192.0.2.1:5", Action: "GET /api/v1/snmp", Result: "denied", Detail: "not logged in"})
	peertest.Eventually(t, 10*time.Second, "the burst's entry", func() bool { return len(readEntries(t, path)) == 1 })
}
