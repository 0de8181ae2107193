package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"hostagent/syslogd"
)

// FuzzOpenRead opens a spool whose directory holds an arbitrary segment
// file and cursor.toml (what a crash or a disk error can leave), then
// reads it to the end. Open and Read must not panic; Read must end (each
// call either hands out records or none, never more than the segment has
// lines and record starts) and after a Commit a reopened spool must not hand anything out
// again. A Read error ends the reading (see readToEnd).
func FuzzOpenRead(f *testing.F) {
	line := func(r syslogd.Record) string {
		dir := f.TempDir()
		s, err := Open(dir, 1<<20)
		if err != nil {
			f.Fatal(err)
		}
		if err := s.Append(r); err != nil {
			f.Fatal(err)
		}
		s.Close()
		b, err := os.ReadFile(filepath.Join(dir, "00000001.jsonl"))
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	one, two := line(rec(1)), line(rec(2))
	for _, c := range []struct {
		seg    uint16
		data   string
		cursor string
	}{
		{1, one + two, ""},
		{1, one + two, "segment = 1\noffset = " + itoa(len(one)) + "\n"},
		{1, one + two[:10], ""},
		{3, one, "segment = 2\noffset = 0\n"},
		{1, one, "segment = 5\noffset = 3\n"},
		{1, one, "segment = 1\noffset = -5\n"},
		{1, one, "segment = 1\noffset = 999999\n"},
		{1, one, "segment = -3\noffset = 7\n"},
		{1, "{\n}\nnot json\n" + one, "segment = 1\n"},
		{1, `{"t":"yesterday","f":300,"s":9,"m":"x"}` + "\n", ""},
		{0, one, ""},
		{1, one, "segment = \"x\"\n"},
		{1, one, "bogus = 1\n"},
		{2, "\n\n\n", "segment = 9223372036854775807\noffset = 9223372036854775807\n"},
		// Torn and damaged content: a torn record glued to the next, junk
		// and zeros before a record, two records on one line, a torn end.
		{1, one[:20] + two, ""},
		{1, one + "\x00\x00\x00" + two + "garbage\n", ""},
		{1, one[:len(one)-1] + two[:len(two)-1] + one, "segment = 1\noffset = " + itoa(len(one)-1) + "\n"},
		{1, "{\"{\"{\"\n" + one + `{"m":1}` + "\n" + two[:7], ""},
		{1, one, "segment = 1000000000001\n"},
	} {
		f.Add(c.seg, []byte(c.data), []byte(c.cursor))
	}
	f.Fuzz(func(t *testing.T, seg uint16, data, cursorData []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmtSegment(seg)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if len(cursorData) > 0 {
			if err := os.WriteFile(filepath.Join(dir, cursorFile), cursorData, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := Open(dir, 1<<20)
		if err != nil {
			return // a damaged cursor is reported, not guessed at
		}
		// Records start with {" (or are damaged ones such as {}), each on a
		// line or glued to others: there can be no more than this.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte(`{"`))
		total := readToEnd(t, s, lines)
		if err := s.Commit(); err != nil {
			t.Fatalf("Commit after reading %d records: %v", total, err)
		}
		s.Close()
		s, err = Open(dir, 1<<20)
		if err != nil {
			t.Fatalf("reopen after Commit: %v", err)
		}
		defer s.Close()
		// An error here is tolerated: a cursor.toml offset the spool cannot
		// seek to (negative, beyond what the file system allows) makes every
		// Read fail, which is reported, not looped on.
		if got, err := s.Read(10); len(got) != 0 {
			t.Fatalf("after a Commit of everything, a reopened spool handed out %d records again (%v): %+v", len(got), err, got)
		}
	})
}

// readToEnd calls Read until it hands out nothing, failing if that takes
// longer than the segment's lines allow or than a few seconds.
func readToEnd(t *testing.T, s *Spool, lines int) int {
	t.Helper()
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		total := 0
		for calls := 0; ; calls++ {
			if calls > lines+2 {
				done <- result{total, errLoop}
				return
			}
			recs, err := s.Read(3)
			if err != nil {
				done <- result{total, nil} // an error ends the reading too
				return
			}
			if len(recs) == 0 {
				done <- result{total, nil}
				return
			}
			for _, r := range recs {
				if !utf8.ValidString(r.Message) {
					done <- result{total, errInvalidText}
					return
				}
			}
			total += len(recs)
			if total > lines {
				done <- result{total, errTooMany}
				return
			}
		}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("reading a spool of %d lines: %v after %d records", lines, r.err, r.n)
		}
		return r.n
	case <-time.After(5 * time.Second):
		t.Fatalf("Read did not return within 5s on a spool of %d lines", lines)
		return 0
	}
}

type fuzzErr string

func (e fuzzErr) Error() string { return string(e) }

const (
	errLoop        = fuzzErr("Read keeps handing out records")
	errTooMany     = fuzzErr("more records than lines")
	errInvalidText = fuzzErr("a record's message is not valid UTF-8")
)

func fmtSegment(n uint16) string {
	// Numbers the spool writes, and occasionally names it must ignore.
	switch n {
	case 0:
		return "00000000.jsonl"
	case 0xffff:
		return "x.jsonl"
	}
	return (&Spool{}).segmentPath(int(n))
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}

// FuzzAppendRead checks that a Record as the inputs make it (valid UTF-8
// text, a timestamp of years 0 to 9999) comes back from the spool as it
// was appended.
func FuzzAppendRead(f *testing.F) {
	r := rec(1)
	f.Add(r.Time.UnixNano(), r.Hostname, r.AppName, "", "", r.Message, r.Source, "", uint8(1), uint8(5), uint64(1), 0)
	f.Add(int64(0), "", "", "", "", "", "", "", uint8(0), uint8(0), uint64(0), 0)
	f.Add(int64(-1), "h", "a", "123", "ID", "line\nwith\ttabs \u2028 and \"quotes\" \\ {\"m\":\"x\"}", "unix:/dev/log", "fd01:17:0123abcd", uint8(23), uint8(7), ^uint64(0), 3)
	f.Fuzz(func(t *testing.T, nanos int64, host, app, proc, msgid, msg, src, srcID string, fac, sev uint8, seq uint64, part int) {
		for _, s := range []string{host, app, proc, msgid, msg, src, srcID} {
			if !utf8.ValidString(s) {
				return // the inputs escape text to valid UTF-8 before the spool
			}
		}
		in := syslogd.Record{Hostname: host, AppName: app, ProcID: proc, MsgID: msgid, Message: msg, Source: src,
			Facility: syslogd.Facility(fac % 24), Severity: syslogd.Severity(sev % 8), Seq: seq, SourceID: srcID, Part: part}
		if nanos != 0 {
			in.Time = time.Unix(0, nanos).In(time.FixedZone("x", int(nanos%50400)/60*60))
		}
		s, err := Open(t.TempDir(), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Append(in); err != nil {
			t.Fatalf("Append: %v", err)
		}
		out, err := s.Read(5)
		if err != nil || len(out) != 1 {
			t.Fatalf("Read = %d records, %v", len(out), err)
		}
		got := out[0]
		if !got.Time.Equal(in.Time) {
			t.Fatalf("time %v came back as %v", in.Time, got.Time)
		}
		got.Time = in.Time
		if got != in {
			t.Fatalf("record changed in the spool:\nin  %+v\nout %+v", in, got)
		}
	})
}

// FuzzDamagedSegment writes n records (over one or two segments), tears
// record k (cuts it at cut, with its newline, as a failed or interrupted
// write does), puts junk where it was cut, and reads the spool in batches
// of batch records, committing and reopening after the first batch. Every
// record but k must come back whole and in order: damage never takes a
// following record with it. Without junk, the torn record counts as one
// damaged record exactly.
func FuzzDamagedSegment(f *testing.F) {
	f.Add(uint8(5), uint8(2), uint16(30), []byte(nil), uint8(0), uint8(3))
	f.Add(uint8(5), uint8(4), uint16(30), []byte(nil), uint8(0), uint8(1))
	f.Add(uint8(6), uint8(2), uint16(9999), []byte(nil), uint8(3), uint8(2))
	f.Add(uint8(6), uint8(2), uint16(40), []byte(nil), uint8(3), uint8(2))
	f.Add(uint8(3), uint8(0), uint16(12), []byte("\x00\x00\x00\x00"), uint8(0), uint8(1))
	f.Add(uint8(3), uint8(1), uint16(1), []byte(`","z":`), uint8(0), uint8(4))
	f.Add(uint8(4), uint8(1), uint16(50), []byte(`{"m":"x"}{"`), uint8(2), uint8(1))
	f.Add(uint8(4), uint8(1), uint16(0), []byte("\n\n{\"\n"), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, n, k uint8, cut uint16, junk []byte, split, batch uint8) {
		count := int(n%20) + 1
		torn := int(k) % count
		at := int(split) % (count + 1) // records [0, at) in segment 1, the rest in segment 2
		if at == 0 {
			at = count
		}
		size := int(batch%5) + 1
		var recs []syslogd.Record
		var segs [2][]byte
		for i := range count {
			r := rec(i + 1)
			r.Message = fmt.Sprintf(`message %d {"m":"not a record"} \" "`, i+1)
			r.SourceID, r.Part = "dev:ino:fp", i%3
			recs = append(recs, r)
			line, err := json.Marshal(toStored(r))
			if err != nil {
				t.Fatal(err)
			}
			seg := 0
			if i >= at {
				seg = 1
			}
			if i == torn {
				c := min(int(cut), len(line))
				line = append(line[:c:c], junk...)
			} else {
				line = append(line, '\n')
			}
			segs[seg] = append(segs[seg], line...)
		}
		dir := t.TempDir()
		for i, data := range segs {
			if i == 0 || at < count {
				if err := os.WriteFile(filepath.Join(dir, fmtSegment(uint16(i+1))), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		s, err := Open(dir, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var got []syslogd.Record
		first, err := s.Read(size)
		if err != nil || len(first) > size {
			t.Fatalf("Read(%d) = %d records, %v", size, len(first), err)
		}
		got = append(got, first...)
		if err := s.Commit(); err != nil {
			t.Fatal(err)
		}
		damaged := s.Damaged()
		s.Close()
		if s, err = Open(dir, 1<<20); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for calls := 0; ; calls++ {
			if calls > 3*count+len(junk)+2 {
				t.Fatal("Read keeps handing out records")
			}
			b, err := s.Read(size)
			if err != nil || len(b) > size {
				t.Fatalf("Read(%d) = %d records, %v", size, len(b), err)
			}
			if len(b) == 0 {
				break
			}
			got = append(got, b...)
		}
		damaged += s.Damaged()
		// Every record but the torn one, in order, among what was read.
		j := 0
		for i, r := range recs {
			if i == torn {
				continue
			}
			for j < len(got) && got[j] != r {
				j++
			}
			if j == len(got) {
				t.Fatalf("record %d of %d lost (record %d torn at %d, junk %q, %d in segment 1); read %d: %+v",
					i+1, count, torn+1, cut, junk, at, len(got), got)
			}
			j++
		}
		if len(junk) == 0 {
			line, _ := json.Marshal(toStored(recs[torn]))
			c := min(int(cut), len(line))
			want := uint64(0)
			switch {
			case c > 0 && c < len(line):
				want = 1 // a prefix of a record
			case c == len(line) && torn == count-1:
				want = 1 // a whole record without its newline at the end: Open cuts it as torn
			}
			if damaged != want {
				t.Errorf("%d damaged, want %d (record %d of %d cut at %d of %d)", damaged, want, torn+1, count, c, len(line))
			}
		}
	})
}

// toStored is a Record as Append stores it.
func toStored(r syslogd.Record) record {
	return record{Time: r.Time.Format("2006-01-02T15:04:05.999999999Z07:00"), Hostname: r.Hostname, AppName: r.AppName,
		ProcID: r.ProcID, MsgID: r.MsgID, Facility: uint8(r.Facility), Severity: uint8(r.Severity), Message: r.Message,
		Source: r.Source, SourceID: r.SourceID, Seq: r.Seq, Part: r.Part}
}
