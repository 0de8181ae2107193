package resources

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// fsUsage is what statfs(2) says of a file system, in blocks.
type fsUsage struct {
	blocks, free, avail uint64 // f_blocks, f_bfree (root's reserve included), f_bavail
}

// usedPercent is used / (used + available to unprivileged users), as df
// computes Use%: the root reserve counts as neither, so 100% is when users
// can no longer write. ok is false for a file system with no blocks.
func (u fsUsage) usedPercent() (percent float64, ok bool) {
	used := u.blocks - min(u.free, u.blocks)
	if used+u.avail == 0 {
		return 0, false
	}
	return float64(used) / float64(used+u.avail) * 100, true
}

// statfsFunc reads the usage of the file system at path; tests replace it.
type statfsFunc func(path string) (fsUsage, error)

func statfs(path string) (fsUsage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return fsUsage{}, err
	}
	return fsUsage{blocks: st.Blocks, free: st.Bfree, avail: st.Bavail}, nil
}

// statfsTimeout bounds one statfs: a hung NFS server blocks the call in the
// kernel, possibly for ever, and must not stall the other rules.
const statfsTimeout = 5 * time.Second

// errHung says a statfs has not returned; the path is skipped until it does.
var errHung = errors.New("statfs has not returned; skipped until it does (hung network file system?)")

// hangGuard runs statfs calls in goroutines and gives up on one after a
// timeout. The goroutine of a hung call stays blocked in the kernel; the path
// is marked busy until it returns, so at most one goroutine per path leaks.
type hangGuard struct {
	statfs  statfsFunc
	timeout time.Duration
	// after is the clock of the timeout: time.After when nil; tests
	// decide when a call has hung.
	after func(time.Duration) <-chan time.Time

	mu   sync.Mutex
	busy map[string]bool
}

func (g *hangGuard) usage(ctx context.Context, path string) (fsUsage, error) {
	g.mu.Lock()
	if g.busy[path] {
		g.mu.Unlock()
		return fsUsage{}, fmt.Errorf("statfs %s: %w", path, errHung)
	}
	g.busy[path] = true
	g.mu.Unlock()

	type result struct {
		u   fsUsage
		err error
	}
	done := make(chan result, 1)
	go func() {
		u, err := g.statfs(path)
		g.mu.Lock()
		delete(g.busy, path)
		g.mu.Unlock()
		done <- result{u, err}
	}()
	after := g.after
	if after == nil {
		after = time.After // its timer is collected once unreferenced
	}
	select {
	case r := <-done:
		if r.err != nil {
			return fsUsage{}, fmt.Errorf("statfs %s: %w", path, r.err)
		}
		return r.u, nil
	case <-after(g.timeout):
		return fsUsage{}, fmt.Errorf("statfs %s: no answer within %s: %w", path, g.timeout, errHung)
	case <-ctx.Done():
		return fsUsage{}, fmt.Errorf("statfs %s: %w", path, ctx.Err())
	}
}
