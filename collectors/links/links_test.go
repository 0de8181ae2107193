package links

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/collectors"
	"hostagent/internal/configstore"
	"hostagent/mibs"
)

// sysfs is a fixture /sys with a class/net directory.
type sysfs struct {
	t    testing.TB
	root string
}

func newSysfs(t testing.TB) *sysfs {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "class", "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &sysfs{t, root}
}

func (s *sysfs) paths() collectors.Paths { return collectors.Paths{SysFS: s.root} }

// set writes an interface's three attributes as the kernel formats them.
func (s *sysfs) set(name string, index int, operstate string, flags uint32) {
	s.write(name, "ifindex", fmt.Sprintf("%d\n", index))
	s.write(name, "operstate", operstate+"\n")
	s.write(name, "flags", fmt.Sprintf("0x%x\n", flags))
}

func (s *sysfs) write(name, attr, content string) {
	dir := filepath.Join(s.root, "class", "net", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, attr), []byte(content), 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sysfs) remove(name string) {
	if err := os.RemoveAll(filepath.Join(s.root, "class", "net", name)); err != nil {
		s.t.Fatal(err)
	}
}

// Flags as the kernel shows them: IFF_UP|IFF_BROADCAST|IFF_MULTICAST, and
// the same without IFF_UP.
const (
	adminUp   = 0x1003
	adminDown = 0x1002
)

// recorder is a Notifier that keeps what it is given, one line per
// notification: the name, then OID=value for each varbind.
type recorder struct {
	mu  sync.Mutex
	got []string
	err error
}

func (r *recorder) Notify(_ context.Context, n mibs.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := n.Type.Name
	for _, vb := range n.VarBinds {
		line += fmt.Sprintf(" %s=%d", vb.OID, vb.Int)
	}
	r.got = append(r.got, line)
	return r.err
}

// take returns and forgets what was recorded.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

// poll polls and checks the notifications sent, in order.
func poll(t *testing.T, l *Links, r *recorder, want ...string) {
	t.Helper()
	if err := l.Poll(context.Background(), r); err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if got := r.take(); !slices.Equal(got, want) {
		t.Errorf("sent\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// linkUp and linkDown spell a notification as recorder does, with the
// IF-MIB OIDs written out: ifIndex, ifAdminStatus, ifOperStatus.
func linkUp(index, admin, oper int) string { return spell("linkUp", index, admin, oper) }

func linkDown(index, admin, oper int) string { return spell("linkDown", index, admin, oper) }

func spell(name string, index, admin, oper int) string {
	return fmt.Sprintf("%s 1.3.6.1.2.1.2.2.1.1.%d=%d 1.3.6.1.2.1.2.2.1.7.%d=%d 1.3.6.1.2.1.2.2.1.8.%d=%d",
		name, index, index, index, admin, index, oper)
}

func newLinks(s *sysfs, cfg Config) *Links {
	return New(cfg, s.paths(), slog.New(slog.DiscardHandler))
}

func TestUpAndDown(t *testing.T) {
	s := newSysfs(t)
	s.set("eth0", 2, "down", adminUp) // no carrier
	s.set("eth1", 3, "up", adminUp)
	l, r := newLinks(s, DefaultConfig()), &recorder{}

	poll(t, l, r) // the baseline is silent, though eth1 is up
	poll(t, l, r)

	s.set("eth0", 2, "up", adminUp)
	poll(t, l, r, linkUp(2, 1, 1))
	poll(t, l, r) // once

	s.set("eth1", 3, "lowerlayerdown", adminUp)
	poll(t, l, r, linkDown(3, 1, 7))

	// Moves between states that are not up send nothing.
	s.set("eth1", 3, "down", adminUp)
	poll(t, l, r)
	s.set("eth1", 3, "dormant", adminUp)
	poll(t, l, r)
	s.set("eth1", 3, "up", adminUp)
	poll(t, l, r, linkUp(3, 1, 1))

	// Both change in one poll: each is reported, in name order.
	s.set("eth0", 2, "testing", adminUp)
	s.set("eth1", 3, "unknown", adminUp)
	poll(t, l, r, linkDown(2, 1, 3), linkDown(3, 1, 4))
}

func TestAdminDown(t *testing.T) {
	s := newSysfs(t)
	s.set("eno1", 4, "up", adminUp)
	l, r := newLinks(s, DefaultConfig()), &recorder{}
	poll(t, l, r)

	// ip link set eno1 down: IFF_UP clears and operstate goes down.
	s.set("eno1", 4, "down", adminDown)
	poll(t, l, r, linkDown(4, 2, 2))

	// ip link set eno1 up without a carrier: admin alone changes, as
	// net-snmp nothing is sent.
	s.set("eno1", 4, "down", adminUp)
	poll(t, l, r)
	s.set("eno1", 4, "up", adminUp)
	poll(t, l, r, linkUp(4, 1, 1))
}

func TestInterfacesComeAndGo(t *testing.T) {
	s := newSysfs(t)
	s.set("eth0", 2, "up", adminUp)
	s.set("eth1", 3, "down", adminDown)
	l, r := newLinks(s, DefaultConfig()), &recorder{}
	poll(t, l, r)

	// New after the baseline: up ones are announced, others not.
	s.set("bond0", 10, "up", adminUp)
	s.set("bond1", 11, "down", adminUp)
	poll(t, l, r, linkUp(10, 1, 1))

	// Removed: the up one with its last admin status and notPresent, the
	// down one not again.
	s.remove("eth0")
	s.remove("eth1")
	poll(t, l, r, linkDown(2, 1, 6))
	poll(t, l, r)

	// Deleted and re-created between polls under the same name: the old
	// ifIndex went, the new one came.
	s.set("bond0", 12, "up", adminUp)
	poll(t, l, r, linkDown(10, 1, 6), linkUp(12, 1, 1))
	s.set("bond1", 13, "down", adminUp)
	poll(t, l, r)
}

func TestNamesFiltered(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		s := newSysfs(t)
		names := []string{"lo", "veth1a2b", "vnet3", "virbr0-nic", "tap100i0", "virbr0", "eth0"}
		for i, name := range names {
			s.set(name, i+1, "down", adminUp)
		}
		// bonding_masters is a file beside the interface directories.
		if err := os.WriteFile(filepath.Join(s.root, "class", "net", "bonding_masters"), []byte("bond0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		l := New(DefaultConfig(), s.paths(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		r := &recorder{}
		poll(t, l, r)
		for i, name := range names {
			s.set(name, i+1, "up", adminUp)
		}
		poll(t, l, r, linkUp(7, 1, 1), linkUp(6, 1, 1)) // eth0, virbr0 in name order
		if logs.Len() != 0 {
			t.Errorf("logged %s", logs.String())
		}
	})
	t.Run("configured", func(t *testing.T) {
		s := newSysfs(t)
		names := []string{"eth0", "eth9", "ens3", "bond0", "lo"}
		for i, name := range names {
			s.set(name, i+1, "down", adminUp)
		}
		cfg := DefaultConfig()
		cfg.Interfaces = []string{"eth*", "bond?"}
		cfg.Exclude = []string{"eth9"}
		l, r := newLinks(s, cfg), &recorder{}
		poll(t, l, r)
		for i, name := range names {
			s.set(name, i+1, "up", adminUp)
		}
		poll(t, l, r, linkUp(4, 1, 1), linkUp(1, 1, 1)) // bond0, eth0
	})
}

func TestGarbageSkipped(t *testing.T) {
	cases := []struct{ attr, content string }{
		{"ifindex", "eth0\n"},
		{"ifindex", "0\n"},
		{"ifindex", "-2\n"},
		{"ifindex", "2147483648\n"},
		{"ifindex", ""},
		{"operstate", "sideways\n"},
		{"operstate", "UP\n"},
		{"operstate", strings.Repeat("up ", 100)},
		{"flags", "4099\n"},
		{"flags", "0xzz\n"},
		{"flags", "\x00\xff"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s=%q", c.attr, c.content), func(t *testing.T) {
			s := newSysfs(t)
			s.set("eth0", 2, "up", adminUp)
			var logs bytes.Buffer
			l := New(DefaultConfig(), s.paths(), slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			r := &recorder{}
			poll(t, l, r)

			// Unreadable: no linkDown as if it had gone, and logged.
			s.write("eth0", c.attr, c.content)
			poll(t, l, r)
			if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "eth0") {
				t.Errorf("logged %q, want a debug line naming eth0", logs.String())
			}

			// Readable again: compared with what was known before.
			s.set("eth0", 2, "down", adminUp)
			poll(t, l, r, linkDown(2, 1, 2))
		})
	}
	t.Run("missing attribute", func(t *testing.T) {
		s := newSysfs(t)
		s.set("eth0", 2, "down", adminUp)
		l, r := newLinks(s, DefaultConfig()), &recorder{}
		poll(t, l, r)
		os.Remove(filepath.Join(s.root, "class", "net", "eth0", "operstate"))
		poll(t, l, r)
		s.set("eth0", 2, "up", adminUp)
		poll(t, l, r, linkUp(2, 1, 1))
	})
}

func TestAbsent(t *testing.T) {
	l := New(DefaultConfig(), collectors.Paths{SysFS: t.TempDir()}, nil)
	if err := l.Poll(context.Background(), &recorder{}); !errors.Is(err, collectors.ErrAbsent) {
		t.Errorf("Poll without class/net: %v, want ErrAbsent", err)
	}
}

func TestNotifyErrorReportedOnce(t *testing.T) {
	s := newSysfs(t)
	s.set("eth0", 2, "down", adminUp)
	l, r := newLinks(s, DefaultConfig()), &recorder{err: errors.New("queue full")}
	poll(t, l, r)
	s.set("eth0", 2, "up", adminUp)
	if err := l.Poll(context.Background(), r); err == nil || !strings.Contains(err.Error(), "linkUp eth0: queue full") {
		t.Errorf("Poll: %v, want the Notify error", err)
	}
	r.err = nil
	r.take()
	poll(t, l, r) // the change is not sent again as if new
}

func TestValidate(t *testing.T) {
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // each a line of the error; none for valid
	}{
		{"default", DefaultConfig(), nil},
		{"disabled default", with(func(c *Config) { c.Enabled = false }), nil},
		{"bounds", with(func(c *Config) {
			c.Interval = configstore.Duration(100 * time.Millisecond)
			c.Exclude = nil
		}), nil},
		{"hour", with(func(c *Config) { c.Interval = configstore.Duration(time.Hour) }), nil},
		{"short", with(func(c *Config) { c.Interval = configstore.Duration(99 * time.Millisecond) }),
			[]string{`interval "99ms": must be from 100ms to 1h`}},
		{"long", with(func(c *Config) { c.Interval = configstore.Duration(time.Hour + time.Second) }),
			[]string{`interval "1h0m1s": must be from 100ms to 1h`}},
		{"zero", Config{Interfaces: []string{"*"}},
			[]string{`interval "0s": must be from 100ms to 1h`}},
		{"no interfaces", with(func(c *Config) { c.Interfaces = nil }),
			[]string{`interfaces: empty, so no interface would be watched; write ["*"] for all`}},
		{"bad patterns", with(func(c *Config) {
			c.Interfaces = []string{"eth[", "ens*", ""}
			c.Exclude = []string{"lo", `tap\`, "vnet[]"}
		}), []string{
			`interfaces: pattern "eth[": syntax error in pattern`,
			`interfaces: pattern "": must not be empty`,
			`exclude: pattern "tap\\": syntax error in pattern`,
			`exclude: pattern "vnet[]": syntax error in pattern`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			var got []string
			if err != nil {
				got = strings.Split(err.Error(), "\n")
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("Validate:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

func TestNewRepairsInterval(t *testing.T) {
	l := New(Config{}, collectors.DefaultPaths, nil)
	if time.Duration(l.cfg.Interval) != 5*time.Second {
		t.Errorf("interval %v, want the default 5s", time.Duration(l.cfg.Interval))
	}
}

func BenchmarkPoll100(b *testing.B) {
	s := newSysfs(b)
	for i := range 100 {
		s.set(fmt.Sprintf("eth%d", i), i+2, "up", adminUp)
	}
	l, r := newLinks(s, DefaultConfig()), &recorder{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Poll(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}
