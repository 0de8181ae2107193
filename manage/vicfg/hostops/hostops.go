// Package hostops is the vicfg program's vicfg-hostops command: the host's
// remote-management state (lockdown mode and the certificate clients pin),
// as ESXi's vicfg-hostops shows host operations. It holds the command's own
// options, their checks and its output; the frame (flags, connection,
// prompts, errors) is package vicfg's.
package hostops

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"hostagent/manage/apiclient"
	"hostagent/manage/vicfg"
)

// The values of --lockdown.
const (
	lockdownEnable  = "enable"
	lockdownDisable = "disable"
)

func init() { vicfg.Register(Command) }

// Command is vicfg-hostops.
var Command = &vicfg.Command{
	Name:     "vicfg-hostops",
	Short:    "show and change remote management: lockdown mode, the certificate's fingerprint",
	Synopsis: []string{"[CONNECTION OPTIONS] --lockdown enable|disable | --show"},
	About:    "Show and change hostagentd's remote-management state, as ESXi's vicfg-hostops\nshows host operations.",
	Notes: "Lockdown mode can be turned on over the network, and off only from the\n" +
		"console (the local socket). The fingerprint is the one --thumbprint pins;\n" +
		"--lockdown runs first, then --show.\n",
	Flags: newFlags,
}

// options are the command line's values; which flags were given is asked of
// the flag set.
type options struct {
	lockdown string
	show     bool
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{}
	fs.StringVar(&o.lockdown, "lockdown", "", "`enable|disable` the lockdown mode: when on, root and Administrator users cannot log in over the network")
	fs.BoolVarP(&o.show, "show", "s", false, "show the lockdown mode and the certificate's fingerprint, after any change")
	return o
}

// Prepare refuses a --lockdown that is neither value, and a command line
// that asks for nothing.
func (o *options) Prepare(_ context.Context, env *vicfg.Env) error {
	lockdown := env.Changed("lockdown")
	if lockdown && o.lockdown != lockdownEnable && o.lockdown != lockdownDisable {
		return vicfg.UsageError(fmt.Errorf("--lockdown %q: must be %s or %s", o.lockdown, lockdownEnable, lockdownDisable))
	}
	if !lockdown && !o.show {
		return vicfg.ErrNothingToDo
	}
	return nil
}

// Run changes the lockdown mode, then shows the state.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	if env.Changed("lockdown") {
		enable := o.lockdown == lockdownEnable
		if enable {
			fmt.Fprintln(stdout, "Enabling lockdown mode...")
		} else {
			fmt.Fprintln(stdout, "Disabling lockdown mode...")
		}
		// The daemon decides who may turn it off: its refusal, naming the
		// console, is printed as it comes.
		if _, err := c.SetLockdown(ctx, enable); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if o.show {
		return show(ctx, stdout, c)
	}
	return nil
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
