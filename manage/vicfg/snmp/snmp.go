// Package snmp is vicfg-snmp (and esxcfg-snmp): ESXi's SNMP configuration command, talking to hostagentd's API.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
)

// options are the command line's values; which list and string flags were
// given is asked of the flag set, so that an empty value can clear a setting.
type options struct {
	communities, targets, notraps     string
	syscontact, syslocation, loglevel string
	port                              int
	enable, disable                   bool
	show, test, reset, help           bool
	conn                              *vicfg.ConnectionFlags
}

func newFlags(prog string) (*pflag.FlagSet, *options) {
	o := &options{}
	fs := pflag.NewFlagSet(prog, pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and usage are printed by Run, once
	fs.Usage = func() {}
	fs.SortFlags = false // keep ESXi's order in --help
	fs.StringVarP(&o.communities, "communities", "c", "", "set the communities, a comma-separated `LIST` replacing the previous one")
	fs.StringVarP(&o.targets, "targets", "t", "", "set the notification targets, a comma-separated `LIST` replacing the previous one")
	fs.IntVarP(&o.port, "port", "p", 0, "set the UDP port the agent listens on to `N`")
	fs.BoolVarP(&o.enable, "enable", "E", false, "enable the agent")
	fs.BoolVarP(&o.disable, "disable", "D", false, "disable the agent")
	fs.BoolVarP(&o.show, "show", "s", false, "show the settings and delivery counters, after any change")
	fs.BoolVarP(&o.test, "test", "T", false, "send a test notification (warmStart) to every target")
	fs.BoolVarP(&o.reset, "reset", "r", false, "clear the communities and targets (before the other changes given)")
	fs.StringVarP(&o.notraps, "notraps", "n", "", "set the notifications not to send, a comma-separated `LIST` of names or OIDs; reset clears it")
	fs.StringVarP(&o.syscontact, "syscontact", "C", "", "set sysContact to `S`")
	fs.StringVarP(&o.syslocation, "syslocation", "L", "", "set sysLocation to `S`")
	fs.StringVarP(&o.loglevel, "loglevel", "l", "", "set the agent's `LEVEL` of logging: debug, info, warning or error")
	o.conn = vicfg.AddConnectionFlags(fs)
	fs.BoolVarP(&o.help, "help", "h", false, "show this help")
	return fs, o
}

func usage(w io.Writer, prog string, fs *pflag.FlagSet, conn *vicfg.ConnectionFlags) {
	fmt.Fprintf(w, "Usage: %s [--server unix:PATH] OPTIONS\n\n", prog)
	fmt.Fprintf(w, "Configure hostagentd's SNMP notification agent, as ESXi's vicfg-snmp does.\n\n")
	fmt.Fprint(w, conn.OwnFlagUsages(fs))
	fmt.Fprint(w, "\nConnection options:\n"+conn.FlagUsages())
	fmt.Fprint(w, "\nTargets are written [v1:|v2c:|inform:]host[@port][/community]: the port\n"+
		"defaults to 162, the notification to a v2c trap and the community to the\n"+
		"first of --communities.\n"+
		"The changes of one invocation, --reset included (it comes first), are\n"+
		"applied together or not at all; then --test runs, then --show.\n")
}

// Run executes the command line args (without the program name) and returns
// the exit code: 0 on success, 1 on any error (bad flag, bad value rejected by
// the daemon, daemon unreachable), the error printed to stderr as
// "<prog>: <message>" naming the value.
func Run(ctx context.Context, prog string, args []string, stdout, stderr io.Writer) int {
	cmd := vicfg.Command{Prog: prog, Stdout: stdout, Stderr: stderr}
	fail, badUsage := cmd.Fail, cmd.BadUsage

	fs, o := newFlags(prog)
	if code, done := cmd.Parse(fs, args, &o.help, func(w io.Writer) { usage(w, prog, fs, o.conn) }); done {
		return code
	}
	if o.enable && o.disable {
		return badUsage(errors.New("--enable and --disable cannot be given together"))
	}
	patch, msgs := o.patch(fs)
	if len(msgs) == 0 && !o.test && !o.show {
		usage(stderr, prog, fs, o.conn)
		return 1
	}

	c, err := o.conn.Connect(ctx, os.Stdin, stderr)
	if err != nil {
		return fail(err)
	}
	defer o.conn.Disconnect(ctx, c)
	// The values are left to the daemon to check: its validation is the
	// one that counts and its messages name the setting and the value.
	if len(msgs) > 0 {
		for _, m := range msgs {
			fmt.Fprintln(stdout, m)
		}
		if _, err := c.PatchSNMP(ctx, patch); err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	code := 0
	if o.test {
		fmt.Fprintln(stdout, "Sending test notification(trap) to all configured targets...")
		res, err := c.TestSNMP(ctx)
		if err != nil {
			return fail(err)
		}
		failed := 0
		for _, r := range res {
			outcome := r.Result
			if r.Result != "acknowledged" && r.Result != "sent" {
				failed++
				if r.Reason != "" {
					outcome += ": " + r.Reason
				}
			}
			fmt.Fprintf(stdout, "  %s (%s): %s\n", r.Target, r.Kind, outcome)
		}
		fmt.Fprintln(stdout, "Complete. Check with each target to see if trap was received.")
		if failed > 0 {
			// Still --show: the counters help to see what went wrong.
			code = fail(fmt.Errorf("test notification failed for %d of %d targets", failed, len(res)))
		}
	}
	if o.show {
		st, err := c.SNMP(ctx)
		if err != nil {
			return fail(err)
		}
		show(stdout, st)
	}
	return code
}

// patch turns the flags given into one change, sent in one request so that
// it is applied all or nothing, and the messages announcing it.
func (o *options) patch(fs *pflag.FlagSet) (p api.SNMPPatch, msgs []string) {
	say := func(format string, v any) { msgs = append(msgs, fmt.Sprintf(format, v)) }
	if o.reset {
		// Part of the same change, so that a reset with a bad value in the
		// same invocation leaves everything as it was.
		empty := []string{}
		p.Communities, p.Targets = &empty, &empty
		msgs = append(msgs, "Resetting communities and notification targets...")
	}
	if fs.Changed("communities") {
		l := list(o.communities)
		p.Communities = &l
		say("Changing community list to: %s...", strings.Join(l, ","))
	}
	if fs.Changed("targets") {
		l := list(o.targets)
		p.Targets = &l
		say("Changing notification(trap) targets list to: %s...", strings.Join(l, ","))
	}
	if fs.Changed("port") {
		p.Port = &o.port
		say("Changing udp port to %d...", o.port)
	}
	if o.enable || o.disable {
		p.Enabled = &o.enable
		if o.enable {
			msgs = append(msgs, "Enabling agent...")
		} else {
			msgs = append(msgs, "Disabling agent...")
		}
	}
	if fs.Changed("notraps") {
		l := list(o.notraps)
		say("Changing notraps list to: %s...", strings.Join(l, ","))
		if len(l) == 1 && l[0] == "reset" { // esxcli's way to clear the list
			l = []string{}
		}
		p.Notraps = &l
	}
	if fs.Changed("syscontact") {
		p.Syscontact = &o.syscontact
		say("Changing syscontact to: %s...", o.syscontact)
	}
	if fs.Changed("syslocation") {
		p.Syslocation = &o.syslocation
		say("Changing syslocation to: %s...", o.syslocation)
	}
	if fs.Changed("loglevel") {
		p.Loglevel = &o.loglevel
		say("Changing loglevel to: %s...", o.loglevel)
	}
	return p, msgs
}

// list splits a comma-separated value; an empty value is an empty list, so
// that -c "" clears the communities. Empty items are kept for the daemon to
// refuse, rather than silently dropped.
func list(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	l := strings.Split(s, ",")
	for i := range l {
		l[i] = strings.TrimSpace(l[i])
	}
	return l
}

// show prints the state in vicfg-snmp --show's layout, then the settings
// ESXi shows through esxcli, then the delivery counters.
func show(w io.Writer, st api.SNMPState) {
	c := st.Config
	enabled := 0
	if c.Enabled {
		enabled = 1
	}
	fmt.Fprintf(w, "Current SNMP agent settings:\nEnabled  : %d\nUDP port : %d\n", enabled, c.Port)
	fmt.Fprint(w, "\nCommunities :\n")
	for _, s := range c.Communities {
		fmt.Fprintln(w, s)
	}
	fmt.Fprint(w, "\nNotification targets :\n")
	for _, s := range c.Targets {
		fmt.Fprintln(w, s)
	}
	fmt.Fprint(w, "\nOptions :\n")
	for _, kv := range [][2]string{
		{"Syscontact ", c.Syscontact},
		{"Syslocation", c.Syslocation},
		{"Loglevel   ", c.Loglevel},
		{"Notraps    ", strings.Join(c.Notraps, ",")},
	} {
		// No trailing blank after the colon when a setting is empty.
		fmt.Fprintln(w, strings.TrimRight(kv[0]+" : "+kv[1], " "))
	}
	fmt.Fprint(w, "\nDelivery :\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range st.Targets {
		fmt.Fprintf(tw, "%s\t%s\tsent %d\tacknowledged %d\tfailed %d\tdropped %d\tqueued %d\n",
			t.Target, t.Kind, t.Sent, t.Acknowledged, t.Failed, t.Dropped, t.Queued)
	}
	tw.Flush()
}
