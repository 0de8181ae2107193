package tail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// fingerprintSize is how many leading bytes of a file identify its content.
// 256 bytes of a log file almost always include a timestamp, so two
// different files rarely share them, yet reading them costs one small pread.
const fingerprintSize = 256

// FileID names one file independently of its path: a rotated file keeps its
// FileID under its new name, and a new file that reuses a freed inode gets a
// different one because its content differs.
//
// Fingerprint is the hex SHA-256 of the file's first FingerprintLen bytes,
// FingerprintLen being min(size, 256) when the file was last looked at.
// A file shorter than 256 bytes gets a longer fingerprint as it grows; the
// length is kept so an older, shorter fingerprint can still be checked
// against the file (hash its first FingerprintLen bytes again).
//
// Two files with equal short content have equal fingerprints, so the
// fingerprint is never used alone to tell files apart that exist at the
// same time: device and inode do that. The fingerprint tells whether the
// file on an inode is still the one we read (not truncated and rewritten,
// not a new file on a reused inode), and it finds a file's content again
// under another inode: in logrotate's copy (copytruncate) or, decompressed,
// in the .gz a rotated generation became.
type FileID struct {
	Device         uint64
	Inode          uint64
	Fingerprint    string
	FingerprintLen int
}

func (id FileID) String() string {
	fp := id.Fingerprint
	if len(fp) > 12 {
		fp = fp[:12]
	}
	return fmt.Sprintf("dev=%d ino=%d fp=%s/%d", id.Device, id.Inode, fp, id.FingerprintLen)
}

// matches reports whether head (a file's first bytes) is the content id
// was taken from: its first FingerprintLen bytes hash to Fingerprint.
func (id FileID) matches(head []byte) bool {
	return id.FingerprintLen <= len(head) && fingerprint(head[:id.FingerprintLen]) == id.Fingerprint
}

// inodeKey is the part of a FileID that does not change while a file lives.
type inodeKey struct {
	dev, ino uint64
}

func (id FileID) key() inodeKey { return inodeKey{id.Device, id.Inode} }

func newFileID(k inodeKey, head []byte) FileID {
	return FileID{Device: k.dev, Inode: k.ino, Fingerprint: fingerprint(head), FingerprintLen: len(head)}
}

func fingerprint(head []byte) string {
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:])
}

// sourceTag names the lines of one generation of a file for the collector
// (Line.Source): the device and inode the content was first read from, and
// a hash of its first line, at most max bytes of it. Unlike the
// fingerprint it does not grow with the file: by the time a file's first
// record is sent, its first line is complete or longer than max (MaxLine),
// so every later look at the same content gives the same tag, in this run
// or after a restart, and in logrotate's copy of it too (which is why the
// inode is the original's, not the copy's).
func sourceTag(k inodeKey, head []byte, max int) string {
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	if len(head) > max {
		head = head[:max]
	}
	sum := sha256.Sum256(head)
	return fmt.Sprintf("%d:%d:%s", k.dev, k.ino, hex.EncodeToString(sum[:6]))
}

// errNoInode is returned where the platform gives no device and inode.
var errNoInode = errors.New("file has no device/inode on this platform")

func fileKey(fi os.FileInfo) (inodeKey, error) {
	k, ok := statKey(fi)
	if !ok {
		return inodeKey{}, fmt.Errorf("%s: %w", fi.Name(), errNoInode)
	}
	return k, nil
}

// readHead reads the first min(size, fingerprintSize) bytes of r. A file
// that shrank meanwhile yields fewer bytes, which is what is there.
func readHead(r io.ReaderAt, size int64) ([]byte, error) {
	n := min(size, fingerprintSize)
	if n <= 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read head: %w", err)
	}
	return buf[:got], nil
}
