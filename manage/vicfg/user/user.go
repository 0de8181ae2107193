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
		"[CONNECTION OPTIONS] -o add|remove|passwd|list|role [-n USER] [-p PASSWORD] [-r ROLE]",
		"[CONNECTION OPTIONS] --addrole NAME --privileges LIST | --removerole NAME | --roles",
	},
	About: "Manage hostagentd's users and roles for remote management, as ESXi's vicfg-user does.",
	Notes: "Passwords are never printed. User names are lower case; the built-in roles\n" +
		"(Administrator, ReadOnly, NoAccess) cannot be changed or removed.\n" +
		"Over the network, -o passwd of your own user asks for your current password first\n" +
		"(on the terminal); nobody grants a role or privilege they do not hold.\n",
	Flags: newFlags,
}

type options struct {
	operation, name, newpassword, role string
	addrole, privileges, removerole    string
	roles                              bool
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
	for _, f := range []string{"operation", "addrole", "removerole", "roles"} {
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
	if !env.Changed("operation") {
		for _, f := range []string{"name", "newpassword", "role"} {
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
	if op == opList {
		for _, f := range []string{"name", "newpassword", "role"} {
			if env.Changed(f) {
				return fmt.Errorf("--%s does not go with -o list", f)
			}
		}
		return nil
	}
	if strings.TrimSpace(o.name) == "" {
		return fmt.Errorf("-o %s needs -n/--name USER", op)
	}
	if env.Changed("newpassword") && op != opAdd && op != opPasswd {
		return fmt.Errorf("-p/--newpassword goes with -o add or -o passwd, not -o %s", op)
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

// password is -p, or asked for twice on a terminal. The daemon checks the
// policy: its message says which rule is broken.
func (o *options) password(env *vicfg.Env, name string) (string, error) {
	if env.Changed("newpassword") {
		return o.newpassword, nil
	}
	pw, err := env.Terminal.ReadSecret(fmt.Sprintf("Enter new password for %s: ", name))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", fmt.Errorf("no new password for %s: give -p/--newpassword, or run on a terminal to be asked for it", name)
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

// current asks for name's current password, on the terminal only: it is
// not taken from the command line, where ps would show it.
func (o *options) current(env *vicfg.Env, name string) (string, error) {
	pw, err := env.Terminal.ReadSecret(fmt.Sprintf("Enter current password for %s: ", name))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", fmt.Errorf("changing your own password (%s) needs your current password: run on a terminal to be asked for it", name)
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
