package agentx

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/mibs"
)

// tlog sends a Subagent's log to the test's.
type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// runSubagent runs a Subagent serving h on s's AgentX socket until the test
// ends, and waits until it is registered.
func runSubagent(t testing.TB, s testSnmpd, h Handler) (*Subagent, context.CancelFunc, <-chan error) {
	t.Helper()
	a, err := New(Options{
		Address:     s.Socket(),
		ID:          mibs.VmwESX.OID,
		Description: "hostagent agentx test",
		Subtrees:    []mibs.OID{vmwVmTable},
		Handler:     h,
		Log:         slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		done <- a.Run(ctx)
		close(finished)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	waitSession(t, a, 0)
	return a, cancel, done
}

// waitSession waits until a is connected in a session later than the
// after-th one, and returns its number.
func waitSession(t testing.TB, a *Subagent, after uint64) uint64 {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for {
		ch := a.Changed()
		if st := a.Status(); st.Connected && st.Sessions > after {
			return st.Sessions
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("subagent not registered after 30s: %+v", a.Status())
		}
	}
}

func TestSnmpdGet(t *testing.T) {
	s := startSnmpd(t)
	tab := newTable(400)
	runSubagent(t, s, tab)

	// One GET with one object of every syntax and one missing object.
	var oids []string
	var want []string
	for col := uint32(1); col <= columns; col++ {
		vb, _ := tab.Get(vmwVmTable.Append(1, col, 7))
		oids = append(oids, "."+vb.OID.String())
		want = append(want, netsnmpText(vb))
	}
	missing := vmwVmTable.Append(1, 2, 9999)
	oids = append(oids, "."+missing.String())
	want = append(want, "."+missing.String()+" = No Such Object available on this agent at this OID")
	out, err := s.snmpCmd(t, "snmpget", append([]string{"-c", "public", s.Addr()}, oids...)...)
	if err != nil {
		t.Fatalf("snmpget: %v\n%s", err, out)
	}
	if got := parseOutput(out); !slices.Equal(got, want) {
		t.Errorf("snmpget:\n got %q\nwant %q", got, want)
	}
}

// walkWant is the table as a walk prints it.
func walkWant(tab *table) []string {
	want := make([]string, len(tab.objs))
	for i, vb := range tab.objs {
		want[i] = netsnmpText(vb)
	}
	return want
}

func TestSnmpdWalk(t *testing.T) {
	s := startSnmpd(t)
	tab := newTable(400) // 3600 objects
	runSubagent(t, s, tab)
	want := walkWant(tab)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"snmpwalk", []string{"-Cc"}},
		{"snmpbulkwalk", []string{"-Cr50"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tc.args, "-c", "public", s.Addr(), "."+vmwVmTable.String())
			out, err := s.snmpCmd(t, tc.name, args...)
			if err != nil {
				t.Fatalf("%s: %v\n%s", tc.name, err, out)
			}
			got := parseOutput(out)
			if !slices.Equal(got, want) {
				n := min(len(got), len(want))
				for i := 0; i < n; i++ {
					if got[i] != want[i] {
						t.Fatalf("%s: %d lines, want %d; first difference at %d:\n got %q\nwant %q", tc.name, len(got), len(want), i, got[i], want[i])
					}
				}
				t.Fatalf("%s: %d lines, want %d; last got %q", tc.name, len(got), len(want), got[len(got)-1])
			}
		})
	}
}

func TestSnmpdSetRefused(t *testing.T) {
	s := startSnmpd(t)
	tab := newTable(3)
	runSubagent(t, s, tab)
	oid := "." + vmwVmTable.Append(1, 2, 1).String()
	for _, tc := range []struct{ community, want string }{
		{"public", "noAccess"},     // snmpd's view refuses it
		{"private", "notWritable"}, // our TestSet refuses it
	} {
		out, err := s.snmpCmd(t, "snmpset", "-c", tc.community, s.Addr(), oid, "s", "changed")
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("snmpset -c %s: err %v, output %q; want an error with %s", tc.community, err, out, tc.want)
		}
	}
	if vb, _ := tab.Get(vmwVmTable.Append(1, 2, 1)); !strings.HasPrefix(string(vb.Bytes), "vm 1 ") {
		t.Errorf("value changed to %q", vb.Bytes)
	}
	// The session survives the refused SET.
	out, err := s.snmpCmd(t, "snmpget", "-c", "public", s.Addr(), oid)
	if err != nil || !strings.Contains(out, "Hex-STRING") {
		t.Errorf("snmpget after snmpset: %v %q", err, out)
	}
}

func TestSnmpdRestart(t *testing.T) {
	s := startSnmpd(t)
	tab := newTable(5)
	a, _, _ := runSubagent(t, s, tab)
	oid := "." + vmwVmTable.Append(1, 1, 5).String()
	for i := range 2 {
		before := a.Status().Sessions
		s.Restart(t)
		n := waitSession(t, a, before)
		out, err := s.snmpCmd(t, "snmpget", "-c", "public", s.Addr(), oid)
		if err != nil || !strings.Contains(out, "INTEGER: 5") {
			t.Fatalf("restart %d (session %d): snmpget: %v %q", i+1, n, err, out)
		}
	}
}

func TestSnmpdShutdown(t *testing.T) {
	s := startSnmpd(t)
	tab := newTable(5)
	a, cancel, done := runSubagent(t, s, tab)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10s after cancel")
	}
	if a.Connected() {
		t.Error("still connected after Run returned")
	}
	// snmpd has dropped the registration: the table is gone.
	oid := "." + vmwVmTable.Append(1, 1, 5).String()
	out, err := s.snmpCmd(t, "snmpget", "-c", "public", s.Addr(), oid)
	if err != nil || !strings.Contains(out, "No Such Object") {
		t.Errorf("snmpget after shutdown: %v %q", err, out)
	}
}

func TestSnmpdDuplicateRegistration(t *testing.T) {
	s := startSnmpd(t)
	runSubagent(t, s, newTable(2))
	b, err := New(Options{Address: s.Socket(), Subtrees: []mibs.OID{vmwVmTable}, Handler: newTable(1)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.After(30 * time.Second)
	for {
		ch := b.Changed()
		var refused *RegistrationError
		if st := b.Status(); st.Err != nil {
			if !errors.As(st.Err, &refused) || refused.Code != errDuplicateRegistration {
				t.Fatalf("second subagent: %v, want duplicateRegistration", st.Err)
			}
			if st.Connected {
				t.Fatal("refused subagent says it is connected")
			}
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no refusal after 30s: %+v", b.Status())
		}
	}
}
