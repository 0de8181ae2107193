package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strconv"

	"hostagent/syslogd"
)

// ownLog sends the daemon's own log (info and above) to its loghosts too,
// as facility daemon with app-name hostagentd, besides writing it locally.
// Records go through a small queue to a goroutine, so logging never waits
// on the forwarder; the forwarder's own records are left out, so that a
// loghost in trouble cannot feed on the messages about its trouble.
type ownLog struct {
	inner slog.Handler
	queue chan<- syslogd.Record
	attrs []slog.Attr
	group string
	skip  bool // this logger is the forwarder's (subsystem=syslog)
}

// ownLogQueue bounds what waits to be forwarded; past it, lines of the
// daemon's own log are forwarded no more (they are still written locally).
const ownLogQueue = 256

func newOwnLog(inner slog.Handler) (*ownLog, <-chan syslogd.Record) {
	q := make(chan syslogd.Record, ownLogQueue)
	return &ownLog{inner: inner, queue: q}, q
}

func (h *ownLog) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l) || l >= slog.LevelInfo
}

func (h *ownLog) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if h.inner.Enabled(ctx, r.Level) {
		err = h.inner.Handle(ctx, r)
	}
	if h.skip || r.Level < slog.LevelInfo {
		return err
	}
	// The message as the text handler writes it, without time and level,
	// which the syslog header carries.
	var b bytes.Buffer
	text := slog.NewTextHandler(&b, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		return a
	}})
	var th slog.Handler = text.WithAttrs(h.attrs)
	if h.group != "" {
		th = th.WithGroup(h.group)
	}
	_ = th.Handle(ctx, r)
	rec := syslogd.Record{Time: r.Time, Hostname: hostName, AppName: "hostagentd", ProcID: pid, Facility: 3,
		Severity: severityOf(r.Level), Message: string(bytes.TrimSpace(b.Bytes())), Source: "hostagentd"}
	select {
	case h.queue <- rec:
	default:
	}
	return err
}

func (h *ownLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	for _, a := range attrs {
		if a.Key == "subsystem" && a.Value.String() == "syslog" {
			c.skip = true
		}
	}
	return &c
}

func (h *ownLog) WithGroup(name string) slog.Handler {
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.group = name
	return &c
}

// The process's id and host name, for the records of its own log.
var (
	pid         = strconv.Itoa(os.Getpid())
	hostName, _ = os.Hostname()
)

func severityOf(l slog.Level) syslogd.Severity {
	switch {
	case l >= slog.LevelError:
		return 3 // err
	case l >= slog.LevelWarn:
		return 4 // warning
	default:
		return 6 // info
	}
}

// forwardOwnLog hands the queued records to the forwarder in force until
// ctx is done; before the forwarder starts they wait in the queue.
func (d *Daemon) forwardOwnLog(ctx context.Context, q <-chan syslogd.Record) {
	for {
		select {
		case <-ctx.Done():
			return
		case rec := <-q:
			if !d.forwarder.submit(ctx, rec) {
				return
			}
		}
	}
}
