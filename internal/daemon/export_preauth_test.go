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
