package kafka

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkKafka: lines per second into a three-broker kfake cluster, each
// counted only on its acknowledgement (acks=all, idempotent), in the
// pipeline's largest batches; one op is one line. cpu-ns/line is the
// process's CPU time (ours, franz-go's and kfake's: the brokers run in this
// process) per line.
func BenchmarkKafka(b *testing.B) {
	c := newCluster(b)
	h := c.loghost(b, testTopic)
	o := newOutput(b, h, testSettings(h), nil)
	const batch = 4096
	recs := records(batch, "esx")
	ctx := context.Background()
	// One batch first, so that connections and the producer ID are set up.
	id, err := o.Deliver(ctx, recs)
	if err != nil {
		b.Fatal(err)
	}
	waitConfirmed(b, o, id, time.Minute)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	var seq uint64
	for n := 0; n < b.N; n += batch {
		k := min(batch, b.N-n)
		for i := range recs[:k] {
			seq++
			recs[i].Seq = seq // a new line each time, as the pipeline numbers them
		}
		if id, err = o.Deliver(ctx, recs[:k]); err != nil {
			b.Fatal(err)
		}
		o.Check()
	}
	for o.Confirmed() < id {
		select {
		case <-o.progress:
		case <-time.After(checkEvery):
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "lines/s")
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/line")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
