package peertest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestNatsServer starts a server, publishes one message twice with the
// same Nats-Msg-Id (stored once), and finds the stream and the message
// again after a SIGKILL and a restart, then after a SIGTERM and a restart.
func TestNatsServer(t *testing.T) {
	s := StartNatsServer(t, NatsServerOptions{})
	s.AddStream(t, jetstream.StreamConfig{Name: "LOGS", Subjects: []string{"logs.>"}})

	nc, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, dup := range []bool{false, true} {
		m := &nats.Msg{Subject: "logs.a", Data: []byte("hello"), Header: nats.Header{"k": []string{"v"}}}
		ack, err := js.PublishMsg(ctx, m, jetstream.WithMsgID("id-1"))
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if ack.Duplicate != dup || ack.Sequence != 1 {
			t.Fatalf("publish %d: ack %+v, want sequence 1, duplicate %v", i, ack, dup)
		}
	}
	check := func(when string) {
		t.Helper()
		ms := s.Messages(t, "LOGS")
		if len(ms) != 1 {
			t.Fatalf("%s: %d messages stored, want 1: %+v", when, len(ms), ms)
		}
		m := ms[0]
		if m.Subject != "logs.a" || string(m.Data) != "hello" || m.Seq != 1 || m.Header.Get("k") != "v" ||
			m.Header.Get(jetstream.MsgIDHeader) != "id-1" {
			t.Fatalf("%s: stored %+v", when, m)
		}
	}
	check("first run")

	s.Kill(t)
	s.Start(t)
	check("after SIGKILL")
	// The duplicate window survives the crash: the same id is still known.
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: "logs.a", Data: []byte("hello")}, jetstream.WithMsgID("id-1"))
	if err != nil {
		t.Fatalf("publish after restart: %v", err)
	}
	if !ack.Duplicate {
		t.Fatalf("publish after restart: ack %+v, want a duplicate", ack)
	}

	// CPUSeconds counts this run's work: 5000 messages stored.
	cpu0 := s.CPUSeconds(t)
	s.AddStream(t, jetstream.StreamConfig{Name: "WORK", Subjects: []string{"work"}})
	nc2, err := nats.Connect(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	js2, err := jetstream.New(nc2)
	if err != nil {
		t.Fatal(err)
	}
	for range 5000 {
		if _, err := js2.PublishAsync("work", []byte("some work for the server")); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js2.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("5000 publications not acknowledged")
	}
	if cpu := s.CPUSeconds(t); cpu <= cpu0 {
		t.Errorf("nats-server used %v s of CPU before storing 5000 messages, %v s after", cpu0, cpu)
	}
	s.Stop(t)
	s.Start(t)
	check("after SIGTERM")
	if s.Port() == 0 || s.URL() != "nats://127.0.0.1:"+strconv.Itoa(s.Port()) {
		t.Fatalf("URL %s, port %d", s.URL(), s.Port())
	}
}
