package vicfg

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestTerminalReadLine(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		in, want string
		err      error
	}{
		{"y\n", "y", nil},
		{"yes\r\nmore\n", "yes", nil},
		{" YES", " YES", nil}, // the last line of a pipe, without its newline
		{"\n", "", nil},
		{"", "", io.EOF},
	} {
		got, err := NewTerminal(strings.NewReader(tt.in), io.Discard).ReadLine(ctx)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ReadLine(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	// Ctrl-C while waiting for an answer.
	pr, pw := io.Pipe()
	defer pw.Close()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewTerminal(pr, io.Discard).ReadLine(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	// No terminal at all.
	if _, err := (noTerminal{}).ReadLine(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("no terminal: ReadLine %v", err)
	}
	if _, err := (noTerminal{}).ReadSecret("p: "); !errors.Is(err, ErrNoTerminal) {
		t.Errorf("no terminal: ReadSecret %v", err)
	}
	if _, err := NewTerminal(nil, io.Discard).ReadLine(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("nil stdin: %v", err)
	}
}
