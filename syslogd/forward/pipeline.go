package forward

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hostagent/internal/configstore"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
	"hostagent/syslogd/spool"
	"hostagent/syslogd/tail"
)

// Batches are cut at this many records or after this long without more:
// large enough for one write and one checkpoint per thousands of lines,
// short enough that a quiet log is sent at once.
const (
	maxBatch    = 4096
	batchWait   = 20 * time.Millisecond
	confirmPoll = 100 * time.Millisecond
)

// pipeline forwards to one loghost: its own reading of the files (its own
// positions), its own spool of socket messages, its own connection. A
// dead collector stalls nothing but its own pipeline.
type pipeline struct {
	host  output.Loghost
	out   *output.Output
	sp    *spool.Spool
	pos   *tail.Positions
	files *fileInputs
	dir   string
	log   *slog.Logger

	lines chan tail.Line

	mu      sync.Mutex
	seq     map[string]uint64 // next sequence number per source
	dropped atomic.Uint64     // socket messages refused by a full spool
	marked  uint64            // drops already announced

	last lineSource // the file of the last line read (collect's goroutine only)

	// delivered are batches written but not yet confirmed by the output:
	// their checkpoint waits (see output.Confirmed).
	delivered []deliveredBatch
}

type deliveredBatch struct {
	id    uint64
	lines []tail.Line
	spool spool.Cursor
}

// seqFile holds the sequence numbers, saved before the positions so that
// a crash between the two can repeat lines but never reuse a number.
type seqFile struct {
	Next map[string]uint64 `toml:"next"`
}

func newPipeline(h output.Loghost, s output.Settings, files *fileInputs, stateDir string, spoolMax int64, log *slog.Logger) (*pipeline, error) {
	dir := filepath.Join(stateDir, "syslog", dirName(h))
	log = log.With("loghost", h.String())
	out, err := output.New(h, s, log)
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(filepath.Join(dir, "spool"), spoolMax)
	if err != nil {
		return nil, err
	}
	pos, err := tail.LoadPositions(filepath.Join(dir, "positions.toml"), log)
	if err != nil {
		sp.Close()
		return nil, err
	}
	var seq seqFile
	if _, err := configstore.Load(filepath.Join(dir, "sequence.toml"), &seq); err != nil {
		log.Warn("sequence numbers lost; they start again at 1", "err", err)
	}
	if seq.Next == nil {
		seq.Next = map[string]uint64{}
	}
	return &pipeline{host: h, out: out, sp: sp, pos: pos, files: files, dir: dir, log: log,
		lines: make(chan tail.Line, maxBatch), seq: seq.Next}, nil
}

// dirName makes a loghost a directory name: tcp://[::1]:1514 → tcp_[__1]_1514.
func dirName(h output.Loghost) string {
	return strings.NewReplacer(":", "_", "/", "_").Replace(h.Scheme + "_" + h.Addr())
}

// nextSeq numbers a record of source.
func (p *pipeline) nextSeq(source string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.seq[source] + 1
	p.seq[source] = n
	return n
}

// submit queues a socket message (or a mark) on this loghost's spool; a
// full spool drops it, counted, and the count is announced later.
func (p *pipeline) submit(r syslogd.Record) {
	r.Seq = p.nextSeq(r.Source)
	if err := p.sp.Append(r); err != nil {
		if !errors.Is(err, spool.ErrFull) {
			p.log.Warn("socket message not spooled", "err", err)
		}
		p.dropped.Add(1)
	}
}

// run reads the files and the spool and delivers until ctx is done, or
// until stopping is closed: then it lets the batches written so far be
// confirmed (up to drainFor) and checkpoints them, so that a clean stop
// repeats nothing at the next start.
func (p *pipeline) run(ctx context.Context, stopping <-chan struct{}, globs []string, maxLine int) {
	var wg sync.WaitGroup
	if len(globs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := tail.Follow(ctx, tail.Config{Globs: globs, MaxLine: maxLine}, p.pos, p.lines, p.log); err != nil {
				p.log.Error("log files not followed", "err", err)
			}
		}()
	}
	defer wg.Wait()
	for {
		select {
		case <-stopping:
			p.drain(ctx)
			return
		default:
		}
		batch, lines, err := p.collect(ctx, stopping)
		if err != nil {
			p.log.Error("spool unreadable", "err", err)
		}
		if ctx.Err() != nil && len(batch) == 0 {
			return
		}
		if len(batch) == 0 {
			p.out.Check() // idle: confirm what waits, so its checkpoint is written
			p.checkpoint()
			continue
		}
		id, err := p.out.Deliver(ctx, batch)
		if err != nil {
			// Cancelled: what is not confirmed stays undelivered. Its file
			// lines are read again at the next start, its spooled records too.
			return
		}
		p.delivered = append(p.delivered, deliveredBatch{id: id, lines: lines, spool: p.sp.Cursor()})
		p.checkpoint()
	}
}

// collect waits for the first record, then takes what else is ready, up
// to maxBatch or until batchWait passes without more.
func (p *pipeline) collect(ctx context.Context, stopping <-chan struct{}) ([]syslogd.Record, []tail.Line, error) {
	var batch []syslogd.Record
	var lines []tail.Line
	if n := p.dropped.Load(); n > p.marked {
		batch = append(batch, p.dropMark(n-p.marked))
		p.marked = n
	}
	spooled, err := p.sp.Read(maxBatch)
	batch = append(batch, spooled...)
	// With batches awaiting confirmation, do not wait long for a record:
	// an idle pass checks the connection and checkpoints them.
	first := time.Hour
	if len(p.delivered) > 0 {
		first = confirmPoll
	}
	timer := time.NewTimer(first)
	defer timer.Stop()
	for len(batch) < maxBatch {
		if len(batch) > 0 {
			timer.Reset(batchWait)
		}
		select {
		case <-ctx.Done():
			return batch, lines, err
		case <-stopping:
			return batch, lines, err
		case l := <-p.lines:
			lines = append(lines, l)
			batch = append(batch, p.fileRecord(l))
			continue
		case <-p.sp.Ready():
			more, rerr := p.sp.Read(maxBatch - len(batch))
			batch, err = append(batch, more...), errors.Join(err, rerr)
			continue
		case <-timer.C:
		}
		break
	}
	return batch, lines, err
}

// drainFor bounds a clean stop's wait for confirmations.
const drainFor = time.Second

func (p *pipeline) drain(ctx context.Context) {
	for deadline := time.Now().Add(drainFor); len(p.delivered) > 0 && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return
		case <-time.After(confirmPoll):
		}
		p.out.Check()
		p.checkpoint()
	}
}

// dropMark is the line ESXi sends when its queue dropped messages.
func (p *pipeline) dropMark(n uint64) syslogd.Record {
	return syslogd.Record{Time: time.Now(), Hostname: p.files.hostname, AppName: "hostagent", Facility: 5, Severity: 4,
		Message: fmt.Sprintf("%d messages dropped: the spool for %s was full", n, p.host), Source: "hostagent", Seq: p.nextSeq("hostagent")}
}

func (p *pipeline) fileRecord(l tail.Line) syslogd.Record {
	// Lines come in runs from one file: what depends on the file alone
	// (its input, app-name, sequence key) is worked out once per run.
	if l.Path != p.last.path || l.ID != p.last.id {
		in := p.files.match(l.Path)
		p.last = lineSource{path: l.Path, id: l.ID, in: in, app: in.appName(l.Path), key: l.ID.String()}
	}
	src := &p.last
	return syslogd.Record{Time: time.Now(), Hostname: p.files.hostname, AppName: src.app,
		Facility: src.in.facility, Severity: src.in.severity, Message: l.Text, Source: l.Path, Offset: l.Offset,
		Seq: p.nextSeq(src.key)}
}

// lineSource is what the pipeline worked out for the file of its last line.
type lineSource struct {
	path string
	id   tail.FileID
	in   fileInput
	app  string
	key  string
}

// checkpoint records the confirmed batches: sequence numbers first, then
// the files' positions, then the spool's.
func (p *pipeline) checkpoint() {
	confirmed := p.out.Confirmed()
	n := 0
	for n < len(p.delivered) && p.delivered[n].id <= confirmed {
		n++
	}
	if n == 0 {
		return
	}
	done := p.delivered[:n]
	p.delivered = p.delivered[n:]

	p.mu.Lock()
	seq := seqFile{Next: make(map[string]uint64, len(p.seq))}
	for k, v := range p.seq {
		seq.Next[k] = v
	}
	p.mu.Unlock()
	if err := configstore.Save(filepath.Join(p.dir, "sequence.toml"), seq, 0o640, "Sequence numbers per source, for this loghost."); err != nil {
		p.log.Warn("sequence numbers not saved", "err", err)
	}
	moved := false
	for _, b := range done {
		for _, l := range b.lines {
			p.pos.Set(l.ID, l.Path, l.Offset)
			moved = true
		}
	}
	if moved {
		if err := p.pos.Save(); err != nil {
			p.log.Warn("file positions not saved; lines may be sent again after a restart", "err", err)
		}
	}
	if err := p.sp.CommitTo(done[len(done)-1].spool); err != nil {
		p.log.Warn("spool position not saved; messages may be sent again after a restart", "err", err)
	}
}

func (p *pipeline) status() (connected bool, queued int64, st output.Stats) {
	st = p.out.Stats()
	return st.Connected, p.sp.Size(), st
}

func (p *pipeline) close() {
	p.out.Close()
	p.sp.Close()
}
