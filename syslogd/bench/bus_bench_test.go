package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"hostagent/internal/peertest"
)

// The log bus runs: hostagentd with one nats:// loghost, into a real
// nats-server's JetStream stream (file storage), and with one kafka://
// loghost, into a three-broker kfake cluster (franz-go's test cluster, in
// this process: no Kafka broker is packaged for Debian). Every record counts
// as delivered on the bus's acknowledgement. The sink here is a consumer
// of the stream or topic that counts distinct line numbers as the socket
// sinks do: the run ends when every line has been stored and read back.
// For kfake the "sink CPU" is this process's, the cluster's included; for
// NATS the nats-server's CPU is reported apart, in the log.

// newCountingSink is a sink without a listener: a consumer feeds it.
func newCountingSink(want int) *sink {
	return &sink{want: want, seen: make([]uint64, (want+63)/64), done: make(chan struct{})}
}

// hostagentBus runs hostagentd with one log bus loghost of scheme nats or
// kafka.
func (r runner) hostagentBus(scheme string) result {
	t := r.t
	t.Helper()
	s := newCountingSink(totalLines)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var loghost string
	sinkCPU := selfCPU
	switch scheme {
	case "nats":
		srv := peertest.StartNatsServer(t, peertest.NatsServerOptions{})
		srv.AddStream(t, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage})
		loghost = fmt.Sprintf("nats://127.0.0.1:%d/bench.hostd", srv.Port())
		nc, err := nats.Connect(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := js.OrderedConsumer(ctx, "BENCH", jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { s.count(m.Data()) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cc.Stop)
		serverStart := srv.CPUSeconds(t)
		defer func() { t.Logf("hostagent nats: nats-server CPU %.2fs", srv.CPUSeconds(t)-serverStart) }()
	case "kafka":
		cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, "bench"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cluster.Close)
		loghost = "kafka://" + strings.Join(cluster.ListenAddrs(), ",") + "/bench"
		consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("bench"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(consumer.Close)
		go func() {
			for ctx.Err() == nil {
				consumer.PollFetches(ctx).EachRecord(func(rec *kgo.Record) { s.count(rec.Value) })
			}
		}()
	default:
		t.Fatalf("scheme %q: nats or kafka", scheme)
	}
	return r.runHostagentd("hostagent "+scheme, loghost, "", s, sinkCPU, func() string { return "" })
}
