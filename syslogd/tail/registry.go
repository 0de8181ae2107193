package tail

import (
	"bytes"
	"slices"
	"sync"
	"time"
)

// registry is what the streams of one Follow share about files: which
// stream holds each inode (a renamed file may match the globs under its new
// name too, and must not be read by two streams), and how far each released
// content was sent. The sent offset runs ahead of Positions (which only
// moves on delivery), so a file picked up again under another name within
// one Follow continues where reading stopped instead of repeating lines
// still in flight to the consumer.
type registry struct {
	mu   sync.Mutex
	held map[inodeKey]string
	// sent holds, per inode, the contents it had, newest last: after a
	// copytruncate the inode holds new content while logrotate's copies of
	// the older ones lie next to it, and those must be known as read.
	sent map[inodeKey][]sentMark
}

// maxContents bounds the contents remembered per inode: as many as
// logrotate keeps copies of, for any sensible "rotate N".
const maxContents = 16

type sentMark struct {
	head   []byte
	offset int64
	seq    uint64
	at     time.Time
}

func newRegistry() *registry {
	return &registry{held: map[inodeKey]string{}, sent: map[inodeKey][]sentMark{}}
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

// claimed reports whether a stream holds inode k.
func (r *registry) claimed(k inodeKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, busy := r.held[k]
	return busy
}

func (r *registry) unclaim(k inodeKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.held, k)
}

// sentTo records how far the content identified by k (the original's
// inode for a copy) and head was sent.
func (r *registry) sentTo(k inodeKey, head []byte, offset int64, seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := sentMark{head: bytes.Clone(head), offset: offset, seq: seq, at: time.Now()}
	marks := r.sent[k]
	for i, old := range marks {
		// The same content seen shorter or longer: one mark, moved on.
		if bytes.HasPrefix(head, old.head) || bytes.HasPrefix(old.head, head) {
			if len(old.head) > len(m.head) {
				m.head = old.head
			}
			marks = append(marks[:i], marks[i+1:]...)
			break
		}
	}
	if len(marks) >= maxContents {
		marks = marks[1:]
	}
	r.sent[k] = append(marks, m)
}

// resume returns where sending of inode k stopped, if the file there is
// still the one that was read (same first bytes, not shorter).
func (r *registry) resume(k inodeKey, head []byte, size int64) (int64, uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.sent[k] {
		if len(m.head) > 0 && bytes.HasPrefix(head, m.head) && (size < 0 || m.offset <= size) {
			return m.offset, m.seq, true
		}
	}
	// An empty file read to its end (nothing sent) matches only itself.
	if marks := r.sent[k]; len(marks) > 0 && len(marks[len(marks)-1].head) == 0 && len(head) == 0 {
		return 0, 0, true
	}
	return 0, 0, false
}

// content finds sent content that head starts with (see
// Positions.content): returns its identity's inode and how far it was sent.
func (r *registry) content(head []byte) (k inodeKey, m sentMark, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for key, marks := range r.sent {
		for _, s := range marks {
			if len(s.head) >= minContentMatch && bytes.HasPrefix(head, s.head) && (!ok || s.offset > m.offset) {
				k, m, ok = key, s, true
			}
		}
	}
	return k, m, ok
}

// prune forgets sent offsets older than grace, as Positions.Prune does.
func (r *registry) prune(grace time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cutoff := time.Now().Add(-grace)
	for k, marks := range r.sent {
		marks = slices.DeleteFunc(marks, func(m sentMark) bool { return m.at.Before(cutoff) })
		if len(marks) == 0 {
			delete(r.sent, k)
		} else {
			r.sent[k] = marks
		}
	}
}
