// Package forward runs the syslog pipeline: for each loghost, the lines of
// the log files and the messages of the local socket go, in batches, to
// that loghost's output, and only what was delivered is checkpointed.
package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
	if (o.CAFile != "" || o.CertFile != "" || o.KeyFile != "" || o.Verify != nil) && h.Scheme != "ssl" {
		errs = append(errs, fmt.Errorf("loghost_options %q: TLS options apply to ssl:// loghosts only", name))
	}
	for key, path := range map[string]string{"ca_file": o.CAFile, "cert_file": o.CertFile, "key_file": o.KeyFile} {
		if path == "" {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			errs = append(errs, fmt.Errorf("loghost_options %q: %s %q: %v", name, key, path, err))
		}
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		errs = append(errs, fmt.Errorf("loghost_options %q: cert_file and key_file go together", name))
	}
	s.CAFile, s.CertFile, s.KeyFile = o.CAFile, o.CertFile, o.KeyFile
	s.InsecureSkipVerify = o.Verify != nil && !*o.Verify
	return s, errors.Join(errs...)
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
	for i, h := range p.hosts {
		pl, err := newPipeline(h, p.settings[i], p.files, stateDir, p.cfg.SpoolMax, f.log)
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
	Queued  int64  // bytes of socket messages waiting in the spool
	Dropped uint64 // socket messages the spool could not take
	Lost    uint64 // parts of files gone before they were read (see tail.Loss)
}

// Status reports every loghost.
func (f *Forwarder) Status() []Status {
	var out []Status
	for _, pl := range f.pipelines {
		out = append(out, Status{Stats: pl.out.Stats(), Queued: pl.sp.Size(), Dropped: pl.dropped.Load(), Lost: pl.lost.Load()})
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
