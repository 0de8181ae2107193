package daemon

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"hostagent/collectors"
	"hostagent/internal/buildinfo"
	"hostagent/manage/api"
	"hostagent/mibs"
	"hostagent/snmpagent"
)

// What the web console watches (GET /api/v1/host, /history and
// /notifications): the daemon only reads here, from the same sources
// /metrics and polls read, and keeps two bounded rings of its own.

// Sizes of the rings: an hour of 10 s samples, and the last notifications.
const (
	defaultSampleInterval = 10 * time.Second
	historyPoints         = 360
	feedSize              = 200
)

// observed is what the daemon keeps for the console.
type observed struct {
	started time.Time
	feed    *sentRing
	history *historyRing
}

func newObserved() *observed {
	return &observed{started: time.Now(), feed: newSentRing(feedSize), history: newHistoryRing(historyPoints)}
}

// sampleInterval is the history's interval (Options.SampleInterval).
func (d *Daemon) sampleInterval() time.Duration {
	if d.opts.SampleInterval > 0 {
		return d.opts.SampleInterval
	}
	return defaultSampleInterval
}

// --- /api/v1/host

// HostState implements apiserver.ObserveService.
//
// The collectors' VMs and sensors come from each source's own snapshot
// (collectors.VMReporter, SensorReporter), which the source replaces
// whenever it publishes its MIB section, rather than from reading the MIB
// view back: the view holds what SNMP shows (vmwEnvTable has rows only for
// sensors that reported an event, and no reading), and parsing tables back
// into records would make the console depend on the MIB layout. Either
// way data flows one way, source to reader, without a lock of the source.
func (d *Daemon) HostState(ctx context.Context) (api.HostState, error) {
	host, _ := os.Hostname()
	st := api.HostState{Hostname: host, Product: buildinfo.Name, Version: buildinfo.Version(), Build: buildinfo.Build(),
		Started: d.observed.started.UTC().Format(time.RFC3339), Collectors: []api.CollectorState{}, VMs: []api.VMState{}, Sensors: []api.SensorState{}}
	d.mu.Lock()
	var sources map[string]collectors.Source
	if d.collectors != nil {
		sources = d.collectors.sources
	}
	d.mu.Unlock()
	for _, name := range collectors.Names() {
		src, enabled := sources[name]
		cs := api.CollectorState{Name: name, Enabled: enabled, State: "stopped"}
		if enabled {
			cs = collectorState(name, src.Stats())
			inner := collectors.Inner(src)
			if r, ok := inner.(collectors.VMReporter); ok {
				for _, vm := range r.VMs() {
					st.VMs = append(st.VMs, api.VMState{ID: strconv.Itoa(vm.ID), Name: vm.Name, State: vm.State, ConfigPath: vm.ConfigPath})
				}
			}
			if r, ok := inner.(collectors.SensorReporter); ok {
				for _, s := range r.Sensors() {
					st.Sensors = append(st.Sensors, api.SensorState{Name: s.Name, Subsystem: s.Subsystem, Status: s.Status, Reading: s.Reading})
				}
			}
		}
		st.Collectors = append(st.Collectors, cs)
	}
	return st, nil
}

// collectorState is an enabled collector's state from its counters.
func collectorState(name string, s collectors.Stats) api.CollectorState {
	cs := api.CollectorState{Name: name, Enabled: true, State: "running", LastError: s.LastError,
		Detail: fmt.Sprintf("%d runs, %d failures", s.Runs, s.Failures)}
	switch {
	case s.LastError != "":
		cs.State = "failing"
	case s.Absent:
		cs.State = "absent"
	}
	if !s.LastRun.IsZero() {
		cs.LastRun = s.LastRun.UTC().Format(time.RFC3339)
		cs.Detail += fmt.Sprintf(", the last took %s", s.LastDuration.Round(time.Microsecond))
	}
	return cs
}

// --- /api/v1/notifications

// sentRing keeps the last notifications the agent sent. add runs on the
// agent's fan-out path: it takes the mutex for a slot assignment, O(1);
// decoding with MIB names is left to the readers, once per entry.
type sentRing struct {
	mu      sync.Mutex
	entries []*sentEntry // a ring: entries[(next-1) % len] is the newest
	next    uint64       // the sequence number of the next notification, from 1
}

type sentEntry struct {
	seq     uint64
	sent    snmpagent.Sent
	decoded atomic.Pointer[api.Notification] // filled by the first reader
}

func newSentRing(size int) *sentRing {
	return &sentRing{entries: make([]*sentEntry, size), next: 1}
}

// add records s; the agent's observer.
func (r *sentRing) add(s snmpagent.Sent) {
	e := &sentEntry{sent: s}
	r.mu.Lock()
	e.seq = r.next
	r.entries[r.next%uint64(len(r.entries))] = e
	r.next++
	r.mu.Unlock()
}

// after returns the entries newer than seq, oldest first, and the newest
// sequence number given so far.
func (r *sentRing) after(seq uint64) ([]*sentEntry, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	latest := r.next - 1
	if seq >= latest {
		return nil, latest // nothing newer (seq+1 would wrap at the largest seq)
	}
	size := uint64(len(r.entries))
	first := max(seq+1, 1)
	if latest >= size {
		first = max(first, latest-size+1)
	}
	var out []*sentEntry
	for s := first; s <= latest; s++ {
		out = append(out, r.entries[s%size])
	}
	return out, latest
}

// Notifications implements apiserver.ObserveService.
func (d *Daemon) Notifications(ctx context.Context, after uint64) (api.NotificationFeed, error) {
	entries, latest := d.observed.feed.after(after)
	feed := api.NotificationFeed{Latest: latest, Notifications: make([]api.Notification, 0, len(entries))}
	for _, e := range entries {
		n := e.decoded.Load()
		if n == nil {
			n = d.decode(e)
			e.decoded.Store(n)
		}
		feed.Notifications = append(feed.Notifications, *n)
	}
	return feed, nil
}

// decode renders a sent notification as the demo receiver (trapwatch)
// logs it: the notification and each varbind named from the MIBs in use.
func (d *Daemon) decode(e *sentEntry) *api.Notification {
	n := e.sent.Notification
	out := &api.Notification{Seq: e.seq, Time: e.sent.Time.UTC().Format(time.RFC3339), Name: d.Name(n.Type.OID),
		OID: n.Type.OID.String(), VarBinds: make([]api.NamedValue, 0, len(n.VarBinds)), Targets: slices.Clone(e.sent.Targets)}
	for _, vb := range n.VarBinds {
		out.VarBinds = append(out.VarBinds, api.NamedValue{Name: d.Name(vb.OID), Value: d.valueText(vb)})
	}
	return out
}

// valueText is a varbind's value as text: OIDs named, strings as they
// are when printable, other octets in hex.
func (d *Daemon) valueText(vb mibs.VarBind) string {
	switch vb.Syntax {
	case mibs.Integer:
		return strconv.FormatInt(vb.Int, 10)
	case mibs.ObjectIdentifier:
		return d.Name(vb.Object)
	case mibs.IPAddress:
		if len(vb.Bytes) == 4 {
			return fmt.Sprintf("%d.%d.%d.%d", vb.Bytes[0], vb.Bytes[1], vb.Bytes[2], vb.Bytes[3])
		}
		return fmt.Sprintf("% X", vb.Bytes)
	case mibs.OctetString:
		if printable(vb.Bytes) {
			return string(vb.Bytes)
		}
		return fmt.Sprintf("% X", vb.Bytes)
	}
	return strconv.FormatUint(vb.Uint, 10)
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// --- /api/v1/history

// historyRing holds the last size samples of every loghost's and target's
// rate, aligned on one ring of times. A series that disappears from a
// sample is dropped; a new one starts with zeros for the past.
type historyRing struct {
	mu       sync.Mutex
	size     int
	n        int // points held, at most size
	head     int // where the next point goes
	interval time.Duration
	times    []time.Time
	loghosts series
	targets  series
}

// series are the rates of named things, in the order of the last sample.
type series struct {
	names  []string
	values map[string][]float64 // each of the ring's size, aligned with times
}

func newHistoryRing(size int) *historyRing {
	return &historyRing{size: size, times: make([]time.Time, size)}
}

// sample is one point: each series' rate at t.
type sample struct {
	at       time.Time
	loghosts []namedRate
	targets  []namedRate
}

type namedRate struct {
	name string
	rate float64
}

func (h *historyRing) record(s sample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.times[h.head] = s.at
	h.loghosts.record(s.loghosts, h.head, h.size)
	h.targets.record(s.targets, h.head, h.size)
	h.head = (h.head + 1) % h.size
	h.n = min(h.n+1, h.size)
}

func (s *series) record(rates []namedRate, at, size int) {
	if s.values == nil {
		s.values = map[string][]float64{}
	}
	names := make([]string, 0, len(rates))
	now := make(map[string][]float64, len(rates))
	for _, r := range rates {
		v, ok := now[r.name]
		if !ok {
			if v, ok = s.values[r.name]; !ok {
				v = make([]float64, size) // zeros for the past
			}
			now[r.name] = v
			names = append(names, r.name)
		}
		v[at] = r.rate
	}
	s.names, s.values = names, now // what is not in this sample is dropped
}

// snapshot is the history, oldest first.
func (h *historyRing) snapshot(interval time.Duration) api.History {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := api.History{IntervalSeconds: max(1, int(math.Round(interval.Seconds()))), Times: make([]string, 0, h.n),
		Loghosts: []api.LoghostSeries{}, Targets: []api.TargetSeries{}}
	first := (h.head - h.n + h.size) % h.size
	ordered := func(ring []float64) []float64 {
		v := make([]float64, h.n)
		for i := range h.n {
			v[i] = ring[(first+i)%h.size]
		}
		return v
	}
	for i := range h.n {
		out.Times = append(out.Times, h.times[(first+i)%h.size].UTC().Format(time.RFC3339))
	}
	for _, name := range h.loghosts.names {
		out.Loghosts = append(out.Loghosts, api.LoghostSeries{Loghost: name, LinesPerSecond: ordered(h.loghosts.values[name])})
	}
	for _, name := range h.targets.names {
		out.Targets = append(out.Targets, api.TargetSeries{Target: name, NotificationsPerMinute: ordered(h.targets.values[name])})
	}
	return out
}

// History implements apiserver.ObserveService.
func (d *Daemon) History(ctx context.Context) (api.History, error) {
	return d.observed.history.snapshot(d.sampleInterval()), nil
}

// counters are the cumulative counts the history takes differences of.
type counters struct {
	at       time.Time
	loghosts map[string]uint64 // lines confirmed (sent, on UDP)
	targets  map[string]uint64 // notifications sent
	order    [2][]string       // loghosts, targets in configuration order
}

// readCounters reads the forwarder's and the agent's counters, as
// /metrics does (hostagent_syslog_messages_confirmed_total and
// hostagent_snmp_notifications_total{outcome="sent"}).
func (d *Daemon) readCounters() counters {
	c := counters{at: time.Now(), loghosts: map[string]uint64{}, targets: map[string]uint64{}}
	if f := d.forwarder.Load(); f != nil {
		for _, s := range f.Status() {
			n := s.Confirmed
			if s.Scheme == "udp" { // UDP confirms nothing: what was sent
				n = s.Sent
			}
			if _, dup := c.loghosts[s.Loghost]; !dup {
				c.order[0] = append(c.order[0], s.Loghost)
			}
			c.loghosts[s.Loghost] += n
		}
	}
	for _, s := range d.agent.Stats() {
		if _, dup := c.targets[s.Target]; !dup {
			c.order[1] = append(c.order[1], s.Target)
		}
		c.targets[s.Target] += s.Sent
	}
	return c
}

// rates turns two readings into a sample: the difference per second
// (loghosts) and per minute (targets) over the time between them. A
// counter that went down was restarted (the forwarder reloaded, a target's
// sender replaced) and counts from zero; one seen for the first time too.
func rates(prev, now counters) sample {
	secs := now.at.Sub(prev.at).Seconds()
	if secs <= 0 {
		secs = 1
	}
	delta := func(before map[string]uint64, name string, v uint64) float64 {
		if p, ok := before[name]; ok && p <= v {
			return float64(v - p)
		}
		return float64(v)
	}
	// Three decimals are plenty for a chart and keep an hour's JSON small.
	round := func(v float64) float64 { return math.Round(v*1000) / 1000 }
	s := sample{at: now.at}
	for _, name := range now.order[0] {
		s.loghosts = append(s.loghosts, namedRate{name, round(delta(prev.loghosts, name, now.loghosts[name]) / secs)})
	}
	for _, name := range now.order[1] {
		s.targets = append(s.targets, namedRate{name, round(delta(prev.targets, name, now.targets[name]) * 60 / secs)})
	}
	return s
}

// startSampling records a history point every sample interval until the
// returned stop is called (which waits for the sampler to end).
func (d *Daemon) startSampling() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(d.sampleInterval())
		defer tick.Stop()
		prev := d.readCounters()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := d.readCounters()
			d.observed.history.record(rates(prev, now))
			prev = now
		}
	}()
	return func() { cancel(); <-done }
}
