package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
