package tail

import (
	"context"
	"sync"
	"sync/atomic"
	"syscall"
)

// budget bounds the descriptors the tail package holds open at once. A
// host with thousands of log files must not run the agent out of
// descriptors (its sockets, spools and state files need some too): a
// stream acquires a slot before it opens its file, closes a file it has
// read to its end when others wait for a slot, and opens it again, by its
// identity, when it grows.
type budget struct {
	slots   chan struct{}
	waiting atomic.Int32
}

func newBudget(n int) *budget { return &budget{slots: make(chan struct{}, max(n, 1))} }

// sharedBudget is the process's: descriptors are a per-process resource,
// so every Follow of every loghost draws on one budget.
var sharedBudget = sync.OnceValue(func() *budget { return newBudget(defaultOpenFiles()) })

// defaultOpenFiles is half the process's descriptor limit (Go raises the
// soft limit to the hard one at start), between 16 and 8192: the other
// half stays for sockets, spools, state files and the collectors.
func defaultOpenFiles() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur == 0 {
		return 512
	}
	return int(min(max(lim.Cur/2, 16), 8192))
}

// acquire waits for a slot, or for ctx.
func (b *budget) acquire(ctx context.Context) error {
	select {
	case b.slots <- struct{}{}:
		return nil
	default:
	}
	b.waiting.Add(1)
	defer b.waiting.Add(-1)
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// tryAcquire takes a slot if one is free now.
func (b *budget) tryAcquire() bool {
	select {
	case b.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (b *budget) release() { <-b.slots }

// contended reports whether a stream waits for a slot.
func (b *budget) contended() bool { return b.waiting.Load() > 0 }
