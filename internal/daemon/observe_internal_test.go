package daemon

import (
	"math"
	"slices"
	"testing"
	"time"

	"hostagent/mibs"
	"hostagent/snmpagent"
)

// TestSentRingBounds: the feed keeps the newest entries only, numbered
// from 1 without gaps, and after= returns those above it that are kept.
func TestSentRingBounds(t *testing.T) {
	r := newSentRing(3)
	seqs := func(after uint64) ([]uint64, uint64) {
		es, latest := r.after(after)
		var out []uint64
		for _, e := range es {
			out = append(out, e.seq)
		}
		return out, latest
	}
	if got, latest := seqs(0); got != nil || latest != 0 {
		t.Fatalf("empty ring: %v latest %d", got, latest)
	}
	n := mibs.WarmStart.MustNew()
	for range 2 {
		r.add(snmpagent.Sent{Notification: n})
	}
	if got, latest := seqs(0); !slices.Equal(got, []uint64{1, 2}) || latest != 2 {
		t.Errorf("two added: %v latest %d", got, latest)
	}
	for range 5 {
		r.add(snmpagent.Sent{Notification: n})
	}
	for after, want := range map[uint64][]uint64{0: {5, 6, 7}, 4: {5, 6, 7}, 5: {6, 7}, 6: {7}, 7: nil, 100: nil, math.MaxUint64: nil} {
		if got, latest := seqs(after); !slices.Equal(got, want) || latest != 7 {
			t.Errorf("after=%d: %v latest %d, want %v latest 7", after, got, latest, want)
		}
	}
}

// TestHistoryRingBounds: at most size points, oldest first; a series that
// disappears is dropped, a new one has zeros for the past, every series
// as long as the times.
func TestHistoryRingBounds(t *testing.T) {
	h := newHistoryRing(4)
	t0 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for i := range 6 {
		s := sample{at: t0.Add(time.Duration(i) * 10 * time.Second), loghosts: []namedRate{{"tcp://a:514", float64(i)}}}
		if i < 3 {
			s.targets = []namedRate{{"old@162/public", 60}}
		}
		if i >= 4 {
			s.targets = []namedRate{{"new@162/public", float64(6 * i)}}
		}
		h.record(s)
	}
	got := h.snapshot(10 * time.Second)
	if got.IntervalSeconds != 10 || len(got.Times) != 4 || got.Times[0] != "2026-01-02T03:04:20Z" || got.Times[3] != "2026-01-02T03:04:50Z" {
		t.Errorf("times: %d %v", got.IntervalSeconds, got.Times)
	}
	if len(got.Loghosts) != 1 || !slices.Equal(got.Loghosts[0].LinesPerSecond, []float64{2, 3, 4, 5}) {
		t.Errorf("loghosts: %+v", got.Loghosts)
	}
	if len(got.Targets) != 1 || got.Targets[0].Target != "new@162/public" || !slices.Equal(got.Targets[0].NotificationsPerMinute, []float64{0, 0, 24, 30}) {
		t.Errorf("targets: %+v (old dropped, new with zeros for the past)", got.Targets)
	}
	for range 1000 {
		h.record(sample{at: t0})
	}
	if got := h.snapshot(10 * time.Second); len(got.Times) != 4 || len(got.Loghosts) != 0 {
		t.Errorf("after many samples: %d times, %d loghosts", len(got.Times), len(got.Loghosts))
	}
	if got := newHistoryRing(historyPoints).snapshot(defaultSampleInterval); len(got.Times) != 0 || got.Loghosts == nil || got.Targets == nil {
		t.Errorf("empty history: %+v (lists must encode as [], not null)", got)
	}
}

// TestRates: differences per second and per minute over the time between
// readings; a counter that went down, or appears, counts from zero.
func TestRates(t *testing.T) {
	t0 := time.Now()
	prev := counters{at: t0, loghosts: map[string]uint64{"a": 100, "b": 50}, targets: map[string]uint64{"t": 10}}
	now := counters{at: t0.Add(30 * time.Second), loghosts: map[string]uint64{"a": 250, "b": 20, "c": 5}, targets: map[string]uint64{"t": 13},
		order: [2][]string{{"a", "b", "c"}, {"t"}}}
	s := rates(prev, now)
	want := []namedRate{{"a", 5}, {"b", 0.667}, {"c", 0.167}} // rounded to three decimals
	if !slices.Equal(s.loghosts, want) || !slices.Equal(s.targets, []namedRate{{"t", 6}}) {
		t.Errorf("rates: %+v %+v", s.loghosts, s.targets)
	}
}
