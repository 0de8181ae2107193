// Package vicfg is the frame of the vicfg program, written once for all
// its commands, as govc's cli and flags packages are for govc's: the
// registry of commands and the dispatch on argv[0], the flag set with its
// --help, the manual pages and the bash completion drawn from it, vCLI's
// connection options and the login, the terminal that prompts go through,
// the one rule for comma-separated lists, and error reporting (the
// program's name first, one line per problem, exit code 1).
// A command package (snmp, syslog, user, hostops, cfgbackup) holds only its
// own options, their checks and its output.
package vicfg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"hostagent/manage/apiclient"
)

// Command is one command of the vicfg program, as the registry knows it.
type Command struct {
	Name     string   // the name it is installed as: vicfg-snmp
	Aliases  []string // the other names it answers to: esxcfg-snmp
	Short    string   // one line for vicfg's list of commands
	Synopsis []string // what follows the program's name on --help's Usage lines
	About    string   // what it does, for --help, without a final newline
	Notes    string   // what --help says after the options, each line ending in a newline

	// Flags defines the command's own options on fs and returns the run
	// they parametrize. The connection options and -h/--help are added
	// after them, so that --help lists the command's own first.
	Flags func(fs *pflag.FlagSet) Runner
}

// Runner is one run of a command, split as govc splits Process from Run:
// what can be refused or done without the daemon comes first, so that a
// wrong command line or a canceled confirmation sends nothing.
type Runner interface {
	// Prepare checks the parsed command line and does the local work
	// (reading a file, asking for a confirmation); env.Client is nil.
	// It returns UsageError for a mistake in the command line,
	// ErrNothingToDo when no action was given, ErrReported when the
	// command has said itself why it stops.
	Prepare(ctx context.Context, env *Env) error
	// Run does the work with env.Client, connected and logged in.
	Run(ctx context.Context, env *Env) error
}

// IO is where a run reads and writes.
type IO struct {
	Stdout, Stderr io.Writer
	// Terminal answers prompts; nil is no terminal: a password prompt
	// fails with ErrNoTerminal and a confirmation reads end of input.
	Terminal Terminal
}

// Env is what a command's run works with.
type Env struct {
	Prog           string // as invoked, for messages: vicfg-snmp, esxcfg-snmp, vicfg snmp
	Flags          *pflag.FlagSet
	Stdout, Stderr io.Writer
	Terminal       Terminal
	Client         *apiclient.Client // nil during Prepare
}

// Changed reports whether the flag name was on the command line, so that
// an empty value can clear a setting.
func (e *Env) Changed(name string) bool { return e.Flags.Changed(name) }

// Report prints err as "<prog>: <message>", each line of a multi-line
// error (the daemon reports every problem at once) as a message of its own.
// A command calls it for a failure after which it goes on (snmp's --test
// before --show); otherwise it returns the error and the frame reports it.
func (e *Env) Report(err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(e.Stderr, "%s: %s\n", e.Prog, line)
	}
}

// ErrNothingToDo is Prepare's answer when the command line names no
// action: the usage is printed on stderr and the exit code is 1.
var ErrNothingToDo = errors.New("nothing to do")

// ErrReported ends a run with the exit code 1 and no further message: the
// command has printed what went wrong.
var ErrReported = errors.New("already reported")

type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// UsageError marks err as a mistake in the command line: it is reported
// with a pointer to --help.
func UsageError(err error) error { return usageError{err} }

// Run runs the command as prog with the command line args (without the
// program's name) and returns the exit code: 0 on success, 1 on any error
// (bad flag, bad value, refusal by the daemon, daemon unreachable), each
// error printed to stderr as "<prog>: <message>".
func (c *Command) Run(ctx context.Context, prog string, args []string, std IO) int {
	cl := c.commandLine(prog)
	fs, runner, conn := cl.fs, cl.runner, cl.conn
	conn.Stderr = std.Stderr // Connect's warnings (--password on the command line) go where the command's errors go
	env := &Env{Prog: prog, Flags: fs, Stdout: std.Stdout, Stderr: std.Stderr, Terminal: std.Terminal}
	if env.Terminal == nil {
		env.Terminal = noTerminal{}
	}
	exit := func(err error) int {
		var ue usageError
		switch {
		case err == nil:
			return 0
		case errors.Is(err, ErrReported):
		case errors.Is(err, ErrNothingToDo):
			c.usage(env.Stderr, prog, fs, conn)
		case errors.As(err, &ue):
			env.Report(ue.error)
			fmt.Fprintf(env.Stderr, "see %s --help\n", prog)
		default:
			env.Report(err)
		}
		return 1
	}

	if err := fs.Parse(args); err != nil {
		return exit(UsageError(err))
	}
	if *cl.help {
		c.usage(env.Stdout, prog, fs, conn)
		return 0
	}
	if *cl.helpMan {
		if err := c.manPage(cl).Write(env.Stdout); err != nil {
			return exit(err)
		}
		return 0
	}
	if fs.NArg() > 0 {
		return exit(UsageError(fmt.Errorf("unexpected argument %q", fs.Arg(0))))
	}
	if err := runner.Prepare(ctx, env); err != nil {
		return exit(err)
	}
	client, err := conn.Connect(ctx, env.Terminal)
	if err != nil {
		return exit(err)
	}
	defer conn.Disconnect(ctx, client)
	env.Client = client
	return exit(runner.Run(ctx, env))
}

// commandLine is a command's flag set as Run parses it: its own options,
// the connection options, -h/--help and the hidden --help-man.
type commandLine struct {
	fs            *pflag.FlagSet
	runner        Runner
	conn          *ConnectionFlags
	help, helpMan *bool
}

// commandLine defines the command's flags for a run as prog. --help, the
// manual page and the completion script all read what it defines, so
// that what they describe is what a run parses.
func (c *Command) commandLine(prog string) commandLine {
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed here, once
	fs.Usage = func() {}
	fs.SortFlags = false // keep ESXi's order in --help
	cl := commandLine{fs: fs, runner: c.Flags(fs)}
	cl.conn = AddConnectionFlags(fs)
	cl.help = fs.BoolP("help", "h", false, "show this help")
	// Hidden: make man writes the command's page with it; users read the
	// page with man vicfg-snmp.
	cl.helpMan = fs.Bool("help-man", false, "print the manual page in roff and exit")
	if err := fs.MarkHidden("help-man"); err != nil {
		panic(err) // defined on the line above
	}
	return cl
}

// usage is --help: the synopsis, what the command does, its own options,
// the connection options, then its notes.
func (c *Command) usage(w io.Writer, prog string, fs *pflag.FlagSet, conn *ConnectionFlags) {
	for i, s := range c.Synopsis {
		lead := "Usage:"
		if i > 0 {
			lead = strings.Repeat(" ", len(lead))
		}
		fmt.Fprintf(w, "%s %s %s\n", lead, prog, s)
	}
	fmt.Fprintf(w, "\n%s\n\n", c.About)
	fmt.Fprint(w, conn.OwnFlagUsages(fs))
	fmt.Fprint(w, "\nConnection options:\n"+conn.FlagUsages())
	if c.Notes != "" {
		fmt.Fprint(w, "\n"+c.Notes)
	}
}
