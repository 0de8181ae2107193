// Package vicfg holds what the vicfg-* commands share: how they report an
// error (the program's name first, one line per problem, exit code 1) and
// the start of every run (flags parsed, --help, stray arguments).
package vicfg

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// Command is one run of a vicfg-* command.
type Command struct {
	Prog   string // as invoked: vicfg-snmp, esxcfg-snmp, ...
	Stdout io.Writer
	Stderr io.Writer
}

// Fail prints err as "<prog>: <message>", each line of a multi-line error
// (the daemon reports every problem at once) as a message of its own, and
// returns the exit code 1.
func (c Command) Fail(err error) int {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(c.Stderr, "%s: %s\n", c.Prog, line)
	}
	return 1
}

// BadUsage is Fail for a mistake in the command line, with a pointer to
// --help.
func (c Command) BadUsage(err error) int {
	c.Fail(err)
	fmt.Fprintf(c.Stderr, "see %s --help\n", c.Prog)
	return 1
}

// Parse parses args. It reports done with the exit code when the run is
// over already: --help was asked (usage on stdout, 0) or the command line
// is wrong (1).
func (c Command) Parse(fs *pflag.FlagSet, args []string, help *bool, usage func(io.Writer)) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		return c.BadUsage(err), true
	}
	if *help {
		usage(c.Stdout)
		return 0, true
	}
	if fs.NArg() > 0 {
		return c.BadUsage(fmt.Errorf("unexpected argument %q", fs.Arg(0))), true
	}
	return 0, false
}
