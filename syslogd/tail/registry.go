package tail

import (
	"bytes"
	"sync"
	"time"
)

// registry is what the streams of one Follow share about files: which
// stream holds each inode (a renamed file may match the globs under its new
// name too, and must not be read by two streams), and how far each released
// file was sent. The sent offset runs ahead of Positions (which only moves
// on delivery), so a file picked up again under another name within one
// Follow continues where reading stopped instead of repeating lines still
// in flight to the consumer.
type registry struct {
	mu   sync.Mutex
	held map[inodeKey]string
	sent map[inodeKey]sentMark
}

type sentMark struct {
	head   []byte
	offset int64
	at     time.Time
}

func newRegistry() *registry {
	return &registry{held: map[inodeKey]string{}, sent: map[inodeKey]sentMark{}}
}

// claim gives the inode to the stream of path unless another stream has it.
func (r *registry) claim(k inodeKey, path string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, busy := r.held[k]; busy {
		return false
	}
	r.held[k] = path
	return true
}

func (r *registry) release(k inodeKey, head []byte, offset int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, k)
	r.sent[k] = sentMark{head: head, offset: offset, at: time.Now()}
}

// resume returns where reading of inode k stopped, if the file there is
// still the one that was read (same first bytes, not shorter).
func (r *registry) resume(k inodeKey, head []byte, size int64) (int64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m, ok := r.sent[k]
	if !ok || !bytes.HasPrefix(head, m.head) || m.offset > size {
		return 0, false
	}
	return m.offset, true
}

// prune forgets sent offsets older than grace, as Positions.Prune does.
func (r *registry) prune(grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cutoff := time.Now().Add(-grace)
	for k, m := range r.sent {
		if m.at.Before(cutoff) {
			delete(r.sent, k)
		}
	}
}
