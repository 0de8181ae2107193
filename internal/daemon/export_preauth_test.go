package daemon

import "time"

// SetHTTPTimeouts shortens the HTTPS server's timeouts for a test of
// daemons started afterwards, and returns the function that restores them.
func SetHTTPTimeouts(header, read, write, idle time.Duration) (restore func()) {
	old := httpTimeouts
	httpTimeouts.header, httpTimeouts.read, httpTimeouts.write, httpTimeouts.idle = header, read, write, idle
	return func() { httpTimeouts = old }
}

// MaxConnsPerSource is the per-address connection cap of the HTTPS listener.
const MaxConnsPerSource = maxConnsPerSource

// SetRestoreHook makes f run at each step of the restores and resets of
// daemons (see faultHook), and returns the function that removes it.
func SetRestoreHook(f func(step string)) (restore func()) {
	old := faultHook
	faultHook = f
	return func() { faultHook = old }
}

// FlushAudit writes the refusals the audit log is counting (see
// audit.Log.Refuse) now rather than at the end of their burst.
func (d *Daemon) FlushAudit() error { return d.remote.audit.FlushRefused() }
