package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestWithLevel(t *testing.T) {
	var out bytes.Buffer
	var level slog.LevelVar
	level.Set(slog.LevelWarn)
	log := slog.New(WithLevel(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), &level)).With("subsystem", "snmp")
	log.Info("hidden")
	log.Warn("shown")
	level.Set(slog.LevelDebug) // a reload changes the level of loggers already made
	log.Debug("now shown")
	got := out.String()
	if strings.Contains(got, "hidden") || !strings.Contains(got, "msg=shown subsystem=snmp") || !strings.Contains(got, "now shown") {
		t.Errorf("output:\n%s", got)
	}
}
