package logwatch

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

// records is a slog handler that hands every record to a channel.
type records chan slog.Record

func (h records) Enabled(context.Context, slog.Level) bool      { return true }
func (h records) Handle(_ context.Context, r slog.Record) error { h <- r; return nil }
func (h records) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h records) WithGroup(string) slog.Handler                 { return h }

// TestShowsWhatTheForwarderSends sends through the forwarder's own tcp://
// output, as the daemon does in make run, and reads the decoded fields.
func TestShowsWhatTheForwarderSends(t *testing.T) {
	got := make(records, 16)
	w, err := Start("127.0.0.1:0", slog.New(got))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	<-got // "demo collector listening"

	h, err := syslogd.ParseLoghost("tcp://" + w.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	out, err := output.New(h, output.DefaultSettings(h), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	rec := syslogd.Record{Time: time.Now(), Hostname: "esx01", AppName: "vmkernel",
		Facility: syslogd.Facility(16), Severity: syslogd.Severity(6), Message: "line one"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := out.Deliver(ctx, []syslogd.Record{rec}); err != nil {
		t.Fatal(err)
	}

	select {
	case r := <-got:
		fields := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { fields[a.Key] = a.Value.String(); return true })
		if r.Message != "received log line" || fields["host"] != "esx01" || fields["app"] != "vmkernel" ||
			fields["priority"] != "local0.info" || fields["msg"] != "line one" {
			t.Errorf("logged %q %v", r.Message, fields)
		}
	case <-ctx.Done():
		t.Fatal("the demo collector showed nothing")
	}
}

func TestRefusesAnAddressInUse(t *testing.T) {
	w, err := Start("127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := Start(w.Addr().String(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a second collector on the same address started")
	}
}
