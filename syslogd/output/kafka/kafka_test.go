package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"hostagent/internal/peertest"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

// TestDeliversOnceInOrder: 20,000 records in batches, each stored once,
// in order within its partition, keyed by host name, with its headers;
// the counters say so and Finish has nothing left to wait for.
func TestDeliversOnceInOrder(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	recs := records(20000, "esx")
	last := deliver(t, o, recs, 500, nil)
	waitConfirmed(t, o, last, time.Minute)
	if err := o.Finish(context.Background()); err != nil {
		t.Errorf("Finish after all acknowledged: %v", err)
	}
	st := o.Stats()
	if st.Sent != 20000 || st.Confirmed != 20000 || st.Unconfirmed != 0 || st.Failed != 0 || st.Retried != 0 ||
		!st.Connected || st.LastError != "" || st.AckLatency <= 0 || st.Guarantee != output.Guarantee("kafka") ||
		st.Loghost != h.String() {
		t.Errorf("stats %+v", st)
	}
	got := consume(t, c.ListenAddrs(), testTopic)
	verify(t, h, recs, got, s, true)
	parts := map[int32]bool{}
	for _, g := range got {
		parts[g.partition] = true
	}
	if len(parts) < 2 {
		t.Errorf("records of 5 hosts stored in %d partitions: keys not used", len(parts))
	}
}

// TestKeyAndCompression: the key follows the setting, and every codec
// stores what was sent.
func TestKeyAndCompression(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(testPartitions, "k-source", "k-none", "c-gzip", "c-snappy", "c-lz4", "c-zstd"))
	for _, tc := range []struct{ topic, key, compression string }{
		{"k-source", "source", "none"}, {"k-none", "none", ""},
		{"c-gzip", "", "gzip"}, {"c-snappy", "", "snappy"}, {"c-lz4", "", "lz4"}, {"c-zstd", "", "zstd"},
	} {
		t.Run(tc.topic, func(t *testing.T) {
			h := c.loghost(t, tc.topic)
			s := testSettings(h)
			if tc.key != "" {
				s.Key = tc.key
			}
			s.Compression = tc.compression
			o := newOutput(t, h, s, nil)
			recs := records(300, "esx")
			recs[7].Part = 2 // a piece of a split message carries its part
			waitConfirmed(t, o, deliver(t, o, recs, 100, nil), 30*time.Second)
			got := consume(t, c.ListenAddrs(), tc.topic)
			if len(got) != len(recs) {
				t.Fatalf("%d records stored, %d sent", len(got), len(recs))
			}
			for _, g := range got {
				want := g.headers["hostname"]
				switch tc.key {
				case "source":
					want = g.headers["source"]
				case "none":
					want = ""
				}
				if g.key != want {
					t.Fatalf("key %q, want %q (setting %q)", g.key, want, tc.key)
				}
				if _, ok := g.headers["part"]; ok != (g.headers["id"] == output.RecordID(output.Scope(s.Instance, h), &recs[7])) {
					t.Errorf("record %s: part header %q", g.headers["id"], g.headers["part"])
				}
			}
			if tc.key != "none" {
				verify(t, h, recs, got, s, tc.key == "")
			}
		})
	}
	h := c.loghost(t, testTopic)
	for _, s := range []output.Settings{{Key: "mac"}, {Compression: "brotli"}} {
		if _, err := New(h, s, slog.Default()); err == nil || !strings.Contains(err.Error(), h.String()) {
			t.Errorf("settings %+v: error %v, want one naming the loghost", s, err)
		}
	}
}

// TestResponseLostAfterApply: produce requests the brokers applied whose
// responses never arrive, their connection cut (a broker cut off just after
// appending), or that a broker answers REQUEST_TIMED_OUT or
// NOT_ENOUGH_REPLICAS_AFTER_APPEND after appending: the client sends them
// again and the idempotent producer's sequence numbers make the brokers
// store them once.
func TestResponseLostAfterApply(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	faults := c.Fault(
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 10},
		kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicasAfterAppend, Count: 10})
	recs := records(20000, "esx")
	last := deliver(t, o, recs, 500, func(i int) {
		if i%4 == 0 {
			for _, b := range c.brokers {
				b.loseResponses(1)
			}
		}
	})
	waitConfirmed(t, o, last, time.Minute)
	lost := int64(0)
	for _, b := range c.brokers {
		lost += b.lost.Load()
	}
	if lost == 0 || faults.Hits() == 0 {
		t.Fatalf("no fault happened: %d responses lost, %d answered with errors", lost, faults.Hits())
	}
	t.Logf("%d produce responses lost after the append, %d answered with an error after it", lost, faults.Hits())
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)
}

// TestConnectionsDropped: every connection to every broker cut again and
// again while records flow: nothing lost, nothing stored twice.
func TestConnectionsDropped(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	recs := records(20000, "esx")
	last := deliver(t, o, recs, 400, func(i int) {
		if i%3 == 0 {
			c.dropConnections()
		}
	})
	waitConfirmed(t, o, last, time.Minute)
	t.Logf("stats %+v", o.Stats())
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)
}

// TestLeaderMoves: partitions change leaders while records flow (the
// client learns it from NOT_LEADER_FOR_PARTITION and fresh metadata).
func TestLeaderMoves(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	recs := records(20000, "esx")
	moves := 0
	last := deliver(t, o, recs, 400, func(i int) {
		for _, p := range partitionsOf() {
			if (int(p)+i)%2 == 0 {
				if err := c.MoveTopicPartition(testTopic, p, (c.LeaderFor(testTopic, p)+1)%3); err != nil {
					t.Fatal(err)
				}
				moves++
			}
		}
	})
	waitConfirmed(t, o, last, time.Minute)
	t.Logf("%d leader moves", moves)
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)
}

// TestBrokerGone: a broker goes away (connections refused, those open
// cut, requests in flight unanswered) while records flow, and comes back
// on its address with its log. See faultListener for why not kfake's
// RemoveNode.
//
// "elected elsewhere": its partitions get new leaders meanwhile, as a
// cluster's controller elects them from the in-sync replicas; kfake has
// one log per partition, which the new leader serves with its producer
// state, as a replica that had everything would. "until it returns": they
// stay with it, as with one replica: their records wait, acknowledged
// once it is back.
func TestBrokerGone(t *testing.T) {
	for _, elect := range []bool{true, false} {
		name := map[bool]string{true: "elected elsewhere", false: "until it returns"}[elect]
		t.Run(name, func(t *testing.T) {
			c := newCluster(t)
			h := c.loghost(t, testTopic)
			s := testSettings(h)
			var logBuf peertest.Buffer
			o := newOutput(t, h, s, slog.New(slog.NewTextHandler(&logBuf, nil)))
			recs := records(20000, "esx")
			// Every partition led by the broker that goes, so that every
			// record depends on it whatever its key hashes to.
			const gone = 0
			for _, p := range partitionsOf() {
				if err := c.MoveTopicPartition(testTopic, p, gone); err != nil {
					t.Fatal(err)
				}
			}
			var moved []int32
			last := deliver(t, o, recs[:8000], 400, nil)
			c.brokers[gone].down(t)
			if elect {
				for _, p := range partitionsOf() {
					if c.LeaderFor(testTopic, p) == gone {
						if err := c.MoveTopicPartition(testTopic, p, 1+p%2); err != nil {
							t.Fatal(err)
						}
						moved = append(moved, p)
					}
				}
			}
			last = deliver(t, o, recs[8000:14000], 400, nil)
			if elect {
				// The new leaders acknowledge everything while it is away.
				waitConfirmed(t, o, last, time.Minute)
			} else {
				waitStats(t, o, 30*time.Second, "the outage in Stats", func(st output.Stats) bool {
					return !st.Connected && st.LastError != ""
				})
				time.Sleep(2 * time.Second) // the outage's length, not a synchronisation
				st := o.Stats()
				t.Logf("while away: %+v", st)
				if o.Confirmed() >= last || st.Unconfirmed == 0 {
					t.Fatalf("records acknowledged while their only broker is away: %+v", st)
				}
			}
			c.brokers[gone].back(t)
			for _, p := range moved { // the preferred leader takes its partitions back
				if err := c.MoveTopicPartition(testTopic, p, gone); err != nil {
					t.Fatal(err)
				}
			}
			last = deliver(t, o, recs[14000:], 400, nil)
			waitConfirmed(t, o, last, 90*time.Second)
			if err := o.Finish(context.Background()); err != nil {
				t.Errorf("Finish: %v", err)
			}
			st := o.Stats()
			if st.Confirmed != uint64(len(recs)) || st.Unconfirmed != 0 {
				t.Errorf("stats %+v", st)
			}
			if !elect {
				if n := strings.Count(logBuf.String(), "loghost failing"); n != 1 {
					t.Errorf("outage logged %d times, want once:\n%s", n, logBuf.String())
				}
				if !st.Connected || st.LastError != "" || st.Reconnects == 0 {
					t.Errorf("after the broker's return: %+v", st)
				}
			}
			verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, false)
		})
	}
}

// TestUnknownTopic: records for a topic that does not exist fail; they are
// kept, said why, produced again with backoff, and stored once the topic
// is created.
func TestUnknownTopic(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, "later")
	s := testSettings(h)
	var logBuf peertest.Buffer
	o := newOutput(t, h, s, slog.New(slog.NewTextHandler(&logBuf, nil)))
	recs := records(1000, "esx")
	last := deliver(t, o, recs, 250, nil)
	waitStats(t, o, 30*time.Second, "the failure in Stats", func(st output.Stats) bool {
		return st.Failed > 0 && strings.Contains(st.LastError, "topic later does not exist")
	})
	if st := o.Stats(); st.Unconfirmed != len(recs) || o.Confirmed() != 0 {
		t.Fatalf("records dropped or confirmed without a topic: %+v", st)
	}
	if err := o.Finish(context.Background()); err == nil || !strings.Contains(err.Error(), "1000 records stay unconfirmed") {
		t.Errorf("Finish without a topic: %v", err)
	}
	// Records given meanwhile wait behind the failed ones, in order.
	more := records(1200, "esx")[1000:]
	last = deliver(t, o, more, 100, nil)
	recs = append(recs, more...)
	createTopic(t, c, "later")
	waitConfirmed(t, o, last, time.Minute)
	st := o.Stats()
	if st.Retried == 0 || st.Confirmed != uint64(len(recs)) || st.LastError != "" || !st.Connected {
		t.Errorf("stats %+v", st)
	}
	if n := strings.Count(logBuf.String(), "loghost failing"); n != 1 {
		t.Errorf("outage logged %d times, want once:\n%s", n, logBuf.String())
	}
	verify(t, h, recs, consume(t, c.ListenAddrs(), "later"), s, true)
}

func createTopic(t *testing.T, c *cluster, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, testPartitions, 1
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.Topics[0].ErrorCode != 0 {
		t.Fatalf("create topic %s: %v %+v", topic, err, resp)
	}
}

// TestBackpressure: with the cluster unreachable, Deliver takes records up
// to the bound, then waits, and gives up when its context ends; nothing
// is dropped, and Finish says how many wait. Close does not wait.
func TestBackpressure(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	o.bound = 1000
	for _, b := range c.brokers {
		b.down(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	recs := records(1500, "esx")
	if id, err := o.Deliver(ctx, recs[:600]); err != nil || id != 1 {
		t.Fatalf("first batch: %d %v", id, err)
	}
	if id, err := o.Deliver(ctx, recs[600:1000]); err != nil || id != 2 {
		t.Fatalf("second batch, to the bound: %d %v", id, err)
	}
	start := time.Now()
	if _, err := o.Deliver(ctx, recs[1000:]); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("batch beyond the bound: %v, want the context's end", err)
	}
	if o.Unconfirmed() != 1000 || o.Confirmed() != 0 {
		t.Fatalf("unconfirmed %d, confirmed %d", o.Unconfirmed(), o.Confirmed())
	}
	start = time.Now()
	err := o.Finish(context.Background())
	if err == nil || !strings.Contains(err.Error(), "1000 records stay unconfirmed") || !strings.Contains(err.Error(), h.String()) {
		t.Errorf("Finish: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Finish took %v", d)
	}
	if st := o.Stats(); st.Connected || st.LastError == "" {
		t.Errorf("stats of an unreachable cluster: %+v", st)
	}
	for _, b := range c.brokers {
		b.back(t)
	}
	// Back: the batches waiting are acknowledged, and the third goes.
	waitConfirmed(t, o, 2, time.Minute)
	id, err := o.Deliver(context.Background(), recs[1000:])
	if err != nil || id != 3 {
		t.Fatalf("third batch: %d %v", id, err)
	}
	waitConfirmed(t, o, 3, time.Minute)
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)

	// Close does not wait for what is unacknowledged.
	for _, b := range c.brokers {
		b.down(t)
	}
	if _, err := o.Deliver(context.Background(), records(10, "late")); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	o.Close()
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %v", d)
	}
}

// TestSASL: PLAIN and SCRAM logins with the password from its file; a
// wrong password is said in Stats, and nothing is dropped meanwhile.
func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "agent", "s3cret"))
			h := c.loghost(t, testTopic)
			dir := t.TempDir()
			good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
			if err := os.WriteFile(good, []byte("s3cret\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bad, []byte("guess\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			s := testSettings(h)
			s.SASL, s.Username, s.PasswordFile = strings.ToLower(mech), "agent", good
			o := newOutput(t, h, s, nil)
			recs := records(1000, "esx")
			waitConfirmed(t, o, deliver(t, o, recs, 250, nil), 30*time.Second)
			var login kgo.Opt
			switch mech {
			case "PLAIN":
				login = kgo.SASL(plain.Auth{User: "agent", Pass: "s3cret"}.AsMechanism())
			case "SCRAM-SHA-256":
				login = kgo.SASL(scram.Auth{User: "agent", Pass: "s3cret"}.AsSha256Mechanism())
			default:
				login = kgo.SASL(scram.Auth{User: "agent", Pass: "s3cret"}.AsSha512Mechanism())
			}
			verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic, login), s, true)

			s.PasswordFile = bad
			wrong := newOutput(t, h, s, nil)
			if _, err := wrong.Deliver(context.Background(), records(100, "wrong")); err != nil {
				t.Fatal(err)
			}
			waitStats(t, wrong, 30*time.Second, "the failed login in Stats", func(st output.Stats) bool {
				return !st.Connected && strings.Contains(strings.ToLower(st.LastError), "sasl")
			})
			st := wrong.Stats()
			t.Logf("wrong password: %s", st.LastError)
			if st.Unconfirmed != 100 || st.Confirmed != 0 {
				t.Errorf("records dropped or confirmed without a login: %+v", st)
			}
		})
	}
	h, _ := syslogd.ParseLoghost("kafka://127.0.0.1:1/logs")
	s := output.DefaultSettings(h)
	s.SASL, s.Username, s.PasswordFile = "plain", "agent", filepath.Join(t.TempDir(), "missing")
	_, err := New(h, s, slog.Default())
	if err == nil || !strings.Contains(err.Error(), h.String()) || !strings.Contains(err.Error(), s.PasswordFile) {
		t.Errorf("missing password file: %v", err)
	}
}

// TestTLS: a kafkas:// loghost verifies the brokers' certificate against
// the CA file and shows its own; without the CA it refuses the brokers and
// says why.
func TestTLS(t *testing.T) {
	ca := peertest.NewTestCA(t)
	certFile, keyFile := ca.Issue(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: ca.Pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}))
	h, err := syslogd.ParseLoghost("kafkas://" + strings.Join(c.ListenAddrs(), ",") + "/" + testTopic)
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings(h)
	if !s.TLS {
		t.Fatal("kafkas:// without TLS by default")
	}
	s.CAFile, s.CertFile, s.KeyFile = ca.CertFile, certFile, keyFile
	o := newOutput(t, h, s, nil)
	recs := records(1000, "esx")
	waitConfirmed(t, o, deliver(t, o, recs, 250, nil), 30*time.Second)
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic, kgo.DialTLSConfig(&tls.Config{RootCAs: ca.Pool,
		Certificates: []tls.Certificate{cert}})), s, true)

	s.CAFile = "" // the system's roots do not know the test CA
	untrusted := newOutput(t, h, s, nil)
	if _, err := untrusted.Deliver(context.Background(), records(10, "untrusted")); err != nil {
		t.Fatal(err)
	}
	waitStats(t, untrusted, 30*time.Second, "the refused certificate in Stats", func(st output.Stats) bool {
		return strings.Contains(st.LastError, "certificate")
	})
	if st := untrusted.Stats(); st.Confirmed != 0 || st.Unconfirmed != 10 {
		t.Errorf("stats %+v", st)
	}
}

// TestRealBroker produces to a real cluster, when KAFKA_BROKERS names one
// (host:port,...; the topic is KAFKA_TOPIC, "hostagent-test" by default,
// created by the broker or beforehand).
func TestRealBroker(t *testing.T) {
	brokers := os.Getenv("KAFKA_BROKERS")
	if brokers == "" {
		t.Skip("KAFKA_BROKERS not set: no Kafka broker is packaged here, so this runs only against one given (kfake covers the rest)")
	}
	topic := os.Getenv("KAFKA_TOPIC")
	if topic == "" {
		topic = "hostagent-test"
	}
	h, err := syslogd.ParseLoghost("kafka://" + brokers + "/" + topic)
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	host := "real-" + time.Now().UTC().Format("20060102T150405.000000000")
	recs := records(5000, host)
	waitConfirmed(t, o, deliver(t, o, recs, 500, nil), 2*time.Minute)
	if err := o.Finish(context.Background()); err != nil {
		t.Errorf("Finish: %v", err)
	}
	var ours []stored
	for _, g := range consume(t, h.Servers(), topic) {
		if strings.HasPrefix(g.headers["hostname"], host) {
			ours = append(ours, g)
		}
	}
	verify(t, h, recs, ours, s, true)
}

// TestProducerIDFailure: the producer ID is refused once, with an error
// franz-go keeps for good (its client can produce no more): the records
// failed are produced again through a new client, those given meanwhile
// held behind them, and all are stored once, in order.
func TestProducerIDFailure(t *testing.T) {
	c := newCluster(t)
	h := c.loghost(t, testTopic)
	s := testSettings(h)
	o := newOutput(t, h, s, nil)
	fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.InitProducerID}, Err: kerr.ClusterAuthorizationFailed, TopLevel: true, Count: 1})
	recs := records(5000, "esx")
	last := deliver(t, o, recs[:1000], 500, nil)
	waitStats(t, o, 30*time.Second, "the failure in Stats", func(st output.Stats) bool { return st.Failed > 0 })
	last = deliver(t, o, recs[1000:], 500, nil)
	waitConfirmed(t, o, last, time.Minute)
	st := o.Stats()
	t.Logf("%d faults; stats %+v", fault.Hits(), st)
	if st.Retried == 0 || st.Confirmed != uint64(len(recs)) || st.Unconfirmed != 0 {
		t.Errorf("stats %+v", st)
	}
	verify(t, h, recs, consume(t, c.ListenAddrs(), testTopic), s, true)
}
