package vicfg

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// fake is a command whose Prepare and Run return what the test sets, and
// which says what it ran as.
type fake struct {
	prepare, run error
	ran          *[]string
	word         *string
}

func (f *fake) Prepare(_ context.Context, env *Env) error {
	*f.ran = append(*f.ran, "prepare "+env.Prog)
	return f.prepare
}

func (f *fake) Run(_ context.Context, env *Env) error {
	if env.Client == nil {
		return errors.New("run without a client")
	}
	*f.ran = append(*f.ran, fmt.Sprintf("run %s word=%q", env.Prog, *f.word))
	fmt.Fprintln(env.Stdout, "done")
	return f.run
}

// registry holds vicfg-fake (alias esxcfg-fake) and vicfg-other, the fake
// commands' runs recorded in ran.
func registry(t *testing.T, prepare, run error) (*Registry, *[]string) {
	t.Helper()
	var r Registry
	ran := &[]string{}
	for _, name := range []string{"vicfg-fake", "vicfg-other"} {
		c := &Command{
			Name: name, Short: "the " + name + " command",
			Synopsis: []string{"[--server unix:PATH] OPTIONS", "--second-form"},
			About:    "What " + name + " does.",
			Notes:    "Notes of " + name + ".\n",
			Flags: func(fs *pflag.FlagSet) Runner {
				f := &fake{prepare: prepare, run: run, ran: ran, word: new(string)}
				fs.StringVarP(f.word, "word", "w", "", "a `WORD`")
				return f
			},
		}
		if name == "vicfg-fake" {
			c.Aliases = []string{"esxcfg-fake"}
		}
		r.Register(c)
	}
	return &r, ran
}

func mainOf(r *Registry, argv ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = r.Main(context.Background(), argv, IO{Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func TestMainDispatch(t *testing.T) {
	server := "--server=unix:" + filepath.Join(t.TempDir(), "api.sock")
	for _, tt := range []struct {
		argv []string
		ran  string
	}{
		// argv[0]'s base name picks the command: a link's name.
		{[]string{"/usr/bin/vicfg-fake", server, "-w", "a"}, `run vicfg-fake word="a"`},
		{[]string{"esxcfg-fake", server, "--word", "b"}, `run esxcfg-fake word="b"`},
		{[]string{"bin/vicfg-other", server}, `run vicfg-other word=""`},
		// Under any other name, the first argument does.
		{[]string{"vicfg", "vicfg-fake", server, "-w", "c"}, `run vicfg-fake word="c"`},
		{[]string{"./vicfg", "esxcfg-fake", server}, `run esxcfg-fake word=""`},
		{[]string{"vicfg", "fake", server, "-w", "d"}, `run vicfg fake word="d"`},
		{[]string{"/opt/x/vicfg", "other", server}, `run vicfg other word=""`},
	} {
		r, ran := registry(t, nil, nil)
		code, stdout, stderr := mainOf(r, tt.argv...)
		if code != 0 || stdout != "done\n" || stderr != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tt.argv, code, stdout, stderr)
		}
		if len(*ran) != 2 || (*ran)[1] != tt.ran {
			t.Errorf("%q ran %q, want %q", tt.argv, *ran, tt.ran)
		}
	}
}

func TestMainList(t *testing.T) {
	r, ran := registry(t, nil, nil)
	want := "Usage: vicfg COMMAND [OPTIONS]\n" +
		"       COMMAND [OPTIONS]   (through its link to vicfg)\n\n" +
		"Configure hostagentd as ESXi's vCLI commands configure a host.\n\n" +
		"Commands:\n" +
		"  vicfg-fake, esxcfg-fake  the vicfg-fake command\n" +
		"  vicfg-other              the vicfg-other command\n\n" +
		"COMMAND may be written without \"vicfg-\": vicfg snmp. See vicfg COMMAND --help for its options.\n"
	// Alone, the list is the usage of a run that did nothing: stderr, 1.
	if code, stdout, stderr := mainOf(r, "vicfg"); code != 1 || stdout != "" || stderr != want {
		t.Errorf("vicfg: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", code, stdout, stderr, want)
	}
	for _, help := range []string{"--help", "-h", "help"} {
		if code, stdout, stderr := mainOf(r, "/usr/local/bin/vicfg", help); code != 0 || stdout != want || stderr != "" {
			t.Errorf("vicfg %s: exit %d, stderr %q, stdout:\n%s", help, code, stderr, stdout)
		}
	}
	// An empty argv is the program run with no name at all.
	if code, _, stderr := mainOf(r); code != 1 || stderr != want {
		t.Errorf("no argv: exit %d, stderr %q", code, stderr)
	}
	if len(*ran) != 0 {
		t.Errorf("ran %q", *ran)
	}
}

func TestMainUnknown(t *testing.T) {
	r, ran := registry(t, nil, nil)
	for _, argv := range [][]string{{"vicfg", "frob", "-s"}, {"vicfg", "esxcfg-other"}, {"vicfg", "-s"}} {
		code, stdout, stderr := mainOf(r, argv...)
		want := fmt.Sprintf("vicfg: unknown command %q: the commands are esxcfg-fake, vicfg-fake, vicfg-other\nsee vicfg --help\n", argv[1])
		if code != 1 || stdout != "" || stderr != want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, want %q", argv, code, stdout, stderr, want)
		}
	}
	// A link under a name no command has: the program, named after it.
	if code, _, stderr := mainOf(r, "vicfg-nope", "-s"); code != 1 || !strings.HasPrefix(stderr, `vicfg-nope: unknown command "-s"`) {
		t.Errorf("vicfg-nope: exit %d, stderr %q", code, stderr)
	}
	if len(*ran) != 0 {
		t.Errorf("ran %q", *ran)
	}
}

func TestRegisterTwice(t *testing.T) {
	r, _ := registry(t, nil, nil)
	for _, c := range []*Command{{Name: "vicfg-fake"}, {Name: "vicfg-new", Aliases: []string{"esxcfg-fake"}}, {Name: ""}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("registering %q %q did not panic", c.Name, c.Aliases)
				}
			}()
			r.Register(c)
		}()
	}
	if c, ok := r.Lookup("other"); !ok || c.Name != "vicfg-other" {
		t.Errorf("Lookup(other) = %v, %v", c, ok)
	}
	if _, ok := r.Lookup("fake-"); ok {
		t.Error("Lookup found a command by a part of its name")
	}
}

// TestRun is the frame every command runs in: parsing, --help, the order
// of the usage, and how each kind of error is reported.
func TestRun(t *testing.T) {
	server := "--server=unix:" + filepath.Join(t.TempDir(), "api.sock")
	usage := "Usage: esxcfg-fake [--server unix:PATH] OPTIONS\n" +
		"       esxcfg-fake --second-form\n\n" +
		"What vicfg-fake does.\n\n" +
		"  -w, --word WORD   a WORD\n" +
		"  -h, --help        show this help\n\n" +
		"Connection options:\n"
	for _, tt := range []struct {
		name         string
		args         []string
		prepare, run error
		code         int
		stdout       string
		stderr       string // exactly, or the start of the usage
		ran          int    // how many of prepare and run were called
	}{
		{name: "ok", args: []string{server}, stdout: "done\n", ran: 2},
		{name: "help", args: []string{"-w", "x", "--help"}, stdout: usage},
		{name: "-h beats a bad value", args: []string{"-h", "stray"}, stdout: usage},
		{name: "unknown flag", args: []string{"--bogus"}, code: 1, stderr: "esxcfg-fake: unknown flag: --bogus\nsee esxcfg-fake --help\n"},
		{name: "missing value", args: []string{"-w"}, code: 1, stderr: "esxcfg-fake: flag needs an argument: 'w' in -w\nsee esxcfg-fake --help\n"},
		{name: "stray argument", args: []string{"stray"}, code: 1, stderr: "esxcfg-fake: unexpected argument \"stray\"\nsee esxcfg-fake --help\n"},
		{name: "nothing to do", prepare: ErrNothingToDo, code: 1, stderr: usage, ran: 1},
		{name: "usage error", prepare: UsageError(errors.New("-w and -x cannot be given together")), code: 1,
			stderr: "esxcfg-fake: -w and -x cannot be given together\nsee esxcfg-fake --help\n", ran: 1},
		{name: "prepare failed", prepare: errors.New("--load f: no such file"), code: 1, stderr: "esxcfg-fake: --load f: no such file\n", ran: 1},
		{name: "reported", prepare: fmt.Errorf("canceled: %w", ErrReported), code: 1, ran: 1},
		{name: "run failed, one line per problem", args: []string{server}, run: errors.New("port 0: must be from 1 to 65535\nloglevel \"x\": bad"),
			code: 1, stdout: "done\n", stderr: "esxcfg-fake: port 0: must be from 1 to 65535\nesxcfg-fake: loglevel \"x\": bad\n", ran: 2},
		{name: "run reported", args: []string{server}, run: ErrReported, code: 1, stdout: "done\n", ran: 2},
		{name: "cannot connect", args: []string{"--server", "tcp:h:1"}, code: 1, stderr: `esxcfg-fake: --server "tcp:h:1"`, ran: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ran := registry(t, tt.prepare, tt.run)
			code, stdout, stderr := mainOf(r, append([]string{"esxcfg-fake"}, tt.args...)...)
			okOut := stdout == tt.stdout || strings.HasPrefix(tt.stdout, "Usage:") && strings.HasPrefix(stdout, tt.stdout)
			okErr := stderr == tt.stderr || tt.stderr != "" && strings.HasPrefix(stderr, tt.stderr)
			if code != tt.code || !okOut || !okErr {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nwant:\n%s\nstderr:\n%s\nwant:\n%s", code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
			if len(*ran) != tt.ran {
				t.Errorf("ran %q, want %d steps", *ran, tt.ran)
			}
		})
	}
	// The notes close --help, after the connection options.
	r, _ := registry(t, nil, nil)
	_, stdout, _ := mainOf(r, "vicfg-other", "-h")
	if !strings.HasSuffix(stdout, "VI_THUMBPRINT)\n\nNotes of vicfg-other.\n") {
		t.Errorf("--help does not end with the notes:\n%s", stdout)
	}
}
