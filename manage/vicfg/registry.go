package vicfg

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// Program is the name of the program that holds every command.
const Program = "vicfg"

// prefix is left out of a command's name after "vicfg": vicfg snmp.
const prefix = "vicfg-"

// Registry maps the names a command is invoked by to the command, as
// govc's cli.Register does. Commands register themselves in Commands from
// their package's init; a test may build a Registry of its own.
type Registry struct {
	byName map[string]*Command
	all    []*Command
}

// Commands is the vicfg program's registry.
var Commands Registry

// Register adds c to the program's registry, under its name and aliases.
func Register(c *Command) { Commands.Register(c) }

// Register adds c under its name and aliases. A name registered twice is a
// mistake in the program, found at its start: it panics.
func (r *Registry) Register(c *Command) {
	if r.byName == nil {
		r.byName = map[string]*Command{}
	}
	for _, name := range append([]string{c.Name}, c.Aliases...) {
		if name == "" || r.byName[name] != nil {
			panic(fmt.Sprintf("vicfg: command name %q registered twice or empty", name))
		}
		r.byName[name] = c
	}
	r.all = append(r.all, c)
	slices.SortFunc(r.all, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
}

// Lookup returns the command invoked as name: its name or an alias
// (vicfg-snmp, esxcfg-snmp), or its name without "vicfg-" (snmp).
func (r *Registry) Lookup(name string) (*Command, bool) {
	if c, ok := r.byName[name]; ok {
		return c, true
	}
	c, ok := r.byName[prefix+name]
	return c, ok
}

// Main runs the program as the shell invoked it: argv[0]'s base name picks
// the command (vicfg-snmp, esxcfg-snmp... are links to vicfg), or, under
// any other name, the first argument does (vicfg snmp -s). It returns the
// exit code. vicfg alone lists the commands on stderr, exit code 1, as a
// command given no action prints its usage; vicfg --help lists them on
// stdout. Two arguments --help does not list: vicfg --help-man prints
// vicfg(1), vicfg --completion bash the commands' completion script.
func (r *Registry) Main(ctx context.Context, argv []string, std IO) int {
	prog := Program
	if len(argv) > 0 {
		prog = filepath.Base(argv[0])
		argv = argv[1:]
	}
	if c, ok := r.byName[prog]; ok {
		return c.Run(ctx, prog, argv, std)
	}
	if len(argv) == 0 {
		r.list(std.Stderr, prog)
		return 1
	}
	name := argv[0]
	switch name {
	case "-h", "--help", "help":
		r.list(std.Stdout, prog)
		return 0
	// Hidden, for make man and the package: the program's manual page,
	// and the shell completion of every command.
	case "--help-man":
		if err := r.writeManPage(std.Stdout); err != nil {
			fmt.Fprintf(std.Stderr, "%s: %v\n", prog, err)
			return 1
		}
		return 0
	case "--completion":
		if len(argv) != 2 || argv[1] != "bash" {
			fmt.Fprintf(std.Stderr, "%s: --completion: give the shell, bash (the only one)\n", prog)
			return 1
		}
		if err := r.writeCompletion(std.Stdout); err != nil {
			fmt.Fprintf(std.Stderr, "%s: %v\n", prog, err)
			return 1
		}
		return 0
	}
	c, ok := r.Lookup(name)
	if !ok {
		fmt.Fprintf(std.Stderr, "%s: unknown command %q: the commands are %s\nsee %s --help\n",
			prog, name, strings.Join(r.names(), ", "), prog)
		return 1
	}
	if name != c.Name && !slices.Contains(c.Aliases, name) {
		name = prog + " " + name // vicfg snmp: messages name what was typed
	}
	return c.Run(ctx, name, argv[1:], std)
}

// names are the commands' names and aliases, sorted.
func (r *Registry) names() []string {
	var names []string
	for n := range r.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// list prints the program's usage: the commands, their aliases and what
// each does.
func (r *Registry) list(w io.Writer, prog string) {
	fmt.Fprintf(w, "Usage: %s COMMAND [OPTIONS]\n       COMMAND [OPTIONS]   (through its link to %s)\n\n", prog, prog)
	fmt.Fprint(w, "Configure hostagentd as ESXi's vCLI commands configure a host.\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range r.all {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(append([]string{c.Name}, c.Aliases...), ", "), c.Short)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nCOMMAND may be written without %q: %s snmp. See %s COMMAND --help for its options.\n",
		prefix, prog, prog)
}
