package sensors

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"hostagent/collectors"
	"hostagent/mibs"
)

// fixture is a sysfs tree in a temporary directory, laid out as the kernel
// lays it out: chips under devices/ and symlinks to them in class/hwmon.
type fixture struct {
	t    testing.TB
	root string
}

func newFixture(t testing.TB) *fixture { return &fixture{t: t, root: t.TempDir()} }

// testdataFixture is testdata/<name>/sys, read where it is: for tests
// that only read.
func testdataFixture(t testing.TB, name string) *fixture {
	root, err := filepath.Abs(filepath.Join("testdata", name, "sys"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, root: root}
}

func (f *fixture) paths() collectors.Paths {
	return collectors.Paths{ProcFS: filepath.Join(f.root, "proc"), SysFS: f.root}
}

// chip creates a chip's device directory with its name and attributes and
// links class/hwmon/<entry> to it, as the kernel does.
func (f *fixture) chip(entry, name string, attrs map[string]string) {
	f.t.Helper()
	dev := filepath.Join("devices", "platform", name+"."+entry, "hwmon", entry)
	f.writeAll(dev, name, attrs)
	f.link(entry, dev)
}

// link points class/hwmon/<entry> at the device directory dev.
func (f *fixture) link(entry, dev string) {
	f.t.Helper()
	class := filepath.Join(f.root, "class", "hwmon")
	if err := os.MkdirAll(class, 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "..", dev), filepath.Join(class, entry)); err != nil {
		f.t.Fatal(err)
	}
}

// plainChip creates class/hwmon/<entry> as a plain directory (old kernels,
// hand-made trees).
func (f *fixture) plainChip(entry, name string, attrs map[string]string) {
	f.t.Helper()
	f.writeAll(filepath.Join("class", "hwmon", entry), name, attrs)
}

func (f *fixture) writeAll(dir, name string, attrs map[string]string) {
	f.t.Helper()
	if name != "" {
		f.write(filepath.Join(dir, "name"), name)
	}
	for k, v := range attrs {
		f.write(filepath.Join(dir, k), v)
	}
}

// hwmon writes an attribute of a chip through its class link.
func (f *fixture) hwmon(entry, attr, value string) {
	f.t.Helper()
	f.write(filepath.Join("class", "hwmon", entry, attr), value)
}

// supply creates class/power_supply/<name> with its attributes.
func (f *fixture) supply(name string, attrs map[string]string) {
	f.t.Helper()
	f.writeAll(filepath.Join("class", "power_supply", name), "", attrs)
}

func (f *fixture) supplyAttr(name, attr, value string) {
	f.t.Helper()
	f.write(filepath.Join("class", "power_supply", name, attr), value)
}

func (f *fixture) write(rel, content string) {
	f.t.Helper()
	path := filepath.Join(f.root, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) remove(rel string) {
	f.t.Helper()
	if err := os.RemoveAll(filepath.Join(f.root, rel)); err != nil {
		f.t.Fatal(err)
	}
}

// recorder is a Notifier that keeps what it is given.
type recorder struct {
	mu  sync.Mutex
	got []mibs.Notification
	err error // returned by Notify when set
}

func (r *recorder) Notify(_ context.Context, n mibs.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, n)
	return r.err
}

// take returns the notifications received since the last take.
func (r *recorder) take() []mibs.Notification {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// event is a notification decoded from its varbinds.
type event struct {
	name      string
	index     uint32 // the instance every varbind carries
	subsystem int64  // env only
	status    int64  // env only
	number    int64  // ipmi only
	desc      string
	time      []byte
}

// decode reads a notification back from its varbinds, checking that every
// varbind is an instance of the same event.
func decode(t testing.TB, n mibs.Notification) event {
	t.Helper()
	e := event{name: n.Type.Name}
	for i, vb := range n.VarBinds {
		obj := n.Type.Objects[i]
		if len(vb.OID) != len(obj.OID)+1 || !slices.Equal(vb.OID[:len(obj.OID)], obj.OID) {
			t.Fatalf("%s varbind %d: OID %s is not an instance of %s", e.name, i, vb.OID, obj.Name)
		}
		index := vb.OID[len(vb.OID)-1]
		if i > 0 && index != e.index {
			t.Fatalf("%s: varbinds of events %d and %d", e.name, e.index, index)
		}
		e.index = index
		switch obj.Name {
		case mibs.VmwSubsystemType.Name:
			e.subsystem = vb.Int
		case mibs.VmwHardwareStatus.Name:
			e.status = vb.Int
		case mibs.VmwEnvSelSensorNumber.Name:
			e.number = vb.Int
		case mibs.VmwEventDescription.Name:
			e.desc = string(vb.Bytes)
		case mibs.VmwEnvHardwareTime.Name:
			e.time = vb.Bytes
		}
	}
	return e
}

// testClock is the fixed time of every event in the tests.
var testClock = time.Date(2026, 11, 25, 14, 30, 15, 0, time.UTC)

// harness is a collector on a fixture with a recorder.
type harness struct {
	t   testing.TB
	f   *fixture
	s   *Sensors
	rec *recorder
	log *bytes.Buffer
}

func newHarness(t testing.TB, f *fixture, style string) *harness {
	cfg := DefaultConfig()
	cfg.Style = style
	var log bytes.Buffer
	s := New(cfg, f.paths(), slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	s.now = func() time.Time { return testClock }
	return &harness{t: t, f: f, s: s, rec: &recorder{}, log: &log}
}

// poll polls once, fails the test on an error, and returns the events.
func (h *harness) poll() []event {
	h.t.Helper()
	if err := h.s.Poll(context.Background(), h.rec); err != nil {
		h.t.Fatalf("poll: %v", err)
	}
	var events []event
	for _, n := range h.rec.take() {
		events = append(events, decode(h.t, n))
	}
	return events
}

// pollOne polls and expects exactly one env event, which it returns.
func (h *harness) pollOne() event {
	h.t.Helper()
	events := h.poll()
	if len(events) != 1 {
		h.t.Fatalf("got %d events %+v, want 1", len(events), events)
	}
	return events[0]
}

// pollNone polls and expects no event.
func (h *harness) pollNone() {
	h.t.Helper()
	if events := h.poll(); len(events) != 0 {
		h.t.Fatalf("got events %+v, want none", events)
	}
}
