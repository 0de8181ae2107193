package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/syslogd"
)

func rec(i int) syslogd.Record {
	return syslogd.Record{Time: time.Date(2026, 11, 25, 17, 0, 0, i, time.UTC), Hostname: "esx01", AppName: "syslog",
		Facility: 1, Severity: 5, Message: fmt.Sprintf("message %d with \"quotes\" and \x00 bytes", i), Source: "unix:/dev/log", Seq: uint64(i)}
}

func open(t *testing.T, dir string, max int64) *Spool {
	t.Helper()
	s, err := Open(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	s.segmentSize = 1000 // several segments in a small test
	t.Cleanup(func() { s.Close() })
	return s
}

func readAll(t *testing.T, s *Spool) []syslogd.Record {
	t.Helper()
	var out []syslogd.Record
	for {
		b, err := s.Read(7)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			return out
		}
		out = append(out, b...)
	}
}

func TestFIFOAcrossSegmentsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	for i := 1; i <= 100; i++ {
		if err := s.Append(rec(i)); err != nil {
			t.Fatal(err)
		}
	}
	got := readAll(t, s)
	if len(got) != 100 || got[0] != rec(1) || got[99] != rec(100) {
		t.Fatalf("read %d records, first %+v", len(got), got[0])
	}
	// Nothing committed: a restart reads everything again (at least once).
	s.Close()
	s = open(t, dir, 1<<20)
	b, _ := s.Read(40)
	if len(b) != 40 || b[0].Seq != 1 {
		t.Fatalf("after restart: %d records from %d", len(b), b[0].Seq)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, 1<<20)
	rest := readAll(t, s)
	if len(rest) != 60 || rest[0].Seq != 41 {
		t.Fatalf("after commit and restart: %d records from %d", len(rest), rest[0].Seq)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(segs) != 1 {
		t.Errorf("%d segments left after everything was delivered", len(segs))
	}
}

func TestRewindRereadsUndelivered(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20)
	for i := 1; i <= 5; i++ {
		_ = s.Append(rec(i))
	}
	b, _ := s.Read(3)
	s.Rewind() // the batch could not be delivered
	again, _ := s.Read(3)
	if b[0] != again[0] || len(again) != 3 {
		t.Errorf("rewind: %v then %v", b, again)
	}
}

func TestFullSpoolRefusesThenMakesRoom(t *testing.T) {
	s := open(t, t.TempDir(), 3000)
	n := 0
	for ; n < 1000; n++ {
		if err := s.Append(rec(n + 1)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || n == 1000 || s.Size() > 3000 {
		t.Fatalf("appended %d before full, size %d", n, s.Size())
	}
	readAll(t, s)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rec(5000)); err != nil {
		t.Errorf("no room after delivery: %v (size %d)", err, s.Size())
	}
}

func TestTornRecordIsCut(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	_ = s.Append(rec(1))
	s.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	f, _ := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"m":"half a rec`) // killed in the middle of a write
	f.Close()
	s = open(t, dir, 1<<20)
	_ = s.Append(rec(2))
	got := readAll(t, s)
	if len(got) != 2 || got[1].Seq != 2 {
		t.Errorf("after a torn write: %+v", got)
	}
}

func TestReadyAfterAppend(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20)
	_ = s.Append(rec(1))
	select {
	case <-s.Ready():
	default:
		t.Error("no signal after Append")
	}
}

func TestSegmentSizeFollowsMax(t *testing.T) {
	for _, c := range []struct{ max, seg int64 }{
		{1 << 10, 64 << 10}, {1 << 20, 256 << 10}, {8 << 20, 2 << 20}, {256 << 20, 4 << 20}, {64 << 30, 4 << 20},
	} {
		if got := segmentSizeFor(c.max); got != c.seg {
			t.Errorf("segment size for a spool of %d: %d, want %d", c.max, got, c.seg)
		}
	}
}

// TestSmallSpoolNeverFillsWithDelivered is the spool_max under 4 MiB case
// of issue 8: with the collector keeping up, a 1 MiB spool takes three times
// its size of messages without refusing one, Size counts what is queued
// only, and the disk holds at most the limit plus a segment.
func TestSmallSpoolNeverFillsWithDelivered(t *testing.T) {
	dir := t.TempDir()
	const max = 1 << 20
	s, err := Open(dir, max)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	written := 0
	for i := 1; written < 3*max; i++ {
		r := rec(i)
		r.Message += strings.Repeat("x", 200)
		if err := s.Append(r); err != nil {
			t.Fatalf("record %d refused after %d bytes with everything before delivered: %v (size %d)", i, written, err, s.Size())
		}
		written += 300
		if i%50 == 0 {
			if got := readAll(t, s); len(got) != 50 || got[49].Seq != uint64(i) {
				t.Fatalf("read %d records up to %+v", len(got), got[len(got)-1])
			}
			if err := s.Commit(); err != nil {
				t.Fatal(err)
			}
			if s.Size() != 0 {
				t.Fatalf("size %d with everything delivered", s.Size())
			}
			if d := diskUse(t, dir); d > max+segmentSizeFor(max) {
				t.Fatalf("%d bytes on disk for a spool of %d", d, max)
			}
		}
	}
}

func diskUse(t *testing.T, dir string) int64 {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var n int64
	for _, p := range segs {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += st.Size()
	}
	return n
}

// TestFullCountsOnlyQueued: a full spool takes new records as soon as
// some are committed, though the committed bytes are still on disk.
func TestFullCountsOnlyQueued(t *testing.T) {
	s := open(t, t.TempDir(), 5000)
	s.segmentSize = 1 << 20 // one segment: the committed head stays on disk
	var lens []int64
	for i := 1; ; i++ {
		before := s.Size()
		if err := s.Append(rec(i)); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		lens = append(lens, s.Size()-before)
	}
	if s.Size() > 5000 || s.Size()+lens[0] <= 5000 {
		t.Fatalf("full at %d bytes of 5000, records of %d", s.Size(), lens[0])
	}
	full := s.Size()
	if b, _ := s.Read(3); len(b) != 3 {
		t.Fatalf("read %d", len(b))
	}
	if err := s.Append(rec(100)); !errors.Is(err, ErrFull) {
		t.Fatalf("read but not committed records made room: %v", err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if want := full - lens[0] - lens[1] - lens[2]; s.Size() != want {
		t.Fatalf("size %d after committing 3 records, want %d", s.Size(), want)
	}
	for i := 0; i < 3; i++ {
		if err := s.Append(rec(101 + i)); err != nil {
			t.Fatalf("no room after committing 3 records, append %d: %v (size %d)", i, err, s.Size())
		}
	}
}

// TestDeliveredSegmentIsDeleted: a segment delivered entirely is replaced
// by a new one at the next append (once it is worth it), and deleted.
func TestDeliveredSegmentIsDeleted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	for i := 1; i <= 3; i++ {
		_ = s.Append(rec(i)) // above a quarter of the 1000-byte segments
	}
	readAll(t, s)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = s.Append(rec(4))
	segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(segs) != 1 || filepath.Base(segs[0]) != "00000002.jsonl" {
		t.Fatalf("segments after delivering the first: %v", segs)
	}
	if got := readAll(t, s); len(got) != 1 || got[0] != rec(4) {
		t.Fatalf("read %+v", got)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, 1<<20)
	_ = s.Append(rec(5))
	if got := readAll(t, s); len(got) != 1 || got[0] != rec(5) {
		t.Fatalf("after a restart, read %+v", got)
	}
}

// failingFile fails writes as a full disk does: it writes short bytes of
// the next write, then returns ENOSPC; cutting fails too if cutFails.
type failingFile struct {
	*os.File
	fail     bool
	short    int
	cutFails bool
}

func (f *failingFile) Write(b []byte) (int, error) {
	if !f.fail {
		return f.File.Write(b)
	}
	f.fail = false
	n, _ := f.File.Write(b[:min(f.short, len(b))])
	return n, syscall.ENOSPC
}

func (f *failingFile) Truncate(size int64) error {
	if f.cutFails {
		return syscall.EIO
	}
	return f.File.Truncate(size)
}

// TestFailedWriteLeavesNoHalfRecord: a short write is cut back, or if
// that fails too, the next record starts on a line of its own; either way
// the next record comes back whole, and the torn one, whose Append
// returned the error (the caller's drop), is not counted as damaged.
func TestFailedWriteLeavesNoHalfRecord(t *testing.T) {
	for _, cutFails := range []bool{false, true} {
		for _, short := range []int{0, 1, 30} {
			t.Run(fmt.Sprintf("cutFails=%v,short=%d", cutFails, short), func(t *testing.T) {
				dir := t.TempDir()
				s := open(t, dir, 1<<20)
				_ = s.Append(rec(1))
				f := &failingFile{File: s.w.(*os.File), fail: true, short: short, cutFails: cutFails}
				s.w = f
				if err := s.Append(rec(2)); !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("Append on a full disk: %v", err)
				}
				if cutFails && short > 0 {
					// A second failure, on the newline and part of the next
					// record, is handled the same way.
					f.fail, f.short = true, 5
					if err := s.Append(rec(3)); !errors.Is(err, syscall.ENOSPC) {
						t.Fatalf("second Append on a full disk: %v", err)
					}
				}
				if err := s.Append(rec(4)); err != nil {
					t.Fatal(err)
				}
				got := readAll(t, s)
				if len(got) != 2 || got[0] != rec(1) || got[1] != rec(4) {
					t.Fatalf("read %+v", got)
				}
				if s.Damaged() != 0 {
					t.Errorf("%d damaged: a failed Append is the caller's drop, not damage", s.Damaged())
				}
				data, _ := os.ReadFile(filepath.Join(dir, "00000001.jsonl"))
				if st, _ := os.Stat(filepath.Join(dir, "00000001.jsonl")); s.Size() != st.Size() {
					t.Errorf("size %d, segment %d bytes", s.Size(), st.Size())
				}
				if !cutFails && bytes.Count(data, []byte("\n")) != 2 {
					t.Errorf("segment after a cut write:\n%s", data)
				}
				// After a restart, the same: the torn piece is damage now,
				// as nothing says it was counted already.
				s.Close()
				s = open(t, dir, 1<<20)
				if got := readAll(t, s); len(got) != 2 || got[1] != rec(4) {
					t.Fatalf("after restart, read %+v", got)
				}
			})
		}
	}
}

// TestDamagedLinesDoNotSwallowRecords: a torn record glued to the next
// one, junk, zeros (what a crash can leave on some file systems) and a
// torn end of an older segment are skipped and counted once each, and
// every whole record around them is read.
func TestDamagedLinesDoNotSwallowRecords(t *testing.T) {
	dir := t.TempDir()
	line := func(i int) string {
		b, err := json.Marshal(record{Message: rec(i).Message, Seq: uint64(i), Facility: 1, Severity: 5})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	seg1 := line(1) + "\n" + line(2)[:25] + line(3) + "\n" + "junk\n\n" + strings.Repeat("\x00", 40) + line(4) + "\n" +
		line(5) + line(6) + "\n" + `{"m":"x","q":` + "\n" + line(7)[:10] // torn end, then segment 2
	seg3 := line(8) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "00000001.jsonl"), []byte(seg1), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "00000003.jsonl"), []byte(seg3), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, 1<<20)
	var seqs []uint64
	for {
		b, err := s.Read(1) // one at a time: a position inside a line of several
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			break
		}
		if len(b) > 1 {
			t.Fatalf("Read(1) returned %d records", len(b))
		}
		seqs = append(seqs, b[0].Seq)
	}
	if fmt.Sprint(seqs) != "[1 3 4 5 6 8]" {
		t.Errorf("read %v, want [1 3 4 5 6 8]", seqs)
	}
	// 2 torn, junk, zeros, the unfinished {"m", 7 torn at a segment's end.
	if s.Damaged() != 5 {
		t.Errorf("%d damaged, want 5", s.Damaged())
	}
	s.Rewind()
	if got := readAll(t, s); len(got) != 6 || s.Damaged() != 5 {
		t.Errorf("after Rewind, %d records and %d damaged: damage is counted once", len(got), s.Damaged())
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(segs) != 1 {
		t.Errorf("segments left after delivering all: %v", segs)
	}
}

func TestTornTailIsCutAndCounted(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	_ = s.Append(rec(1))
	s.Close()
	f, _ := os.OpenFile(filepath.Join(dir, "00000001.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"m":"half a rec`)
	f.Close()
	s = open(t, dir, 1<<20)
	if s.Damaged() != 1 {
		t.Errorf("%d damaged after cutting a torn record", s.Damaged())
	}
	if s.Size() != diskUse(t, dir) {
		t.Errorf("size %d, %d on disk", s.Size(), diskUse(t, dir))
	}
}

// TestRecordKeepsItsSource: the source's identity and the part number
// come back from the spool.
func TestRecordKeepsItsSource(t *testing.T) {
	s := open(t, t.TempDir(), 1<<20)
	in := rec(7)
	in.SourceID, in.Part = "fd01:1234:ab12cd34", 2
	if err := s.Append(in); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s); len(got) != 1 || got[0] != in {
		t.Fatalf("read %+v, want %+v", got, in)
	}
}

// TestQueuedSeqs: after a restart, the highest number per source among
// the records not yet delivered.
func TestQueuedSeqs(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	if q := s.QueuedSeqs(); len(q) != 0 {
		t.Fatalf("an empty spool: %v", q)
	}
	add := func(src string, seq uint64) {
		r := rec(1)
		r.Source, r.Seq = src, seq
		if err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	add("unix:/dev/log", 5)
	add("hostagent", 9)
	if err := func() error { _, err := s.Read(2); return err }(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	for i := uint64(6); i < 40; i++ { // across segments
		add("unix:/dev/log", i)
	}
	add("hostagent", 10)
	add("unix:/dev/log", 3) // numbers need not grow in the spool
	s.Close()
	s = open(t, dir, 1<<20)
	if q := s.QueuedSeqs(); len(q) != 2 || q["unix:/dev/log"] != 39 || q["hostagent"] != 10 {
		t.Errorf("QueuedSeqs = %v", q)
	}
	readAll(t, s)
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, 1<<20)
	if q := s.QueuedSeqs(); len(q) != 0 {
		t.Errorf("QueuedSeqs with everything delivered: %v", q)
	}
}

// TestGapBetweenSegments: a segment missing in the middle (deleted by
// hand) does not stop the queue.
func TestGapBetweenSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1<<20)
	for i := 1; i <= 30; i++ {
		_ = s.Append(rec(i))
	}
	s.Close()
	if err := os.Remove(filepath.Join(dir, "00000002.jsonl")); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, 1<<20)
	got := readAll(t, s)
	if len(got) == 0 || got[len(got)-1] != rec(30) {
		t.Fatalf("read %d records, the last %+v", len(got), got[len(got)-1])
	}
	if err := s.Commit(); err != nil {
		t.Fatal(err)
	}
	if s.Size() != 0 {
		t.Errorf("size %d after delivering all", s.Size())
	}
}
