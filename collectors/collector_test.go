package collectors

import (
	"context"
	"errors"
	"log/slog"
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
	// Each poll is asked for through Wake (the interval is an hour) and
	// reported on polled, so the test counts polls without a clock.
	polled := make(chan struct{}, 1)
	wake := make(chan struct{}, 1)
	n := 0 // only the Runner's goroutine touches it
	r := &Runner{Name: "flaky", Interval: time.Hour, Log: slog.New(slog.DiscardHandler), Wake: wake,
		Poller: pollFunc(func(ctx context.Context, out Notifier) error {
			defer func() { polled <- struct{}{} }() // even when it panics
			n++
			switch n {
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
	for i := range 5 {
		<-polled
		if i < 4 {
			wake <- struct{}{}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s := r.Stats(); s.Runs != 5 || s.Failures != 2 || s.LastError != "" {
		t.Errorf("stats %+v, want 5 runs, 2 failures (the error and the panic) and no error since", s)
	}
}

func TestPaths(t *testing.T) {
	p := Paths{ProcFS: "/tmp/p", SysFS: "/tmp/s"}
	if p.Sys("class", "hwmon") != "/tmp/s/class/hwmon" || p.Proc("stat") != "/tmp/p/stat" {
		t.Errorf("paths %s %s", p.Sys("class", "hwmon"), p.Proc("stat"))
	}
}

func TestRunnerWakesEarly(t *testing.T) {
	polled := make(chan struct{}, 10)
	wake := make(chan struct{}, 1)
	r := &Runner{Name: "links", Interval: time.Hour, Log: slog.New(slog.DiscardHandler), Wake: wake,
		Poller: pollFunc(func(context.Context, Notifier) error { polled <- struct{}{}; return nil })}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx, discard{}) }()
	<-polled // the first poll, at once
	wake <- struct{}{}
	select {
	case <-polled:
	case <-time.After(5 * time.Second):
		t.Fatal("no poll after a wake-up, an hour before the interval")
	}
}

// TestRunnerRecordsLastRunAndAbsence: Stats carry when the last run ended
// and whether it found no source.
func TestRunnerRecordsLastRunAndAbsence(t *testing.T) {
	absent := true
	r := &Runner{Name: "s", Interval: time.Hour, Log: slog.New(slog.DiscardHandler),
		Poller: pollFunc(func(context.Context, Notifier) error {
			if absent {
				return ErrAbsent
			}
			return nil
		})}
	if s := r.Stats(); !s.LastRun.IsZero() || s.Absent {
		t.Errorf("before a run: %+v", s)
	}
	before := time.Now()
	r.once(context.Background(), discard{})
	s := r.Stats()
	if !s.Absent || s.LastError != "" || s.LastRun.Before(before) || s.LastRun.After(time.Now()) {
		t.Errorf("after an absent run: %+v", s)
	}
	absent = false
	r.once(context.Background(), discard{})
	if s2 := r.Stats(); s2.Absent || s2.LastRun.Before(s.LastRun) {
		t.Errorf("after a run that found the source: %+v", s2)
	}
}
