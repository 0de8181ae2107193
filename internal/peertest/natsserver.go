package peertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NatsServerOptions add to the configuration StartNatsServer writes.
type NatsServerOptions struct {
	// Config is more nats-server configuration text, e.g. a tls { ... } or
	// authorization { ... } block.
	Config string
	// ClientOptions are how the helper itself connects (to wait for the
	// server, AddStream, Messages) when Config asks clients for TLS or
	// credentials, e.g. nats.RootCAs(ca.CertFile) and an NKey.
	ClientOptions []nats.Option
}

// NatsServer is a private nats-server with JetStream; see StartNatsServer.
type NatsServer struct {
	bin, dir, conf, storeDir string
	port                     int
	clientOpts               []nats.Option
	out                      *Buffer // the server's stdout and stderr, every run
	cmd                      *exec.Cmd
	exited                   chan struct{} // closed when cmd has exited
	waitErr                  error         // set before exited is closed
}

// NatsMessage is a message stored in a stream.
type NatsMessage struct {
	Subject string
	Data    []byte
	Header  nats.Header
	Seq     uint64 // the stream's sequence number
}

// natsReadTimeout bounds Messages and the helper's API calls, retries
// across a restarting server included.
const natsReadTimeout = 60 * time.Second

// StartNatsServer runs nats-server (Debian's package nats-server) as a
// child on a free port of 127.0.0.1, JetStream on, its store in
// t.TempDir(), and returns once JetStream answers. The process is killed
// in t.Cleanup; if the test failed, what it wrote is logged.
func StartNatsServer(t testing.TB, opts NatsServerOptions) *NatsServer {
	t.Helper()
	bin := RequireCommand(t, "nats-server", "nats-server")
	dir := t.TempDir()
	s := &NatsServer{bin: bin, dir: dir, conf: filepath.Join(dir, "nats-server.conf"),
		storeDir: filepath.Join(dir, "jetstream"), clientOpts: opts.ClientOptions, out: &Buffer{}}
	t.Cleanup(func() {
		s.Kill(t)
		if t.Failed() {
			t.Logf("nats-server (%s) wrote:\n%s", s.conf, s.out.String())
		}
	})
	// The free port is found by binding and releasing it, so another
	// process may take it before nats-server binds; then try another.
	for attempt := 1; ; attempt++ {
		port, err := freeTCPPort()
		if err != nil {
			t.Fatalf("peertest: no free port: %v", err)
		}
		s.port = port
		conf := fmt.Sprintf("# Written by hostagent/internal/peertest.\nlisten: 127.0.0.1:%d\njetstream {\n  store_dir: %q\n}\n%s\n",
			port, s.storeDir, opts.Config)
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		err = s.start()
		if err == nil {
			return s
		}
		s.Kill(t)
		if !strings.Contains(s.out.String(), "address already in use") || attempt == 3 {
			t.Fatalf("peertest: %v\nnats-server wrote:\n%s", err, s.out.String())
		}
	}
}

// URL is the client URL, nats://127.0.0.1:PORT.
func (s *NatsServer) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.port) }

// Port is the client port.
func (s *NatsServer) Port() int { return s.port }

// Start starts nats-server again after Kill or Stop, on the same port and
// store, and waits until JetStream answers.
func (s *NatsServer) Start(t testing.TB) {
	t.Helper()
	if s.cmd != nil {
		t.Fatal("peertest: nats-server is already running")
	}
	if err := s.start(); err != nil {
		t.Fatalf("peertest: %v\nnats-server wrote:\n%s", err, s.out.String())
	}
}

func (s *NatsServer) start() error {
	fmt.Fprintf(s.out, "--- peertest: nats-server started at %s\n", time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "-c", s.conf)
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start nats-server: %w", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	exited := s.exited
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()
	return s.awaitReady()
}

// awaitReady waits until a client connects and JetStream answers an
// account info request: the store is recovered and streams take messages.
func (s *NatsServer) awaitReady() error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		select {
		case <-s.exited:
			return fmt.Errorf("nats-server exited: %v", s.waitErr)
		default:
		}
		if last = s.ping(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nats-server not ready within %v: %v", startTimeout, last)
		}
		time.Sleep(pause) // the interval of a wait with a deadline
	}
}

func (s *NatsServer) ping() error {
	nc, js, err := s.connect()
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = js.AccountInfo(ctx)
	return err
}

// connect makes a client connection of the helper's own, which gives up
// at once when the server is away: the callers retry.
func (s *NatsServer) connect() (*nats.Conn, jetstream.JetStream, error) {
	opts := append([]nats.Option{nats.Name("peertest"), nats.Timeout(2 * time.Second), nats.NoReconnect()}, s.clientOpts...)
	nc, err := nats.Connect(s.URL(), opts...)
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

// Kill sends SIGKILL (a crash: nothing flushed or closed) and waits until
// the server has exited. It does nothing if it is not running.
func (s *NatsServer) Kill(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGKILL)
}

// Stop sends SIGTERM (a clean shutdown) and waits until the server has
// exited; it is killed if it has not within 30 s.
func (s *NatsServer) Stop(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGTERM)
}

func (s *NatsServer) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("peertest: nats-server did not exit within 30 s of %v; killed", sig)
	}
	s.cmd = nil
}

// CPUSeconds is the user and system CPU time the running server has used
// (since its last start), from /proc/PID/stat: what a benchmark reports
// beside its own.
func (s *NatsServer) CPUSeconds(t testing.TB) float64 {
	t.Helper()
	if s.cmd == nil {
		t.Fatal("peertest: nats-server is not running")
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("peertest: nats-server CPU time: %v", err)
	}
	// The command name, in parentheses, may hold spaces: fields are
	// counted after its closing parenthesis; utime and stime are the
	// 14th and 15th of the line, in clock ticks.
	i := strings.LastIndexByte(string(data), ')')
	fields := strings.Fields(string(data[i+1:]))
	if i < 0 || len(fields) < 13 {
		t.Fatalf("peertest: nats-server CPU time: /proc/%d/stat unreadable: %q", s.cmd.Process.Pid, data)
	}
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("peertest: nats-server CPU time: %v", err)
	}
	return float64(utime+stime) / clockTicks
}

// clockTicks is the kernel's USER_HZ, the unit of /proc's CPU times: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// AddStream creates a stream.
func (s *NatsServer) AddStream(t testing.TB, cfg jetstream.StreamConfig) {
	t.Helper()
	s.api(t, "create stream "+cfg.Name, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.CreateStream(ctx, cfg)
		return err
	})
}

// UpdateStream changes a stream's configuration (its limits, its subjects).
func (s *NatsServer) UpdateStream(t testing.TB, cfg jetstream.StreamConfig) {
	t.Helper()
	s.api(t, "update stream "+cfg.Name, func(ctx context.Context, js jetstream.JetStream) error {
		_, err := js.UpdateStream(ctx, cfg)
		return err
	})
}

// api runs call on a connection of its own, again while the server is
// away (restarting) or JetStream not ready, for up to natsReadTimeout.
func (s *NatsServer) api(t testing.TB, what string, call func(context.Context, jetstream.JetStream) error) {
	t.Helper()
	deadline := time.Now().Add(natsReadTimeout)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 500*time.Millisecond) {
		err := func() error {
			nc, js, err := s.connect()
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			return call(ctx, js)
		}()
		if err == nil {
			return
		}
		if !retriable(err) || time.Now().After(deadline) {
			t.Fatalf("peertest: nats-server: %s: %v", what, err)
		}
		time.Sleep(pause) // the interval of a wait with a deadline
	}
}

// retriable says whether an error may be the server's being away or
// starting, rather than a refusal.
func retriable(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		// 503: JetStream not (yet) available.
		return api.Code == 503
	}
	return true
}

// Messages returns every message stored in stream, in the stream's order,
// read with an ordered consumer. It tries again while the server is away
// (restarting), for up to a minute.
func (s *NatsServer) Messages(t testing.TB, stream string) []NatsMessage {
	t.Helper()
	var out []NatsMessage
	s.api(t, "read stream "+stream, func(ctx context.Context, js jetstream.JetStream) error {
		var err error
		out, err = readStream(ctx, js, stream)
		return err
	})
	return out
}

func readStream(ctx context.Context, js jetstream.JetStream, stream string) ([]NatsMessage, error) {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info := st.CachedInfo()
	if info.State.Msgs == 0 {
		return nil, nil
	}
	last := info.State.LastSeq
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	out := make([]NatsMessage, 0, info.State.Msgs)
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, NatsMessage{Subject: m.Subject(), Data: m.Data(), Header: m.Headers(), Seq: md.Sequence.Stream})
			if md.Sequence.Stream >= last {
				return out, nil
			}
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("stream %s: no message after sequence %d of %d", stream, lastSeq(out), last)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

func lastSeq(ms []NatsMessage) uint64 {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Seq
}
