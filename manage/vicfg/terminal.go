package vicfg

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// Terminal is where a command asks the user: a password without echo, a
// confirmation. Commands reach the user only through it, so that a test
// can answer in their place.
type Terminal interface {
	// ReadSecret prints prompt on stderr and reads a line without echo. It
	// returns ErrNoTerminal when there is no terminal to ask on: a
	// password must not be read from a pipe by surprise.
	ReadSecret(prompt string) (string, error)
	// ReadLine reads one line of answer, terminal or not (a script may
	// pipe "y"), without its newline. It returns ctx's error when ctx is
	// done first (Ctrl-C), io.EOF at the end of input.
	ReadLine(ctx context.Context) (string, error)
}

// ErrNoTerminal is ReadSecret's answer when stdin is not a terminal.
var ErrNoTerminal = errors.New("stdin is not a terminal")

// The terminal, replaced in tests of NewTerminal itself.
var (
	isTerminal   = term.IsTerminal
	readPassword = term.ReadPassword
)

// NewTerminal is the real terminal: it reads stdin (secrets only when stdin
// is a terminal, read without echo) and prompts on stderr.
func NewTerminal(stdin io.Reader, stderr io.Writer) Terminal {
	return stdio{stdin, stderr}
}

type stdio struct {
	stdin  io.Reader
	stderr io.Writer
}

func (s stdio) ReadSecret(prompt string) (string, error) {
	f, ok := s.stdin.(interface{ Fd() uintptr })
	if !ok || !isTerminal(int(f.Fd())) {
		return "", ErrNoTerminal
	}
	fmt.Fprint(s.stderr, prompt)
	b, err := readPassword(int(f.Fd()))
	fmt.Fprintln(s.stderr)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func (s stdio) ReadLine(ctx context.Context) (string, error) {
	if s.stdin == nil {
		return "", io.EOF
	}
	type answer struct {
		line string
		err  error
	}
	ch := make(chan answer, 1)
	go func() { // left blocked on a terminal after Ctrl-C; the command ends anyway
		line, err := bufio.NewReader(s.stdin).ReadString('\n')
		if line != "" {
			err = nil // a last line without its newline is an answer
		}
		ch <- answer{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case a := <-ch:
		return a.line, a.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// noTerminal is the Terminal of a run given none.
type noTerminal struct{}

func (noTerminal) ReadSecret(string) (string, error)        { return "", ErrNoTerminal }
func (noTerminal) ReadLine(context.Context) (string, error) { return "", io.EOF }
