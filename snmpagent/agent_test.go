package snmpagent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"hostagent/internal/configstore"
	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
)

// recorder is a loopback UDP socket that decodes what it receives (a
// hand-made receiver for unit tests; the integration tests use snmptrapd).
type recorder struct {
	conn    *net.UDPConn
	mu      sync.Mutex
	pkts    []*gosnmp.SnmpPacket
	got     chan struct{}
	settled chan struct{} // a settle marker arrived
}

// settleMarker is the datagram settle sends: not SNMP, never recorded.
const settleMarker = "settle"

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{conn: c, got: make(chan struct{}, 1000), settled: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 65536)
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if string(buf[:n]) == settleMarker {
				r.settled <- struct{}{}
				continue
			}
			pkt, err := dec.SnmpDecodePacket(append([]byte(nil), buf[:n]...))
			if err != nil {
				continue
			}
			r.mu.Lock()
			r.pkts = append(r.pkts, pkt)
			r.mu.Unlock()
			r.got <- struct{}{}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return r
}

func (r *recorder) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

func (r *recorder) wait(t *testing.T, n int) []*gosnmp.SnmpPacket {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		if len(r.pkts) >= n {
			out := append([]*gosnmp.SnmpPacket(nil), r.pkts...)
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.got:
		case <-deadline:
			t.Fatalf("received %d packets, want %d", len(r.pkts), n)
		}
	}
}

// settle checks that exactly n packets arrived, once every datagram sent
// so far has been read: it sends a marker from a socket of its own and
// waits for it, so that all the agent sent before is ahead of it in the
// receiver's queue. The caller makes sure that the agent sent everything
// it would before settle (its queue was empty, or its sender gave up).
func (r *recorder) settle(t *testing.T, n int) {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, r.conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(settleMarker)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.settled:
	case <-time.After(5 * time.Second):
		t.Fatal("the settle marker did not arrive")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pkts) != n {
		t.Fatalf("received %d packets, want exactly %d", len(r.pkts), n)
	}
}

func trapOID(p *gosnmp.SnmpPacket) string {
	if len(p.Variables) < 2 {
		return ""
	}
	return p.Variables[1].Value.(string)
}

func testAgent(t *testing.T) *Agent {
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

func apply(t *testing.T, a *Agent, cfg snmpconfig.Config) {
	t.Helper()
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		t.Fatal(err)
	}
	a.Apply(p)
}

func enabled(targets ...string) snmpconfig.Config {
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled = true
	cfg.Communities = []string{"public"}
	cfg.Targets = targets
	return cfg
}

func TestLifecycleNotifications(t *testing.T) {
	r := newRecorder(t)
	a := testAgent(t)
	target := "127.0.0.1@" + strconv.Itoa(r.port())

	apply(t, a, snmpconfig.DefaultConfig()) // disabled: nothing
	if err := a.Notify(context.Background(), mibs.WarmStart.MustNew()); err != nil {
		t.Fatal(err)
	}
	cfg := enabled(target)
	apply(t, a, cfg)
	pkts := r.wait(t, 1)
	if trapOID(pkts[0]) != ".1.3.6.1.6.3.1.1.5.1" || pkts[0].Community != "public" {
		t.Fatalf("first notification %s community %q, want coldStart from public", trapOID(pkts[0]), pkts[0].Community)
	}
	if up := pkts[0].Variables[0].Value.(uint32); up > 100 {
		t.Errorf("coldStart sysUpTime %d cs, want about 0", up)
	}

	apply(t, a, cfg) // unchanged: no warmStart
	// A warmStart would be queued by Apply, before this marker: the one
	// target's notifications leave in order.
	if err := a.Notify(context.Background(), vmNotification(t, "marker")); err != nil {
		t.Fatal(err)
	}
	if pkts = r.wait(t, 2); trapOID(pkts[1]) != ".1.3.6.1.4.1.6876.4.1.0.1" {
		t.Fatalf("after an unchanged configuration %s, want nothing before the marker", trapOID(pkts[1]))
	}

	cfg.Syscontact = "noc@example.com"
	apply(t, a, cfg)
	pkts = r.wait(t, 3)
	if trapOID(pkts[2]) != ".1.3.6.1.6.3.1.1.5.2" {
		t.Fatalf("after a change %s, want warmStart", trapOID(pkts[2]))
	}
	if s := waitStats(t, a, func(s snmpconfig.TargetStats) bool { return s.Sent == 3 }); len(s) != 1 {
		t.Errorf("sender not kept across the reload: %+v", s)
	}

	cfg.Enabled = false
	apply(t, a, cfg)
	// A disabled agent queues nothing: Notify returns having sent nothing,
	// and the sender's queue is empty (its 3 were counted).
	_ = a.Notify(context.Background(), mibs.WarmStart.MustNew())
	r.settle(t, 3)
}

func TestNotrapsFilter(t *testing.T) {
	r := newRecorder(t)
	a := testAgent(t)
	cfg := enabled("127.0.0.1@" + strconv.Itoa(r.port()))
	cfg.Notraps = []string{"vmwVmPoweredOn", "1.3.6.1.4.1.6876.4.1.0.2"}
	apply(t, a, cfg)
	r.wait(t, 1) // coldStart
	ctx := context.Background()
	_ = a.Notify(ctx, vmNotification(t, "a"))
	off, _ := mibs.VmwVmPoweredOff.New(mibs.Int(1), mibs.String("p"), mibs.String("a").At(1))
	_ = a.Notify(ctx, off)
	susp, _ := mibs.VmwVmSuspended.New(mibs.Int(1), mibs.String("p"), mibs.String("a").At(1))
	_ = a.Notify(ctx, susp)
	// The filtered two were notified first: sent, they would come before
	// vmwVmSuspended.
	pkts := r.wait(t, 2)
	if trapOID(pkts[1]) != ".1.3.6.1.4.1.6876.4.1.0.5" {
		t.Errorf("sent %s, want only vmwVmSuspended", trapOID(pkts[1]))
	}
	if a.Filtered() != 2 {
		t.Errorf("filtered %d, want 2", a.Filtered())
	}
}

func TestFullQueueCountsDrops(t *testing.T) {
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil))) // not closed: its sender never runs
	s, err := newSender(snmpconfig.Target{Host: "127.0.0.1", Port: 9}, "public", mustAddrPort("127.0.0.1:9"), [4]byte{}, time.Second, 0, 3, a.log)
	if err != nil {
		t.Fatal(err)
	}
	defer s.conn.Close()
	a.p = &Plan{cfg: snmpconfig.Config{Enabled: true}, senders: []*sender{s}} // not started: nothing leaves the queue
	for range 5 {
		_ = a.Notify(context.Background(), mibs.WarmStart.MustNew())
	}
	if st := s.stats(); st.Queued != 3 || st.Dropped != 2 {
		t.Errorf("queued %d dropped %d, want 3 and 2", st.Queued, st.Dropped)
	}
}

func TestInformRetriedThenFailed(t *testing.T) {
	r := newRecorder(t) // receives, never answers
	a := testAgent(t)
	cfg := enabled("inform:127.0.0.1@" + strconv.Itoa(r.port()))
	cfg.InformTimeout = configstore.Duration(50 * time.Millisecond)
	cfg.InformRetries = 3
	apply(t, a, cfg)
	res, err := a.Test(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The coldStart and the test's warmStart, each sent 1 + 3 times.
	// Once both informs are counted failed, the sender sends them no more.
	pkts := r.wait(t, 8)
	waitStats(t, a, func(s snmpconfig.TargetStats) bool { return s.Failed == 2 })
	r.settle(t, 8)
	ids := map[uint32]int{}
	for _, p := range pkts {
		if p.PDUType != gosnmp.InformRequest {
			t.Fatalf("PDU %v, want InformRequest", p.PDUType)
		}
		ids[p.RequestID]++
	}
	if len(ids) != 2 {
		t.Errorf("request-ids %v, want two, each retransmitted", ids)
	}
	if len(res) != 1 || res[0].Result != "failed" || !strings.Contains(res[0].Reason, "4 attempts") {
		t.Errorf("test result %+v, want failed after 4 attempts", res)
	}
	waitStats(t, a, func(s snmpconfig.TargetStats) bool { return s.Sent == 2 && s.Failed == 2 && s.Acknowledged == 0 })
}

func TestTestRefusals(t *testing.T) {
	a := testAgent(t)
	if _, err := a.Test(context.Background()); err != ErrDisabled {
		t.Errorf("disabled: %v", err)
	}
	apply(t, a, enabled())
	if _, err := a.Test(context.Background()); err != ErrNoTargets {
		t.Errorf("no targets: %v", err)
	}
}

func TestPrepareRefusesUnresolvableHost(t *testing.T) {
	a := testAgent(t)
	_, err := a.Prepare(context.Background(), enabled("nosuchhost.invalid@162/public"), resolve.NewResolver(nil))
	if err == nil || !strings.Contains(err.Error(), "nosuchhost.invalid") {
		t.Errorf("err %v, want one naming the host", err)
	}
}

// TestReceiverRestartLosesNothing: a trap to a closed port draws an ICMP
// port-unreachable; on a connected socket that error would fail the next
// send. The agent's unconnected socket sends every trap after it.
func TestReceiverRestartLosesNothing(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close() // the receiver is down

	a := testAgent(t)
	apply(t, a, enabled("127.0.0.1@"+strconv.Itoa(port)))
	waitStats(t, a, func(s snmpconfig.TargetStats) bool { return s.Sent >= 1 })
	// The ICMP error of the coldStart is back once a connected probe sent
	// after it has its own: the probe's read returns ECONNREFUSED.
	probe, err := net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = probe.Write([]byte("probe"))
	_ = probe.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := probe.Read(make([]byte, 16)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("probe of the closed port: %v, want ECONNREFUSED", err)
	}
	probe.Close()

	up, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Skipf("port %d taken meanwhile: %v", port, err)
	}
	r := &recorder{conn: up, got: make(chan struct{}, 100)}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := up.Read(buf); err != nil {
				return
			}
			r.mu.Lock()
			r.pkts = append(r.pkts, nil)
			r.mu.Unlock()
			r.got <- struct{}{}
		}
	}()
	defer up.Close()
	for range 10 {
		_ = a.Notify(context.Background(), mibs.WarmStart.MustNew())
	}
	r.wait(t, 10)
	waitStats(t, a, func(s snmpconfig.TargetStats) bool { return s.Failed == 0 && s.Sent == 11 })
}

// waitStats waits until every target's counters satisfy ok: a receiver can
// have a datagram before its sender has counted it.
func waitStats(t *testing.T, a *Agent, ok func(snmpconfig.TargetStats) bool) []snmpconfig.TargetStats {
	t.Helper()
	var stats []snmpconfig.TargetStats
	if !peertest.Until(5*time.Second, func() bool {
		stats = a.Stats()
		return !slices.ContainsFunc(stats, func(s snmpconfig.TargetStats) bool { return !ok(s) })
	}) {
		t.Fatalf("counters %+v never reached the expected values", stats)
	}
	return stats
}
