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
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/apiclient"
	"hostagent/manage/vicfg"
)

// The values of --lockdown: enable is normal mode, unless the mode is
// strict already; normal and strict name ESXi's modes.
const (
	lockdownEnable  = "enable"
	lockdownDisable = "disable"
	lockdownNormal  = "normal"
	lockdownStrict  = "strict"
)

var lockdownValues = []string{lockdownEnable, lockdownDisable, lockdownNormal, lockdownStrict}

func init() { vicfg.Register(Command) }

// Command is vicfg-hostops.
var Command = &vicfg.Command{
	Name:     "vicfg-hostops",
	Short:    "show and change remote management: lockdown mode, its exception users, the certificate's fingerprint",
	Synopsis: []string{"[CONNECTION OPTIONS] [--lockdown enable|disable|normal|strict] [--exception-users LIST] [--show]"},
	About:    "Show and change hostagentd's remote-management state, as ESXi's vicfg-hostops\nshows host operations.",
	Notes: "In lockdown mode only the exception users log in over the network, whatever\n" +
		"their role; entering it ends everybody else's sessions, and strict mode ends\n" +
		"the exception users' sessions too (they log in again). Over the network lockdown\n" +
		"can be entered or made stricter; it is weakened (disabled, strict to normal, an\n" +
		"exception user added) only from the console (the local socket). Changing the\n" +
		"exception users needs every privilege. The fingerprint is the one --thumbprint\n" +
		"pins; the changes run first, then --show.\n",
	Flags: newFlags,
}

// options are the command line's values; which flags were given is asked of
// the flag set.
type options struct {
	lockdown   string
	exceptions string
	show       bool
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{}
	fs.StringVar(&o.lockdown, "lockdown", "", "`enable|disable|normal|strict` the lockdown mode: when on, only the exception users log in over the network (enable: normal mode)")
	fs.StringVar(&o.exceptions, "exception-users", "", "the users lockdown lets in over the network, a comma-separated `LIST` (\"\" for none)")
	fs.BoolVarP(&o.show, "show", "s", false, "show the lockdown mode, its exception users and the certificate's fingerprint, after any change")
	return o
}

// Prepare refuses a --lockdown that is none of its values, an exception
// list that is not one, and a command line that asks for nothing.
func (o *options) Prepare(_ context.Context, env *vicfg.Env) error {
	lockdown := env.Changed("lockdown")
	if lockdown && !slices.Contains(lockdownValues, o.lockdown) {
		return vicfg.UsageError(fmt.Errorf("--lockdown %q: must be %s", o.lockdown, strings.Join(lockdownValues, ", ")))
	}
	if env.Changed("exception-users") && slices.Contains(vicfg.List(o.exceptions), "") {
		return vicfg.UsageError(fmt.Errorf("--exception-users %q: an empty user name; give a comma-separated list of users, or \"\" for none", o.exceptions))
	}
	if !lockdown && !env.Changed("exception-users") && !o.show {
		return vicfg.ErrNothingToDo
	}
	return nil
}

// Run changes the lockdown mode and its exception users in one request,
// then shows the state.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	var ch api.LockdownChange
	if env.Changed("lockdown") {
		switch o.lockdown {
		case lockdownEnable:
			ch.Enabled = new(true)
			fmt.Fprintln(stdout, "Enabling lockdown mode...")
		case lockdownDisable:
			ch.Enabled = new(false)
			fmt.Fprintln(stdout, "Disabling lockdown mode...")
		default:
			ch.Mode = new(o.lockdown)
			fmt.Fprintf(stdout, "Entering %s lockdown mode...\n", o.lockdown)
		}
	}
	if env.Changed("exception-users") {
		list := vicfg.List(o.exceptions) // the daemon checks the names
		if list == nil {
			list = []string{}
		}
		ch.ExceptionUsers = &list
		fmt.Fprintf(stdout, "Setting lockdown exception users to: %s...\n", orNone(list))
	}
	if ch != (api.LockdownChange{}) {
		// The daemon decides who may weaken lockdown: its refusal, naming
		// the console, is printed as it comes.
		if _, err := c.SetLockdown(ctx, ch); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if o.show {
		return show(ctx, stdout, c)
	}
	return nil
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
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
	mode := l.Mode
	if mode == "" { // a daemon from before the modes
		mode = map[bool]string{false: "disabled", true: "enabled"}[l.Enabled]
	}
	fp := id.Fingerprint
	if fp == "" {
		fp = "none: HTTPS is off"
	}
	fmt.Fprintf(w, "Lockdown mode     : %s\nException users   : %s\nCertificate SHA-256 fingerprint : %s\n", mode, orNone(l.ExceptionUsers), fp)
	return nil
}
