package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// trailEntry is the i-th entry of a test trail: users, actions, settings and
// results cycle so that every filter selects some and not others.
func trailEntry(i int) Entry {
	users := []string{"alice", "bob", "root"}
	actions := []string{"snmp.update", "syslog.update", "user.add carol", "login", "snmp"}
	settings := []string{"syscontact", "loghosts", "", "role"}
	return Entry{
		Time:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		User:    users[i%len(users)],
		Source:  "192.0.2.4:5123",
		Action:  actions[i%len(actions)],
		Setting: settings[i%len(settings)],
		Old:     "old",
		New:     "new-" + strconv.Itoa(i),
		Result:  Results[i%len(Results)],
		Detail:  "entry " + strconv.Itoa(i),
	}
}

// writeTrail writes n sample entries to path as the log writes them, one
// JSON line each, without a fsync per entry (writing 50 000 through Record
// would time the disk, not the query).
func writeTrail(t testing.TB, path string, n int) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		b, _ := json.Marshal(trailEntry(i))
		w.Write(b)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	return fi.Size()
}

// naive is the answer a query must give: every entry of all, newest last
// in all, filtered and reversed, then cut to the limit.
func naive(all []Entry, q Query) Page {
	var p Page
	p.Entries = []Entry{}
	for i := len(all) - 1; i >= 0; i-- {
		if !q.matches(all[i]) {
			continue
		}
		if len(p.Entries) == q.Limit {
			p.Truncated = true
			break
		}
		p.Entries = append(p.Entries, all[i])
	}
	return p
}

func samePage(t *testing.T, what string, got, want Page) {
	t.Helper()
	if got.Truncated != want.Truncated || len(got.Entries) != len(want.Entries) {
		t.Fatalf("%s: %d entries (truncated %v), want %d (truncated %v)", what, len(got.Entries), got.Truncated, len(want.Entries), want.Truncated)
	}
	for i := range got.Entries {
		if !got.Entries[i].Time.Equal(want.Entries[i].Time) || got.Entries[i].Detail != want.Entries[i].Detail {
			t.Fatalf("%s: entry %d is %+v, want %+v", what, i, got.Entries[i], want.Entries[i])
		}
	}
}

// TestQueryAcrossRotations records through the log with a small rotation
// size, so that the trail spans every generation, and checks each filter
// against a plain reading of the files, oldest generation first.
func TestQueryAcrossRotations(t *testing.T) {
	l, path, _ := openTest(t)
	l.SetMaxSize(4 << 10)
	for i := range 300 {
		if err := l.Record(trailEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	var all []Entry
	for i := Generations; i >= 1; i-- {
		if _, err := os.Stat(path + "." + strconv.Itoa(i)); err != nil {
			t.Fatalf("generation %d: %v (the trail should span every generation)", i, err)
		}
		all = append(all, readEntries(t, path+"."+strconv.Itoa(i))...)
	}
	all = append(all, readEntries(t, path)...)
	if len(all) < 50 || len(all) == 300 {
		t.Fatalf("%d entries left in the trail; the test wants some rotated away and many kept", len(all))
	}

	for _, q := range []Query{
		{Limit: MaxLimit},
		{Limit: 10},
		{User: "alice", Limit: MaxLimit},
		{User: "nobody", Limit: MaxLimit},
		{Action: "snmp.update", Limit: MaxLimit},
		{Action: "snmp.", Limit: MaxLimit},  // snmp.update, not "snmp"
		{Action: "snmp", Limit: MaxLimit},   // exact: not snmp.update
		{Action: "user.", Limit: MaxLimit},  // "user.add carol"
		{Action: "syslog", Limit: MaxLimit}, // no prefix match without the dot
		{Setting: "loghosts", Limit: MaxLimit},
		{Result: "denied", Limit: MaxLimit},
		{User: "bob", Action: "snmp.", Result: "ok", Limit: MaxLimit},
		{User: "alice", Limit: 3},
	} {
		got, err := l.Query(context.Background(), q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		want := naive(all, q)
		samePage(t, fmt.Sprintf("%+v", q), got, want)
		if q.Limit == MaxLimit && got.Truncated {
			t.Errorf("%+v: truncated with fewer entries than the limit", q)
		}
	}
	// The limit exactly the number of matches: not truncated.
	n := len(naive(all, Query{User: "root", Limit: MaxLimit}).Entries)
	if got, _ := l.Query(context.Background(), Query{User: "root", Limit: n}); got.Truncated || len(got.Entries) != n {
		t.Errorf("limit = matches (%d): %d entries, truncated %v", n, len(got.Entries), got.Truncated)
	}
	if got, _ := l.Query(context.Background(), Query{User: "root", Limit: n - 1}); !got.Truncated {
		t.Errorf("limit = matches-1: not truncated")
	}
	// Filters with characters JSON escapes match too (no prefilter).
	if err := l.Record(Entry{User: `o"<r>&`, Action: "login", Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(context.Background(), Query{User: `o"<r>&`, Limit: 5})
	if err != nil || len(got.Entries) != 1 || got.Entries[0].User != `o"<r>&` {
		t.Errorf("escaped user: %+v, %v", got, err)
	}
}

func TestQueryRefusesBadQueries(t *testing.T) {
	l, _, _ := openTest(t)
	for _, q := range []Query{{Limit: 0}, {Limit: MaxLimit + 1}, {Result: "maybe", Limit: 1}} {
		if _, err := l.Query(context.Background(), q); err == nil {
			t.Errorf("%+v: no error", q)
		}
	}
}

// TestBackReader returns a file's lines last to first, across chunk
// boundaries, with empty lines skipped, a last line without its newline
// kept and a line over maxLine dropped.
func TestBackReader(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	for _, tc := range []struct {
		name  string
		lines []string
		tail  string // after the last newline
	}{
		{"empty file", nil, ""},
		{"one line", []string{"a"}, ""},
		{"no final newline", []string{"a", "b"}, "c"},
		{"empty lines", []string{"", "a", "", "", "b"}, ""},
		{"chunk-sized lines", []string{strings.Repeat("a", chunkSize-1), strings.Repeat("b", chunkSize), strings.Repeat("c", chunkSize+1), "d"}, ""},
		{"lines longer than chunks", []string{"e", strings.Repeat("f", 3*chunkSize+7), "g", strings.Repeat("h", 5*chunkSize)}, ""},
		{"a line over the limit", []string{"before", long, "after"}, ""},
		{"over the limit first", []string{long, "after"}, ""},
		{"over the limit last", []string{"before"}, long},
		{"at the limit", []string{"before", long[:maxLine], "after"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f")
			var content strings.Builder
			for _, l := range tc.lines {
				content.WriteString(l + "\n")
			}
			content.WriteString(tc.tail)
			if err := os.WriteFile(path, []byte(content.String()), 0o600); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, l := range append(slices.Clone(tc.lines), tc.tail) {
				if l != "" && len(l) <= maxLine {
					want = append(want, l)
				}
			}
			slices.Reverse(want)
			f, _ := os.Open(path)
			defer f.Close()
			fi, _ := f.Stat()
			r := &backReader{}
			r.reset(f, fi.Size())
			var got []string
			for {
				line, err := r.prev()
				if err != nil {
					break
				}
				got = append(got, string(line))
			}
			if !slices.Equal(got, want) {
				t.Errorf("got %d lines %.40q, want %d %.40q", len(got), got, len(want), want)
			}
			if len(r.buf) > maxLine+2*chunkSize {
				t.Errorf("buffer grew to %d bytes, past maxLine and two chunks", len(r.buf))
			}
		})
	}
}

// TestQueryLongValuesCut: Old and New longer than maxShown come back cut,
// so that a page's size is bounded whatever was set.
func TestQueryLongValuesCut(t *testing.T) {
	l, _, _ := openTest(t)
	if err := l.Record(Entry{User: "alice", Action: "syslog.update", Setting: "loghosts", New: strings.Repeat("udp://h:514,", 10000), Result: "ok"}); err != nil {
		t.Fatal(err)
	}
	p, err := l.Query(context.Background(), Query{Limit: 1})
	if err != nil || len(p.Entries) != 1 {
		t.Fatal(p, err)
	}
	if n := len(p.Entries[0].New); n > maxShown+32 || !strings.Contains(p.Entries[0].New, "bytes)") {
		t.Errorf("New is %d bytes: %.60q…", n, p.Entries[0].New)
	}
}

func TestQueryCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeTrail(t, path, 20000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadTrail(ctx, path, Query{User: "nobody", Limit: 1}); err == nil {
		t.Error("a cancelled query read the whole trail")
	}
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestQueryMemoryBounded: a query over a trail of 50 000 entries allocates
// about as much as over 5 000 — bounded by the page and a chunk, not by
// the file — whether it stops at the newest entries or reads the whole
// trail for a filter that matches nothing; one that matches some in the
// whole trail allocates for those only.
func TestQueryMemoryBounded(t *testing.T) {
	dir := t.TempDir()
	small, big := filepath.Join(dir, "small.log"), filepath.Join(dir, "big.log")
	writeTrail(t, small, 5000)
	size := writeTrail(t, big, 50000)

	for _, tc := range []struct {
		name    string
		q       Query
		limit   uint64 // at most this many bytes for the big trail
		sameFor bool   // about as much for the small trail
	}{
		// The newest 1000 of all: decodes 1001 lines.
		{"newest page", Query{Limit: MaxLimit}, 4 << 20, true},
		// Nobody matches: every line is read, and skipped before
		// decoding.
		{"whole trail, no match", Query{User: "nobody", Limit: 1}, 1 << 20, true},
		{"whole trail, a setting as an old value", Query{Setting: "old", Limit: 1}, 1 << 20, true},
		// One entry in 60 matches (833 of 50 000): the whole trail is
		// read, the matches decoded.
		{"whole trail, some match", Query{User: "alice", Action: "snmp.", Setting: "loghosts", Result: "denied", Limit: MaxLimit}, 4 << 20, false},
	} {
		var pSmall, pBig Page
		aSmall := allocated(func() { pSmall, _ = ReadTrail(context.Background(), small, tc.q) })
		aBig := allocated(func() { pBig, _ = ReadTrail(context.Background(), big, tc.q) })
		t.Logf("%s: %d bytes allocated for a 5k trail, %d for 50k (%d bytes of file); %d and %d entries", tc.name, aSmall, aBig, size, len(pSmall.Entries), len(pBig.Entries))
		if aBig > tc.limit {
			t.Errorf("%s: %d bytes allocated over the 50k trail, want at most %d", tc.name, aBig, tc.limit)
		}
		if tc.sameFor && aBig > 2*aSmall+256<<10 {
			t.Errorf("%s: allocations grow with the trail: %d for 5k entries, %d for 50k", tc.name, aSmall, aBig)
		}
		want := 0
		for i := range 50000 {
			if tc.q.matches(trailEntry(i)) {
				want++
			}
		}
		if want = min(want, tc.q.Limit); len(pBig.Entries) != want {
			t.Errorf("%s: %d entries, want %d", tc.name, len(pBig.Entries), want)
		}
	}
}

// BenchmarkQuery reads a 50 000-entry trail: the newest 200, a filter
// that reads the whole trail for no match, and one for a match every 60
// entries.
func BenchmarkQuery(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.log")
	size := writeTrail(b, path, 50000)
	for _, bc := range []struct {
		name  string
		q     Query
		whole bool
	}{
		{"newest200", Query{Limit: 200}, false},
		{"action-prefix-1000", Query{Action: "snmp.", Limit: 1000}, false},
		{"whole-trail-prefiltered", Query{User: "nobody", Limit: 1}, true},
		{"whole-trail-some-match", Query{User: "alice", Action: "snmp.", Setting: "loghosts", Result: "denied", Limit: 1000}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			if bc.whole {
				b.SetBytes(size) // MB/s of trail read
			}
			for b.Loop() {
				if _, err := ReadTrail(context.Background(), path, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
