package forward

import (
	"log/slog"

	"hostagent/syslogd"
	"hostagent/syslogd/output"
	"hostagent/syslogd/output/jetstream"
	"hostagent/syslogd/output/kafka"
)

var (
	_ sink = (*output.Output)(nil)
	_ sink = (*kafka.Output)(nil)
	_ sink = (*jetstream.Output)(nil)
)

// newSink makes the output of a loghost's scheme.
func newSink(h syslogd.Loghost, s output.Settings, log *slog.Logger) (sink, error) {
	switch h.Scheme {
	case "kafka", "kafkas":
		return kafka.New(h, s, log)
	case "nats":
		return jetstream.New(h, s, log)
	}
	return output.New(h, s, log)
}
