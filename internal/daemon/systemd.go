package daemon

// This file is hostagentd's side of its systemd unit, kept apart from Run so
// that the notify protocol is spoken in one place. The unit runs it with
//
//   - Type=notify: systemd waits for READY=1 before starting what is ordered
//     after hostagentd, so READY=1 is sent only once the configuration is in
//     force and the API accepts connections (when Run closes d.ready);
//     STOPPING=1 tells it the stop has begun.
//   - WatchdogSec=: systemd restarts a daemon that stops sending WATCHDOG=1
//     for that long. A goroutine that pings on a timer would keep pinging
//     from a daemon whose configuration loop is deadlocked, so each ping is
//     earned by a health check (checkHealth).
//   - ExecReload=/bin/kill -HUP $MAINPID: SIGHUP re-reads every
//     configuration file (Reload). Around it go RELOADING=1 and READY=1, the
//     Type=notify-reload protocol (systemd 253+), which systemd 252 (Debian
//     12) accepts with Type=notify too.
//
// Without NOTIFY_SOCKET (make run, the tests of other parts) nothing here
// sends anything and no watchdog runs.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// systemdState is the daemon's part of the notify protocol.
type systemdState struct {
	// reloads holds a pending Reload (capacity 1: requests made while one
	// waits are the same reload, which reads the files after all of them).
	reloads chan struct{}

	// lockProbe is closed once a goroutine started by checkHealth has
	// taken and released d.mu; lockProbeSince is when it started. While
	// the lock stays stuck the same probe is waited for again, so a
	// deadlock leaves one goroutine waiting on it, not one per check.
	// Used by the watchdog's goroutine only.
	lockProbe      chan struct{}
	lockProbeSince time.Time

	// notifyFailing is set while messages to NOTIFY_SOCKET fail, so that
	// a socket gone away is logged once, not at every watchdog ping.
	notifyFailing atomic.Bool
}

func newSystemdState() systemdState {
	return systemdState{reloads: make(chan struct{}, 1)}
}

// notify sends state to the service manager; without NOTIFY_SOCKET it does
// nothing. NOTIFY_SOCKET stays set (SdNotify(false, …)): later messages
// need it. The snmpd hostagentd starts for polling is not given it
// (snmpd.cleanEnv).
func (d *Daemon) notify(state string) {
	if _, err := sd.SdNotify(false, state); err != nil {
		if !d.systemd.notifyFailing.Swap(true) {
			d.log.Warn("cannot notify systemd; said once until it works again", "state", strings.ReplaceAll(state, "\n", " "), "err", err)
		}
		return
	}
	if d.systemd.notifyFailing.Swap(false) {
		d.log.Info("systemd notified again", "state", strings.ReplaceAll(state, "\n", " "))
	}
}

// readyStatus is the STATUS= line of a daemon serving normally.
func (d *Daemon) readyStatus() string {
	return "STATUS=Ready: configuration in force, API on " + d.opts.APISocket
}

// notifyReady tells systemd the daemon is ready (the start or a reload is
// over).
func (d *Daemon) notifyReady() { d.notify(sd.SdNotifyReady + "\n" + d.readyStatus()) }

// notifyStopping tells systemd the daemon has begun to stop.
func (d *Daemon) notifyStopping() { d.notify(sd.SdNotifyStopping + "\nSTATUS=Stopping") }

// Reload asks Run to read every configuration file again and apply each as
// the directory watcher applies a hand edit: an invalid file is refused at
// ERROR with its running configuration kept. SIGHUP calls it (the unit's
// ExecReload). It returns at once; a request made before the daemon is
// ready is served once it is.
func (d *Daemon) Reload() {
	select {
	case d.systemd.reloads <- struct{}{}:
	default: // one is pending: it reads the files after this request too
	}
}

// reloadRequests delivers the Reload requests to Run.
func (d *Daemon) reloadRequests() <-chan struct{} { return d.systemd.reloads }

// reloadOnRequest serves a Reload on Run's goroutine, framed for systemd:
// RELOADING=1 with the CLOCK_MONOTONIC time the protocol asks for, then
// READY=1 once every file has been applied or refused.
func (d *Daemon) reloadOnRequest() {
	state := sd.SdNotifyReloading
	if usec, err := monotonicMicros(); err == nil {
		state += fmt.Sprintf("\nMONOTONIC_USEC=%d", usec)
	} else {
		d.log.Warn("cannot read CLOCK_MONOTONIC for systemd's reload message", "err", err)
	}
	d.notify(state + "\nSTATUS=Reloading the configuration files")
	files := []string{CollectorsFile, SNMPFile, SyslogFile}
	d.log.Info("reloading the configuration files", "reason", "SIGHUP", "files", strings.Join(files, ","))
	d.reload(files)
	d.notifyReady()
}

// monotonicMicros is CLOCK_MONOTONIC in microseconds, the clock of
// systemd's MONOTONIC_USEC (Go's monotonic clock reading is not exposed).
func monotonicMicros() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	return ts.Nano() / 1e3, nil
}

// startWatchdog starts pinging systemd's watchdog when the unit has one
// (WatchdogSec= sets WATCHDOG_USEC, and WATCHDOG_PID, when set, names this
// process), and returns the function that stops it.
func (d *Daemon) startWatchdog() (stop func()) {
	interval, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		d.log.Warn("systemd watchdog settings unreadable; not pinging it", "err", err)
		return func() {}
	}
	if interval <= 0 || os.Getenv("NOTIFY_SOCKET") == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.runWatchdog(ctx, interval)
	}()
	d.log.Info("systemd watchdog on", "timeout", interval, "ping_every", interval/2)
	return func() {
		cancel()
		<-done
	}
}

// runWatchdog pings WATCHDOG=1 at once and then every interval/2 (twice per
// timeout, as systemd advises), each time checkHealth passes, until ctx is
// done. The check is bounded by interval/4, so that a healthy daemon's pings
// are at most 3/4 of the timeout apart even when its check is slow. A failed
// check is logged at WARN with what is stuck, and shown in systemctl status;
// no ping is sent, and unless the next check passes systemd kills the
// daemon (SIGABRT by default: Go prints every goroutine's stack to the
// journal, the deadlock's included) and restarts it.
func (d *Daemon) runWatchdog(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	bound := interval / 4
	unhealthy := false
	for {
		switch err := d.checkHealth(ctx, bound); {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Warn("systemd watchdog not pinged: the daemon is stuck, and systemd restarts it unless this clears",
				"stuck", err, "watchdog_timeout", interval)
			d.notify("STATUS=Stuck, watchdog not pinged: " + err.Error())
			unhealthy = true
		case unhealthy:
			d.log.Info("the daemon is no longer stuck; systemd watchdog pinged again")
			d.notify(sd.SdNotifyWatchdog + "\n" + d.readyStatus())
			unhealthy = false
		default:
			d.notify(sd.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// checkHealth reports what keeps the daemon's loops from serving, each
// waited for up to bound: the configuration lock d.mu not free (a reload,
// API change or restore deadlocked or hung: every later change would wait
// on it for ever), or the API not answering on its socket (its accept loop
// gone). The API is asked over HTTP, not merely dialled: the kernel
// completes a connection into the listen backlog even when nobody accepts.
// Only the watchdog's goroutine calls it.
func (d *Daemon) checkHealth(ctx context.Context, bound time.Duration) error {
	s := &d.systemd
	if s.lockProbe == nil {
		probe := make(chan struct{})
		s.lockProbe, s.lockProbeSince = probe, time.Now()
		go func() {
			d.mu.Lock()
			close(probe) // holding it: the lock can be taken
			d.mu.Unlock()
		}()
	}
	wait := time.NewTimer(bound)
	defer wait.Stop()
	select {
	case <-s.lockProbe:
		s.lockProbe = nil
	case <-wait.C:
		return fmt.Errorf("configuration lock not obtained for %v (a reload, API change or restore holding it)",
			time.Since(s.lockProbeSince).Round(time.Millisecond))
	case <-ctx.Done():
		return ctx.Err()
	}
	return d.checkAPI(ctx, bound)
}

// checkAPI sends the API socket a request for a path it does not serve:
// any answer (404) shows the server accepts and serves, and nothing is
// logged or gated for it.
func (d *Daemon) checkAPI(ctx context.Context, bound time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dialer net.Dialer
			return dialer.DialContext(ctx, "unix", d.opts.APISocket)
		},
		DisableKeepAlives: true,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://hostagentd/watchdog", nil)
	if err != nil {
		return fmt.Errorf("API health request: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("API socket %s not answering within %v: %w", d.opts.APISocket, bound, err)
	}
	_ = resp.Body.Close()
	return nil
}
