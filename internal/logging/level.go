// Package logging holds the daemon's small additions to log/slog.
package logging

import (
	"context"
	"log/slog"
)

// WithLevel returns a handler that passes on records at or above level, so
// that each subsystem can follow its own loglevel setting while sharing the
// daemon's output.
func WithLevel(h slog.Handler, level slog.Leveler) slog.Handler {
	return &levelHandler{h: h, level: level}
}

type levelHandler struct {
	h     slog.Handler
	level slog.Leveler
}

func (l *levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.level.Level() && l.h.Enabled(ctx, lv)
}

func (l *levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

func (l *levelHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &levelHandler{h: l.h.WithAttrs(attrs), level: l.level}
}

func (l *levelHandler) WithGroup(name string) slog.Handler {
	return &levelHandler{h: l.h.WithGroup(name), level: l.level}
}
