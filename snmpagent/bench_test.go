package snmpagent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
)

// udpSink is a loopback receiver that counts datagrams, standing in for a
// trap receiver so that the benchmark measures the agent, not a decoder.
type udpSink struct {
	conn *net.UDPConn
	n    atomic.Uint64
}

func newUDPSink(tb testing.TB) *udpSink {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	_ = c.SetReadBuffer(8 << 20)
	s := &udpSink{conn: c}
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			s.n.Add(1)
		}
	}()
	tb.Cleanup(func() { c.Close() })
	return s
}

func (s *udpSink) port() int { return s.conn.LocalAddr().(*net.UDPAddr).Port }

func benchAgent(tb testing.TB, targets []string, queue int) *Agent {
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled = true
	cfg.Communities = []string{"public"}
	cfg.Targets = targets
	cfg.QueueSize = queue
	p, err := a.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		tb.Fatal(err)
	}
	a.Apply(p)
	tb.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// waitSent waits until the targets have handled want notifications each.
// It spins rather than sleeps: the wait is inside the timed loop, where a
// sleep's granularity would show in the figure.
func waitSent(tb testing.TB, a *Agent, want uint64) {
	tb.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; runtime.Gosched() {
		done := true
		for _, s := range a.Stats() {
			if s.Sent+s.Dropped+s.Failed < want {
				done = false
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("targets handled fewer than %d notifications in 30 s: %+v", want, a.Stats())
		}
	}
}

// BenchmarkNotifyV2cTrap measures v2c traps per second from Notify to the
// socket, for one and for ten loopback targets. The queue is as large as
// the configuration allows so that the figure is throughput, not drops.
func BenchmarkNotifyV2cTrap(b *testing.B) { benchNotify(b, "") }

// BenchmarkNotifyV1Trap is the same with SNMPv1 targets, whose agent-addr
// is set per target.
func BenchmarkNotifyV1Trap(b *testing.B) { benchNotify(b, "v1:") }

func benchNotify(b *testing.B, kind string) {
	for _, nTargets := range []int{1, 10} {
		b.Run(fmt.Sprintf("targets=%d", nTargets), func(b *testing.B) {
			var targets []string
			var sinks []*udpSink
			for range nTargets {
				s := newUDPSink(b)
				sinks = append(sinks, s)
				targets = append(targets, fmt.Sprintf("%s127.0.0.1@%d/public", kind, s.port()))
			}
			a := benchAgent(b, targets, 1_000_000)
			elapsed := timeNotify(b, a)
			var sent, dropped uint64
			for _, s := range a.Stats() {
				sent += s.Sent - 1
				dropped += s.Dropped
			}
			var received uint64
			for _, s := range sinks {
				received += s.n.Load()
			}
			b.ReportMetric(float64(sent)/elapsed.Seconds(), "traps/s")
			b.ReportMetric(float64(dropped), "dropped")
			_ = received
		})
	}
}

// timeNotify times b.N notifications through a, from Notify until every
// target has handled them (after the coldStart, waited for outside the
// timer), reports notifications/s and returns the time taken.
func timeNotify(b *testing.B, a *Agent) time.Duration {
	b.Helper()
	waitSent(b, a, 1) // the coldStart
	n := vmNotificationB(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		_ = a.Notify(ctx, n)
	}
	waitSent(b, a, uint64(b.N)+1)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "notifications/s")
	return elapsed
}

func vmNotificationB(tb testing.TB) mibs.Notification {
	n, err := mibs.VmwVmPoweredOn.New(mibs.Int(7), mibs.String("/etc/libvirt/qemu/web01.xml"), mibs.String("web01").At(7))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// BenchmarkGosnmpSendTrap is the baseline: a plain gosnmp send loop of the
// same notification to one loopback target.
func BenchmarkGosnmpSendTrap(b *testing.B) {
	s := newUDPSink(b)
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(s.port()), Community: "public", Version: gosnmp.Version2c, Timeout: time.Second, Logger: gosnmp.NewLogger(nil)}
	if err := g.Connect(); err != nil {
		b.Fatal(err)
	}
	defer g.Conn.Close()
	trap := gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(100)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.6876.4.1.0.1"},
		{Name: ".1.3.6.1.4.1.6876.50.101.0", Type: gosnmp.Integer, Value: 7},
		{Name: ".1.3.6.1.4.1.6876.50.102.0", Type: gosnmp.OctetString, Value: "/etc/libvirt/qemu/web01.xml"},
		{Name: ".1.3.6.1.4.1.6876.2.1.1.2.7", Type: gosnmp.OctetString, Value: "web01"},
	}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := g.SendTrap(trap); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "traps/s")
}

// BenchmarkQueuedMemory reports the heap held per notification waiting in a
// target's queue (the encoded PDU is shared by all targets).
func BenchmarkQueuedMemory(b *testing.B) {
	const queued = 100_000
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	s, err := newSender(snmpconfig.Target{Host: "127.0.0.1", Port: 9}, "public", mustAddrPort("127.0.0.1:9"), [4]byte{}, time.Second, 0, queued, a.log)
	if err != nil {
		b.Fatal(err)
	}
	defer s.conn.Close()
	a.p = &Plan{cfg: snmpconfig.Config{Enabled: true}, senders: []*sender{s}} // not started: everything stays queued
	n := vmNotificationB(b)
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range queued {
			a.send(n, nil)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/queued, "bytes/queued")
		for len(s.queue) > 0 {
			<-s.queue
		}
	}
}

// BenchmarkSenderMessage measures building one target's wire message from
// the shared encoding, with its per-target patches (v2c: request-id; v1:
// agent-addr), apart from the socket and the scheduler.
func BenchmarkSenderMessage(b *testing.B) {
	n := vmNotificationB(b)
	enc := &encoded{v2: encodeV2(nil, &n, 100)}
	enc.reqAt = requestIDOffset(enc.v2)
	var err error
	if enc.v1, err = encodeV1(nil, &n, 100, mibs.MustOID(snmpconfig.DefaultSysObjectID)); err != nil {
		b.Fatal(err)
	}
	enc.addrAt = agentAddrOffset(enc.v1)
	for _, kind := range []snmpconfig.Kind{snmpconfig.TrapV2c, snmpconfig.TrapV1} {
		b.Run(kind.String(), func(b *testing.B) {
			s := &sender{target: snmpconfig.Target{Kind: kind}, community: []byte("public"), agentAddr: [4]byte{192, 0, 2, 7}}
			buf := make([]byte, 0, 1500)
			ids := newRequestIDs()
			b.ReportAllocs()
			for b.Loop() {
				if buf, err = s.message(buf[:0], enc, tagTrapV2, ids.take()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
