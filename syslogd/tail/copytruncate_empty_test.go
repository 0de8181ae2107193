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
	f, path, lr, got := truncatedWhileEmpty(t)
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

// truncatedWhileEmpty starts a reader on 10,000 lines, takes the lines of
// its first 64 KiB, then copytruncates the file and waits until the reader
// has seen the truncation with the file empty: it is then reading the rest
// of the old content from the copy, blocked on the consumer.
func truncatedWhileEmpty(t *testing.T) (f *following, path string, lr *peertest.Logrotate, got []Line) {
	t.Helper()
	dir := t.TempDir()
	path = filepath.Join(dir, "app.log")
	lr = peertest.NewLogrotate(t, peertest.LogrotateOptions{CopyTruncate: true, Rotate: 5}, path)
	first := numbered("line", 0, 10000)
	appendFile(t, path, first)
	f = startFollow(t, testConfig(dir), nil)
	got = f.next(1, 5*time.Second) // the first 64 KiB read; waiting on us
	lr.Run(t)
	inFirstRead := bytes.Count([]byte(first[:readChunk]), []byte{'\n'})
	got = append(got, f.next(inFirstRead-1, 5*time.Second)...)
	f.waitLog("log file truncated (copytruncate)", 10*time.Second)
	return f, path, lr, got
}

// TestCopytruncateWhileReadingTheCopyOfAnEmptyLook: the truncation is
// seen while the file is empty; while the rest of the old content is read
// from its copy (the consumer is slow), the next content is written,
// copied and truncated, and a third one written.
func TestCopytruncateWhileReadingTheCopyOfAnEmptyLook(t *testing.T) {
	f, path, lr, got := truncatedWhileEmpty(t)
	appendFile(t, path, numbered("line", 10000, 11000))
	lr.Run(t)
	appendFile(t, path, numbered("line", 11000, 12000))
	got = append(got, f.next(12000-len(got), 20*time.Second)...)
	checkLines(t, got, 0, 12000)
	f.none(3 * testPoll)
}
