// Package user is the vicfg program's vicfg-user command: hostagentd's
// local users and roles for remote management, in the manner of ESXi's
// vicfg-user, talking to the daemon's API. It holds the command's own
// options, their checks and its output; the frame (flags, connection,
// prompts, errors) is package vicfg's.
package user

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
)

// The operations of -o.
const (
	opAdd    = "add"
	opRemove = "remove"
	opPasswd = "passwd"
	opList   = "list"
	opRole   = "role"
)

var operations = []string{opAdd, opRemove, opPasswd, opList, opRole}

func init() { vicfg.Register(Command) }

// Command is vicfg-user.
var Command = &vicfg.Command{
	Name:  "vicfg-user",
	Short: "manage the users and roles of remote management",
	Synopsis: []string{
		"[CONNECTION OPTIONS] -o add|remove|passwd|list|role [-n USER] [-p PASSWORD | --newpassword-file FILE] [-r ROLE]",
		"[CONNECTION OPTIONS] --addrole NAME --privileges LIST | --removerole NAME | --roles",
		"[CONNECTION OPTIONS] --locks | --unlock USER|ADDRESS",
	},
	About: "Manage hostagentd's users and roles for remote management, as ESXi's vicfg-user does.",
	Notes: "Passwords are never printed. User names are lower case; the built-in roles\n" +
		"(Administrator, ReadOnly, NoAccess) cannot be changed or removed.\n" +
		"Over the network, -o passwd of your own user asks for your current password first\n" +
		"(on the terminal, or --oldpassword-file); nobody grants a role or privilege they\n" +
		"do not hold. A password given with -p can be seen by other local users in ps:\n" +
		"prefer the prompt or --newpassword-file.\n" +
		"Five wrong passwords for a user from one address lock that user out from that\n" +
		"address only (1 minute, doubling up to 30); five from one address, whatever the\n" +
		"names, lock the address. --locks lists them and --unlock clears those of a user\n" +
		"(from every address) or of an address; both need every privilege, or the console.\n",
	Flags: newFlags,
}

type options struct {
	operation, name, newpassword, role string
	newpasswordFile, oldpasswordFile   string
	addrole, privileges, removerole    string
	roles, locks                       bool
	unlock                             string
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{}
	fs.StringVarP(&o.operation, "operation", "o", "", "the `OPERATION` on a user: add, remove, passwd, list or role")
	fs.StringVarP(&o.name, "name", "n", "", "the `USER` of -o add, remove, passwd and role")
	fs.StringVarP(&o.newpassword, "newpassword", "p", "", "the `PASSWORD` of -o add and passwd; asked for without echo on a terminal when not given")
	fs.StringVarP(&o.role, "role", "r", "", "the `ROLE` of -o add and role: Administrator, ReadOnly, NoAccess or a custom role")
	fs.StringVar(&o.addrole, "addrole", "", "add the custom role `NAME`, with --privileges")
	fs.StringVar(&o.privileges, "privileges", "", "the privileges of --addrole, a comma-separated `LIST` (\"\" for none)")
	fs.StringVar(&o.removerole, "removerole", "", "remove the custom role `NAME`")
	fs.BoolVar(&o.roles, "roles", false, "list the roles and their privileges")
	fs.StringVar(&o.newpasswordFile, "newpassword-file", "", "read the new password of -o add and passwd from the first line of `FILE` (mode 0600), not the command line")
	fs.StringVar(&o.oldpasswordFile, "oldpassword-file", "", "read your current password, for -o passwd of your own user over the network, from `FILE` (mode 0600)")
	fs.BoolVar(&o.locks, "locks", false, "list the login locks: the user names and addresses locked after failed logins")
	fs.StringVar(&o.unlock, "unlock", "", "clear the login locks of `USER` (from every address) or of an ADDRESS")
	return o
}

// Prepare refuses a command line that is not one complete action.
func (o *options) Prepare(_ context.Context, env *vicfg.Env) error {
	err := o.check(env)
	if err == nil || errors.Is(err, vicfg.ErrNothingToDo) {
		return err
	}
	return vicfg.UsageError(err)
}

// check says what is wrong with the command line: ErrNothingToDo when it
// names no action.
func (o *options) check(env *vicfg.Env) error {
	var actions []string
	for _, f := range []string{"operation", "addrole", "removerole", "roles", "locks", "unlock"} {
		if env.Changed(f) {
			actions = append(actions, "--"+f)
		}
	}
	switch len(actions) {
	case 0:
		return vicfg.ErrNothingToDo
	case 1:
	default:
		return fmt.Errorf("%s cannot be given together: one action at a time", strings.Join(actions, " and "))
	}
	if env.Changed("privileges") && !env.Changed("addrole") {
		return errors.New("--privileges goes with --addrole")
	}
	if env.Changed("unlock") && strings.TrimSpace(o.unlock) == "" {
		return errors.New("--unlock needs a USER or an ADDRESS")
	}
	if env.Changed("newpassword") && env.Changed("newpassword-file") {
		return errors.New("-p/--newpassword and --newpassword-file cannot be given together")
	}
	if !env.Changed("operation") {
		for _, f := range []string{"name", "newpassword", "role", "newpassword-file", "oldpassword-file"} {
			if env.Changed(f) {
				return fmt.Errorf("--%s goes with -o/--operation", f)
			}
		}
		switch {
		case env.Changed("addrole") && strings.TrimSpace(o.addrole) == "":
			return errors.New("--addrole needs a role NAME")
		case env.Changed("addrole") && !env.Changed("privileges"):
			return fmt.Errorf("--addrole %s needs --privileges LIST (\"\" for none)", o.addrole)
		case env.Changed("removerole") && strings.TrimSpace(o.removerole) == "":
			return errors.New("--removerole needs a role NAME")
		}
		return nil
	}
	op := o.operation
	known := false
	for _, k := range operations {
		known = known || op == k
	}
	if !known {
		return fmt.Errorf("--operation %q: must be %s", op, strings.Join(operations, ", "))
	}
	if env.Changed("oldpassword-file") && op != opPasswd {
		return fmt.Errorf("--oldpassword-file goes with -o passwd, not -o %s", op)
	}
	if op == opList {
		for _, f := range []string{"name", "newpassword", "role", "newpassword-file"} {
			if env.Changed(f) {
				return fmt.Errorf("--%s does not go with -o list", f)
			}
		}
		return nil
	}
	if strings.TrimSpace(o.name) == "" {
		return fmt.Errorf("-o %s needs -n/--name USER", op)
	}
	for _, f := range []string{"newpassword", "newpassword-file"} {
		if env.Changed(f) && op != opAdd && op != opPasswd {
			flag := "--" + f
			if f == "newpassword" {
				flag = "-p/--newpassword"
			}
			return fmt.Errorf("%s goes with -o add or -o passwd, not -o %s", flag, op)
		}
	}
	switch {
	case (op == opAdd || op == opRole) && strings.TrimSpace(o.role) == "":
		return fmt.Errorf("-o %s needs -r/--role ROLE", op)
	case env.Changed("role") && op != opAdd && op != opRole:
		return fmt.Errorf("-r/--role goes with -o add or -o role, not -o %s", op)
	}
	return nil
}

// Run does the one action asked for.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	step := func(msg string, f func() error) error {
		fmt.Fprintln(stdout, msg)
		if err := f(); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
		return nil
	}
	switch {
	case o.roles:
		rs, err := c.Roles(ctx)
		if err != nil {
			return err
		}
		showRoles(stdout, rs)
		return nil
	case env.Changed("addrole"):
		r := api.Role{Name: strings.TrimSpace(o.addrole), Privileges: vicfg.List(o.privileges)}
		return step(fmt.Sprintf("Adding role %s...", r.Name), func() error { return c.AddRole(ctx, r) })
	case env.Changed("removerole"):
		name := strings.TrimSpace(o.removerole)
		return step(fmt.Sprintf("Removing role %s...", name), func() error { return c.RemoveRole(ctx, name) })
	case o.locks:
		ls, err := c.Locks(ctx)
		if err != nil {
			return err
		}
		showLocks(stdout, ls)
		return nil
	case env.Changed("unlock"):
		target := strings.TrimSpace(o.unlock)
		fmt.Fprintf(stdout, "Clearing the login locks of %s...\n", target)
		n, err := c.Unlock(ctx, target)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Complete: %d cleared.\n", n)
		return nil
	}
	name := strings.TrimSpace(o.name)
	switch o.operation {
	case opList:
		us, err := c.Users(ctx)
		if err != nil {
			return err
		}
		showUsers(stdout, us)
		return nil
	case opAdd:
		pw, err := o.password(env, name)
		if err != nil {
			return err
		}
		u := api.NewUser{Name: name, Password: pw, Role: strings.TrimSpace(o.role)}
		return step(fmt.Sprintf("Adding user %s...", name), func() error { return c.AddUser(ctx, u) })
	case opRemove:
		return step(fmt.Sprintf("Removing user %s...", name), func() error { return c.RemoveUser(ctx, name) })
	case opPasswd:
		patch := api.UserPatch{}
		// Over the network, users changing their own password give the
		// current one (asked first, as passwd(1) does); the console and an
		// Administrator resetting someone else's are not asked.
		if c.Remote() {
			who, err := c.Session(ctx)
			if err != nil {
				return err
			}
			if who.User == name {
				if patch.OldPassword, err = o.current(env, name); err != nil {
					return err
				}
			}
		}
		pw, err := o.password(env, name)
		if err != nil {
			return err
		}
		patch.Password = &pw
		return step(fmt.Sprintf("Changing password for user %s...", name), func() error {
			return c.PatchUser(ctx, name, patch)
		})
	case opRole:
		role := strings.TrimSpace(o.role)
		return step(fmt.Sprintf("Changing role of user %s to %s...", name, role), func() error {
			return c.PatchUser(ctx, name, api.UserPatch{Role: &role})
		})
	}
	return fmt.Errorf("--operation %q: must be %s", o.operation, strings.Join(operations, ", "))
}

// password is -p (with a warning: ps shows it), --newpassword-file, or
// asked for twice on a terminal. The daemon checks the policy: its message
// says which rule is broken.
func (o *options) password(env *vicfg.Env, name string) (string, error) {
	if env.Changed("newpassword") {
		fmt.Fprintf(env.Stderr, "%s: ", env.Prog)
		vicfg.WarnCommandLineSecret(env.Stderr, "-p/--newpassword", "--newpassword-file FILE or the prompt")
		return o.newpassword, nil
	}
	if env.Changed("newpassword-file") {
		return vicfg.ReadSecretFile("--newpassword-file", o.newpasswordFile)
	}
	pw, err := env.Terminal.ReadSecret(fmt.Sprintf("Enter new password for %s: ", name))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", fmt.Errorf("no new password for %s: give --newpassword-file FILE (or -p), or run on a terminal to be asked for it", name)
	case err != nil:
		return "", fmt.Errorf("reading the new password: %w", err)
	}
	again, err := env.Terminal.ReadSecret("Re-enter new password: ")
	if err != nil {
		return "", fmt.Errorf("reading the new password: %w", err)
	}
	if pw != again {
		return "", fmt.Errorf("the passwords given for %s do not match", name)
	}
	return pw, nil
}

// current is name's current password, from --oldpassword-file or asked
// on the terminal: never from the command line, where ps would show it.
func (o *options) current(env *vicfg.Env, name string) (string, error) {
	if env.Changed("oldpassword-file") {
		return vicfg.ReadSecretFile("--oldpassword-file", o.oldpasswordFile)
	}
	pw, err := env.Terminal.ReadSecret(fmt.Sprintf("Enter current password for %s: ", name))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", fmt.Errorf("changing your own password (%s) needs your current password: give --oldpassword-file FILE, or run on a terminal to be asked for it", name)
	case err != nil:
		return "", fmt.Errorf("reading the current password: %w", err)
	}
	return pw, nil
}

func showUsers(w io.Writer, us []api.User) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tROLE")
	for _, u := range us {
		fmt.Fprintf(tw, "%s\t%s\n", u.Name, u.Role)
	}
	tw.Flush()
}

func showLocks(w io.Writer, ls []api.Lock) {
	if len(ls) == 0 {
		fmt.Fprintln(w, "No login locks and no recent failed logins.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tSOURCE\tFAILURES\tLOCKED UNTIL")
	for _, l := range ls {
		user, until := l.User, l.LockedUntil
		if user == "" {
			user = "(any)"
		}
		if until == "" {
			until = "not locked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", user, l.Source, l.Failures, until)
	}
	tw.Flush()
}

func showRoles(w io.Writer, rs []api.Role) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tTYPE\tPRIVILEGES")
	for _, r := range rs {
		kind := "custom"
		if r.BuiltIn {
			kind = "built-in"
		}
		privs := strings.Join(r.Privileges, ",")
		if privs == "" {
			privs = "none"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, kind, privs)
	}
	tw.Flush()
}
