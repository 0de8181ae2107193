package forward

import (
	"context"
	"crypto/sha256"
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
	// saveEvery bounds how often checkpoints are written to disk (each is
	// an atomic write with fsyncs): more often only shortens what a crash
	// repeats, it never changes what is lost, which is nothing.
	saveEvery = 250 * time.Millisecond
)

// sink is what a pipeline needs of its loghost's output (*output.Output
// for UDP, TCP, TLS and RELP, *kafka.Output and *jetstream.Output for the
// log buses): batches handed over in order, and counted
// delivered, in order, only on the output's evidence. See output.Output's
// methods for what each must do.
type sink interface {
	Deliver(ctx context.Context, batch []syslogd.Record) (uint64, error)
	Confirmed() uint64
	Unconfirmed() int
	Check()
	Finish(ctx context.Context) error
	Close() error
	Stats() output.Stats
}

// pipeline forwards to one loghost: its own reading of the files (its own
// positions), its own spool of socket messages, its own connection. A
// dead collector stalls nothing but its own pipeline.
type pipeline struct {
	host  syslogd.Loghost
	out   sink
	sp    *spool.Spool
	pos   *tail.Positions
	files *fileInputs
	dir   string
	log   *slog.Logger

	lines        chan []tail.Line
	leftover     []tail.Line // lines received that did not fit the last batch
	leftoverRead time.Time   // when the leftover lines were taken from lines

	// batchRead is when the first record of the batch being delivered was
	// read (zero between batches); run's goroutine only, like delivered.
	batchRead time.Time
	// oldest is the read time (Unix nanoseconds) of the oldest record read
	// and not yet confirmed, 0 when none: kept by run's goroutine for
	// Status, which any goroutine calls, without a lock.
	oldest atomic.Int64

	mu      sync.Mutex
	seq     map[string]uint64 // last sequence number per socket source; file lines carry theirs
	dropped atomic.Uint64     // socket messages refused by a full spool
	marked  uint64            // drops already announced
	alarm   chan struct{}     // a drop to announce: wakes collect
	lost    atomic.Uint64     // losses of file lines reported by tail

	last lineSource // the file of the last line read (collect's goroutine only)

	// delivered are batches written but not yet confirmed by the output:
	// their checkpoint waits (see output.Confirmed).
	delivered []deliveredBatch

	// What the saver writes next: the spool position of the newest
	// confirmed batch, and whether positions or numbers changed.
	saveMu      sync.Mutex
	spoolMark   spool.Cursor
	spoolMarked bool
	posDirty    bool
	seqVersion  uint64 // bumped by nextSeq; compared with seqSaved
	seqSaved    uint64
	saveWake    chan struct{}
}

// deliveredBatch is a batch written to the output: where each of its
// files' lines end (the checkpoint of each run of lines from one file),
// and the spool position after its socket messages.
type deliveredBatch struct {
	id    uint64
	marks []lineMark
	spool spool.Cursor
	read  time.Time // when its first record was read (see collect)
}

// lineMark is the last line of a run of lines from one file.
type lineMark struct {
	id     tail.FileID
	path   string
	offset int64
	seq    uint64
}

// seqFile holds the last sequence number of each socket source (the
// socket, the UDP listener, marks, the agent's own notices), saved before
// the spool's cursor so that a crash between the two can repeat messages
// but never reuse a number. File lines are numbered by their place in
// their file, saved with their positions.
type seqFile struct {
	Next map[string]uint64 `toml:"next"`
}

func newPipeline(h syslogd.Loghost, s output.Settings, files *fileInputs, stateDir string, spoolMax int64, log *slog.Logger) (*pipeline, error) {
	dir := filepath.Join(stateDir, "syslog", dirName(h))
	out, err := newSink(h, s, log) // it names the loghost in its own log
	if err != nil {
		return nil, err
	}
	log = log.With("loghost", h.String())
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
		log.Warn("sequence numbers of socket messages lost; they go on above those still spooled", "err", err)
	}
	if seq.Next == nil {
		seq.Next = map[string]uint64{}
	}
	// Messages spooled after the last save carry numbers above it.
	for src, n := range sp.QueuedSeqs() {
		seq.Next[src] = max(seq.Next[src], n)
	}
	// Sources of file lines were kept here by older versions: pruned.
	for src := range seq.Next {
		if !strings.Contains(src, ":") && src != "mark" && src != "hostagent" {
			delete(seq.Next, src)
		}
	}
	return &pipeline{host: h, out: out, sp: sp, pos: pos, files: files, dir: dir, log: log,
		lines: make(chan []tail.Line, maxBatch/512), seq: seq.Next, alarm: make(chan struct{}, 1),
		saveWake: make(chan struct{}, 1)}, nil
}

// dirName makes a loghost a directory name: tcp://[::1]:1514 → tcp_[__1]_1514.
// A log bus's is readable and cannot collide nor grow past a file name's
// limit: its first server and the start of its topic or subject, with
// other characters as '_', then a hash of the whole loghost
// (kafka://b1:9092,b2:9092/logs → kafka_b1_9092_logs_1f0c…), so that two
// topics of one cluster, or nats://h/a:b and nats://h/a_b, keep their own.
func dirName(h syslogd.Loghost) string {
	if !syslogd.IsBus(h.Scheme) {
		return strings.NewReplacer(":", "_", "/", "_").Replace(h.Scheme + "_" + h.Addr())
	}
	readable := []byte(h.Scheme + "_" + h.Addr() + "_" + h.Topic)
	for i, c := range readable {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '[' || c == ']') {
			readable[i] = '_'
		}
	}
	sum := sha256.Sum256([]byte(h.String()))
	return fmt.Sprintf("%.96s_%x", readable, sum[:8])
}

// nextSeq numbers a record of source.
func (p *pipeline) nextSeq(source string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.seq[source] + 1
	p.seq[source] = n
	p.seqVersion++
	return n
}

// submit queues a socket message (or a mark, or a notice) on this
// loghost's spool; a message the spool refuses (full, or the disk is) is
// dropped, counted, and the count announced as soon as the spool takes a
// message again. Its number is not given again: the gap says it.
func (p *pipeline) submit(r syslogd.Record) {
	r.Seq = p.nextSeq(r.Source)
	if err := p.sp.Append(r); err != nil {
		if !errors.Is(err, spool.ErrFull) {
			p.log.Warn("socket message not spooled", "err", err)
		}
		p.dropped.Add(1)
		select {
		case p.alarm <- struct{}{}:
		default:
		}
	}
}

// fileLoss announces lines of a file that are really gone (tail.Loss) to
// the loghost, through the spool like the agent's other notices.
func (p *pipeline) fileLoss(l tail.Loss) {
	p.lost.Add(1)
	p.submit(syslogd.Record{Time: time.Now(), Hostname: p.files.hostname, AppName: "hostagent", MsgID: "LOST",
		Facility: 5, Severity: 4, Message: "log lines lost: " + l.String(), Source: "hostagent"})
}

// run reads the files and the spool and delivers until ctx is done, or
// until stopping is closed: then it lets the batches written so far be
// confirmed (up to drainFor) and checkpoints them, so that a clean stop
// repeats nothing at the next start.
func (p *pipeline) run(ctx context.Context, stopping <-chan struct{}, globs []string, maxLine int) {
	var wg sync.WaitGroup
	// Reading the files ends with run: what it read and did not deliver is
	// read again at the next start.
	followCtx, stopFollow := context.WithCancel(ctx)
	if len(globs) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := tail.Config{Globs: globs, MaxLine: maxLine, FollowSymlinks: p.files.followSymlinks, OnLoss: p.fileLoss}
			if err := tail.Follow(followCtx, cfg, p.pos, p.lines, p.log); err != nil {
				p.log.Error("log files not followed", "err", err)
			}
		}()
	}
	saverCtx, stopSaver := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.saver(saverCtx)
	}()
	defer func() {
		stopFollow()
		stopSaver()
		wg.Wait()
		p.save() // the last word: what was confirmed up to the stop
	}()
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
		p.noteOldest() // the batch is in flight now
		id, err := p.out.Deliver(ctx, batch)
		if err != nil {
			// Cancelled: what is not confirmed stays undelivered. Its file
			// lines are read again at the next start, its spooled records too.
			return
		}
		p.delivered = append(p.delivered, deliveredBatch{id: id, marks: marks(lines), spool: p.sp.Cursor(), read: p.batchRead})
		p.batchRead = time.Time{}
		p.checkpoint()
	}
}

// marks keeps, of a batch's file lines, the last of each run from one
// file: all a checkpoint needs, without holding the lines' text while the
// batch waits for its confirmation.
func marks(lines []tail.Line) []lineMark {
	var out []lineMark
	for i, l := range lines {
		if i+1 < len(lines) && lines[i+1].ID == l.ID && lines[i+1].Path == l.Path {
			continue
		}
		out = append(out, lineMark{id: l.ID, path: l.Path, offset: l.Offset, seq: l.Seq})
	}
	return out
}

// collect waits for the first record, then takes what else is ready, up
// to maxBatch or until batchWait passes without more. It sets batchRead
// to when the batch's first record was read: its lines' when they came
// from lines, its socket messages' when they came from the spool (the
// spool keeps no time of its own, so a message spooled while another
// batch was in flight counts from the moment this batch took it).
func (p *pipeline) collect(ctx context.Context, stopping <-chan struct{}) ([]syslogd.Record, []tail.Line, error) {
	var batch []syslogd.Record
	var lines []tail.Line
	var read time.Time
	readAt := func(t time.Time) {
		if read.IsZero() || t.Before(read) {
			read = t
		}
	}
	defer func() { p.batchRead = read }()
	batch = p.announceDrops(batch)
	spooled, err := p.sp.Read(maxBatch)
	batch = append(batch, spooled...)
	if len(batch) > 0 {
		readAt(time.Now())
	}
	take := func(ls []tail.Line, at time.Time) {
		n := min(len(ls), maxBatch-len(batch))
		now := time.Now()
		for i := range ls[:n] {
			batch = append(batch, p.fileRecord(&ls[i], now))
		}
		if n > 0 {
			readAt(at)
		}
		lines = append(lines, ls[:n]...)
		p.leftover, p.leftoverRead = ls[n:], at
	}
	if len(p.leftover) > 0 && len(batch) < maxBatch {
		take(p.leftover, p.leftoverRead)
	}
	// With batches awaiting confirmation, do not wait long for a record:
	// an idle pass checks the connection and checkpoints them.
	first := time.Hour
	if len(p.delivered) > 0 {
		first = confirmPoll
	}
	timer := time.NewTimer(first)
	defer timer.Stop()
	for len(batch) < maxBatch && len(p.leftover) == 0 {
		if len(batch) > 0 {
			timer.Reset(batchWait)
		}
		select {
		case <-ctx.Done():
			return batch, lines, err
		case <-stopping:
			return batch, lines, err
		case ls := <-p.lines:
			take(ls, time.Now())
			continue
		case <-p.sp.Ready():
			more, rerr := p.sp.Read(maxBatch - len(batch))
			batch, err = append(batch, more...), errors.Join(err, rerr)
			if len(more) > 0 {
				readAt(time.Now())
			}
			continue
		case <-p.alarm:
			n := len(batch)
			if batch = p.announceDrops(batch); len(batch) > n {
				readAt(time.Now())
			}
			continue
		case <-timer.C:
		}
		break
	}
	return batch, lines, err
}

// drainFor bounds a clean stop's wait for the last confirmations: the
// output's Finish (a graceful close whose answer is the evidence) takes
// at most 2 s.
const drainFor = 3 * time.Second

// drain confirms what was written before a clean stop, so that the next
// start repeats nothing: the output closes gracefully (TCP: the collector
// reads to our end and closes; RELP: it answers our close after all else),
// and what that confirms is checkpointed.
func (p *pipeline) drain(ctx context.Context) {
	if len(p.delivered) == 0 {
		return
	}
	if err := p.out.Finish(ctx); err != nil {
		p.log.Info("loghost did not confirm the last messages before the stop; they are sent again at the next start",
			"unconfirmed", p.out.Unconfirmed(), "err", err)
	}
	p.checkpoint()
}

// announceDrops adds to batch the line ESXi sends when its queue dropped
// messages, for the drops not announced yet. It goes straight into the
// batch, not through the spool that refused them: it is sent within
// moments, and if it is lost with a crash the numbering's gap still shows.
func (p *pipeline) announceDrops(batch []syslogd.Record) []syslogd.Record {
	n := p.dropped.Load()
	if n <= p.marked {
		return batch
	}
	damaged := ""
	if d := p.sp.Damaged(); d > 0 {
		damaged = fmt.Sprintf(" (%d damaged records skipped in all)", d)
	}
	batch = append(batch, syslogd.Record{Time: time.Now(), Hostname: p.files.hostname, AppName: "hostagent", MsgID: "DROPPED",
		Facility: 5, Severity: 4, Source: "hostagent", Seq: p.nextSeq("hostagent"),
		Message: fmt.Sprintf("%d messages dropped: the spool for %s could not take them (full, or the disk is)%s", n-p.marked, p.host, damaged)})
	p.marked = n
	return batch
}

func (p *pipeline) fileRecord(l *tail.Line, now time.Time) syslogd.Record {
	// Lines come in runs from one file: what depends on the file alone
	// (its input, app-name, sequence key) is worked out once per run.
	if l.Path != p.last.path || l.ID != p.last.id {
		in := p.files.match(l.Path)
		p.last = lineSource{path: l.Path, id: l.ID, in: in, app: in.appName(l.Path)}
	}
	src := &p.last
	return syslogd.Record{Time: now, Hostname: p.files.hostname, AppName: src.app,
		Facility: src.in.facility, Severity: src.in.severity, Message: l.Text, Source: l.Path, SourceID: l.Source,
		Offset: l.Offset, Seq: l.Seq}
}

// lineSource is what the pipeline worked out for the file of its last line.
type lineSource struct {
	path string
	id   tail.FileID
	in   fileInput
	app  string
}

// checkpoint takes the confirmed batches: their files' positions move in
// memory now, and the saver writes them, the sequence numbers and the
// spool's position shortly after.
func (p *pipeline) checkpoint() {
	defer p.noteOldest()
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
	moved := false
	for _, b := range done {
		for _, m := range b.marks {
			p.pos.Set(m.id, m.path, m.offset, m.seq)
			moved = true
		}
	}
	p.saveMu.Lock()
	p.spoolMark, p.spoolMarked = done[len(done)-1].spool, true
	p.posDirty = p.posDirty || moved
	p.saveMu.Unlock()
	select {
	case p.saveWake <- struct{}{}:
	default:
	}
}

// noteOldest publishes, for Status, the read time of the oldest record
// not yet confirmed: batches are read in order, so it is the first
// delivered batch's, else the one in flight's, else the lines left over.
func (p *pipeline) noteOldest() {
	var t time.Time
	switch {
	case len(p.delivered) > 0:
		t = p.delivered[0].read
	case !p.batchRead.IsZero():
		t = p.batchRead
	case len(p.leftover) > 0:
		t = p.leftoverRead
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	p.oldest.Store(ns)
}

// oldestUnsent is what noteOldest published; zero when nothing waits.
func (p *pipeline) oldestUnsent() time.Time {
	if ns := p.oldest.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// saver writes checkpoints when there are new ones, at most every
// saveEvery, off the delivering goroutine.
func (p *pipeline) saver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.saveWake:
		}
		p.save()
		select {
		case <-ctx.Done():
			return
		case <-time.After(saveEvery):
		}
	}
}

// save writes what checkpoint took: the socket sources' sequence numbers
// first, then the spool's position, so that a crash between the two can
// repeat messages but never give a number twice; then the files'
// positions (their numbers are saved with them).
func (p *pipeline) save() {
	p.saveMu.Lock()
	mark, marked, posDirty := p.spoolMark, p.spoolMarked, p.posDirty
	p.spoolMarked, p.posDirty = false, false
	p.saveMu.Unlock()

	p.mu.Lock()
	var seq *seqFile
	if p.seqVersion != p.seqSaved {
		seq = &seqFile{Next: make(map[string]uint64, len(p.seq))}
		for k, v := range p.seq {
			seq.Next[k] = v
		}
	}
	version := p.seqVersion
	p.mu.Unlock()
	if seq != nil {
		if err := configstore.Save(filepath.Join(p.dir, "sequence.toml"), seq, 0o640, "Sequence numbers per socket source, for this loghost."); err != nil {
			p.log.Warn("sequence numbers not saved; the spool keeps its position until they are", "err", err)
			p.remark(mark, marked)
			marked = false
		} else {
			p.mu.Lock()
			p.seqSaved = version
			p.mu.Unlock()
		}
	}
	if marked {
		if err := p.sp.CommitTo(mark); err != nil {
			p.log.Warn("spool position not saved; messages may be sent again after a restart", "err", err)
			p.remark(mark, marked)
		}
	}
	if posDirty {
		if err := p.pos.Save(); err != nil {
			p.log.Warn("file positions not saved; lines may be sent again after a restart", "err", err)
			p.saveMu.Lock()
			p.posDirty = true // try again with the next checkpoint
			p.saveMu.Unlock()
		}
	}
}

// remark keeps a spool position that could not be written for the next
// save, unless a newer one came meanwhile.
func (p *pipeline) remark(mark spool.Cursor, marked bool) {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	if marked && !p.spoolMarked {
		p.spoolMark, p.spoolMarked = mark, true
	}
}

func (p *pipeline) close() {
	p.out.Close()
	p.sp.Close()
}
