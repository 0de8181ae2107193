// Package snmp is the vicfg program's vicfg-snmp command (esxcfg-snmp
// too): ESXi's SNMP configuration command, talking to hostagentd's API. It
// holds the command's own options, their checks and its output; the frame
// (flags, connection, prompts, errors) is package vicfg's.
package snmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	"hostagent/snmpagent/snmpconfig"
)

func init() { vicfg.Register(Command) }

// Command is vicfg-snmp, installed as esxcfg-snmp too.
var Command = &vicfg.Command{
	Name:     "vicfg-snmp",
	Aliases:  []string{"esxcfg-snmp"},
	Short:    "configure the SNMP notification agent: communities, targets, test notifications",
	Synopsis: []string{"[--server unix:PATH] OPTIONS"},
	About:    "Configure hostagentd's SNMP notification agent, as ESXi's vicfg-snmp does.",
	Notes: "Targets are written [v1:|v2c:|inform:]host[@port][/community]: the port\n" +
		"defaults to 162, the notification to a v2c trap and the community to the\n" +
		"first of --communities.\n" +
		"The changes of one invocation, --reset included (it comes first), are\n" +
		"applied together or not at all; then --test runs, then --show.\n",
	Flags: newFlags,
}

// options are the command line's values; which list and string flags were
// given is asked of the flag set, so that an empty value can clear a setting.
type options struct {
	communities, targets, notraps     string
	syscontact, syslocation, loglevel string
	port                              string // parsed by Prepare, for a message of the command's own
	enable, disable                   bool
	show, test, reset                 bool

	given map[string][]string // the values of each flag, in the order given

	patch api.SNMPPatch // the change, once Prepare has read the flags
	msgs  []string      // announcing it, one per setting
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{given: map[string][]string{}}
	fs.StringVarP(&o.communities, "communities", "c", "", "set the communities, a comma-separated `LIST` replacing the previous one")
	fs.StringVarP(&o.targets, "targets", "t", "", "set the notification targets, a comma-separated `LIST` replacing the previous one")
	fs.StringVarP(&o.port, "port", "p", "", "set the UDP port the agent listens on to `N`, from 1 to 65535")
	fs.BoolVarP(&o.enable, "enable", "E", false, "enable the agent")
	fs.BoolVarP(&o.disable, "disable", "D", false, "disable the agent")
	fs.BoolVarP(&o.show, "show", "s", false, "show the settings and delivery counters, after any change")
	fs.BoolVarP(&o.test, "test", "T", false, "send a test notification (warmStart) to every target")
	fs.BoolVarP(&o.reset, "reset", "r", false, "clear the communities and targets (before the other changes given)")
	fs.StringVarP(&o.notraps, "notraps", "n", "", "set the notifications not to send, a comma-separated `LIST` of names or OIDs; reset clears it")
	fs.StringVarP(&o.syscontact, "syscontact", "C", "", "set sysContact to `S`")
	fs.StringVarP(&o.syslocation, "syslocation", "L", "", "set sysLocation to `S`")
	fs.StringVarP(&o.loglevel, "loglevel", "l", "", "set the agent's `LEVEL` of logging: debug, info, warning or error")
	// pflag keeps the last of a repeated flag's values without a word:
	// each value is recorded, so that Prepare can refuse the repetition.
	fs.VisitAll(func(f *pflag.Flag) { f.Value = recorder{f.Value, f.Name, o.given} })
	return o
}

// recorder is a flag's value that records every value it is set to.
type recorder struct {
	pflag.Value
	name  string
	given map[string][]string
}

func (r recorder) Set(v string) error {
	if err := r.Value.Set(v); err != nil {
		return err
	}
	r.given[r.name] = append(r.given[r.name], v)
	return nil
}

// listFlags take a comma-separated list: given twice, the user most likely
// expected the lists to add up.
var listFlags = []string{"communities", "targets", "notraps"}

// repeated refuses a flag given more than once, which pflag would settle
// by keeping the last value. A switch (-E, -s, ...) given twice with the
// same value means what it means once; with another (--enable=false) it is
// refused too.
func (o *options) repeated(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		vals := o.given[f.Name]
		if len(vals) < 2 {
			return
		}
		if f.NoOptDefVal != "" && !slices.ContainsFunc(vals, func(v string) bool { return v != vals[0] }) {
			return
		}
		quoted := make([]string, len(vals))
		for i, v := range vals {
			quoted[i] = strconv.Quote(v)
		}
		how := "give it once"
		if slices.Contains(listFlags, f.Name) {
			how = "give it once, with a comma-separated list of all the values"
		}
		errs = append(errs, fmt.Errorf("-%s/--%s is given %d times (%s): only one would be used; %s",
			f.Shorthand, f.Name, len(vals), strings.Join(quoted, ", "), how))
	})
	return errors.Join(errs...)
}

// Prepare refuses a command line that asks for nothing, for both --enable
// and --disable, or that repeats a flag, and builds the change, refusing
// every value it can check without the daemon before anything is announced
// or sent.
func (o *options) Prepare(_ context.Context, env *vicfg.Env) error {
	if o.enable && o.disable {
		return vicfg.UsageError(errors.New("--enable and --disable cannot be given together"))
	}
	if err := o.repeated(env.Flags); err != nil {
		return vicfg.UsageError(err)
	}
	var err error
	o.patch, o.msgs, err = o.change(env)
	if err != nil {
		return err
	}
	if len(o.msgs) == 0 && !o.test && !o.show {
		return vicfg.ErrNothingToDo
	}
	return nil
}

// Run applies the change, then runs --test, then --show.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	// Prepare has checked each value with the daemon's own checks; what
	// only the daemon can check (the notraps names, in the MIB modules it
	// loads; a target without a community when none are configured) it
	// refuses after the announcement, with messages naming the setting and
	// the value.
	if len(o.msgs) > 0 {
		for _, m := range o.msgs {
			fmt.Fprintln(stdout, m)
		}
		if _, err := c.PatchSNMP(ctx, o.patch); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	var testFailed error
	if o.test {
		fmt.Fprintln(stdout, "Sending test notification(trap) to all configured targets...")
		res, err := c.TestSNMP(ctx)
		if err != nil {
			return err
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
			// Reported now and still --show: the counters help to see
			// what went wrong.
			testFailed = vicfg.ErrReported
			env.Report(fmt.Errorf("test notification failed for %d of %d targets", failed, len(res)))
		}
	}
	if o.show {
		st, err := c.SNMP(ctx)
		if err != nil {
			return err
		}
		show(stdout, st)
	}
	return testFailed
}

// change turns the flags given into one change, sent in one request so that
// it is applied all or nothing, and the messages announcing it. Each value
// is checked as the daemon checks it (snmpconfig's checks): the error holds
// every problem, one per line.
func (o *options) change(env *vicfg.Env) (p api.SNMPPatch, msgs []string, err error) {
	var errs []error
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	say := func(format string, v any) { msgs = append(msgs, fmt.Sprintf(format, v)) }
	if o.reset {
		// Part of the same change, so that a reset with a bad value in the
		// same invocation leaves everything as it was.
		empty := []string{}
		p.Communities, p.Targets = &empty, &empty
		msgs = append(msgs, "Resetting communities and notification targets...")
	}
	if env.Changed("communities") {
		l := vicfg.List(o.communities)
		check(snmpconfig.CheckCommunities(l))
		p.Communities = &l
		say("Changing community list to: %s...", strings.Join(l, ","))
	}
	if env.Changed("targets") {
		l := vicfg.List(o.targets)
		check(snmpconfig.CheckTargets(l))
		p.Targets = &l
		// Announced in the form the daemon stores and shows: the port
		// made explicit, an IPv6 address in brackets.
		shown := make([]string, len(l))
		for i, raw := range l {
			shown[i] = raw
			if t, err := snmpconfig.ParseTarget(raw); err == nil {
				shown[i] = t.String()
			}
		}
		say("Changing notification(trap) targets list to: %s...", strings.Join(shown, ","))
	}
	if env.Changed("port") {
		port, err := parsePort(o.port)
		check(err)
		p.Port = &port
		say("Changing udp port to %d...", port)
	}
	if o.enable || o.disable {
		p.Enabled = &o.enable
		if o.enable {
			msgs = append(msgs, "Enabling agent...")
		} else {
			msgs = append(msgs, "Disabling agent...")
		}
	}
	if env.Changed("notraps") {
		l := vicfg.List(o.notraps)
		say("Changing notraps list to: %s...", strings.Join(l, ","))
		if len(l) == 1 && l[0] == "reset" { // esxcli's way to clear the list
			l = []string{}
		}
		p.Notraps = &l
	}
	if env.Changed("syscontact") {
		check(snmpconfig.CheckText("syscontact", o.syscontact))
		p.Syscontact = &o.syscontact
		say("Changing syscontact to: %s...", o.syscontact)
	}
	if env.Changed("syslocation") {
		check(snmpconfig.CheckText("syslocation", o.syslocation))
		p.Syslocation = &o.syslocation
		say("Changing syslocation to: %s...", o.syslocation)
	}
	if env.Changed("loglevel") {
		_, err := snmpconfig.CheckLoglevel(o.loglevel)
		check(err)
		p.Loglevel = &o.loglevel
		say("Changing loglevel to: %s...", o.loglevel)
	}
	return p, msgs, errors.Join(errs...)
}

// parsePort reads --port's value, with a message of the command's own
// rather than strconv's.
func parsePort(v string) (int, error) {
	bad := fmt.Errorf("--port %q: must be a number from 1 to 65535", v)
	t := strings.TrimSpace(v)
	if t == "" || strings.Trim(t, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.Atoi(t)
	if err != nil { // more digits than an int holds
		return 0, bad
	}
	if err := snmpconfig.CheckPort(n); err != nil {
		return 0, bad
	}
	return n, nil
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
