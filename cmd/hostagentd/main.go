// Command hostagentd is the hostagent daemon: the SNMP notification agent,
// the collectors that feed it, and its management API.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"hostagent/collectors"
	"hostagent/manage/api"
	// The built-in sources register themselves with collectors.Register;
	// the program, not internal/daemon, chooses which it is built with.
	_ "hostagent/collectors/all"
	"hostagent/internal/daemon"
	"hostagent/internal/logwatch"
	"hostagent/internal/trapwatch"
	"hostagent/syslogd"
	"hostagent/syslogd/output/jetstream"
)

func main() {
	var opts daemon.Options
	var demo, demoLog, demoStream string
	fs := pflag.NewFlagSet("hostagentd", pflag.ContinueOnError)
	fs.StringVar(&opts.ConfigDir, "config-dir", "/etc/hostagent", "directory of the TOML configuration, watched for edits")
	fs.StringVar(&opts.StateDir, "state-dir", "/var/lib/hostagent", "directory of the daemon's state")
	fs.StringVar(&opts.APISocket, "api-socket", api.DefaultSocket, "unix socket of the management API (mode 0660)")
	fs.StringVar(&opts.APIGroup, "api-group", "", "group allowed to use the API socket besides root (default: the daemon's group)")
	fs.StringVar(&opts.Paths.ProcFS, "path.procfs", collectors.DefaultPaths.ProcFS, "procfs mountpoint (resource counters)")
	fs.StringVar(&opts.Paths.SysFS, "path.sysfs", collectors.DefaultPaths.SysFS, "sysfs mountpoint (sensors, network links)")
	fs.StringVar(&opts.HTTPSListen, "https-listen", "", "also serve the management API to named users over HTTPS on `host:port` (off by default)")
	fs.StringVar(&opts.TLSCert, "tls-cert", "", "HTTPS certificate `file` (default: a self-signed one generated in the state dir)")
	fs.StringVar(&opts.TLSKey, "tls-key", "", "HTTPS key `file`, with --tls-cert")
	fs.StringSliceVar(&opts.LogRoots, "log-root", []string{daemon.DefaultLogRoot}, "`directory` under which a log file glob set over the network (API or restore) may name files; repeat or comma-separate for several (the console and hand edits may name any path)")
	fs.DurationVar(&opts.SessionTimeout, "session-timeout", 30*time.Minute, "end HTTPS sessions unused for this `duration`")
	fs.StringVar(&demo, "demo-receiver", "", "also run a receiver on this UDP `host:port` that logs each notification decoded (for demonstrations)")
	fs.StringVar(&demoLog, "demo-collector", "", "also run a syslog collector on this TCP `host:port` that logs each line it receives decoded (for demonstrations; point a tcp:// loghost at it)")
	fs.StringVar(&demoStream, "demo-stream", "", "also consume a JetStream stream taking SUBJECT, at `URL` nats://host:port/SUBJECT, and log each record stored (for demonstrations; point a nats:// loghost at it)")
	// Hidden: make man writes hostagentd(8) with it, from these very flags.
	helpMan := fs.Bool("help-man", false, "print the hostagentd(8) manual page in roff and exit")
	_ = fs.MarkHidden("help-man") // defined on the line above: cannot fail
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			os.Exit(0)
		}
		fmt.Fprintf(os.Stderr, "hostagentd: %v\n", err)
		os.Exit(2)
	}
	if *helpMan {
		if err := manPage(fs).Write(os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "hostagentd: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "hostagentd: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	var stream syslogd.Loghost
	if demoStream != "" {
		h, err := syslogd.ParseLoghost(demoStream)
		if h.Scheme != "nats" {
			fmt.Fprintf(os.Stderr, "hostagentd: --demo-stream %q: not a nats:// URL; write nats://host:port/SUBJECT\n", demoStream)
			os.Exit(2)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "hostagentd: --demo-stream: %v\n", err)
			os.Exit(2)
		}
		stream = h
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	setMemoryLimit(log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP (the systemd unit's ExecReload) re-reads the configuration
	// files. Caught from here on, so that one arriving during the start does
	// not kill the daemon (its default action): the reload waits for ready.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	d := daemon.New(opts, log)
	go func() {
		for range hup {
			d.Reload()
		}
	}()
	if demo != "" {
		w, err := trapwatch.Start(demo, d, log.With("subsystem", "demo-receiver"))
		if err != nil {
			log.Error("cannot start", "err", err)
			os.Exit(1)
		}
		defer w.Close()
	}
	if demoLog != "" {
		// Started before the daemon so that its first connection finds
		// it; it logs to stderr only, never through the forwarder, which
		// would send each line back to it.
		w, err := logwatch.Start(demoLog, log.With("subsystem", "demo-collector"))
		if err != nil {
			log.Error("cannot start", "err", err)
			os.Exit(1)
		}
		defer w.Close()
	}
	if demoStream != "" {
		// As the demo collector, it logs to stderr only: through the
		// forwarder each record shown would be published again.
		w, err := logwatch.StartStream(jetstream.URLs(stream), stream.Topic,
			log.With("subsystem", "demo-stream"))
		if err != nil {
			log.Error("cannot start", "err", err)
			os.Exit(1)
		}
		defer w.Close()
	}
	if err := d.Run(ctx); err != nil {
		log.Error("hostagentd failed", "err", err)
		os.Exit(1)
	}
}

// defaultMemoryLimit is the Go runtime's soft memory limit when GOMEMLIMIT
// is not set. Each password check holds 64 MiB and two at most run at once
// (auth.DefaultHashSlots); without a limit the garbage collector lets the
// heap grow to twice what is live before it collects the checks' freed
// memory, and a login flood kept the process near 360 MB. With 192 MiB it
// collects sooner and stays near 220 MB. Soft: the runtime exceeds it rather
// than fail, so it bounds growth, not correctness.
const defaultMemoryLimit = 192 << 20

// setMemoryLimit applies defaultMemoryLimit unless GOMEMLIMIT says
// otherwise (the runtime has then applied it already).
func setMemoryLimit(log *slog.Logger) {
	if v, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Debug("memory limit from GOMEMLIMIT", "GOMEMLIMIT", v)
		return
	}
	debug.SetMemoryLimit(defaultMemoryLimit)
	log.Debug("memory limit", "bytes", defaultMemoryLimit, "change", "GOMEMLIMIT")
}
