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
	"net"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
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
		"SNMPv3 (esxcli's options): --users name/authhash/privhash/model (model\n" +
		"none, auth or priv; - for no hash), --v3targets\n" +
		"host[@port]/user/secLevel/trap|inform. Informs use --remoteusers\n" +
		"name/authhash/privhash/model/engineid: the receiver of an inform is the\n" +
		"authoritative engine, so its user's keys are localized to the receiver's\n" +
		"engine ID (hex), which must be given unless the model is none.\n" +
		"The hashes are keys localized to the engine ID in force: compute them with\n" +
		"--hash --auth-hash FILE [--priv-hash FILE] (files holding the passwords, or\n" +
		"the passwords themselves with --raw-secret); for a remote user's, add\n" +
		"--remote-engineid HEX, or --remote-target HOST[@PORT] to find the receiver's\n" +
		"engine ID by engine discovery (printed as Engineid). Changing --engineid or --authentication invalidates the\n" +
		"users' keys: give --users again with them (--remoteusers too for\n" +
		"--authentication).\n" +
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

	// SNMPv3, long options only (esxcli's names).
	engineid, authentication, privacy string
	users, v3targets, remoteusers     string
	remoteEngineID                    string // --hash for a remote user: the receiver's engine ID
	remoteTarget                      string // --hash for a remote user: the receiver, whose engine ID discovery finds
	hash, rawSecret                   bool
	authHash, privHash                string
	authSecret, privSecret            []byte // --hash's passwords, read by Prepare; privSecret nil when not given

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
	// SNMPv3: long options only, so that no letter collides with the
	// options above (esxcli has no short letters for them either).
	fs.StringVar(&o.engineid, "engineid", "", "set the SNMPv3 engine ID to `HEX` (5 to 32 octets); empty: the one hostagentd generated")
	fs.StringVar(&o.authentication, "authentication", "", "set the SNMPv3 authentication `PROTOCOL`: none, SHA1, SHA224, SHA256, SHA384 or SHA512")
	fs.StringVar(&o.privacy, "privacy", "", "set the SNMPv3 privacy `PROTOCOL`: none, AES128, AES192 or AES256")
	fs.StringVar(&o.users, "users", "", "set the SNMPv3 users, a comma-separated `LIST` of name/authhash/privhash/model replacing the previous one")
	fs.StringVar(&o.v3targets, "v3targets", "", "set the SNMPv3 targets, a comma-separated `LIST` of host[@port]/user/secLevel/trap replacing the previous one")
	fs.StringVar(&o.remoteusers, "remoteusers", "", "set the users of the receivers of SNMPv3 informs, a comma-separated `LIST` of name/authhash/privhash/model/engineid replacing the previous one")
	fs.StringVar(&o.remoteEngineID, "remote-engineid", "", "with --hash: localize the keys to this receiver's engine ID (`HEX`), for --remoteusers, instead of the engine ID in force")
	fs.StringVar(&o.remoteTarget, "remote-target", "", "with --hash: find the receiver's engine ID at `HOST[@PORT]` (port 162) by SNMPv3 engine discovery, print it, and localize the keys to it, for --remoteusers")
	fs.BoolVar(&o.hash, "hash", false, "print the Authhash and Privhash of --auth-hash and --priv-hash for the engine ID and authentication in force")
	fs.StringVar(&o.authHash, "auth-hash", "", "with --hash: the `FILE` holding the authentication password (the password itself with --raw-secret)")
	fs.StringVar(&o.privHash, "priv-hash", "", "with --hash: the `FILE` holding the privacy password (the password itself with --raw-secret)")
	fs.BoolVar(&o.rawSecret, "raw-secret", false, "with --hash: --auth-hash and --priv-hash are the passwords, not files")
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
var listFlags = []string{"communities", "targets", "notraps", "users", "v3targets", "remoteusers"}

// secretFlags may hold secrets: their values are never echoed.
var secretFlags = []string{"users", "remoteusers", "auth-hash", "priv-hash"}

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
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + "/" + name
		}
		shown := strings.Join(quoted, ", ")
		if slices.Contains(secretFlags, f.Name) {
			shown = "values not shown"
		}
		errs = append(errs, fmt.Errorf("%s is given %d times (%s): only one would be used; %s",
			name, len(vals), shown, how))
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
	if err := o.prepareHash(env); err != nil {
		return err
	}
	if len(o.msgs) == 0 && !o.test && !o.show && !o.hash {
		return vicfg.ErrNothingToDo
	}
	return nil
}

// prepareHash checks --hash's options and reads its secrets. --hash
// localizes keys to the engine ID and authentication in force, so it is
// refused beside a change, which would be applied after the keys were
// computed for the settings it replaces.
func (o *options) prepareHash(env *vicfg.Env) error {
	given := env.Changed("auth-hash") || env.Changed("priv-hash") || env.Changed("raw-secret") || env.Changed("remote-engineid") || env.Changed("remote-target")
	if !o.hash {
		if given {
			return vicfg.UsageError(errors.New("--auth-hash, --priv-hash, --raw-secret, --remote-engineid and --remote-target go with --hash"))
		}
		return nil
	}
	if env.Changed("remote-engineid") && env.Changed("remote-target") {
		return vicfg.UsageError(errors.New("--remote-engineid gives the receiver's engine ID and --remote-target finds it: give one of them"))
	}
	if env.Changed("remote-engineid") {
		if _, err := usm.ParseEngineID(strings.TrimSpace(o.remoteEngineID)); err != nil {
			return fmt.Errorf("--remote-engineid: %w", err)
		}
	}
	if env.Changed("remote-target") {
		if _, err := remoteTargetAddr(o.remoteTarget); err != nil {
			return err
		}
	}
	if len(o.msgs) > 0 {
		return vicfg.UsageError(errors.New("--hash computes keys for the engine ID and authentication in force: give it without changes (set --engineid and --authentication first, then --hash, then --users)"))
	}
	if !env.Changed("auth-hash") {
		return vicfg.UsageError(errors.New("--hash needs --auth-hash (a file holding the authentication password, or the password with --raw-secret)"))
	}
	read := func(flag, v string) ([]byte, error) {
		if o.rawSecret {
			if v == "" {
				return nil, fmt.Errorf("--%s: the password is empty", flag)
			}
			return []byte(v), nil
		}
		secret, err := vicfg.ReadSecretFile("--"+flag, v)
		return []byte(secret), err
	}
	var err error
	if o.authSecret, err = read("auth-hash", o.authHash); err != nil {
		return err
	}
	if env.Changed("priv-hash") {
		if o.privSecret, err = read("priv-hash", o.privHash); err != nil {
			return err
		}
	}
	return nil
}

// remoteTargetAddr is --remote-target's receiver as host:port, checked as
// a target is (no broadcast, multicast or unspecified address).
func remoteTargetAddr(v string) (string, error) {
	t, err := snmpconfig.ParseTarget(v)
	if err == nil && (t.Community != "" || t.Kind != snmpconfig.TrapV2c) {
		err = errors.New("want host[@port], without a kind or /community")
	}
	if err != nil {
		return "", fmt.Errorf("--remote-target %q: %w", v, err)
	}
	return net.JoinHostPort(t.Host, strconv.Itoa(int(t.Port))), nil
}

// printHash prints --hash's keys, localized to the engine ID the daemon
// has in force (or, with --remote-engineid, to an inform receiver's) with
// its authentication protocol, as esxcli prints them.
func (o *options) printHash(ctx context.Context, w io.Writer, st api.SNMPState) error {
	var engineID []byte
	var err error
	switch {
	case o.remoteTarget != "":
		// Discovered from where the command runs: an engine ID is the
		// same whoever asks.
		addr, err := remoteTargetAddr(o.remoteTarget)
		if err != nil {
			return err
		}
		e, err := usm.Discover(ctx, addr, 2*time.Second, 3)
		if err != nil {
			return fmt.Errorf("--remote-target %s: %w", o.remoteTarget, err)
		}
		engineID = e.ID
		fmt.Fprintf(w, "Engineid: %s\n", usm.FormatEngineID(engineID))
	case o.remoteEngineID != "":
		// A remote user's keys: localized to the receiver's engine.
		if engineID, err = usm.ParseEngineID(strings.TrimSpace(o.remoteEngineID)); err != nil {
			return fmt.Errorf("--remote-engineid: %w", err)
		}
	default:
		if st.EngineID == "" {
			return errors.New("--hash: hostagentd reports no SNMPv3 engine ID (its SNMPv3 engine did not start: see its log)")
		}
		if engineID, err = usm.ParseEngineID(st.EngineID); err != nil {
			return fmt.Errorf("--hash: hostagentd's engine ID: %w", err)
		}
	}
	a, err := usm.ParseAuthProtocol(st.Config.Authentication)
	if err != nil {
		return fmt.Errorf("--hash: hostagentd's %w", err)
	}
	if a == usm.AuthNone {
		return errors.New("--hash: authentication is none, so users have no keys: set --authentication first (SHA1, SHA224, SHA256, SHA384 or SHA512)")
	}
	ak, pk, err := usm.LocalizedKeys(a, o.authSecret, o.privSecret, engineID)
	if err != nil {
		return fmt.Errorf("--hash: %w", err)
	}
	fmt.Fprint(w, usm.FormatHashes(ak, pk))
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
	if o.hash {
		st, err := c.SNMP(ctx)
		if err != nil {
			return err
		}
		if err := o.printHash(ctx, stdout, st); err != nil {
			return err
		}
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
	o.changeV3(env, &p, check, say)
	return p, msgs, errors.Join(errs...)
}

// changeV3 adds the SNMPv3 settings to the change. The users' keys are
// checked against the protocols when the command line sets them; else the
// daemon checks them against its own.
func (o *options) changeV3(env *vicfg.Env, p *api.SNMPPatch, check func(error), say func(string, any)) {
	if env.Changed("engineid") {
		v := strings.TrimSpace(o.engineid)
		shown := "generated by hostagentd"
		if v != "" {
			id, err := usm.ParseEngineID(v)
			check(prefixed("--engineid", err))
			v, shown = usm.FormatEngineID(id), usm.FormatEngineID(id)
		}
		p.EngineID = &v
		say("Changing engine id to: %s...", shown)
	}
	a, authErr := usm.AuthProtocol(0), error(nil)
	if env.Changed("authentication") {
		a, authErr = usm.ParseAuthProtocol(o.authentication)
		check(prefixed("--authentication", authErr))
		v := a.String()
		p.Authentication = &v
		say("Changing authentication protocol to: %s...", v)
	}
	pr, privErr := usm.PrivProtocol(0), error(nil)
	if env.Changed("privacy") {
		pr, privErr = usm.ParsePrivProtocol(o.privacy)
		check(prefixed("--privacy", privErr))
		v := pr.String()
		p.Privacy = &v
		say("Changing privacy protocol to: %s...", v)
	}
	if env.Changed("users") {
		l := vicfg.List(o.users)
		err := snmpconfig.CheckUsers(l)
		check(err)
		if err == nil && env.Changed("authentication") && env.Changed("privacy") && authErr == nil && privErr == nil {
			for _, raw := range l {
				_, err := snmpconfig.ParseUser(raw, a, pr)
				check(err)
			}
		}
		p.Users = &l
		// Announced with the keys hidden: the terminal and its
		// scrollback are no place for them.
		say("Changing users to: %s...", snmpconfig.Users(l).String())
	}
	if env.Changed("remoteusers") {
		l := vicfg.List(o.remoteusers)
		err := snmpconfig.CheckRemoteUsers(l)
		check(err)
		if err == nil && env.Changed("authentication") && env.Changed("privacy") && authErr == nil && privErr == nil {
			for _, raw := range l {
				_, err := snmpconfig.ParseRemoteUser(raw, a, pr)
				check(err)
			}
		}
		p.RemoteUsers = &l
		say("Changing remote users to: %s...", snmpconfig.RemoteUsers(l).String())
	}
	if env.Changed("v3targets") {
		l := vicfg.List(o.v3targets)
		check(snmpconfig.CheckV3Targets(l))
		p.V3Targets = &l
		shown := make([]string, len(l))
		for i, raw := range l {
			shown[i] = raw
			if t, err := snmpconfig.ParseV3Target(raw); err == nil {
				shown[i] = t.String()
			}
		}
		say("Changing SNMPv3 notification targets list to: %s...", strings.Join(shown, ","))
	}
}

// prefixed names the option in an error of a usm parser, which names only
// the value.
func prefixed(option string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", option, err)
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
	if line := pollingLine(st.Polling); line != "" {
		fmt.Fprintln(w, "Polling  : "+line)
	}
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
	showV3(w, st)
	fmt.Fprint(w, "\nDelivery :\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, t := range st.Targets {
		fmt.Fprintf(tw, "%s\t%s\tsent %d\tacknowledged %d\tfailed %d\tdropped %d\tqueued %d\n",
			t.Target, t.Kind, t.Sent, t.Acknowledged, t.Failed, t.Dropped, t.Queued)
	}
	tw.Flush()
}

// pollingLine says who answers polls and how it goes; "" when the daemon
// reports nothing of it.
func pollingLine(p api.PollingState) string {
	switch {
	case p.Mode == "":
		return ""
	case !p.On:
		return "off: " + p.Reason
	case p.Mode == snmpconfig.PollingSystem:
		return fmt.Sprintf("on, through the system's snmpd (AgentX %s; %d VMware objects)", p.Master, p.Objects)
	}
	sub := "AgentX subagent attached"
	if !p.SubagentConnected {
		sub = "AgentX subagent not attached"
		if p.SubagentError != "" {
			sub += ": " + p.SubagentError
		}
	}
	return fmt.Sprintf("on, snmpd pid %d on %s (%s; %d VMware objects)", p.PID, p.Listen, sub, p.Objects)
}

// showV3 prints the SNMPv3 settings, with every key shown as <set> (to
// everyone: nobody needs a key read back), when any is set; a
// configuration without SNMPv3 shows as before.
func showV3(w io.Writer, st api.SNMPState) {
	c := st.Config
	if c.EngineID == "" && len(c.Users) == 0 && len(c.V3Targets) == 0 && len(c.RemoteUsers) == 0 &&
		(c.Authentication == "" || c.Authentication == "none") && (c.Privacy == "" || c.Privacy == "none") {
		return
	}
	engine := c.EngineID
	if engine == "" {
		engine = st.EngineID + " (generated)"
	}
	fmt.Fprintf(w, "\nSNMPv3 :\nEngine id      : %s\nAuthentication : %s\nPrivacy        : %s\n", engine, c.Authentication, c.Privacy)
	fmt.Fprint(w, "\nUsers :\n")
	for _, u := range c.Users {
		fmt.Fprintln(w, snmpconfig.MaskUser(u))
	}
	if len(c.RemoteUsers) > 0 {
		fmt.Fprint(w, "\nRemote users :\n")
		for _, u := range c.RemoteUsers {
			fmt.Fprintln(w, snmpconfig.MaskRemoteUser(u))
		}
	}
	fmt.Fprint(w, "\nSNMPv3 notification targets :\n")
	for _, t := range c.V3Targets {
		fmt.Fprintln(w, t)
	}
}
