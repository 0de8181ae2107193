package snmpagent

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"hostagent/internal/configstore"
)

// pendingStore keeps the informs of one target that are sent but not yet
// acknowledged (or failed), so that a restart resends them. It is an
// append-only log of JSON lines in the agent's state directory, one file
// per target:
//
//	{"op":"add","id":7,"name":"...","pdu":"<base64>","req_at":12}
//	{"op":"try","id":7}
//	{"op":"done","id":7}
//
// An add is fsynced before the inform is first transmitted: an inform the
// receiver may have seen is on disk. Tries and dones are not fsynced: a
// lost one after a power cut means one more retry or one duplicate inform,
// which informs allow (they are at-least-once; a receiver sees the same
// notification again with a new request-id). Opening the file replays it
// and writes the live entries back compacted.
//
// What is stored is the encoded PDU, before any per-target wrapping (the
// community, the request-id, SNMPv3 security), so that a resend after a
// restart is wrapped anew with the state of that run.
//
// One store serves every sender of its target: when a target's settings
// change, the old sender leaves what it has not had acknowledged to the
// store (release) and the new one takes it over (take), as a sender does
// at start with what the last run left.
type pendingStore struct {
	path string

	mu      sync.Mutex
	f       *os.File
	w       *bufio.Writer
	nextID  uint64
	live    map[uint64]*pendingInform
	orphans []*pendingInform // live, held by no sender: oldest first
	users   int              // senders using it; see Agent.store
}

// pendingInform is one stored inform.
type pendingInform struct {
	ID       uint64 `json:"id"`
	Name     string `json:"name,omitempty"`
	PDU      []byte `json:"pdu,omitempty"`
	ReqAt    int    `json:"req_at,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
}

type pendingOp struct {
	Op string `json:"op"`
	pendingInform
}

// maxPendingLine bounds a line when replaying: an encoded notification is
// well under 64 KiB (one UDP datagram), base64 makes it a third larger.
const maxPendingLine = 128 << 10

// pendingFile names the file of a target: a digest of its identity, since
// the target string holds a community.
func pendingFile(dir, target string) string {
	sum := sha256.Sum256([]byte(target))
	return filepath.Join(dir, "informs-"+hex.EncodeToString(sum[:8])+".jsonl")
}

// openPending replays the file of target in dir and returns the store and
// the informs still pending, oldest first. Damaged lines (a write cut by
// a crash) are skipped.
func openPending(dir, target string) (*pendingStore, []*pendingInform, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("pending informs: %w", err)
	}
	return openPendingFile(pendingFile(dir, target))
}

// openPendingFile is openPending of the file at path.
func openPendingFile(path string) (*pendingStore, []*pendingInform, error) {
	p := &pendingStore{path: path, live: map[uint64]*pendingInform{}}
	if err := p.replay(); err != nil {
		return nil, nil, err
	}
	live := p.pending()
	p.orphans = slices.Clone(live)
	var buf bytes.Buffer
	for _, in := range live {
		line, _ := json.Marshal(pendingOp{Op: "add", pendingInform: *in})
		buf.Write(append(line, '\n'))
	}
	if err := configstore.WriteFile(p.path, buf.Bytes(), 0o600); err != nil {
		return nil, nil, fmt.Errorf("pending informs: %w", err)
	}
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("pending informs: %w", err)
	}
	p.f, p.w = f, bufio.NewWriter(f)
	return p, live, nil
}

func (p *pendingStore) replay() error {
	f, err := os.OpenFile(p.path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pending informs: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // longer than any of ours: skip it
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = r.ReadSlice('\n')
			}
			continue
		}
		if len(line) > 0 && len(line) <= maxPendingLine {
			var op pendingOp
			if json.Unmarshal(line, &op) == nil {
				p.apply(op)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pending informs: %s: %w", p.path, err)
		}
	}
}

func (p *pendingStore) apply(op pendingOp) {
	p.nextID = max(p.nextID, op.ID+1)
	switch op.Op {
	case "add":
		if len(op.PDU) > 0 && op.ReqAt >= 0 && op.ReqAt+requestIDSize <= len(op.PDU) {
			in := op.pendingInform
			p.live[op.ID] = &in
		}
	case "try":
		if in := p.live[op.ID]; in != nil {
			in.Attempts++
		}
	case "done":
		delete(p.live, op.ID)
	}
}

// pending lists the live informs, oldest first.
func (p *pendingStore) pending() []*pendingInform {
	out := make([]*pendingInform, 0, len(p.live))
	for _, in := range p.live {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *pendingInform) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// take hands at most n of the informs no sender holds to the caller,
// oldest first.
func (p *pendingStore) take(n int) []*pendingInform {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(n, len(p.orphans))
	out := p.orphans[:n:n]
	p.orphans = p.orphans[n:]
	return out
}

// release gives informs back, still live, for another sender (or the next
// run) to send.
func (p *pendingStore) release(ins []*pendingInform) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.orphans = append(p.orphans, ins...)
	slices.SortFunc(p.orphans, func(a, b *pendingInform) int { return cmp.Compare(a.ID, b.ID) })
}

// add stores informs about to be transmitted for the first time and
// syncs: it returns their ids.
func (p *pendingStore) add(batch []pendingInform) ([]uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := make([]uint64, len(batch))
	for i := range batch {
		batch[i].ID = p.nextID
		p.nextID++
		ids[i] = batch[i].ID
		if err := p.write(pendingOp{Op: "add", pendingInform: batch[i]}); err != nil {
			return nil, err
		}
		in := batch[i]
		p.live[in.ID] = &in
	}
	if err := p.w.Flush(); err != nil {
		return nil, fmt.Errorf("pending informs: %w", err)
	}
	if err := p.f.Sync(); err != nil {
		return nil, fmt.Errorf("pending informs: %w", err)
	}
	return ids, nil
}

// tried and done record a retransmission and the end (acknowledged or
// failed) of an inform, unsynced.
func (p *pendingStore) tried(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if in := p.live[id]; in != nil {
		in.Attempts++
	}
	return p.write(pendingOp{Op: "try", pendingInform: pendingInform{ID: id}})
}

func (p *pendingStore) done(id uint64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.live, id)
	return p.write(pendingOp{Op: "done", pendingInform: pendingInform{ID: id}})
}

// count is the number of live informs.
func (p *pendingStore) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live)
}

func (p *pendingStore) write(op pendingOp) error {
	line, err := json.Marshal(op)
	if err != nil {
		return err
	}
	p.w.Write(line)
	if err := p.w.WriteByte('\n'); err != nil {
		return fmt.Errorf("pending informs: %w", err)
	}
	return nil
}

// flush hands buffered tries and dones to the kernel.
func (p *pendingStore) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.w.Flush(); err != nil {
		return fmt.Errorf("pending informs: %w", err)
	}
	return nil
}

// close flushes and closes the file; pending informs stay in it.
func (p *pendingStore) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	err := p.w.Flush()
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	return err
}
