package vms

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"

	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
)

func dial(b *testing.B, socket string) *libvirt.Libvirt {
	l := libvirt.NewWithDialer(dialers.NewLocal(dialers.WithSocket(socket)))
	if err := l.ConnectToURI("test:///default"); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Disconnect() })
	return l
}

// defineDomains fills the test driver up to n domains of its own, every
// other one running.
func defineDomains(b *testing.B, l *libvirt.Libvirt, n int) {
	for i := range n {
		if _, err := l.DomainLookupByName(fmt.Sprintf("bench%04d", i)); err == nil {
			continue
		}
		xml := fmt.Sprintf("<domain type='test'><name>bench%04d</name><memory>8192</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>", i)
		d, err := l.DomainDefineXML(xml)
		if err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if err := l.DomainCreate(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

type discard struct{}

func (discard) Notify(context.Context, mibs.Notification) error { return nil }

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkResync measures one comparison of every domain's state with the
// registry (what the collector does after each connection), with 250, 500
// and 1000 domains in libvirtd's test driver: wall time, and the CPU time
// of this process (libvirtd's own work excluded).
func BenchmarkResync(b *testing.B) {
	d := peertest.StartLibvirtd(b)
	l := dial(b, d.Socket())
	for _, n := range []int{250, 500, 1000} {
		defineDomains(b, l, n)
		b.Run(fmt.Sprintf("domains=%d", n), func(b *testing.B) {
			v, err := New(DefaultConfig(), b.TempDir(), slog.New(slog.DiscardHandler))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cpuTime()
			for range b.N {
				if err := v.resync(ctx, l, discard{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkEventToTrap measures the time from a domain operation to its
// notification arriving on a loopback UDP socket: libvirtd's event, the
// collector, the agent's encoding and send. The clock starts before the
// operation's RPC, so the figure is an upper bound of event → wire.
func BenchmarkEventToTrap(b *testing.B) {
	d := peertest.StartLibvirtd(b)
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	agent := snmpagent.New(slog.New(slog.DiscardHandler))
	cfg := snmpconfig.DefaultConfig()
	cfg.Enabled, cfg.Communities = true, []string{"public"}
	cfg.Targets = []string{fmt.Sprintf("127.0.0.1@%d", sink.LocalAddr().(*net.UDPAddr).Port)}
	p, err := agent.Prepare(context.Background(), cfg, resolve.NewResolver(nil))
	if err != nil {
		b.Fatal(err)
	}
	agent.Apply(p)
	defer agent.Close(context.Background())
	buf := make([]byte, 2048)
	_, _ = sink.Read(buf) // coldStart

	vcfg := DefaultConfig()
	vcfg.URI, vcfg.Socket = "test:///default", d.Socket()
	v, err := New(vcfg, b.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = v.Run(ctx, agent) }()
	peertest.Eventually(b, 20*time.Second, "the first resync", func() bool { return v.Resyncs() > 0 })
	l := dial(b, d.Socket())
	dom, err := l.DomainLookupByName("test")
	if err != nil {
		b.Fatal(err)
	}
	latencies := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		op := l.DomainSuspend
		if i%2 == 1 {
			op = l.DomainResume
		}
		if err := op(dom); err != nil {
			b.Fatal(err)
		}
		_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := sink.Read(buf); err != nil {
			b.Fatalf("no notification for operation %d: %v", i, err)
		}
		latencies = append(latencies, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(latencies)
	q := func(f float64) float64 {
		return float64(latencies[int(f*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
