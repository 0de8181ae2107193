package jetstream

import (
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// BenchmarkJetStream publishes b.N lines into a real nats-server's file
// stream, in the pipeline's batches, until every one is acknowledged:
// lines per second, this process's CPU time per line, and nats-server's.
func BenchmarkJetStream(b *testing.B) {
	srv := startServer(b, peertest.NatsServerOptions{}, testStreamConfig())
	h := loghost(b, srv)
	o := newOutput(b, h, testSettings(h))
	recs := records(b.N)
	cpu0, server0 := cpuTime(b), srv.CPUSeconds(b)
	start := time.Now()
	b.ResetTimer()
	last := deliver(b, o, recs, 4096, nil)
	waitConfirmed(b, o, last, 10*time.Minute)
	b.StopTimer()
	elapsed, cpu, server := time.Since(start), cpuTime(b)-cpu0, srv.CPUSeconds(b)-server0
	if st := o.Stats(); st.Confirmed != uint64(b.N) {
		b.Fatalf("%d lines published, stats %+v", b.N, st)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/line")
	b.ReportMetric(server*1e9/float64(b.N), "server-cpu-ns/line")
}

// cpuTime is the user and system time this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
