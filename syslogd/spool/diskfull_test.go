//go:build linux

package spool

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"hostagent/internal/peertest"
)

// TestDiskFull fills a real file system: Appends fail with ENOSPC (some
// in the middle of a record, as records cross page boundaries), nothing
// is left of the failed ones, and once space is freed the next record is
// read back whole after every record appended before.
func TestDiskFull(t *testing.T) {
	disk := peertest.SmallDisk(t, "256k")
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, make([]byte, 128<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(disk, "spool")
	s, err := Open(dir, 1<<20) // larger than the disk: the disk fills first
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var stored []int
	failures := 0
	for i := 1; failures < 3; i++ {
		if i > 10000 {
			t.Fatal("a 256 KiB disk never filled")
		}
		r := rec(i)
		r.Message += strings.Repeat("y", 1000+i*37%3000) // records of varied sizes, across pages
		err := s.Append(r)
		switch {
		case err == nil:
			stored = append(stored, i)
		case errors.Is(err, syscall.ENOSPC):
			failures++ // a smaller record may still fit: try a few
		default:
			t.Fatalf("Append %d: %v", i, err)
		}
	}
	if len(stored) == 0 {
		t.Fatal("nothing stored before the disk filled")
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	after := rec(99999)
	if err := s.Append(after); err != nil {
		t.Fatalf("Append with space freed: %v", err)
	}
	check := func(s *Spool) {
		t.Helper()
		got := readAll(t, s)
		if len(got) != len(stored)+1 {
			t.Fatalf("read %d records, want the %d stored and the one after", len(got), len(stored)+1)
		}
		for k, i := range stored {
			if got[k].Seq != uint64(i) || !strings.HasPrefix(got[k].Message, rec(i).Message) {
				t.Fatalf("record %d: %+v, want number %d", k, got[k], i)
			}
		}
		if got[len(got)-1] != after {
			t.Fatalf("the record after the disk was full came back as %+v", got[len(got)-1])
		}
		if s.Damaged() != 0 {
			t.Errorf("%d damaged records", s.Damaged())
		}
	}
	check(s)
	if s.Size() != diskUse(t, dir) {
		t.Errorf("size %d, %d on disk", s.Size(), diskUse(t, dir))
	}
	s.Close()
	s, err = Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	check(s) // nothing committed: all of it again after a restart
}
