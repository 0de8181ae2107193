// Package forward runs the syslog pipeline: for each loghost, the lines of
// the log files and the messages of the local socket go, in batches, to
// that loghost's output, and only what was delivered is checkpointed.
package forward

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"hostagent/internal/configstore"
	"hostagent/syslogd"
	"hostagent/syslogd/format"
	"hostagent/syslogd/output"
)

// Plan is a validated configuration, turned into what the pipelines need.
type Plan struct {
	cfg      syslogd.Config
	hosts    []syslogd.Loghost
	settings []output.Settings
	files    *fileInputs
	globs    []string
}

// Prepare validates cfg completely (the forwarder's settings, every
// loghost URI and its options) without touching anything running.
func Prepare(cfg syslogd.Config) (*Plan, error) {
	errs := []error{cfg.Validate()}
	hosts, err := syslogd.ParseLoghosts(strings.Join(cfg.Loghosts, ","))
	errs = append(errs, err)
	p := &Plan{cfg: cfg, hosts: hosts}
	for key := range cfg.Options {
		if !containsHost(hosts, key) {
			errs = append(errs, fmt.Errorf("loghost_options %q: not one of the loghosts", key))
		}
	}
	for _, h := range hosts {
		s, err := settingsFor(h, optionsFor(cfg, h))
		errs = append(errs, err)
		p.settings = append(p.settings, s)
	}
	files, err := newFileInputs(cfg)
	errs = append(errs, err)
	p.files = files
	for _, f := range cfg.Files {
		p.globs = append(p.globs, f.Glob)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

func containsHost(hosts []syslogd.Loghost, key string) bool {
	for _, h := range hosts {
		if k, err := syslogd.ParseLoghost(key); err == nil && k == h {
			return true
		}
	}
	return false
}

func optionsFor(cfg syslogd.Config, h syslogd.Loghost) syslogd.LoghostOptions {
	for key, o := range cfg.Options {
		if k, err := syslogd.ParseLoghost(key); err == nil && k == h {
			return o
		}
	}
	return syslogd.LoghostOptions{}
}

// settingsFor applies a loghost's options over its scheme's defaults.
func settingsFor(h syslogd.Loghost, o syslogd.LoghostOptions) (output.Settings, error) {
	s := output.DefaultSettings(h)
	var errs []error
	name := h.String()
	if o.Format != "" {
		f, err := format.ParseFormat(o.Format)
		if err != nil {
			errs = append(errs, fmt.Errorf("loghost_options %q: %w", name, err))
		}
		s.Format = f
		if f == format.RFC3164 && h.Scheme != "udp" && o.Framing == "" {
			s.Framing = format.Newline
		}
	}
	if o.Framing != "" {
		f, err := format.ParseFraming(o.Framing)
		if err != nil {
			errs = append(errs, fmt.Errorf("loghost_options %q: %w", name, err))
		} else if h.Scheme == "udp" {
			errs = append(errs, fmt.Errorf("loghost_options %q: framing %q: UDP sends one message per datagram, without framing", name, o.Framing))
		} else if h.Scheme == "relp" {
			errs = append(errs, fmt.Errorf("loghost_options %q: framing %q: RELP frames each message itself; framing applies to tcp:// and ssl:// only", name, o.Framing))
		}
		s.Framing = f
	}
	if o.MaxMessage != 0 {
		if o.MaxMessage < 480 || o.MaxMessage > 65535 {
			errs = append(errs, fmt.Errorf("loghost_options %q: max_message %d: must be from 480 to 65535", name, o.MaxMessage))
		}
		s.MaxMessage = o.MaxMessage
	}
	if o.RetryMax != 0 {
		if d := time.Duration(o.RetryMax); d < 100*time.Millisecond || d > time.Hour {
			errs = append(errs, fmt.Errorf("loghost_options %q: retry_max %q: must be from 100ms to 1h", name, d))
		}
		s.RetryMax = time.Duration(o.RetryMax)
	}
	bus := syslogd.IsBus(h.Scheme)
	if (o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.Verify != nil) && h.Scheme != "ssl" && !bus {
		errs = append(errs, fmt.Errorf("loghost_options %q: TLS options apply to ssl://, kafka://, kafkas:// and nats:// loghosts only", name))
	}
	errs = append(errs, busOptions(h, o, &s)...)
	for key, path := range map[string]string{"ca_file": o.CAFile, "cert_file": o.CertFile, "key_file": o.KeyFile,
		"password_file": o.PasswordFile, "credentials_file": o.CredentialsFile, "nkey_file": o.NKeyFile} {
		if path == "" {
			continue
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("loghost_options %q: %s %q: %v", name, key, path, err))
		case strings.HasSuffix(key, "_file") && !fi.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("loghost_options %q: %s %q: not a regular file (%s)", name, key, path, fi.Mode().Type()))
		case secretFiles[key] && fi.Size() > output.MaxSecretFile:
			errs = append(errs, fmt.Errorf("loghost_options %q: %s %q: %d bytes, more than a secret's %d", name, key, path, fi.Size(), output.MaxSecretFile))
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, fmt.Errorf("loghost_options %q: cert_file and key_file go together", name))
	}
	s.CAFile, s.CertFile, s.KeyFile = o.CAFile, o.CertFile, o.KeyFile
	s.InsecureSkipVerify = o.Verify != nil && !*o.Verify
	return s, errors.Join(errs...)
}

// The options naming a file whose content is a secret sent to a log bus
// (bounded by output.MaxSecretFile).
var secretFiles = map[string]bool{"password_file": true, "credentials_file": true, "nkey_file": true}

// Allowed values of the log bus options.
var (
	saslMechanisms = []string{"plain", "scram-sha-256", "scram-sha-512"}
	recordKeys     = []string{"hostname", "source", "none"}
	compressions   = []string{"none", "gzip", "snappy", "lz4", "zstd"}
)

// busOptions checks the options of a log bus (and that other loghosts
// have none) and applies them to s.
func busOptions(h syslogd.Loghost, o syslogd.LoghostOptions, s *output.Settings) []error {
	var errs []error
	name := h.String()
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("loghost_options %q: "+format, append([]any{name}, args...)...))
	}
	kafka, nats := h.Scheme == "kafka" || h.Scheme == "kafkas", h.Scheme == "nats"
	only := func(set bool, key, where string, ok bool) {
		if set && !ok {
			bad("%s applies to %s loghosts only", key, where)
		}
	}
	only(o.TLS, "tls", "kafka:// and nats://", kafka || nats)
	only(o.SASL != "", "sasl", "kafka:// and kafkas://", kafka)
	only(o.Key != "", "key", "kafka:// and kafkas://", kafka)
	only(o.Compression != "", "compression", "kafka:// and kafkas://", kafka)
	only(o.Username != "" || o.PasswordFile != "", "username and password_file", "kafka://, kafkas:// and nats://", kafka || nats)
	only(o.CredentialsFile != "" || o.NKeyFile != "", "credentials_file and nkey_file", "nats://", nats)
	if !kafka && !nats {
		return errs
	}
	if o.Framing != "" {
		bad("framing %q: a log bus carries each message as one record, without framing", o.Framing)
	}
	if o.MaxMessage != 0 {
		bad("max_message %d: a log bus carries each message whole (up to its own limit, 1 MiB by default)", o.MaxMessage)
	}
	if o.SASL != "" && !slices.Contains(saslMechanisms, strings.ToLower(o.SASL)) {
		bad("sasl %q: must be one of %s", o.SASL, strings.Join(saslMechanisms, ", "))
	}
	if o.Key != "" && !slices.Contains(recordKeys, strings.ToLower(o.Key)) {
		bad("key %q: must be one of %s", o.Key, strings.Join(recordKeys, ", "))
	}
	if o.Compression != "" && !slices.Contains(compressions, strings.ToLower(o.Compression)) {
		bad("compression %q: must be one of %s", o.Compression, strings.Join(compressions, ", "))
	}
	if o.SASL != "" && (o.Username == "" || o.PasswordFile == "") {
		bad("sasl %q needs username and password_file", o.SASL)
	}
	if o.Username != "" && o.PasswordFile == "" || o.Username == "" && o.PasswordFile != "" {
		bad("username and password_file go together")
	}
	if kafka && o.Username != "" && o.SASL == "" {
		bad("username %q: name the SASL mechanism too (sasl = %s)", o.Username, strings.Join(saslMechanisms, ", "))
	}
	if len(o.Username) > 256 || strings.ContainsAny(o.Username, "\x00\n\r") {
		bad("username: at most 256 characters, on one line")
	}
	if n := boolCount(o.CredentialsFile != "", o.NKeyFile != "", o.Username != ""); n > 1 {
		bad("credentials_file, nkey_file and username/password_file are three ways to log in: give one")
	}
	s.TLS = s.TLS || o.TLS
	s.SASL, s.Username, s.PasswordFile = strings.ToLower(o.SASL), o.Username, o.PasswordFile
	if o.Key != "" {
		s.Key = strings.ToLower(o.Key)
	}
	s.Compression = strings.ToLower(o.Compression)
	s.CredentialsFile, s.NKeyFile = o.CredentialsFile, o.NKeyFile
	return errs
}

func boolCount(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// Config is the configuration the plan was made from.
func (p *Plan) Config() syslogd.Config { return p.cfg }

// Forwarder runs one pipeline per loghost of a plan.
type Forwarder struct {
	plan      *Plan
	stateDir  string
	log       *slog.Logger
	pipelines []*pipeline
	cancel    context.CancelFunc
	stopping  chan struct{}
	wg        sync.WaitGroup

	mu      sync.RWMutex // held for reading while submitting
	stopped bool
}

// Start opens every loghost's spool and positions and starts the pipelines.
func Start(p *Plan, stateDir string, log *slog.Logger) (*Forwarder, error) {
	f := &Forwarder{plan: p, stateDir: stateDir, log: log.With("subsystem", "syslog")}
	instance := ""
	for _, h := range p.hosts {
		if syslogd.IsBus(h.Scheme) {
			var err error
			if instance, err = instanceID(stateDir); err != nil {
				return nil, err
			}
			break
		}
	}
	for i, h := range p.hosts {
		s := p.settings[i]
		s.Instance = instance
		pl, err := newPipeline(h, s, p.files, stateDir, p.cfg.SpoolMax, f.log)
		if err != nil {
			f.closePipelines()
			return nil, fmt.Errorf("loghost %s: %w", h, err)
		}
		f.pipelines = append(f.pipelines, pl)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.stopping = cancel, make(chan struct{})
	for _, pl := range f.pipelines {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			pl.run(ctx, f.stopping, p.globs, p.cfg.MaxLine)
		}()
	}
	f.log.Info("syslog forwarder started", "loghosts", len(f.pipelines), "files", p.globs)
	return f, nil
}

// Stop ends the pipelines. Batches already written get a moment to be
// confirmed and checkpointed; one still being delivered (its loghost
// down) is abandoned and sent again at the next start.
func (f *Forwarder) Stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
	close(f.stopping)
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainFor + time.Second):
	}
	f.cancel()
	f.wg.Wait()
	f.closePipelines()
}

// instanceFile keeps this installation's identity on the log buses.
type instanceFile struct {
	ID string `toml:"id"`
}

// instanceID is this installation's identity on the log buses, part of
// every record's (output.Scope): made at random the first time a log bus
// is a loghost, and kept in the state directory, so that records sent
// again after a restart carry the same identities, while two hosts of the
// same name, or one whose state was wiped, never take each other's for
// duplicates. A file that cannot be read stops the start rather than
// change the identities.
func instanceID(stateDir string) (string, error) {
	path := filepath.Join(stateDir, "syslog", "instance.toml")
	var f instanceFile
	found, err := configstore.Load(path, &f)
	if err != nil {
		return "", fmt.Errorf("the installation's identity on the log buses: %w; remove the file to make a new one (records sent again after that are stored twice)", err)
	}
	if found {
		if b, err := hex.DecodeString(f.ID); err != nil || len(b) != 16 {
			return "", fmt.Errorf("%s: id %q: want 32 hex digits; remove the file to make a new one", path, f.ID)
		}
		return f.ID, nil
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	f.ID = hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", err
	}
	if err := configstore.Save(path, f, 0o640, "This installation's identity in the records it publishes to log buses (part of each one's\nNats-Msg-Id and id header): keep it, so that a record sent again is known as the same."); err != nil {
		return "", err
	}
	return f.ID, nil
}

func (f *Forwarder) closePipelines() {
	for _, pl := range f.pipelines {
		pl.close()
	}
}

// Submit hands a socket message to every loghost's spool. It returns
// false once Stop has begun: the caller gives it to the next forwarder.
func (f *Forwarder) Submit(r syslogd.Record) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.stopped {
		return false
	}
	for _, pl := range f.pipelines {
		pl.submit(r)
	}
	return true
}

// Mark sends message to every loghost, as syslogd's -- MARK -- lines.
func (f *Forwarder) Mark(message string) {
	f.Submit(syslogd.Record{Time: time.Now(), Hostname: f.plan.files.hostname, AppName: "hostagent", MsgID: "MARK",
		Facility: 5, Severity: 6, Message: message, Source: "mark"})
}

// Status is each loghost's state, in configuration order: its output's
// counters, and the pipeline's own.
type Status struct {
	output.Stats
	Scheme  string // the loghost's: udp, tcp, ssl, relp, kafka, kafkas or nats
	Queued  int64  // bytes of socket messages waiting in the spool
	Dropped uint64 // socket messages the spool could not take
	Lost    uint64 // parts of files gone before they were read (see tail.Loss)
	// FilesBehind is the bytes of the followed files past this loghost's
	// positions: read and unconfirmed, or not read yet (tail.Positions.Behind).
	FilesBehind int64
	// OldestUnsent is when the oldest record read and not yet confirmed
	// by this loghost was read; zero when none waits.
	OldestUnsent time.Time
}

// Status reports every loghost. It takes no lock the pipelines deliver
// under; the files' lag costs a stat per followed file.
func (f *Forwarder) Status() []Status {
	var out []Status
	for _, pl := range f.pipelines {
		out = append(out, Status{Stats: pl.out.Stats(), Scheme: pl.host.Scheme, Queued: pl.sp.Size(), Dropped: pl.dropped.Load(), Lost: pl.lost.Load(),
			FilesBehind: pl.pos.Behind(f.plan.globs), OldestUnsent: pl.oldestUnsent()})
	}
	return out
}

// Config is the configuration in force.
func (f *Forwarder) Config() syslogd.Config { return f.plan.cfg }

// fileInputs names and prioritises the lines of each glob.
type fileInputs struct {
	inputs         []fileInput
	hostname       string
	followSymlinks bool
}

type fileInput struct {
	glob     string
	app      string
	facility syslogd.Facility
	severity syslogd.Severity
}

func newFileInputs(cfg syslogd.Config) (*fileInputs, error) {
	fi := &fileInputs{hostname: cfg.Hostname, followSymlinks: cfg.FollowSymlinks}
	if fi.hostname == "" {
		fi.hostname, _ = os.Hostname()
	}
	for _, f := range cfg.Files {
		in := fileInput{glob: f.Glob, app: f.AppName, facility: 16, severity: 6} // local0.info
		if f.Priority != "" {
			fac, sev, err := syslogd.ParsePriority(f.Priority)
			if err != nil {
				return nil, err // reported by Config.Validate with its key
			}
			in.facility, in.severity = fac, sev
		}
		fi.inputs = append(fi.inputs, in)
	}
	return fi, nil
}

// match finds the input of a path; a rotated file that no glob matches
// any more keeps the first input's settings.
func (fi *fileInputs) match(path string) fileInput {
	for _, in := range fi.inputs {
		if ok, _ := filepath.Match(in.glob, path); ok {
			return in
		}
	}
	if len(fi.inputs) > 0 {
		return fi.inputs[0]
	}
	return fileInput{facility: 16, severity: 6}
}

// appName is the input's, or the file's name without ".log" (hostd.log →
// hostd), as ESXi tags the lines of its logs.
func (in fileInput) appName(path string) string {
	if in.app != "" {
		return in.app
	}
	return strings.TrimSuffix(filepath.Base(path), ".log")
}
