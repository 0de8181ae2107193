package tail

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// Copytruncate seen while the file was empty: the content that follows
// starts with a fingerprint of nothing, which matches every copy and
// every later content. Both tests lost a whole generation silently before
// the fingerprint grew with the bytes read and truncated looked again for
// copies made while it read the previous one.

// TestCopytruncateAfterEmptyLookWhileReading: the truncation is seen
// while the file is empty; the next content is written while the rest of
// the old one is read from its copy, so the reader starts on it with the
// fingerprint of nothing and reads its first 64 KiB at once, waiting on
// the consumer; that content is copied and truncated, and the one after it
// grows past the reader's offset before the reader looks again.
func TestCopytruncateAfterEmptyLookWhileReading(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{CopyTruncate: true, Rotate: 5}, path)
	first := numbered("line", 0, 10000)
	appendFile(t, path, first)
	f := startFollow(t, testConfig(dir), nil)
	got := f.next(1, 5*time.Second) // the first 64 KiB read; waiting on us
	lr.Run(t)
	inFirstRead := bytes.Count([]byte(first[:readChunk]), []byte{'\n'})
	got = append(got, f.next(inFirstRead-1, 5*time.Second)...)
	time.Sleep(6 * testPoll) // truncation seen, file empty; the copy is being read
	appendFile(t, path, numbered("line", 10000, 20000))
	// The rest of the copy, and one line of the new content: its first
	// 64 KiB are read, the reader waits on us.
	got = append(got, f.next(10001-len(got), 5*time.Second)...)
	lr.Run(t)
	appendFile(t, path, numbered("line", 20000, 30000)) // past the reader's offset
	got = append(got, f.next(30000-len(got), 20*time.Second)...)
	checkLines(t, got, 0, 30000)
	f.none(3 * testPoll)
}

// TestCopytruncateWhileReadingTheCopyOfAnEmptyLook: the truncation is
// seen while the file is empty; while the rest of the old content is read
// from its copy (the consumer is slow), the next content is written,
// copied and truncated, and a third one written.
func TestCopytruncateWhileReadingTheCopyOfAnEmptyLook(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	lr := peertest.NewLogrotate(t, peertest.LogrotateOptions{CopyTruncate: true, Rotate: 5}, path)
	first := numbered("line", 0, 10000)
	appendFile(t, path, first)
	f := startFollow(t, testConfig(dir), nil)
	got := f.next(1, 5*time.Second) // the first 64 KiB read; waiting on us
	lr.Run(t)
	// Take the lines of that first read: the reader then finds the file
	// truncated (and empty) and reads the rest from the copy, waiting on us.
	inFirstRead := bytes.Count([]byte(first[:readChunk]), []byte{'\n'})
	got = append(got, f.next(inFirstRead-1, 5*time.Second)...)
	time.Sleep(6 * testPoll)
	appendFile(t, path, numbered("line", 10000, 11000))
	lr.Run(t)
	appendFile(t, path, numbered("line", 11000, 12000))
	got = append(got, f.next(12000-len(got), 20*time.Second)...)
	checkLines(t, got, 0, 12000)
	f.none(3 * testPoll)
}
