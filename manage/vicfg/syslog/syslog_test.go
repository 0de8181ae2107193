package syslog

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/vicfg/vicfgtest"
	"hostagent/syslogd"
)

// service stands in for hostagentd: it validates loghosts as the daemon
// does, so the real messages reach the command, counts the changes it is
// asked for and records marks and reloads.
type service struct {
	mu      sync.Mutex
	cfg     syslogd.Config
	updates int
	reloads int
	marks   []string
	markErr error
	status  []api.LoghostStatus
}

func clone(c syslogd.Config) syslogd.Config {
	c.Loghosts = slices.Clone(c.Loghosts)
	c.Options = maps.Clone(c.Options)
	c.Files = slices.Clone(c.Files)
	return c
}

func (s *service) config() syslogd.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.cfg)
}

func (s *service) SyslogState() api.SyslogState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return api.SyslogState{Config: clone(s.cfg), Loghosts: s.status}
}

func (s *service) UpdateSyslog(_ context.Context, p api.SyslogPatch) (api.SyslogState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	c := clone(s.cfg)
	if p.Reset {
		c = syslogd.DefaultConfig()
	}
	if p.Loghosts != nil {
		c.Loghosts = slices.Clone(*p.Loghosts)
	}
	if _, err := syslogd.ParseLoghosts(strings.Join(c.Loghosts, ",")); err != nil {
		return api.SyslogState{}, apiserver.Invalid(err)
	}
	if err := c.Validate(); err != nil {
		return api.SyslogState{}, apiserver.Invalid(err)
	}
	s.cfg = c
	return api.SyslogState{Config: clone(c), Loghosts: s.status}, nil
}

func (s *service) MarkSyslog(_ context.Context, message string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.markErr != nil {
		return s.markErr
	}
	s.marks = append(s.marks, message)
	return nil
}

func (s *service) ReloadSyslog(context.Context) (api.SyslogState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloads++
	return api.SyslogState{Config: clone(s.cfg), Loghosts: s.status}, nil
}

var status = []api.LoghostStatus{
	{Loghost: "tcp://a:1514", Connected: true, Sent: 1200, Confirmed: 1100, Unconfirmed: 100, Guarantee: "read by the collector's process"},
	{Loghost: "udp://b:514", Connected: true, Sent: 10, SendFailed: 2, Guarantee: "none: UDP cannot confirm delivery"},
	{Loghost: "ssl://c:1514", Queued: 5, Lost: 1, LagBytes: 4101, OldestUnsent: time.Date(2026, 12, 3, 4, 5, 6, 0, time.UTC), LastError: "connect: connection refused"},
}

// The --show lines for status and the default configuration.
const (
	showLoghosts = "Syslog loghosts :\n" +
		"tcp://a:1514  connected  queued 0  sent 1200  confirmed 1100  unconfirmed 100  dropped 0\n" +
		"                         delivery: read by the collector's process\n" +
		"udp://b:514   connected  queued 0  sent 10  confirmed 0  unconfirmed 0  dropped 0  send failed 2\n" +
		"                         delivery: none: UDP cannot confirm delivery\n" +
		"ssl://c:1514  down       queued 5  sent 0  confirmed 0  unconfirmed 0  dropped 0  file parts lost 1  lag 4101 bytes  oldest unsent read at 2026-12-03T04:05:06Z  (last error: connect: connection refused)\n"
	showLocal = "\nLocal syslog socket : /run/hostagent/syslog.sock\n" +
		"Local UDP listener  : none\n" +
		"Log files :\n" +
		"/var/log/vmware/*.log  local0.info\n"
)

// start serves the real API handler on a unix socket and returns the
// --server value for it. The SNMP service is nil: its routes would only
// dereference it when called, and these tests never call them.
func start(t *testing.T, svc *service) string {
	t.Helper()
	return vicfgtest.Serve(t, apiserver.NewHandler(nil, svc, slog.New(slog.DiscardHandler)))
}

func run(server, prog string, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, prog, nil, append([]string{"--server", server}, args...)...)
}

func TestRun(t *testing.T) {
	var seventeen []string
	for i := range 17 {
		seventeen = append(seventeen, "tcp://192.0.2."+strconv.Itoa(i+1))
	}
	populated := [][]string{{"--loghost", "tcp://a:1514,ssl://c:1514"}}
	oneUDP := [][]string{{"--loghost", "tcp://a:1514,udp://b:514,ssl://c:1514"}}

	tests := []struct {
		name     string
		setup    func(*syslogd.Config) // the daemon's configuration at start; nil: the default
		before   [][]string            // run first, each must succeed
		args     []string
		noStatus bool  // the daemon reports no loghost state
		markErr  error // the daemon refuses marks
		noDaemon bool  // --server names a missing socket
		code     int
		stdout   string   // exactly
		stderr   []string // each must appear; none at all when empty
		updates  int      // UpdateSyslog calls args cause
		reloads  int
		marks    []string
		want     func(*syslogd.Config) // the change expected; nil: none
	}{
		// ESXi 3.5's server and port, by long and short flag.
		{
			name: "setserver", args: []string{"--setserver", "192.0.2.1"},
			stdout:  "Setting syslog server to udp://192.0.2.1:514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://192.0.2.1:514"} },
		},
		{
			name: "-s replaces the list", before: populated, args: []string{"-s", "loghost.example.com"},
			stdout:  "Setting syslog server to udp://loghost.example.com:514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://loghost.example.com:514"} },
		},
		{
			name: "-s with -p", args: []string{"-s", "h", "-p", "1514"},
			stdout:  "Setting syslog server to udp://h:1514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://h:1514"} },
		},
		{
			name: "setserver with setport", args: []string{"--setport", "5514", "--setserver", "h"},
			stdout:  "Setting syslog server to udp://h:5514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://h:5514"} },
		},
		{
			name: "-s IPv6", args: []string{"-s", "2001:db8::1"},
			stdout:  "Setting syslog server to udp://[2001:db8::1]:514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://[2001:db8::1]:514"} },
		},
		{
			name: "-s IPv6 in brackets", args: []string{"-s", "[::1]", "-p", "1514"},
			stdout:  "Setting syslog server to udp://[::1]:1514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://[::1]:1514"} },
		},
		{
			name: "-p alone, one udp loghost", before: oneUDP, args: []string{"-p", "1514"},
			stdout:  "Setting syslog port to 1514 (udp://b:1514)...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"tcp://a:1514", "udp://b:1514", "ssl://c:1514"} },
		},
		{
			name: "setport alone, bare host is udp", before: [][]string{{"--loghost", "b,ssl://c"}}, args: []string{"--setport", "5514"},
			stdout:  "Setting syslog port to 5514 (udp://b:5514)...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://b:5514", "ssl://c"} },
		},
		{
			name: "-p alone, no udp loghost", before: populated, args: []string{"-p", "1514"}, code: 1,
			stderr: []string{"vicfg-syslog: --setport 1514: there is no udp loghost to change the port of (loghosts: tcp://a:1514,ssl://c:1514); give --setserver HOST too"},
		},
		{
			name: "-p alone, no loghost", args: []string{"-p", "1514"}, code: 1,
			stderr: []string{"vicfg-syslog: --setport 1514: there is no udp loghost to change the port of (loghosts: none)"},
		},
		{
			name: "-p alone, two udp loghosts", before: [][]string{{"--loghost", "udp://a,tcp://c,udp://b:5514"}}, args: []string{"-p", "1514"}, code: 1,
			stderr: []string{"vicfg-syslog: --setport 1514: there are 2 udp loghosts (udp://a,udp://b:5514) and it changes the port of a single one; write the list with --loghost"},
		},

		// The modern flags.
		{
			name: "loghost", args: []string{"--loghost", "tcp://a:1514, ssl://b:1514"},
			stdout:  "Setting loghost(s) to tcp://a:1514,ssl://b:1514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"tcp://a:1514", "ssl://b:1514"} },
		},
		{
			name: "loghost replaces the list", before: populated, args: []string{"--loghost", "udp://[2001:db8::1]"},
			stdout:  "Setting loghost(s) to udp://[2001:db8::1]...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://[2001:db8::1]"} },
		},
		{
			name: "loghost trailing comma", args: []string{"--loghost", "tcp://a,"},
			stdout:  "Setting loghost(s) to tcp://a...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"tcp://a"} },
		},
		{
			name: "log buses keep their servers", args: []string{"--loghost", "kafka://b1:9092, b2:9092/esx.logs,nats://n1,n2:4223/logs.esx,tcp://a"},
			stdout:  "Setting loghost(s) to kafka://b1:9092,b2:9092/esx.logs,nats://n1,n2:4223/logs.esx,tcp://a...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) {
				c.Loghosts = []string{"kafka://b1:9092,b2:9092/esx.logs", "nats://n1,n2:4223/logs.esx", "tcp://a"}
			},
		},
		{
			name: "loghost empty clears", before: populated, args: []string{"--loghost", ""},
			stdout:  "Clearing loghost(s)...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{} },
		},
		{
			name: "reset",
			setup: func(c *syslogd.Config) {
				c.UDP, c.Socket = "127.0.0.1:514", ""
				c.Files = append(c.Files, syslogd.FileInput{Glob: "/var/log/libvirt/*.log"})
			},
			before: populated, args: []string{"--reset"},
			stdout:  "Resetting syslog configuration to defaults...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { *c = syslogd.DefaultConfig() },
		},
		{
			name: "reset then loghost, one patch", setup: func(c *syslogd.Config) { c.UDP = "127.0.0.1:514" },
			before: populated, args: []string{"--loghost", "tcp://x", "--reset"},
			stdout:  "Resetting syslog configuration to defaults...\nSetting loghost(s) to tcp://x...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { *c = syslogd.DefaultConfig(); c.Loghosts = []string{"tcp://x"} },
		},
		{
			name: "reset then setserver", before: populated, args: []string{"--reset", "-s", "h"},
			stdout:  "Resetting syslog configuration to defaults...\nSetting syslog server to udp://h:514...\nComplete.\n",
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://h:514"} },
		},
		{
			name: "reload", args: []string{"--reload"},
			stdout:  "Reloading syslog configuration...\nComplete.\n",
			reloads: 1,
		},
		{
			name: "mark", args: []string{"--mark", "maintenance starts"},
			stdout: "Sending mark: maintenance starts...\nComplete.\n",
			marks:  []string{"maintenance starts"},
		},
		{
			name: "mark refused", args: []string{"--mark", "x"}, markErr: apiserver.Conflict(errors.New("no loghost is set: the mark would go nowhere")),
			code:   1,
			stdout: "Sending mark: x...\n",
			stderr: []string{"vicfg-syslog: no loghost is set: the mark would go nowhere"},
		},

		// Everything at once: one change, then reload, then mark, then show.
		{
			name: "reset, change, reload, mark, show", before: populated,
			args: []string{"-i", "--mark", "m", "--reload", "--loghost", "tcp://a:1514,udp://b:514,ssl://c:1514", "--reset"},
			stdout: "Resetting syslog configuration to defaults...\n" +
				"Setting loghost(s) to tcp://a:1514,udp://b:514,ssl://c:1514...\nComplete.\n" +
				"Reloading syslog configuration...\nComplete.\n" +
				"Sending mark: m...\nComplete.\n" +
				"Syslog server: b\nSyslog port: 514\n\n" + showLoghosts + showLocal,
			updates: 1, reloads: 1, marks: []string{"m"},
			want: func(c *syslogd.Config) { c.Loghosts = []string{"tcp://a:1514", "udp://b:514", "ssl://c:1514"} },
		},
		{
			name: "-s -p -i", args: []string{"-i", "-s", "b", "-p", "5514"},
			stdout: "Setting syslog server to udp://b:5514...\nComplete.\n" +
				"Syslog server: b\nSyslog port: 5514\n\n" + showLoghosts + showLocal,
			updates: 1, want: func(c *syslogd.Config) { c.Loghosts = []string{"udp://b:5514"} },
		},

		// --show.
		{
			name: "show, one udp loghost", before: oneUDP, args: []string{"--show"},
			stdout: "Syslog server: b\nSyslog port: 514\n\n" + showLoghosts + showLocal,
		},
		{
			name: "-i, bare host", before: [][]string{{"--loghost", "[2001:db8::1]"}}, args: []string{"-i"},
			stdout: "Syslog server: 2001:db8::1\nSyslog port: 514\n\n" + showLoghosts + showLocal,
		},
		{
			name: "-i, no udp loghost", before: populated, args: []string{"-i"},
			stdout: showLoghosts + showLocal,
		},
		{
			name: "-i, two udp loghosts", before: [][]string{{"--loghost", "udp://a,udp://b"}}, args: []string{"-i"},
			stdout: showLoghosts + showLocal,
		},
		{
			name: "-i, nothing set",
			setup: func(c *syslogd.Config) {
				c.Socket, c.Files = "", nil
			},
			noStatus: true, args: []string{"-i"},
			stdout: "Syslog loghosts :\nnone\n\n" +
				"Local syslog socket : none\nLocal UDP listener  : none\nLog files :\nnone\n",
		},
		{
			name: "-i, inputs",
			setup: func(c *syslogd.Config) {
				c.UDP = "127.0.0.1:514"
				c.Files = append(c.Files,
					syslogd.FileInput{Glob: "/var/log/libvirt/qemu/*.log", AppName: "qemu"},
					syslogd.FileInput{Glob: "/var/log/hostagent.log", Priority: "daemon.notice"})
			},
			noStatus: true, args: []string{"-i"},
			stdout: "Syslog loghosts :\nnone\n\n" +
				"Local syslog socket : /run/hostagent/syslog.sock\nLocal UDP listener  : 127.0.0.1:514\nLog files :\n" +
				"/var/log/vmware/*.log        local0.info\n" +
				"/var/log/libvirt/qemu/*.log  local0.info  app_name qemu\n" +
				"/var/log/hostagent.log       daemon.notice\n",
		},

		// Bad values: the daemon refuses, its message names the value,
		// nothing changes.
		{
			name: "bad scheme", before: populated, args: []string{"--loghost", "http://x"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to http://x...\n",
			stderr: []string{`vicfg-syslog: loghost "http://x": scheme "http" is not udp, tcp, ssl, relp, kafka, kafkas or nats`},
		},
		{
			name: "kafka without a topic", args: []string{"--loghost", "kafka://b1:9092,b2:9092"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to kafka://b1:9092,b2:9092...\n",
			stderr: []string{`vicfg-syslog: loghost "kafka://b1:9092,b2:9092": no topic; write kafka://broker[:port][,broker[:port]...]/TOPIC`},
		},
		{
			name: "nats wildcard subject", args: []string{"--loghost", "nats://n1/logs.>"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to nats://n1/logs.>...\n",
			stderr: []string{`vicfg-syslog: loghost "nats://n1/logs.>": subject "logs.>": NATS takes tokens`},
		},
		{
			name: "port 0", args: []string{"--loghost", "tcp://h:0"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to tcp://h:0...\n",
			stderr: []string{`vicfg-syslog: loghost "tcp://h:0": port "0" must be a number from 1 to 65535`},
		},
		{
			name: "-s with port 70000", args: []string{"-s", "h", "-p", "70000"}, code: 1, updates: 1,
			stdout: "Setting syslog server to udp://h:70000...\n",
			stderr: []string{`vicfg-syslog: loghost "udp://h:70000": port "70000" must be a number from 1 to 65535`},
		},
		{
			name: "-p alone, port 70000", before: oneUDP, args: []string{"-p", "70000"}, code: 1, updates: 1,
			stdout: "Setting syslog port to 70000 (udp://b:70000)...\n",
			stderr: []string{`vicfg-syslog: loghost "udp://b:70000": port "70000" must be a number from 1 to 65535`},
		},
		{
			name: "-p alone, port 0", before: oneUDP, args: []string{"-p", "0"}, code: 1, updates: 1,
			stdout: "Setting syslog port to 0 (udp://b:0)...\n",
			stderr: []string{`vicfg-syslog: loghost "udp://b:0": port "0" must be a number from 1 to 65535`},
		},
		{
			name: "bad host", before: populated, args: []string{"-s", "bad_host!"}, code: 1, updates: 1,
			stdout: "Setting syslog server to udp://bad_host!:514...\n",
			stderr: []string{`vicfg-syslog: loghost "udp://bad_host!:514": host "bad_host!" is not an IP address or a valid hostname`},
		},
		{
			name: "bad host in loghost", args: []string{"--loghost", "tcp://bad_host!:1514"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to tcp://bad_host!:1514...\n",
			stderr: []string{`vicfg-syslog: loghost "tcp://bad_host!:1514": host "bad_host!" is not an IP address or a valid hostname`},
		},
		{
			name: "empty host", args: []string{"-s", ""}, code: 1, updates: 1,
			stdout: "Setting syslog server to udp://:514...\n",
			stderr: []string{`vicfg-syslog: loghost "udp://:514": host is empty`},
		},
		{
			name: "duplicate", before: populated, args: []string{"--loghost", "tcp://a:1514,tcp://a:1514"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to tcp://a:1514,tcp://a:1514...\n",
			stderr: []string{`vicfg-syslog: loghost "tcp://a:1514" is listed twice`},
		},
		{
			name: "duplicate by default port", args: []string{"--loghost", "udp://a,a:514"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to udp://a,a:514...\n",
			stderr: []string{`vicfg-syslog: loghost "a:514" is listed twice`},
		},
		{
			name: "17 loghosts", args: []string{"--loghost", strings.Join(seventeen, ",")}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to " + strings.Join(seventeen, ",") + "...\n",
			stderr: []string{"vicfg-syslog: loghosts: 17 given, at most 16 are allowed"},
		},
		{
			name: "every problem, one per line", args: []string{"--loghost", "http://x,tcp://h:0"}, code: 1, updates: 1,
			stdout: "Setting loghost(s) to http://x,tcp://h:0...\n",
			stderr: []string{`vicfg-syslog: loghost "http://x":`, "\nvicfg-syslog: loghost \"tcp://h:0\":"},
		},
		{
			name: "one bad value refuses all, reset included", before: populated,
			setup: func(c *syslogd.Config) { c.UDP = "127.0.0.1:514" },
			args:  []string{"--reset", "--loghost", "tcp://ok,http://x", "--reload", "--mark", "m", "-i"}, code: 1, updates: 1,
			stdout: "Resetting syslog configuration to defaults...\nSetting loghost(s) to tcp://ok,http://x...\n",
			stderr: []string{`"http://x"`},
		},

		// Bad command lines: refused before anything is sent.
		{
			name: "unknown flag", args: []string{"--bogus"}, code: 1,
			stderr: []string{"vicfg-syslog: unknown flag: --bogus", "see vicfg-syslog --help"},
		},
		{
			name: "unknown short flag", args: []string{"-x"}, code: 1,
			stderr: []string{"vicfg-syslog: unknown shorthand flag: 'x' in -x", "see vicfg-syslog --help"},
		},
		{
			name: "missing value", args: []string{"--loghost"}, code: 1,
			stderr: []string{"vicfg-syslog: flag needs an argument: --loghost", "see vicfg-syslog --help"},
		},
		{
			name: "non-numeric port", before: oneUDP, args: []string{"-p", "abc"}, code: 1,
			stderr: []string{`vicfg-syslog: invalid argument "abc" for "-p, --setport" flag`, "see vicfg-syslog --help"},
		},
		{
			name: "loghost empty item", before: populated, args: []string{"--loghost", "tcp://a, ,tcp://b"}, code: 1,
			stderr: []string{`vicfg-syslog: --loghost "tcp://a, ,tcp://b": loghost 2 is empty; separate the loghosts with single commas`, "see vicfg-syslog --help"},
		},
		{
			name: "setserver and loghost", args: []string{"-s", "h", "--loghost", "tcp://a"}, code: 1,
			stderr: []string{"vicfg-syslog: --setserver and --loghost cannot be given together", "see vicfg-syslog --help"},
		},
		{
			name: "setport alone and loghost", before: oneUDP, args: []string{"-p", "1514", "--loghost", "udp://a"}, code: 1,
			stderr: []string{"vicfg-syslog: --setport without --setserver changes the port of the udp loghost: with --loghost, write the port in the URI"},
		},
		{
			name: "setport alone and reset", before: oneUDP, args: []string{"-p", "1514", "--reset"}, code: 1,
			stderr: []string{"vicfg-syslog: --setport without --setserver changes the port of the udp loghost, which --reset removes: give --setserver too"},
		},
		{
			name: "positional argument", args: []string{"-i", "extra"}, code: 1,
			stderr: []string{`vicfg-syslog: unexpected argument "extra"`},
		},
		{
			name: "no operation", args: nil, code: 1,
			stderr: []string{"Usage: vicfg-syslog [--server unix:PATH] OPTIONS", "--loghost"},
		},
		{
			name: "daemon not running", noDaemon: true, args: []string{"-s", "h"}, code: 1,
			stdout: "Setting syslog server to udp://h:514...\n",
			stderr: []string{"vicfg-syslog: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
		{
			name: "daemon not running, -p alone", noDaemon: true, args: []string{"-p", "1514"}, code: 1,
			stderr: []string{"vicfg-syslog: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
		{
			name: "daemon not running, show", noDaemon: true, args: []string{"-i"}, code: 1,
			stderr: []string{"vicfg-syslog: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &service{cfg: syslogd.DefaultConfig(), status: status, markErr: tt.markErr}
			if tt.setup != nil {
				tt.setup(&svc.cfg)
			}
			if tt.noStatus {
				svc.status = nil
			}
			server := start(t, svc)
			for _, args := range tt.before {
				if code, _, stderr := run(server, "vicfg-syslog", args...); code != 0 {
					t.Fatalf("setup %q: exit %d: %s", args, code, stderr)
				}
			}
			want := svc.config()
			if tt.want != nil {
				tt.want(&want)
			}
			svc.updates = 0
			if tt.noDaemon {
				server = vicfgtest.Missing(t)
			}

			code, stdout, stderr := run(server, "vicfg-syslog", tt.args...)
			vicfgtest.CheckOutput(t, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			if svc.updates != tt.updates {
				t.Errorf("%d changes requested, want %d", svc.updates, tt.updates)
			}
			if svc.reloads != tt.reloads {
				t.Errorf("%d reloads requested, want %d", svc.reloads, tt.reloads)
			}
			if !slices.Equal(svc.marks, tt.marks) {
				t.Errorf("marks %q, want %q", svc.marks, tt.marks)
			}
			if got := svc.config(); !reflect.DeepEqual(got, want) {
				t.Errorf("config\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, tt := range []struct{ prog, flag string }{{"vicfg-syslog", "--help"}, {"esxcfg-syslog", "-h"}} {
		// No daemon: help must not need one.
		code, out, errb := vicfgtest.Run(context.Background(), Command, tt.prog, nil, tt.flag)
		if code != 0 || errb != "" {
			t.Errorf("%s %s: exit %d, stderr %q", tt.prog, tt.flag, code, errb)
		}
		for _, want := range []string{
			"Usage: " + tt.prog + " [--server unix:PATH] OPTIONS\n",
			"-s, --setserver HOST", "-p, --setport PORT", "-i, --show", "--loghost URI[,URI...]",
			"--reset", "--mark MESSAGE", "--reload", "--server unix:PATH", "-h, --help",
			"or relp://host[:port] (IPv6 in brackets)", "514", "1514",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s %s lacks %q:\n%s", tt.prog, tt.flag, want, out)
			}
		}
	}
	// Errors are named after the program too.
	code, _, errb := vicfgtest.Run(context.Background(), Command, "esxcfg-syslog", nil, "--bogus")
	if code != 1 ||
		!strings.Contains(errb, "esxcfg-syslog: unknown flag: --bogus\nsee esxcfg-syslog --help") {
		t.Errorf("esxcfg-syslog --bogus: exit %d, stderr %q", code, errb)
	}
}

func TestBadServer(t *testing.T) {
	code, _, errb := vicfgtest.Run(context.Background(), Command, "vicfg-syslog", nil, "--server", "tcp:host:1", "-i")
	if code != 1 ||
		!strings.Contains(errb, `vicfg-syslog: --server "tcp:host:1"`) {
		t.Errorf("exit %d, stderr %q", code, errb)
	}
}

// TestPasswordPrompt: over https without --password, the password is asked
// for through the terminal before the change is sent.
func TestPasswordPrompt(t *testing.T) {
	svc := &service{cfg: syslogd.DefaultConfig(), status: status}
	h := apiserver.NewHandler(nil, svc, slog.New(slog.DiscardHandler))
	stdout := vicfgtest.CheckLoginPrompt(t, Command, h, "--loghost", "tcp://a:1514")
	if want := "Setting loghost(s) to tcp://a:1514...\nComplete.\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	if got := svc.config().Loghosts; !slices.Equal(got, []string{"tcp://a:1514"}) {
		t.Errorf("loghosts %q", got)
	}
}
