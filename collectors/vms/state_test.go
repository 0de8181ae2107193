package vms

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"

	"hostagent/internal/configstore"
	"hostagent/mibs"
)

func TestPowerMapping(t *testing.T) {
	for state, want := range map[libvirt.DomainState]power{
		libvirt.DomainNostate: powerUnknown, libvirt.DomainRunning: powerOn, libvirt.DomainBlocked: powerOn,
		libvirt.DomainPaused: powerSuspended, libvirt.DomainShutdown: powerOn, libvirt.DomainShutoff: powerOff,
		libvirt.DomainCrashed: powerOff, libvirt.DomainPmsuspended: powerSuspended,
	} {
		if got := powerOfState(state); got != want {
			t.Errorf("state %v: %q, want %q", state, got, want)
		}
	}
	for event, want := range map[libvirt.DomainEventType]power{
		libvirt.DomainEventDefined: powerUnknown, libvirt.DomainEventUndefined: powerUnknown,
		libvirt.DomainEventStarted: powerOn, libvirt.DomainEventSuspended: powerSuspended,
		libvirt.DomainEventResumed: powerOn, libvirt.DomainEventStopped: powerOff,
		libvirt.DomainEventShutdown: powerUnknown, libvirt.DomainEventPmsuspended: powerSuspended,
		libvirt.DomainEventCrashed: powerOff,
	} {
		if got := powerOfEvent(event); got != want {
			t.Errorf("event %v: %q, want %q", event, got, want)
		}
	}
	if heartbeatOfAgent(1) != heartbeatUp || heartbeatOfAgent(2) != heartbeatDown || heartbeatOfAgent(0) != heartbeatUnknown {
		t.Error("agent lifecycle states")
	}
}

func TestRegistryKeepsIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", RegistryFile)
	r, err := loadRegistry(path)
	if err != nil || r.loaded {
		t.Fatalf("fresh registry: %v loaded=%v", err, r.loaded)
	}
	a, isNew := r.get("uuid-a", "a")
	b, _ := r.get("uuid-b", "b")
	if !isNew || a.ID != 1 || b.ID != 2 {
		t.Fatalf("ids %d %d", a.ID, b.ID)
	}
	a.Power = powerOn
	r.forget("uuid-b")
	if err := r.save(); err != nil {
		t.Fatal(err)
	}
	r2, err := loadRegistry(path)
	if err != nil || !r2.loaded {
		t.Fatalf("reload: %v", err)
	}
	if a2, isNew := r2.get("uuid-a", "a-renamed"); isNew || a2.ID != 1 || a2.Power != powerOn || a2.Name != "a-renamed" {
		t.Errorf("after reload %+v new=%v", a2, isNew)
	}
	if c, _ := r2.get("uuid-c", "c"); c.ID != 3 {
		t.Errorf("an id was reused: %d", c.ID)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.URI = "qemu" }, `vms.uri "qemu"`},
		{func(c *Config) { c.URI = "qemu+ssh://h/system" }, `vms.uri "qemu+ssh://h/system"`},
		{func(c *Config) { c.Socket = "libvirt-sock" }, `vms.socket "libvirt-sock"`},
		{func(c *Config) { c.ConfigDir = "qemu" }, `vms.config_dir "qemu"`},
		{func(c *Config) { c.ReconnectMax = configstore.Duration(time.Hour) }, `vms.reconnect_max "1h0m0s"`},
	} {
		c := DefaultConfig()
		tc.change(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %s", err, tc.want)
		}
	}
	for _, ok := range []string{"test:///default", "qemu:///session", "xen:///system"} {
		c := DefaultConfig()
		c.URI = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
}

type recorder struct{ got []mibs.Notification }

func (r *recorder) Notify(_ context.Context, n mibs.Notification) error {
	r.got = append(r.got, n)
	return nil
}

// TestHeartbeat: libvirt's test driver has no guest agent, so the
// agent-lifecycle path is driven here with the events libvirt would send.
func TestHeartbeat(t *testing.T) {
	v, err := New(DefaultConfig(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	dom := libvirt.Domain{Name: "db01", UUID: libvirt.UUID{1, 2, 3}}
	var r recorder
	ctx := context.Background()
	for _, state := range []int32{1, 1, 2, 2, 0, 1} { // connected twice, disconnected twice, unknown, connected
		v.agentLifecycle(ctx, dom, heartbeatOfAgent(state), &r)
	}
	var names []string
	for _, n := range r.got {
		names = append(names, n.Type.Name)
	}
	if want := "vmwVmHBDetected vmwVmHBLost vmwVmHBDetected"; strings.Join(names, " ") != want {
		t.Fatalf("sent %v, want %s", names, want)
	}
	vb := r.got[0].VarBinds
	if vb[0].Int != 1 || string(vb[1].Bytes) != "/etc/libvirt/qemu/db01.xml" || vb[2].OID.String() != "1.3.6.1.4.1.6876.2.1.1.2.1" || string(vb[2].Bytes) != "db01" {
		t.Errorf("varbinds %+v", vb)
	}
}
