package daemon

// HoldConfigLock takes the daemon's configuration lock, as a hung reload or
// API change would, and returns the function that releases it.
func (d *Daemon) HoldConfigLock() (release func()) {
	d.mu.Lock()
	return d.mu.Unlock
}
