package syslogd

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"hostagent/internal/configstore"
)

// Config is the forwarder's configuration, stored in syslog.toml.
type Config struct {
	// Loghosts are the collectors, as ESXi writes them: udp://host:514,
	// tcp://host:1514, ssl://host:1514; and relp://host:2514, and log
	// buses: kafka://broker:9092[,broker...]/TOPIC, kafkas://...,
	// nats://server:4222[,server...]/SUBJECT. Checked by the forwarder.
	Loghosts []string `toml:"loghosts" json:"loghosts"`
	// Options per loghost, keyed by the loghost as written in Loghosts;
	// a loghost without options takes its scheme's defaults.
	Options map[string]LoghostOptions `toml:"loghost_options" json:"loghost_options,omitempty"`

	Files    []FileInput `toml:"files" json:"files"`
	Socket   string      `toml:"socket" json:"socket"`     // local syslog socket (unix datagram); "" = none
	UDP      string      `toml:"udp" json:"udp"`           // optional local UDP listener, e.g. "127.0.0.1:514"; "" = none
	Hostname string      `toml:"hostname" json:"hostname"` // HOSTNAME of forwarded messages; "" = this host's name
	MaxLine  int         `toml:"max_line" json:"max_line"` // bytes; longer file lines are split, never dropped
	// FollowSymlinks lets a symbolic link among the files lead outside its
	// directory; off, such a link is skipped with a warning, so that a
	// link to a secret placed in the log directory does not get it sent.
	FollowSymlinks bool `toml:"follow_symlinks" json:"follow_symlinks,omitempty"`
	// SpoolMax bounds each loghost's queue of socket messages on disk.
	SpoolMax int64 `toml:"spool_max" json:"spool_max"`
}

// LoghostOptions override a loghost's defaults (see output.DefaultSettings).
type LoghostOptions struct {
	Format     string               `toml:"format" json:"format,omitempty"`           // rfc5424 or rfc3164
	Framing    string               `toml:"framing" json:"framing,omitempty"`         // octet-counting or newline
	MaxMessage int                  `toml:"max_message" json:"max_message,omitempty"` // octets, 480–65535
	RetryMax   configstore.Duration `toml:"retry_max" json:"retry_max,omitempty"`     // reconnection backoff cap
	CAFile     string               `toml:"ca_file" json:"ca_file,omitempty"`
	CertFile   string               `toml:"cert_file" json:"cert_file,omitempty"`
	KeyFile    string               `toml:"key_file" json:"key_file,omitempty"`
	// Verify the collector's certificate and name; on unless set false.
	Verify *bool `toml:"verify" json:"verify,omitempty"`

	// A log bus's (kafka://, kafkas://, nats://); see output.Settings.
	TLS          bool   `toml:"tls" json:"tls,omitempty"`                     // kafka://, nats://: connect with TLS (kafkas:// always does)
	SASL         string `toml:"sasl" json:"sasl,omitempty"`                   // Kafka: plain, scram-sha-256 or scram-sha-512
	Username     string `toml:"username" json:"username,omitempty"`           // Kafka SASL, NATS user
	PasswordFile string `toml:"password_file" json:"password_file,omitempty"` // the password, in a file: never in syslog.toml
	Key          string `toml:"key" json:"key,omitempty"`                     // Kafka record key: hostname (default), source or none
	Compression  string `toml:"compression" json:"compression,omitempty"`     // Kafka: none (default), gzip, snappy, lz4 or zstd
	// NATS: a credentials file (JWT and NKey seed) or an NKey seed file.
	CredentialsFile string `toml:"credentials_file" json:"credentials_file,omitempty"`
	NKeyFile        string `toml:"nkey_file" json:"nkey_file,omitempty"`
}

// FileInput is one glob of log files, with the priority of its lines.
type FileInput struct {
	Glob     string `toml:"glob" json:"glob"`
	Priority string `toml:"priority" json:"priority"` // facility.severity, default local0.info
	AppName  string `toml:"app_name" json:"app_name"` // "" = the file's name without ".log"
}

// DefaultConfig forwards nothing until a loghost is set, as ESXi.
func DefaultConfig() Config {
	return Config{
		Loghosts: []string{},
		Files:    []FileInput{{Glob: "/var/log/vmware/*.log", Priority: "local0.info"}},
		Socket:   "/run/hostagent/syslog.sock",
		MaxLine:  8192,
		SpoolMax: 256 << 20,
	}
}

// Validate checks what this package owns; loghost URIs and options are
// checked by output.Settings (see the forwarder), which knows transports.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, h := range c.Loghosts {
		// An empty entry would be skipped by ParseLoghosts, yet stored
		// and shown as if it were a collector.
		if strings.TrimSpace(h) == "" {
			bad("loghosts[%d] %q: empty; remove it, or name a collector such as tcp://loghost:1514", i, h)
		}
	}
	for i, f := range c.Files {
		if !filepath.IsAbs(f.Glob) {
			bad("files[%d].glob %q: must be an absolute path pattern", i, f.Glob)
		} else if _, err := filepath.Match(f.Glob, ""); err != nil {
			bad("files[%d].glob %q: %v", i, f.Glob, err)
		}
		if f.Priority != "" {
			if _, _, err := ParsePriority(f.Priority); err != nil {
				bad("files[%d].%w", i, err)
			}
		}
		if strings.ContainsAny(f.AppName, " \t\n") || len(f.AppName) > 48 {
			bad("files[%d].app_name %q: at most 48 printable characters without spaces", i, f.AppName)
		}
	}
	if c.Socket != "" && !filepath.IsAbs(c.Socket) {
		bad("socket %q: must be an absolute path, or empty for none", c.Socket)
	}
	if c.UDP != "" {
		if ap, err := netip.ParseAddrPort(c.UDP); err != nil || !ap.Addr().IsLoopback() || ap.Port() == 0 {
			bad("udp %q: must be a loopback address and port such as 127.0.0.1:514, or empty for none", c.UDP)
		}
	}
	if c.MaxLine < 256 || c.MaxLine > 65536 {
		bad("max_line %d: must be from 256 to 65536", c.MaxLine)
	}
	if c.SpoolMax < 1<<20 || c.SpoolMax > 64<<30 {
		bad("spool_max %d: must be from 1 MiB to 64 GiB", c.SpoolMax)
	}
	return errors.Join(errs...)
}
