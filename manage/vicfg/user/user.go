// Package user is vicfg-user: hostagentd's local users and roles for
// remote management, in the manner of ESXi's vicfg-user, talking to the
// daemon's API.
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
	"hostagent/manage/apiclient"
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

type options struct {
	operation, name, newpassword, role string
	addrole, privileges, removerole    string
	roles, help                        bool
	conn                               *vicfg.ConnectionFlags
}

func newFlags(prog string) (*pflag.FlagSet, *options) {
	o := &options{}
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed by Run, once
	fs.Usage = func() {}
	fs.SortFlags = false
	fs.StringVarP(&o.operation, "operation", "o", "", "the `OPERATION` on a user: add, remove, passwd, list or role")
	fs.StringVarP(&o.name, "name", "n", "", "the `USER` of -o add, remove, passwd and role")
	fs.StringVarP(&o.newpassword, "newpassword", "p", "", "the `PASSWORD` of -o add and passwd; asked for without echo on a terminal when not given")
	fs.StringVarP(&o.role, "role", "r", "", "the `ROLE` of -o add and role: Administrator, ReadOnly, NoAccess or a custom role")
	fs.StringVar(&o.addrole, "addrole", "", "add the custom role `NAME`, with --privileges")
	fs.StringVar(&o.privileges, "privileges", "", "the privileges of --addrole, a comma-separated `LIST` (\"\" for none)")
	fs.StringVar(&o.removerole, "removerole", "", "remove the custom role `NAME`")
	fs.BoolVar(&o.roles, "roles", false, "list the roles and their privileges")
	o.conn = vicfg.AddConnectionFlags(fs)
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

func usage(w io.Writer, prog string, fs *pflag.FlagSet, conn *vicfg.ConnectionFlags) {
	fmt.Fprintf(w, "Usage: %s [CONNECTION OPTIONS] -o add|remove|passwd|list|role [-n USER] [-p PASSWORD] [-r ROLE]\n", prog)
	fmt.Fprintf(w, "       %s [CONNECTION OPTIONS] --addrole NAME --privileges LIST | --removerole NAME | --roles\n\n", prog)
	fmt.Fprintf(w, "Manage hostagentd's users and roles for remote management, as ESXi's vicfg-user does.\n\n")
	fmt.Fprint(w, conn.OwnFlagUsages(fs))
	fmt.Fprint(w, "\nConnection options:\n"+conn.FlagUsages())
	fmt.Fprint(w, "\nPasswords are never printed. User names are lower case; the built-in roles\n"+
		"(Administrator, ReadOnly, NoAccess) cannot be changed or removed.\n")
}

// Run executes the command line args (without the program name) and returns
// the exit code: 0 on success, 1 on any error, printed to stderr as
// "<prog>: <message>". stdin is where passwords are asked for when it is a
// terminal.
func Run(ctx context.Context, prog string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := vicfg.Command{Prog: prog, Stdout: stdout, Stderr: stderr}
	fail, badUsage := cmd.Fail, cmd.BadUsage

	fs, o := newFlags(prog)
	if code, done := cmd.Parse(fs, args, &o.help, func(w io.Writer) { usage(w, prog, fs, o.conn) }); done {
		return code
	}
	if err := o.check(fs); err != nil {
		if errors.Is(err, errNothing) {
			usage(stderr, prog, fs, o.conn)
			return 1
		}
		return badUsage(err)
	}

	c, err := o.conn.Connect(ctx, stdin, stderr)
	if err != nil {
		return fail(err)
	}
	defer o.conn.Disconnect(ctx, c)

	if err := o.run(ctx, c, fs, stdin, stdout, stderr); err != nil {
		return fail(err)
	}
	return 0
}

var errNothing = errors.New("nothing to do")

// check refuses a command line that is not one complete action.
func (o *options) check(fs *pflag.FlagSet) error {
	var actions []string
	for _, f := range []string{"operation", "addrole", "removerole", "roles"} {
		if fs.Changed(f) {
			actions = append(actions, "--"+f)
		}
	}
	switch len(actions) {
	case 0:
		return errNothing
	case 1:
	default:
		return fmt.Errorf("%s cannot be given together: one action at a time", strings.Join(actions, " and "))
	}
	if fs.Changed("privileges") && !fs.Changed("addrole") {
		return errors.New("--privileges goes with --addrole")
	}
	if !fs.Changed("operation") {
		for _, f := range []string{"name", "newpassword", "role"} {
			if fs.Changed(f) {
				return fmt.Errorf("--%s goes with -o/--operation", f)
			}
		}
		switch {
		case fs.Changed("addrole") && strings.TrimSpace(o.addrole) == "":
			return errors.New("--addrole needs a role NAME")
		case fs.Changed("addrole") && !fs.Changed("privileges"):
			return fmt.Errorf("--addrole %s needs --privileges LIST (\"\" for none)", o.addrole)
		case fs.Changed("removerole") && strings.TrimSpace(o.removerole) == "":
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
			if fs.Changed(f) {
				return fmt.Errorf("--%s does not go with -o list", f)
			}
		}
		return nil
	}
	if strings.TrimSpace(o.name) == "" {
		return fmt.Errorf("-o %s needs -n/--name USER", op)
	}
	if fs.Changed("newpassword") && op != opAdd && op != opPasswd {
		return fmt.Errorf("-p/--newpassword goes with -o add or -o passwd, not -o %s", op)
	}
	switch {
	case (op == opAdd || op == opRole) && strings.TrimSpace(o.role) == "":
		return fmt.Errorf("-o %s needs -r/--role ROLE", op)
	case fs.Changed("role") && op != opAdd && op != opRole:
		return fmt.Errorf("-r/--role goes with -o add or -o role, not -o %s", op)
	}
	return nil
}

func (o *options) run(ctx context.Context, c *apiclient.Client, fs *pflag.FlagSet, stdin io.Reader, stdout, stderr io.Writer) error {
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
	case fs.Changed("addrole"):
		r := api.Role{Name: strings.TrimSpace(o.addrole), Privileges: list(o.privileges)}
		return step(fmt.Sprintf("Adding role %s...", r.Name), func() error { return c.AddRole(ctx, r) })
	case fs.Changed("removerole"):
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
		pw, err := o.password(fs, name, stdin, stderr)
		if err != nil {
			return err
		}
		u := api.NewUser{Name: name, Password: pw, Role: strings.TrimSpace(o.role)}
		return step(fmt.Sprintf("Adding user %s...", name), func() error { return c.AddUser(ctx, u) })
	case opRemove:
		return step(fmt.Sprintf("Removing user %s...", name), func() error { return c.RemoveUser(ctx, name) })
	case opPasswd:
		pw, err := o.password(fs, name, stdin, stderr)
		if err != nil {
			return err
		}
		return step(fmt.Sprintf("Changing password for user %s...", name), func() error {
			return c.PatchUser(ctx, name, api.UserPatch{Password: &pw})
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
func (o *options) password(fs *pflag.FlagSet, name string, stdin io.Reader, stderr io.Writer) (string, error) {
	if fs.Changed("newpassword") {
		return o.newpassword, nil
	}
	pw, err := vicfg.ReadSecret(stdin, stderr, fmt.Sprintf("Enter new password for %s: ", name))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", fmt.Errorf("no new password for %s: give -p/--newpassword, or run on a terminal to be asked for it", name)
	case err != nil:
		return "", fmt.Errorf("reading the new password: %w", err)
	}
	again, err := vicfg.ReadSecret(stdin, stderr, "Re-enter new password: ")
	if err != nil {
		return "", fmt.Errorf("reading the new password: %w", err)
	}
	if pw != again {
		return "", fmt.Errorf("the passwords given for %s do not match", name)
	}
	return pw, nil
}

// list splits a comma-separated value; "" is no privileges.
func list(s string) []string {
	l := []string{}
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			l = append(l, item)
		}
	}
	return l
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
