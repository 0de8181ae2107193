package peertest

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for concurrent use, for tests that read a
// daemon's log while it is still writing.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
