package snmpd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hostagent/internal/configstore"
	"hostagent/snmpagent/usm"
)

// ErrNotInstalled is Apply's error when there is no snmpd to run: polling
// is off, notifications are not affected.
var ErrNotInstalled = errors.New("snmpd is not installed (Debian package snmpd)")

// errStopped is Apply's error after Stop.
var errStopped = errors.New("snmpd supervisor: stopped")

// Options configures a Supervisor.
type Options struct {
	// Binary is snmpd's path; "" looks for snmpd in PATH, /usr/sbin and
	// /sbin.
	Binary string
	// Dir is the supervisor's own folder (made 0700): snmpd.conf, snmpd's
	// persistent directory, its log and pid file. Nothing else may write
	// there. Its path must not hold ',' or blanks (snmpd's -c takes a
	// comma-separated list).
	Dir string
	// Log receives the starts, exits and restarts; nil discards them.
	Log *slog.Logger
	// Boots is called before each start of snmpd for the snmpEngineBoots
	// it is to run with (see ClockBoots, which keeps them those of
	// hostagent's trap sender). Nil carries snmpd's own count on: one more
	// than it last saved for the engine ID, 1 at first.
	Boots func() (uint32, error)
	// StartTimeout bounds the wait for a started snmpd to answer; 0 is 30 s.
	StartTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before restarting an snmpd
	// that died: the first restart waits MinBackoff, each next one twice as
	// long up to MaxBackoff, and a run of MaxBackoff resets it. 0 is 1 s and
	// 60 s.
	MinBackoff, MaxBackoff time.Duration
}

// Status is the supervised snmpd's state, for --show, the log and /metrics.
type Status struct {
	Installed bool   // false: no snmpd binary; polling is off
	Binary    string // snmpd's path when installed
	Enabled   bool   // settings were applied and not disabled since
	Running   bool   // snmpd runs and answered after its start
	PID       int
	Since     time.Time // when the running snmpd started
	Restarts  int       // starts after snmpd died or failed to start
	// EngineBoots is the snmpEngineBoots of the running snmpd (or of the
	// last one).
	EngineBoots uint32
	Listen      string // agentAddress in force
	LastError   string // the last failure (start, exit); "" when none
}

// Reason is a short account of why polling is off ("" when snmpd runs),
// for --show and the log: "snmpd is not installed (Debian package
// snmpd)", "disabled", or the last error.
func (st Status) Reason() string {
	switch {
	case !st.Installed:
		return ErrNotInstalled.Error()
	case st.Running:
		return ""
	case !st.Enabled:
		return "disabled"
	case st.LastError != "":
		return st.LastError
	}
	return "starting"
}

// Supervisor runs one private snmpd: Apply (re)starts it with new settings,
// it is restarted with backoff when it dies, Stop ends it.
type Supervisor struct {
	opts   Options
	log    *slog.Logger
	binary string // "" when not installed

	paths paths

	reqs     chan request
	quit     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	life     context.Context // cancelled by Stop: ends waits of restarts
	cancel   context.CancelFunc

	mu     sync.Mutex // guards status
	status Status

	// Owned by the loop goroutine.
	conf     string
	settings Settings
	cur      *process
	backoff  time.Duration
}

type paths struct {
	conf, persistDir, persistConf, log, pid, mibs string
}

type request struct {
	ctx      context.Context
	settings *Settings // nil: disable
	reply    chan error
}

// New prepares a supervisor; snmpd starts with the first Apply. When no
// snmpd is installed New still succeeds: Apply then returns an error
// wrapping ErrNotInstalled and Status says so.
func New(o Options) (*Supervisor, error) {
	if o.Dir == "" || !filepath.IsAbs(o.Dir) {
		return nil, fmt.Errorf("snmpd supervisor: folder %q: an absolute path is required", o.Dir)
	}
	if strings.ContainsAny(o.Dir, ", \t\r\n") {
		return nil, fmt.Errorf("snmpd supervisor: folder %q: ',' and blanks are not allowed (snmpd's -c takes a comma-separated list)", o.Dir)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 30 * time.Second
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 60 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor{
		opts: o,
		log:  log.With("component", "snmpd"),
		paths: paths{
			conf:        filepath.Join(o.Dir, "snmpd.conf"),
			persistDir:  filepath.Join(o.Dir, "persist"),
			persistConf: filepath.Join(o.Dir, "persist", "snmpd.conf"),
			log:         filepath.Join(o.Dir, "snmpd.log"),
			pid:         filepath.Join(o.Dir, "snmpd.pid"),
			mibs:        filepath.Join(o.Dir, "mibs"),
		},
		reqs:    make(chan request),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		backoff: o.MinBackoff,
	}
	s.binary = lookBinary(o.Binary)
	s.status.Installed = s.binary != ""
	s.status.Binary = s.binary
	if s.binary == "" {
		close(s.done)
		return s, nil
	}
	for _, d := range []string{o.Dir, s.paths.persistDir, s.paths.mibs} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("snmpd supervisor: %w", err)
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return nil, fmt.Errorf("snmpd supervisor: %w", err)
		}
	}
	s.life, s.cancel = context.WithCancel(context.Background())
	go s.loop()
	return s, nil
}

// lookBinary finds snmpd: the given path if it is an executable file, else
// snmpd in PATH, /usr/sbin or /sbin (where Debian installs it, often
// missing from a service's PATH); "" when there is none.
func lookBinary(bin string) string {
	if bin != "" {
		if p, err := exec.LookPath(bin); err == nil {
			return p
		}
		return ""
	}
	if p, err := exec.LookPath("snmpd"); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, "snmpd")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// Apply renders the configuration for st and, when it differs from the one
// in force or snmpd is not running, writes it and (re)starts snmpd. It
// returns once snmpd answers on its port with the expected engine ID, or
// with why it did not; an snmpd that failed to start is retried with
// backoff.
func (s *Supervisor) Apply(ctx context.Context, st Settings) error {
	if s.binary == "" {
		return fmt.Errorf("polling off: %w", ErrNotInstalled)
	}
	return s.send(ctx, &st)
}

// Disable stops snmpd until the next Apply.
func (s *Supervisor) Disable(ctx context.Context) error {
	if s.binary == "" {
		return nil
	}
	return s.send(ctx, nil)
}

func (s *Supervisor) send(ctx context.Context, st *Settings) error {
	r := request{ctx: ctx, settings: st, reply: make(chan error, 1)}
	select {
	case s.reqs <- r:
	case <-s.done:
		return errStopped
	case <-ctx.Done():
		return fmt.Errorf("snmpd: %w", ctx.Err())
	}
	select {
	case err := <-r.reply:
		return err
	case <-s.done:
		return errStopped
	}
}

// Stop stops snmpd and the supervision; it is safe to call more than once.
func (s *Supervisor) Stop() {
	s.stopOnce.Do(func() {
		if s.binary == "" {
			return
		}
		close(s.quit)
		s.cancel()
	})
	<-s.done
}

// Status returns snmpd's state.
func (s *Supervisor) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

func (s *Supervisor) setStatus(f func(*Status)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.status)
}

// loop owns the process: requests, exits and restarts are handled here,
// one at a time.
func (s *Supervisor) loop() {
	// snmpd is started from this goroutine with a parent-death signal,
	// which Linux sends when the starting thread ends, not the process:
	// the thread must live as long as the loop.
	runtime.LockOSThread()
	defer close(s.done)
	var restart <-chan time.Time
	var timer *time.Timer
	schedule := func() {
		if timer != nil {
			timer.Stop()
		}
		timer = time.NewTimer(s.backoff)
		restart = timer.C
		s.backoff = min(2*s.backoff, s.opts.MaxBackoff)
	}
	unschedule := func() {
		if timer != nil {
			timer.Stop()
		}
		timer, restart = nil, nil
	}
	for {
		var exited <-chan struct{}
		if s.cur != nil {
			exited = s.cur.exited
		}
		select {
		case <-s.quit:
			unschedule()
			s.stopProcess()
			s.setStatus(func(st *Status) { st.Enabled = false })
			return
		case r := <-s.reqs:
			err, retry := s.handle(r)
			if retry {
				schedule()
			} else {
				// A restart still pending would start snmpd with the
				// settings this request replaced or refused.
				unschedule()
			}
			r.reply <- err
		case <-exited:
			p := s.cur
			s.cur = nil
			s.exitedOnItsOwn(p)
			if time.Since(p.started) >= s.opts.MaxBackoff {
				s.backoff = s.opts.MinBackoff
			}
			s.log.Info("restarting snmpd", "after", s.backoff)
			schedule()
		case <-restart:
			timer, restart = nil, nil
			if s.conf == "" {
				continue // refused or disabled since: nothing to start
			}
			s.setStatus(func(st *Status) { st.Restarts++ })
			if err := s.start(s.life); err != nil {
				s.log.Warn("snmpd restart failed", "err", err)
				if s.life.Err() == nil {
					schedule()
				}
			}
		}
	}
}

// handle applies a request; retry asks for a restart with backoff (the
// start failed for a reason that may pass, e.g. the port still taken).
func (s *Supervisor) handle(r request) (err error, retry bool) {
	if r.settings == nil {
		s.stopProcess()
		s.conf = ""
		s.setStatus(func(st *Status) { st.Enabled = false; st.Running = false; st.PID = 0 })
		return nil, false
	}
	conf, err := Render(*r.settings)
	if err != nil {
		s.failClosed(err)
		return err, false
	}
	s.setStatus(func(st *Status) { st.Enabled = true })
	if conf == s.conf && s.cur != nil {
		return nil, false
	}
	if err := configstore.WriteFile(s.paths.conf, []byte(conf), 0o600); err != nil {
		err = fmt.Errorf("snmpd: write configuration: %w", err)
		s.failClosed(err)
		return err, false
	}
	changed := s.conf != ""
	s.conf, s.settings = conf, cloneSettings(*r.settings)
	listen, _, _ := agentAddress(r.settings.Listen)
	s.setStatus(func(st *Status) { st.Listen = listen })
	if s.cur != nil {
		s.log.Info("settings changed: restarting snmpd")
		s.stopProcess()
	} else if changed {
		s.log.Info("settings changed: starting snmpd")
	}
	s.backoff = s.opts.MinBackoff
	// A start is bounded by the caller's context and by Stop.
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	stop := context.AfterFunc(s.life, cancel)
	defer stop()
	if err := s.start(ctx); err != nil {
		return err, s.life.Err() == nil
	}
	return nil, false
}

// failClosed stops snmpd after a change that cannot be put in force: the
// snmpd running has the previous communities and users, which the change
// may have meant to revoke; its configuration file goes too, so that no
// restart brings them back.
func (s *Supervisor) failClosed(err error) {
	s.stopProcess()
	s.conf = ""
	if rmErr := os.Remove(s.paths.conf); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		s.log.Warn("snmpd configuration not removed", "err", rmErr)
	}
	s.setStatus(func(st *Status) { st.LastError = err.Error(); st.Running = false; st.PID = 0 })
}

func cloneSettings(st Settings) Settings {
	st.Listen = append([]netip.AddrPort(nil), st.Listen...)
	st.EngineID = append([]byte(nil), st.EngineID...)
	st.Communities = append([]string(nil), st.Communities...)
	st.Users = append([]usm.User(nil), st.Users...)
	return st
}

// process is one run of snmpd.
type process struct {
	cmd     *exec.Cmd
	started time.Time
	boots   uint32
	stderr  *tailBuffer
	exited  chan struct{} // closed when Wait returned
	err     error         // Wait's result, set before exited is closed
	stop    bool          // the supervisor stopped it
}

var errEngineMismatch = errors.New("another SNMP agent answers there")

// start runs snmpd for s.settings and waits until it answers.
func (s *Supervisor) start(ctx context.Context) error {
	err := s.startProcess(ctx)
	if err != nil {
		s.setStatus(func(st *Status) { st.LastError = err.Error(); st.Running = false; st.PID = 0 })
	}
	return err
}

func (s *Supervisor) startProcess(ctx context.Context) error {
	st := s.settings
	s.killStale()
	var boots uint32
	if s.opts.Boots != nil {
		b, err := s.opts.Boots()
		if err != nil {
			return fmt.Errorf("snmpd: engine boots: %w", err)
		}
		boots = b
	} else {
		boots = savedBoots(s.paths.persistConf, st.EngineID) + 1
	}
	if err := writePersistent(s.paths.persistConf, st.EngineID, boots); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(st.AgentXSocket), 0o700); err != nil {
		return fmt.Errorf("snmpd: agentx socket folder: %w", err)
	}
	// Each run's log starts empty; the previous one is kept beside it.
	if err := os.Rename(s.paths.log, s.paths.log+".1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("snmpd: rotate log: %w", err)
	}

	// -f: foreground, so that snmpd is our child; -Lf: its log, in our
	// folder; -I -smux: no SMUX (RFC 1227) listener on TCP port 199, which
	// nothing here uses and which a second snmpd (or the system's) holds; -C -c: only our configuration and the persistent file (see
	// boots.go); -p: the pid file, to find an snmpd left behind by a
	// crashed hostagent; -M -m "": no MIB files (snmpd needs none: every
	// OID in its configuration is numeric), so it neither reads the
	// system's nor fills the log with their warnings.
	cmd := exec.Command(s.binary, "-f", "-Lf", s.paths.log,
		"-C", "-c", s.paths.conf+","+s.paths.persistConf,
		"-p", s.paths.pid, "-M", s.paths.mibs, "-m", "", "-I", "-smux")
	cmd.Env = append(cleanEnv(), "SNMP_PERSISTENT_DIR="+s.paths.persistDir)
	cmd.Dir = s.opts.Dir
	cmd.SysProcAttr = sysProcAttr()
	p := &process{cmd: cmd, boots: boots, stderr: newTailBuffer(8 << 10), exited: make(chan struct{})}
	// What snmpd writes before its log is open (a bad option, a library
	// error) goes to stdout or stderr.
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("snmpd: start %s: %w", s.binary, err)
	}
	p.started = time.Now()
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	s.cur = p
	pid := cmd.Process.Pid
	s.log.Info("snmpd started", "pid", pid, "listen", s.status.Listen, "engine_boots", boots)
	s.setStatus(func(st *Status) {
		st.PID, st.Since, st.EngineBoots, st.Running = pid, p.started, boots, false
	})

	if err := s.awaitReady(ctx, p); err != nil {
		if !isExited(p) {
			s.stopProcess()
		} else {
			s.cur = nil
		}
		return err
	}
	s.log.Info("snmpd answers", "pid", pid, "listen", s.status.Listen, "engine_boots", boots, "after", time.Since(p.started).Round(time.Millisecond))
	s.setStatus(func(st *Status) { st.Running, st.LastError = true, "" })
	return nil
}

func isExited(p *process) bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// awaitReady waits until snmpd answers an SNMPv3 engine discovery (RFC
// 3414 §4) on its first listen address, which it does before any access
// control, with hostagent's engine ID and the promised boots, and until the
// AgentX socket exists.
func (s *Supervisor) awaitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.StartTimeout)
	defer cancel()
	addr := probeAddr(s.settings.Listen[0])
	var last error = errors.New("no answer yet")
	for pause := 20 * time.Millisecond; ; pause = min(2*pause, 500*time.Millisecond) {
		if isExited(p) {
			lines := s.lastLines(p)
			if strings.Contains(lines, "Error opening specified endpoint") {
				return fmt.Errorf("snmpd could not open %s: the port is taken (the system's snmpd? stop it with systemctl disable --now snmpd, or attach to it with polling = \"system\"); its last lines: %s", s.status.Listen, lines)
			}
			return fmt.Errorf("snmpd exited during its start (%v); its last lines: %s", p.err, lines)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("snmpd did not answer on %s within %s: %v; its last lines: %s", addr, s.opts.StartTimeout, last, s.lastLines(p))
		}
		// snmpd writes its pid file once its ports are open: before, an
		// answer on the address would be another agent's.
		if !pidWritten(s.paths.pid, p.cmd.Process.Pid) {
			last = errors.New("its ports are not open yet")
			select {
			case <-time.After(pause):
			case <-p.exited:
			case <-ctx.Done():
			}
			continue
		}
		e, err := usm.Discover(ctx, addr, 250*time.Millisecond, 1)
		if err == nil {
			if !bytes.Equal(e.ID, s.settings.EngineID) {
				return fmt.Errorf("%w: %s answers with engine ID %x, not hostagent's %x: is the system's snmpd running on that port? "+
					"Stop it (systemctl disable --now snmpd), or attach to it with polling = \"system\"", errEngineMismatch, addr, e.ID, s.settings.EngineID)
			}
			if e.Boots != p.boots {
				// Replay protection of managers that also receive the
				// traps suffers; polling itself works.
				s.log.Warn("snmpd runs with other engine boots than set", "want", p.boots, "got", e.Boots)
				s.setStatus(func(st *Status) { st.EngineBoots = e.Boots })
			}
			if fi, err := os.Stat(s.settings.AgentXSocket); err == nil && fi.Mode()&os.ModeSocket != 0 {
				return nil
			}
			last = fmt.Errorf("no AgentX socket at %s yet", s.settings.AgentXSocket)
		} else {
			last = err
		}
		select {
		case <-time.After(pause):
		case <-p.exited:
		case <-ctx.Done():
		}
	}
}

// pidWritten tells whether snmpd wrote pid to its pid file.
func pidWritten(path string, pid int) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	return err == nil && n == pid
}

// probeAddr is where to reach snmpd listening on ap: on loopback for an
// unspecified address.
func probeAddr(ap netip.AddrPort) string {
	a := ap.Addr().Unmap()
	if a.IsUnspecified() {
		if a.Is4() {
			a = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		} else {
			a = netip.IPv6Loopback()
		}
	}
	return net.JoinHostPort(a.String(), strconv.Itoa(int(ap.Port())))
}

// stopProcess ends the running snmpd: SIGTERM (it saves its persistent
// state), SIGKILL after 5 s.
func (s *Supervisor) stopProcess() {
	p := s.cur
	if p == nil {
		return
	}
	s.cur = nil
	p.stop = true
	if !isExited(p) {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			s.log.Warn("snmpd did not stop within 5s of SIGTERM: killing it", "pid", p.cmd.Process.Pid)
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
	s.log.Info("snmpd stopped", "pid", p.cmd.Process.Pid, "ran", time.Since(p.started).Round(time.Millisecond))
	s.setStatus(func(st *Status) { st.Running, st.PID = false, 0 })
}

// exitedOnItsOwn logs an snmpd that died with what it wrote last.
func (s *Supervisor) exitedOnItsOwn(p *process) {
	status := "exit status 0"
	if p.err != nil {
		status = p.err.Error()
	}
	msg := fmt.Sprintf("snmpd exited (%s) after %s", status, time.Since(p.started).Round(time.Millisecond))
	s.log.Warn("snmpd exited", "pid", p.cmd.Process.Pid, "status", status, "ran", time.Since(p.started).Round(time.Millisecond), "last_log", s.lastLines(p))
	s.setStatus(func(st *Status) { st.Running, st.PID, st.LastError = false, 0, msg })
}

// lastLines is the end of what snmpd logged, for errors and logs.
func (s *Supervisor) lastLines(p *process) string {
	var b []byte
	if f, err := os.Open(s.paths.log); err == nil {
		const tail = 4 << 10
		if fi, err := f.Stat(); err == nil && fi.Size() > tail {
			_, _ = f.Seek(fi.Size()-tail, io.SeekStart)
		}
		b, _ = io.ReadAll(io.LimitReader(f, 4<<10))
		f.Close()
	}
	b = append(b, p.stderr.Bytes()...)
	lines := strings.Split(strings.TrimSpace(strings.ToValidUTF8(string(b), "?")), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, " | ")
}

// killStale ends an snmpd a previous hostagent left running on our
// configuration (hostagent killed with -9): it would hold the port. It
// is known by the pid file and by its command line naming our
// configuration file.
func (s *Supervisor) killStale() {
	data, err := os.ReadFile(s.paths.pid)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 || pid == os.Getpid() {
		return
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || !bytes.Contains(cmdline, []byte(s.paths.conf+",")) {
		return
	}
	s.log.Warn("killing an snmpd left running by a previous hostagent", "pid", pid)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond) // not our child: polling /proc is the only wait
	}
}

// cleanEnv is the environment without net-snmp's variables, which would
// point snmpd at other configuration, MIBs or state, and without systemd's,
// which are hostagentd's own.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MIBS", "MIBDIRS", "SNMPCONFPATH", "SNMP_PERSISTENT_DIR", "SNMP_PERSISTENT_FILE", "SNMPD_OPTIONS":
			continue
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES":
			// hostagentd's unit speaks to systemd, not snmpd: a snmpd
			// built with systemd support would announce itself on
			// hostagentd's notify socket, which systemd refuses and logs
			// (NotifyAccess=main).
			continue
		}
		env = append(env, kv)
	}
	return env
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func newTailBuffer(n int) *tailBuffer { return &tailBuffer{max: n} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.b...)
}
