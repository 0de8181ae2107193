package forward_test

import (
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
)

// TestPrepareRefusesBadOptions: each bad setting is refused with a message
// that names the loghost, the setting and its value, and nothing starts.
func TestPrepareRefusesBadOptions(t *testing.T) {
	no := false
	for _, c := range []struct {
		loghost string
		opts    syslogd.LoghostOptions
		want    string
	}{
		{"udp://a:514", syslogd.LoghostOptions{Framing: "newline"}, `loghost_options "udp://a:514": framing "newline": UDP sends one message per datagram`},
		{"relp://a:2514", syslogd.LoghostOptions{Framing: "octet-counting"}, `loghost_options "relp://a:2514": framing "octet-counting": RELP frames each message itself`},
		{"tcp://a:1514", syslogd.LoghostOptions{Verify: &no}, `loghost_options "tcp://a:1514": TLS options apply to ssl:// loghosts only`},
		{"relp://a:2514", syslogd.LoghostOptions{CAFile: "/etc/ca.pem"}, `TLS options apply to ssl:// loghosts only`},
		{"tcp://a:1514", syslogd.LoghostOptions{MaxMessage: 100}, `max_message 100: must be from 480 to 65535`},
		{"tcp://a:1514", syslogd.LoghostOptions{RetryMax: configstore.Duration(2 * time.Hour)}, `retry_max "2h0m0s": must be from 100ms to 1h`},
		{"tcp://a:1514", syslogd.LoghostOptions{Format: "json"}, `format "json": must be rfc5424 or rfc3164`},
		{"http://a:80", syslogd.LoghostOptions{}, `scheme "http" is not udp, tcp, ssl or relp`},
	} {
		cfg := syslogd.DefaultConfig()
		cfg.Loghosts = []string{c.loghost}
		cfg.Options = map[string]syslogd.LoghostOptions{c.loghost: c.opts}
		_, err := forward.Prepare(cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: got %v, want an error containing %q", c.loghost, c.opts, err, c.want)
		}
	}
	cfg := syslogd.DefaultConfig()
	cfg.Loghosts = []string{"relp://a"}
	cfg.Options = map[string]syslogd.LoghostOptions{"tcp://a:1514": {}}
	if _, err := forward.Prepare(cfg); err == nil || !strings.Contains(err.Error(), `loghost_options "tcp://a:1514": not one of the loghosts`) {
		t.Errorf("options of a loghost not listed: %v", err)
	}
	cfg.Options = map[string]syslogd.LoghostOptions{"relp://a:2514": {Format: "rfc5424", MaxMessage: 65535}}
	if _, err := forward.Prepare(cfg); err != nil {
		t.Errorf("relp://a with valid options: %v", err)
	}
}
