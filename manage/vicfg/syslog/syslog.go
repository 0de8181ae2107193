// Package syslog is the vicfg program's vicfg-syslog command
// (esxcfg-syslog too): ESXi's remote syslog configuration command, talking
// to hostagentd's API. It holds the command's own options, their checks
// and its output; the frame (flags, connection, prompts, errors) is
// package vicfg's.
package syslog

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
	"hostagent/syslogd"
)

// defaultPort is the port of --setserver without --setport, as on ESXi.
const defaultPort = 514

func init() { vicfg.Register(Command) }

// Command is vicfg-syslog, installed as esxcfg-syslog too.
var Command = &vicfg.Command{
	Name:     "vicfg-syslog",
	Aliases:  []string{"esxcfg-syslog"},
	Short:    "configure remote syslog forwarding: loghosts, reload, mark",
	Synopsis: []string{"[--server unix:PATH] OPTIONS"},
	About:    "Configure hostagentd's remote syslog forwarding, as ESXi's vicfg-syslog does.",
	Notes: "Loghosts are written udp://host[:port], tcp://host[:port], ssl://host[:port]\n" +
		"or relp://host[:port] (IPv6 in brackets): the port defaults to 514, to 1514\n" +
		"for ssl and to 2514 for relp. Use relp where nothing may be lost: only RELP\n" +
		"has the collector acknowledge each message; UDP confirms nothing.\n" +
		"A log bus is written kafka://broker[:port][,broker...]/TOPIC (kafkas:// for\n" +
		"TLS; port 9092, 9093) or nats://server[:port][,server...]/SUBJECT (port 4222,\n" +
		"a JetStream stream must take the subject): each record counts as delivered\n" +
		"on the bus's acknowledgement. Their options (TLS, SASL, key, credentials) are\n" +
		"set in syslog.toml's loghost_options.\n" +
		"The changes of one invocation, --reset included (it comes first), are\n" +
		"applied together or not at all; then --reload runs, then --mark, then --show.\n",
	Flags: newFlags,
}

// options are the command line's values; which flags were given is asked of
// the flag set, so that an empty value can clear a setting.
type options struct {
	setserver, loghosts, mark string
	setport                   int
	show, reset, reload       bool
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{}
	fs.StringVarP(&o.setserver, "setserver", "s", "", "set the loghosts to the single `HOST`, over UDP, as ESXi 3.5 did")
	fs.IntVarP(&o.setport, "setport", "p", 0, "with --setserver, the UDP `PORT` (default 514); alone, change the port of the single udp loghost")
	fs.BoolVarP(&o.show, "show", "i", false, "show the loghosts, their state and the local inputs, after any change")
	fs.StringVar(&o.loghosts, "loghost", "", "replace the loghosts with the comma-separated `URI[,URI...]`; \"\" clears them")
	fs.BoolVar(&o.reset, "reset", false, "return the configuration to the factory defaults, no loghosts (before the other changes given)")
	fs.StringVar(&o.mark, "mark", "", "send `MESSAGE` through the pipeline to every loghost")
	fs.BoolVar(&o.reload, "reload", false, "make the daemon read syslog.toml again and reopen its inputs")
	return o
}

// Prepare refuses the combinations that leave no answer as to what is
// meant, and a command line that asks for nothing.
func (o *options) Prepare(_ context.Context, env *vicfg.Env) error {
	setserver, setport, loghost := env.Changed("setserver"), env.Changed("setport"), env.Changed("loghost")
	switch {
	case setserver && loghost:
		return vicfg.UsageError(errors.New("--setserver and --loghost cannot be given together: --loghost udp://HOST:PORT does what --setserver does"))
	case setport && !setserver && loghost:
		return vicfg.UsageError(errors.New("--setport without --setserver changes the port of the udp loghost: with --loghost, write the port in the URI"))
	case setport && !setserver && o.reset:
		return vicfg.UsageError(errors.New("--setport without --setserver changes the port of the udp loghost, which --reset removes: give --setserver too"))
	}
	if !setserver && !setport && !loghost && !o.reset && !env.Changed("mark") && !o.reload && !o.show {
		return vicfg.ErrNothingToDo
	}
	// vicfg.List keeps an empty item for the daemon to refuse; the daemon
	// does, but names it by its place in the stored list: refused here,
	// before connecting, naming it in the user's own value.
	if i := slices.Index(loghostList(o.loghosts), ""); loghost && i >= 0 {
		return vicfg.UsageError(fmt.Errorf("--loghost %q: loghost %d is empty; separate the loghosts with single commas", o.loghosts, i+1))
	}
	return nil
}

// Run applies the change, then runs --reload, then --mark, then --show.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	// The values are left to the daemon to check: its validation is the
	// one that counts and its messages name the loghost and the value.
	patch, msgs, err := o.patch(ctx, env)
	if err != nil {
		return err
	}
	if len(msgs) > 0 {
		for _, m := range msgs {
			fmt.Fprintln(stdout, m)
		}
		if _, err := c.PatchSyslog(ctx, patch); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if o.reload {
		fmt.Fprintln(stdout, "Reloading syslog configuration...")
		if _, err := c.ReloadSyslog(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if env.Changed("mark") {
		fmt.Fprintf(stdout, "Sending mark: %s...\n", o.mark)
		if err := c.MarkSyslog(ctx, o.mark); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Complete.")
	}
	if o.show {
		st, err := c.Syslog(ctx)
		if err != nil {
			return err
		}
		show(stdout, st)
	}
	return nil
}

// patch turns the flags given into one change, sent in one request so that
// it is applied all or nothing, and the messages announcing it. Only
// --setport without --setserver needs the daemon: it changes the current
// udp loghost.
func (o *options) patch(ctx context.Context, env *vicfg.Env) (p api.SyslogPatch, msgs []string, err error) {
	if o.reset {
		// Part of the same change, so that a reset with a bad value in the
		// same invocation leaves everything as it was.
		p.Reset = true
		msgs = append(msgs, "Resetting syslog configuration to defaults...")
	}
	switch {
	case env.Changed("setserver"):
		port := defaultPort
		if env.Changed("setport") {
			port = o.setport
		}
		// ESXi took a bare host; an IPv6 literal may come bracketed or not.
		host := strings.TrimSpace(o.setserver)
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
		}
		l := []string{"udp://" + net.JoinHostPort(host, strconv.Itoa(port))}
		p.Loghosts = &l
		msgs = append(msgs, fmt.Sprintf("Setting syslog server to %s...", l[0]))
	case env.Changed("setport"):
		st, err := env.Client.Syslog(ctx)
		if err != nil {
			return p, nil, err
		}
		l, h, err := withPort(st.Config.Loghosts, o.setport)
		if err != nil {
			return p, nil, err
		}
		p.Loghosts = &l
		msgs = append(msgs, fmt.Sprintf("Setting syslog port to %d (%s)...", o.setport, h))
	case env.Changed("loghost"):
		l := loghostList(o.loghosts)
		p.Loghosts = &l
		if len(l) == 0 {
			msgs = append(msgs, "Clearing loghost(s)...")
		} else {
			msgs = append(msgs, fmt.Sprintf("Setting loghost(s) to %s...", strings.Join(l, ",")))
		}
	}
	return p, msgs, nil
}

// loghostList is vicfg.List for loghosts: a log bus's further servers
// (kafka://b1:9092,b2:9092/logs) stay with it, as the daemon reads them.
func loghostList(s string) []string {
	l := vicfg.List(s)
	if len(l) == 0 {
		return l
	}
	return syslogd.SplitLoghosts(strings.Join(l, ","))
}

// withPort returns loghosts with the port of its single udp loghost
// changed, the others kept as written, and the new udp loghost; ESXi 3.5
// had a single server, so more than one udp loghost leaves no answer as to
// which one is meant.
func withPort(loghosts []string, port int) ([]string, string, error) {
	udp := udpLoghosts(loghosts)
	switch len(udp) {
	case 0:
		return nil, "", fmt.Errorf("--setport %d: there is no udp loghost to change the port of (loghosts: %s); give --setserver HOST too",
			port, orNone(strings.Join(loghosts, ",")))
	case 1:
	default:
		var names []string
		for _, i := range udp {
			names = append(names, loghosts[i])
		}
		return nil, "", fmt.Errorf("--setport %d: there are %d udp loghosts (%s) and it changes the port of a single one; write the list with --loghost",
			port, len(udp), strings.Join(names, ","))
	}
	h, _ := syslogd.ParseLoghost(loghosts[udp[0]])
	h.Port = port // out of range, String writes it as is for the daemon to refuse
	l := append([]string{}, loghosts...)
	l[udp[0]] = h.String()
	return l, l[udp[0]], nil
}

// udpLoghosts returns the indexes of the udp loghosts, read as the daemon
// reads them (a bare host is udp).
func udpLoghosts(loghosts []string) []int {
	var udp []int
	for i, s := range loghosts {
		if h, err := syslogd.ParseLoghost(s); err == nil && h.Scheme == "udp" {
			udp = append(udp, i)
		}
	}
	return udp
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// show prints the state: for ESXi 3.5's scripts the single udp server and
// its port when there is one, then each loghost with its state and
// counters, then the local inputs.
func show(w io.Writer, st api.SyslogState) {
	c := st.Config
	if udp := udpLoghosts(c.Loghosts); len(udp) == 1 {
		h, _ := syslogd.ParseLoghost(c.Loghosts[udp[0]])
		fmt.Fprintf(w, "Syslog server: %s\nSyslog port: %d\n\n", h.Host, h.Port)
	}
	fmt.Fprint(w, "Syslog loghosts :\n")
	if len(st.Loghosts) == 0 {
		fmt.Fprintln(w, "none")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range st.Loghosts {
		state := "down"
		if l.Connected {
			state = "connected"
		}
		last := ""
		if l.LastError != "" {
			last = "  (last error: " + l.LastError + ")"
		}
		// Only the loghost and its state are columns: the counters follow
		// as text, as ESXi's commands print them.
		fmt.Fprintf(tw, "%s\t%s\tqueued %d  sent %d  confirmed %d  unconfirmed %d  dropped %d", l.Loghost, state,
			l.Queued, l.Sent, l.Confirmed, l.Unconfirmed, l.Dropped)
		if l.SendFailed > 0 {
			fmt.Fprintf(tw, "  send failed %d", l.SendFailed)
		}
		if l.Failed > 0 {
			fmt.Fprintf(tw, "  failed %d (published again)", l.Failed)
		}
		if l.Confirmed > 0 && l.AckLatency > 0 {
			fmt.Fprintf(tw, "  mean ack latency %s", (l.AckLatency / time.Duration(l.Confirmed)).Round(10*time.Microsecond))
		}
		if l.Lost > 0 {
			fmt.Fprintf(tw, "  file parts lost %d", l.Lost)
		}
		if l.LagBytes > 0 {
			fmt.Fprintf(tw, "  lag %d bytes", l.LagBytes)
		}
		if !l.OldestUnsent.IsZero() {
			fmt.Fprintf(tw, "  oldest unsent read at %s", l.OldestUnsent.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%s\n", last)
		if l.Guarantee != "" {
			fmt.Fprintf(tw, "\t\tdelivery: %s\n", l.Guarantee)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nLocal syslog socket : %s\nLocal UDP listener  : %s\nLog files :\n", orNone(c.Socket), orNone(c.UDP))
	if len(c.Files) == 0 {
		fmt.Fprintln(w, "none")
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range c.Files {
		prio := f.Priority
		if prio == "" {
			prio = "local0.info" // the forwarder's default
		}
		if f.AppName != "" {
			fmt.Fprintf(tw, "%s\t%s\tapp_name %s\n", f.Glob, prio, f.AppName)
		} else {
			fmt.Fprintf(tw, "%s\t%s\n", f.Glob, prio)
		}
	}
	tw.Flush()
}
