package collectors

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"hostagent/mibs"
	"hostagent/snmpagent"
)

// The SNMP agent is what collectors deliver to.
var _ Notifier = (*snmpagent.Agent)(nil)

type pollFunc func(ctx context.Context, out Notifier) error

func (f pollFunc) Poll(ctx context.Context, out Notifier) error { return f(ctx, out) }

type discard struct{}

func (discard) Notify(context.Context, mibs.Notification) error { return nil }

func TestRunnerSurvivesFailuresAndPanics(t *testing.T) {
	var n atomic.Int32
	r := &Runner{Name: "flaky", Interval: time.Millisecond, Log: slog.New(slog.DiscardHandler),
		Poller: pollFunc(func(ctx context.Context, out Notifier) error {
			switch n.Add(1) {
			case 1:
				return errors.New("unreadable")
			case 2:
				panic("bad data")
			case 3:
				return ErrAbsent
			}
			return nil
		})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, discard{}) }()
	for n.Load() < 5 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Runs < 5 || s.Failures != 2 || s.LastError != "" {
		t.Errorf("stats %+v, want 2 failures (the error and the panic) and no error since", s)
	}
}

func TestPaths(t *testing.T) {
	p := Paths{ProcFS: "/tmp/p", SysFS: "/tmp/s"}
	if p.Sys("class", "hwmon") != "/tmp/s/class/hwmon" || p.Proc("stat") != "/tmp/p/stat" {
		t.Errorf("paths %s %s", p.Sys("class", "hwmon"), p.Proc("stat"))
	}
}
