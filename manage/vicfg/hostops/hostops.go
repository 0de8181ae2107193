// Package hostops is vicfg-hostops: the host's remote-management state — lockdown mode and the certificate clients pin — as ESXi's vicfg-hostops shows host operations.
package hostops

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"hostagent/manage/apiclient"
	"hostagent/manage/vicfg"
)

// The values of --lockdown.
const (
	lockdownEnable  = "enable"
	lockdownDisable = "disable"
)

// options are the command line's values; which flags were given is asked of
// the flag set.
type options struct {
	lockdown   string
	show, help bool
	conn       *vicfg.ConnectionFlags
}

func newFlags(prog string) (*pflag.FlagSet, *options) {
	o := &options{}
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed by Run, once
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.StringVar(&o.lockdown, "lockdown", "", "`enable|disable` the lockdown mode: when on, root and Administrator users cannot log in over the network")
	fs.BoolVarP(&o.show, "show", "s", false, "show the lockdown mode and the certificate's fingerprint, after any change")
	o.conn = vicfg.AddConnectionFlags(fs)
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

func usage(w io.Writer, prog string, fs *pflag.FlagSet, conn *vicfg.ConnectionFlags) {
	fmt.Fprintf(w, "Usage: %s [CONNECTION OPTIONS] --lockdown enable|disable | --show\n\n", prog)
	fmt.Fprintf(w, "Show and change hostagentd's remote-management state, as ESXi's vicfg-hostops\nshows host operations.\n\n")
	fmt.Fprint(w, conn.OwnFlagUsages(fs))
	fmt.Fprint(w, "\nConnection options:\n"+conn.FlagUsages())
	fmt.Fprint(w, "\nLockdown mode can be turned on over the network, and off only from the\n"+
		"console (the local socket). The fingerprint is the one --thumbprint pins;\n"+
		"--lockdown runs first, then --show.\n")
}

// Run executes the command line args (without the program name) and returns
// the exit code: 0 on success, 1 on any error (bad flag, bad value, refusal
// by the daemon, daemon unreachable), the error printed to stderr as
// "<prog>: <message>".
func Run(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	cmd := vicfg.Command{Prog: prog, Stdout: stdout, Stderr: stderr}
	fail, badUsage := cmd.Fail, cmd.BadUsage

	fs, o := newFlags(prog)
	if code, done := cmd.Parse(fs, args, &o.help, func(w io.Writer) { usage(w, prog, fs, o.conn) }); done {
		return code
	}
	lockdown := fs.Changed("lockdown")
	if lockdown && o.lockdown != lockdownEnable && o.lockdown != lockdownDisable {
		return badUsage(fmt.Errorf("--lockdown %q: must be %s or %s", o.lockdown, lockdownEnable, lockdownDisable))
	}
	if !lockdown && !o.show {
		usage(stderr, prog, fs, o.conn)
		return 1
	}

	c, err := o.conn.Connect(ctx, os.Stdin, stderr)
	if err != nil {
		return fail(err)
	}
	defer o.conn.Disconnect(ctx, c)
	if lockdown {
		enable := o.lockdown == lockdownEnable
		if enable {
			fmt.Fprintln(stdout, "Enabling lockdown mode...")
		} else {
			fmt.Fprintln(stdout, "Disabling lockdown mode...")
		}
		// The daemon decides who may turn it off: its refusal, naming the
		// console, is printed as it comes.
		if _, err := c.SetLockdown(ctx, enable); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if o.show {
		if err := show(ctx, stdout, c); err != nil {
			return fail(err)
		}
	}
	return 0
}

// show prints the lockdown mode and the fingerprint of the daemon's TLS
// certificate, the one clients pin with --thumbprint.
func show(ctx context.Context, w io.Writer, c *apiclient.Client) error {
	l, err := c.Lockdown(ctx)
	if err != nil {
		return err
	}
	id, err := c.Identity(ctx)
	if err != nil {
		return err
	}
	mode := "disabled"
	if l.Enabled {
		mode = "enabled"
	}
	fp := id.Fingerprint
	if fp == "" {
		fp = "none: HTTPS is off"
	}
	fmt.Fprintf(w, "Lockdown mode     : %s\nCertificate SHA-256 fingerprint : %s\n", mode, fp)
	return nil
}
