package forward_test

import (
	"os"
	"path/filepath"
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
		{"tcp://a:1514", syslogd.LoghostOptions{Verify: &no}, `loghost_options "tcp://a:1514": TLS options apply to ssl://, kafka://, kafkas:// and nats:// loghosts only`},
		{"relp://a:2514", syslogd.LoghostOptions{CAFile: "/etc/ca.pem"}, `TLS options apply to ssl://, kafka://, kafkas:// and nats:// loghosts only`},
		{"tcp://a:1514", syslogd.LoghostOptions{MaxMessage: 100}, `max_message 100: must be from 480 to 65535`},
		{"tcp://a:1514", syslogd.LoghostOptions{RetryMax: configstore.Duration(2 * time.Hour)}, `retry_max "2h0m0s": must be from 100ms to 1h`},
		{"tcp://a:1514", syslogd.LoghostOptions{Format: "json"}, `format "json": must be rfc5424 or rfc3164`},
		{"http://a:80", syslogd.LoghostOptions{}, `scheme "http" is not udp, tcp, ssl, relp, kafka, kafkas or nats`},
		{"kafka://b/logs", syslogd.LoghostOptions{Framing: "newline"}, `loghost_options "kafka://b:9092/logs": framing "newline": a log bus carries each message as one record`},
		{"nats://n/logs", syslogd.LoghostOptions{MaxMessage: 4096}, `max_message 4096: a log bus carries each message whole`},
		{"kafka://b/logs", syslogd.LoghostOptions{SASL: "gssapi", Username: "u", PasswordFile: "/etc/hostname"}, `sasl "gssapi": must be one of plain, scram-sha-256, scram-sha-512`},
		{"kafka://b/logs", syslogd.LoghostOptions{SASL: "plain"}, `sasl "plain" needs username and password_file`},
		{"kafka://b/logs", syslogd.LoghostOptions{Username: "u", PasswordFile: "/etc/hostname"}, `username "u": name the SASL mechanism too`},
		{"kafka://b/logs", syslogd.LoghostOptions{Key: "random"}, `key "random": must be one of hostname, source, none`},
		{"kafka://b/logs", syslogd.LoghostOptions{Compression: "brotli"}, `compression "brotli": must be one of none, gzip, snappy, lz4, zstd`},
		{"kafka://b/logs", syslogd.LoghostOptions{NKeyFile: "/etc/hostname"}, `credentials_file and nkey_file applies to nats:// loghosts only`},
		{"nats://n/logs", syslogd.LoghostOptions{SASL: "plain"}, `sasl applies to kafka:// and kafkas:// loghosts only`},
		{"nats://n/logs", syslogd.LoghostOptions{Key: "source"}, `key applies to kafka:// and kafkas:// loghosts only`},
		{"nats://n/logs", syslogd.LoghostOptions{CredentialsFile: "/etc/hostname", NKeyFile: "/etc/hostname"}, `three ways to log in: give one`},
		{"nats://n/logs", syslogd.LoghostOptions{Username: "u"}, `username and password_file go together`},
		{"nats://n/logs", syslogd.LoghostOptions{NKeyFile: "/nonexistent/seed"}, `nkey_file "/nonexistent/seed": stat /nonexistent/seed: no such file`},
		{"tcp://a:1514", syslogd.LoghostOptions{TLS: true}, `tls applies to kafka:// and nats:// loghosts only`},
		{"nats://n/logs", syslogd.LoghostOptions{NKeyFile: "/dev/null"}, `nkey_file "/dev/null": not a regular file (Dc---------)`},
		{"nats://n/logs", syslogd.LoghostOptions{CredentialsFile: "/etc"}, `credentials_file "/etc": not a regular file (d---------)`},
		{"relp://a:2514", syslogd.LoghostOptions{Username: "u", PasswordFile: "/etc/hostname"}, `username and password_file applies to kafka://, kafkas:// and nats:// loghosts only`},
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
	big := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(big, make([]byte, 64<<10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Loghosts = []string{"nats://n1/logs"}
	cfg.Options = map[string]syslogd.LoghostOptions{"nats://n1/logs": {Username: "u", PasswordFile: big}}
	if _, err := forward.Prepare(cfg); err == nil || !strings.Contains(err.Error(), "65537 bytes, more than a secret's 65536") {
		t.Errorf("a password file of 64 KiB + 1: %v", err)
	}
	cfg.Loghosts = []string{"kafkas://b1,b2/logs", "nats://n1/logs.esx"}
	cfg.Options = map[string]syslogd.LoghostOptions{
		"kafkas://b1:9093,b2:9093/logs": {SASL: "SCRAM-SHA-512", Username: "esx", PasswordFile: "/etc/hostname", Key: "source", Compression: "zstd", Format: "rfc3164"},
		"nats://n1/logs.esx":            {TLS: true, CredentialsFile: "/etc/hostname"},
	}
	if _, err := forward.Prepare(cfg); err != nil {
		t.Errorf("log buses with valid options: %v", err)
	}
}
