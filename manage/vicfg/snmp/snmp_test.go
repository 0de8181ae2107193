package snmp

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/vicfg/vicfgtest"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
)

// resolver is shared: gosmi keeps one tree per process anyway.
var resolver = resolve.NewResolver(nil)

// service stands in for hostagentd: it validates as the daemon does, so the
// real messages reach the command, and counts the changes it is asked for.
type service struct {
	mu      sync.Mutex
	cfg     snmpconfig.Config
	updates int
	stats   []snmpconfig.TargetStats
	results []snmpconfig.TestResult
}

func clone(c snmpconfig.Config) snmpconfig.Config {
	c.Communities = slices.Clone(c.Communities)
	c.Targets = slices.Clone(c.Targets)
	c.Notraps = slices.Clone(c.Notraps)
	c.MIBDirs = slices.Clone(c.MIBDirs)
	c.Users = slices.Clone(c.Users)
	c.V3Targets = slices.Clone(c.V3Targets)
	c.RemoteUsers = slices.Clone(c.RemoteUsers)
	return c
}

// rfcEngineID and rfcKey are RFC 3414 A.3.2's example: the password
// "maplesyrup" localized with SHA1 to this engine ID.
const (
	rfcEngineID = "000000000000000000000002"
	rfcKey      = "6695febc9288e36282235fc7151f128497b38f3f"
)

func (s *service) config() snmpconfig.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.cfg)
}

func (s *service) SNMPState() api.SNMPState {
	s.mu.Lock()
	defer s.mu.Unlock()
	// As hostagentd reports it: engineid, else the generated one.
	engine := s.cfg.EngineID
	if engine == "" {
		engine = rfcEngineID
	}
	return api.SNMPState{Config: clone(s.cfg), Targets: s.stats, EngineID: engine}
}

func (s *service) UpdateSNMP(_ context.Context, change func(*snmpconfig.Config)) (api.SNMPState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	c := clone(s.cfg)
	change(&c)
	c.Normalize() // as hostagentd does: what is stored and shown is canonical
	if err := c.Validate(resolver); err != nil {
		return api.SNMPState{}, apiserver.Invalid(err)
	}
	s.cfg = c
	return api.SNMPState{Config: clone(c), Targets: s.stats}, nil
}

func (s *service) TestSNMP(context.Context) ([]snmpconfig.TestResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.Enabled {
		return nil, apiserver.Conflict(errors.New("the SNMP agent is disabled: enable it first"))
	}
	return s.results, nil
}

var (
	stats = []snmpconfig.TargetStats{
		{Target: "192.0.2.1@162/public", Kind: "v2c trap", Sent: 5},
		{Target: "inform:192.0.2.2@162/public", Kind: "v2c inform", Sent: 1, Acknowledged: 1},
	}
	okResults = []snmpconfig.TestResult{
		{Target: "192.0.2.1@162/public", Kind: "v2c trap", Result: "sent"},
		{Target: "inform:192.0.2.2@162/public", Kind: "v2c inform", Result: "acknowledged"},
	}
)

// start serves the real API handler on a unix socket and returns the
// --server value for it.
func start(t *testing.T, svc *service) string {
	t.Helper()
	return vicfgtest.Serve(t, apiserver.NewHandler(svc, nil, slog.New(slog.DiscardHandler)))
}

func run(server, prog string, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, prog, nil, append([]string{"--server", server}, args...)...)
}

func TestRun(t *testing.T) {
	long := strings.Repeat("a", 65)
	var eleven, thirtyThree []string
	for i := range 33 {
		if i < 11 {
			eleven = append(eleven, "c"+strconv.Itoa(i))
		}
		thirtyThree = append(thirtyThree, "192.0.2."+strconv.Itoa(i+1))
	}
	populated := [][]string{{"-c", "public,private", "-t", "192.0.2.1@162/public,inform:192.0.2.2/public", "-n", "coldStart"}}

	tests := []struct {
		name     string
		before   [][]string // run first, each must succeed
		args     []string
		results  []snmpconfig.TestResult // nil: okResults
		noDaemon bool                    // --server names a missing socket
		code     int
		stdout   string                   // exactly
		stderr   []string                 // each must appear; none at all when empty
		updates  int                      // UpdateSNMP calls args cause
		want     func(*snmpconfig.Config) // the change expected; nil: none
	}{
		// Every setting, by long and short flag.
		{
			name: "communities", args: []string{"--communities", "public,private"},
			stdout:  "Changing community list to: public,private...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities = []string{"public", "private"} },
		},
		{
			name: "-c trims spaces", args: []string{"-c", " public , private "},
			stdout:  "Changing community list to: public,private...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities = []string{"public", "private"} },
		},
		{
			name: "-c replaces the list", before: populated, args: []string{"-c", "ops"},
			stdout:  "Changing community list to: ops...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities = []string{"ops"} },
		},
		{
			name: "-c empty clears", before: populated, args: []string{"-c", ""},
			stdout:  "Changing community list to: ...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities = []string{} },
		},
		{
			name: "targets", args: []string{"--targets", "192.0.2.1@162/public, inform:192.0.2.2/public"},
			stdout:  "Changing notification(trap) targets list to: 192.0.2.1@162/public,inform:192.0.2.2@162/public...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) {
				c.Targets = []string{"192.0.2.1@162/public", "inform:192.0.2.2@162/public"}
			},
		},
		{
			name: "-t replaces the list", before: populated, args: []string{"-t", "v1:nms.example.com"},
			stdout:  "Changing notification(trap) targets list to: v1:nms.example.com@162...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Targets = []string{"v1:nms.example.com@162"} },
		},
		{
			name: "port", args: []string{"--port", "1161"},
			stdout:  "Changing udp port to 1161...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Port = 1161 },
		},
		{
			name: "-p", args: []string{"-p", "161"},
			stdout:  "Changing udp port to 161...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) {},
		},
		{
			name: "enable", args: []string{"--enable"},
			stdout:  "Enabling agent...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Enabled = true },
		},
		{
			name: "-E", args: []string{"-E"},
			stdout:  "Enabling agent...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Enabled = true },
		},
		{
			name: "disable", before: [][]string{{"-E"}}, args: []string{"--disable"},
			stdout:  "Disabling agent...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Enabled = false },
		},
		{
			name: "-D", before: [][]string{{"-E"}}, args: []string{"-D"},
			stdout:  "Disabling agent...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Enabled = false },
		},
		{
			name: "notraps", args: []string{"--notraps", "coldStart, 1.3.6.1.6.3.1.1.5.2"},
			stdout:  "Changing notraps list to: coldStart,1.3.6.1.6.3.1.1.5.2...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Notraps = []string{"coldStart", "1.3.6.1.6.3.1.1.5.2"} },
		},
		{
			name: "-n replaces the list", before: populated, args: []string{"-n", "linkDown"},
			stdout:  "Changing notraps list to: linkDown...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Notraps = []string{"linkDown"} },
		},
		{
			name: "-n reset clears", before: populated, args: []string{"-n", "reset"},
			stdout:  "Changing notraps list to: reset...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Notraps = []string{} },
		},
		{
			name: "syscontact", args: []string{"--syscontact", "ops@example.com"},
			stdout:  "Changing syscontact to: ops@example.com...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Syscontact = "ops@example.com" },
		},
		{
			name: "-C empty clears", before: [][]string{{"-C", "x"}}, args: []string{"-C", ""},
			stdout:  "Changing syscontact to: ...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Syscontact = "" },
		},
		{
			name: "syslocation", args: []string{"--syslocation", "rack 4"},
			stdout:  "Changing syslocation to: rack 4...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Syslocation = "rack 4" },
		},
		{
			name: "-L", args: []string{"-L", "rack 5"},
			stdout:  "Changing syslocation to: rack 5...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Syslocation = "rack 5" },
		},
		{
			name: "loglevel", args: []string{"--loglevel", "debug"},
			stdout:  "Changing loglevel to: debug...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Loglevel = "debug" },
		},
		{
			name: "-l", args: []string{"-l", "warning"},
			stdout:  "Changing loglevel to: warning...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Loglevel = "warning" },
		},
		{
			name: "reset", before: populated, args: []string{"--reset"},
			stdout:  "Resetting communities and notification targets...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities, c.Targets = []string{}, []string{} },
		},
		{
			name: "-r", before: populated, args: []string{"-r"},
			stdout:  "Resetting communities and notification targets...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Communities, c.Targets = []string{}, []string{} },
		},

		// Everything at once: one change, then test, then show.
		{
			name: "combined in one patch",
			args: []string{"-c", "public", "-t", "192.0.2.1", "-p", "1161", "-E", "-n", "warmStart",
				"-C", "ops", "-L", "lab", "-l", "error"},
			stdout: "Changing community list to: public...\n" +
				"Changing notification(trap) targets list to: 192.0.2.1@162...\n" +
				"Changing udp port to 1161...\n" +
				"Enabling agent...\n" +
				"Changing notraps list to: warmStart...\n" +
				"Changing syscontact to: ops...\n" +
				"Changing syslocation to: lab...\n" +
				"Changing loglevel to: error...\n" +
				"Complete.\n",
			updates: 1,
			want: func(c *snmpconfig.Config) {
				c.Communities, c.Targets, c.Port, c.Enabled = []string{"public"}, []string{"192.0.2.1@162"}, 1161, true
				c.Notraps, c.Syscontact, c.Syslocation, c.Loglevel = []string{"warmStart"}, "ops", "lab", "error"
			},
		},
		{
			name: "reset, change, test, show", before: populated,
			args: []string{"-s", "-T", "-E", "-t", "192.0.2.9", "-r", "-c", "public"},
			stdout: "Resetting communities and notification targets...\n" +
				"Changing community list to: public...\n" +
				"Changing notification(trap) targets list to: 192.0.2.9@162...\n" +
				"Enabling agent...\nComplete.\n" +
				"Sending test notification(trap) to all configured targets...\n" +
				"  192.0.2.1@162/public (v2c trap): sent\n" +
				"  inform:192.0.2.2@162/public (v2c inform): acknowledged\n" +
				"Complete. Check with each target to see if trap was received.\n" +
				"Current SNMP agent settings:\nEnabled  : 1\nUDP port : 161\n\n" +
				"Communities :\npublic\n\nNotification targets :\n192.0.2.9@162\n\n" +
				"Options :\nSyscontact  :\nSyslocation :\nLoglevel    : info\nNotraps     : coldStart\n\n" +
				"Delivery :\n" +
				"192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
			updates: 1,
			want: func(c *snmpconfig.Config) {
				c.Communities, c.Targets, c.Enabled = []string{"public"}, []string{"192.0.2.9@162"}, true
			},
		},
		{
			name: "show", before: [][]string{slices.Concat(populated[0][:4], []string{"-E", "-C", "ops@example.com", "-L", "rack 4", "-n", "coldStart,warmStart"})},
			args: []string{"--show"},
			stdout: "Current SNMP agent settings:\nEnabled  : 1\nUDP port : 161\n\n" +
				"Communities :\npublic\nprivate\n\n" +
				"Notification targets :\n192.0.2.1@162/public\ninform:192.0.2.2@162/public\n\n" +
				"Options :\nSyscontact  : ops@example.com\nSyslocation : rack 4\nLoglevel    : info\nNotraps     : coldStart,warmStart\n\n" +
				"Delivery :\n" +
				"192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
		},
		{
			name: "-s empty sections", args: []string{"-s"},
			stdout: "Current SNMP agent settings:\nEnabled  : 0\nUDP port : 161\n\n" +
				"Communities :\n\nNotification targets :\n\n" +
				"Options :\nSyscontact  :\nSyslocation :\nLoglevel    : info\nNotraps     :\n\n" +
				"Delivery :\n" +
				"192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
		},
		{
			name: "test", before: [][]string{{"-E"}}, args: []string{"--test"},
			stdout: "Sending test notification(trap) to all configured targets...\n" +
				"  192.0.2.1@162/public (v2c trap): sent\n" +
				"  inform:192.0.2.2@162/public (v2c inform): acknowledged\n" +
				"Complete. Check with each target to see if trap was received.\n",
		},
		{
			name: "-T with a failed target", before: [][]string{{"-E"}}, args: []string{"-T"},
			results: []snmpconfig.TestResult{
				okResults[0],
				{Target: "inform:192.0.2.2@162/public", Kind: "v2c inform", Result: "failed", Reason: "no response after 3 retries"},
			},
			code: 1,
			stdout: "Sending test notification(trap) to all configured targets...\n" +
				"  192.0.2.1@162/public (v2c trap): sent\n" +
				"  inform:192.0.2.2@162/public (v2c inform): failed: no response after 3 retries\n" +
				"Complete. Check with each target to see if trap was received.\n",
			stderr: []string{"vicfg-snmp: test notification failed for 1 of 2 targets"},
		},
		{
			name: "-T when disabled", args: []string{"-T"}, code: 1,
			stdout: "Sending test notification(trap) to all configured targets...\n",
			stderr: []string{"vicfg-snmp: the SNMP agent is disabled"},
		},

		// Bad values: refused before anything is announced or sent, with
		// the daemon's own checks and messages; nothing changes.
		{
			name: "bad host", args: []string{"-t", "bad_host!"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "bad_host!": host "bad_host!" is not an IP address or a valid hostname`},
		},
		{
			name: "port 0", args: []string{"-p", "0"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "0": must be a number from 1 to 65535`},
		},
		{
			name: "port 70000", args: []string{"--port", "70000"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "70000": must be a number from 1 to 65535`},
		},
		{
			name: "target port 70000", args: []string{"-t", "h@70000/x"}, code: 1,
			stderr: []string{`target "h@70000/x": port "70000" must be a number from 1 to 65535`},
		},
		{
			name: "community too long", args: []string{"-c", long}, code: 1,
			stderr: []string{`community "` + long + `" must be 1 to 64 characters long`},
		},
		{
			name: "empty community in target", args: []string{"-t", "h@162/"}, code: 1,
			stderr: []string{`target "h@162/": community "" must be 1 to 64 characters long`},
		},
		{
			name: "empty community in list", args: []string{"-c", "a,,b"}, code: 1,
			stderr: []string{`vicfg-snmp: communities: community "" must be 1 to 64 characters long`},
		},
		{
			// A slip of the finger does not clear the list: only "" does.
			name: "a comma alone", args: []string{"-c", ","}, code: 1,
			stderr: []string{`communities: community "" must be 1 to 64 characters long`},
		},
		{
			name: "11 communities", args: []string{"-c", strings.Join(eleven, ",")}, code: 1,
			stderr: []string{"vicfg-snmp: communities: 11 given, at most 10 are allowed"},
		},
		{
			name: "33 targets", args: []string{"-t", strings.Join(thirtyThree, ",")}, code: 1,
			stderr: []string{"vicfg-snmp: targets: 33 given, at most 32 are allowed"},
		},
		{
			name: "bad loglevel", args: []string{"-l", "loud"}, code: 1,
			stderr: []string{`vicfg-snmp: loglevel "loud": must be one of debug, info, warning, error`},
		},
		{
			name: "syscontact control character", args: []string{"-C", "ops\x1b[2J"}, code: 1,
			stderr: []string{`vicfg-snmp: syscontact "ops\x1b[2J": must be at most 255 characters of UTF-8 text without control characters`},
		},
		{
			name: "one bad value refuses all", before: populated,
			args: []string{"-c", "ops", "-t", "bad_host!", "-E", "-C", "x"}, code: 1,
			stderr: []string{`"bad_host!"`},
		},
		{
			name: "every problem, one per line", args: []string{"-p", "0", "-l", "loud", "-c", "a b"}, code: 1,
			stderr: []string{"vicfg-snmp: communities: community \"a b\"", "\nvicfg-snmp: --port \"0\":", "\nvicfg-snmp: loglevel \"loud\":"},
		},

		// What only the daemon can check (the names of notifications in
		// the MIB modules it loads; a target without a community when none
		// are configured) is refused after the announcement.
		{
			name: "unknown notrap", args: []string{"-n", "noSuchTrap"}, code: 1, updates: 1,
			stdout: "Changing notraps list to: noSuchTrap...\n",
			stderr: []string{`vicfg-snmp: notraps: "noSuchTrap"`},
		},
		{
			name: "no community for a target", args: []string{"-E", "-t", "192.0.2.1"}, code: 1, updates: 1,
			stdout: "Changing notification(trap) targets list to: 192.0.2.1@162...\nEnabling agent...\n",
			stderr: []string{`vicfg-snmp: targets: "192.0.2.1@162" names no community and no communities are configured`},
		},

		// vicfg-snmp refuses what it cannot mean (issue 11), before it
		// announces or sends anything.
		{
			// The shell's quotes doubled: "pub and lic" were two
			// communities with quotes in them.
			name: "-c with quotes doubled", args: []string{"-c", `"pub,lic"`}, code: 1,
			stderr: []string{
				`vicfg-snmp: communities: community "\"pub": character '"': quotes are not part of a community: were the shell's quotes doubled`,
				`vicfg-snmp: communities: community "lic\"": character '"'`,
			},
		},
		{
			name: "-c with single quotes doubled", args: []string{"-c", "'public'"}, code: 1,
			stderr: []string{`vicfg-snmp: communities: community "'public'": character '\'': quotes are not part of a community`},
		},
		{
			name: "-t community in quotes", args: []string{"-t", `192.0.2.1/"public"`}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "192.0.2.1/\"public\"": community "\"public\"": character '"': quotes are not part of a community`},
		},
		{
			name: "-c backslash escape", args: []string{"-c", `pub\,lic`}, code: 1,
			stderr: []string{`vicfg-snmp: communities: community "pub\\": character '\\': backslashes are not allowed`},
		},
		{
			name: "-c control character", args: []string{"-c", "pub\tlic,ops\x00"}, code: 1,
			stderr: []string{
				`vicfg-snmp: communities: community "pub\tlic": character '\t': control characters are not allowed`,
				`vicfg-snmp: communities: community "ops\x00": character '\x00': control characters are not allowed`,
			},
		},
		{
			name: "-t limited broadcast", args: []string{"-t", "255.255.255.255/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "255.255.255.255/public": host "255.255.255.255" is the limited broadcast address: a target must be the address or name of one receiver`},
		},
		{
			name: "-t unspecified IPv4", args: []string{"-t", "0.0.0.0@162/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "0.0.0.0@162/public": host "0.0.0.0" is the unspecified address`},
		},
		{
			name: "-t unspecified IPv6", args: []string{"-t", "inform:[::]@162/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "inform:[::]@162/public": host "::" is the unspecified address`},
		},
		{
			name: "-t IPv4 multicast", args: []string{"-t", "v1:224.0.0.1/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "v1:224.0.0.1/public": host "224.0.0.1" is a multicast address (224.0.0.0/4 or ff00::/8)`},
		},
		{
			name: "-t IPv6 multicast", args: []string{"-t", "ff02::1/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "ff02::1/public": host "ff02::1" is a multicast address`},
		},
		{
			name: "-t 0 as a name", args: []string{"-t", "0/public"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "0/public": host "0" is not a valid IPv4 address and resolvers would read it as one`},
		},
		{
			name: "-t extra slash", args: []string{"-t", "host@162/public/extra"}, code: 1,
			stderr: []string{`vicfg-snmp: targets: target "host@162/public/extra": more than one '/'`},
		},
		{
			name: "-p twice", args: []string{"-p", "161", "-p", "1161"}, code: 1,
			stderr: []string{`vicfg-snmp: -p/--port is given 2 times ("161", "1161"): only one would be used; give it once`, "see vicfg-snmp --help"},
		},
		{
			name: "-t twice", args: []string{"-t", "192.0.2.1/public", "--targets", "192.0.2.2/public"}, code: 1,
			stderr: []string{`vicfg-snmp: -t/--targets is given 2 times ("192.0.2.1/public", "192.0.2.2/public"): only one would be used; give it once, with a comma-separated list of all the values`},
		},
		{
			name: "every repeated flag", args: []string{"-c", "a", "-c", "b", "-n", "coldStart", "-n", "warmStart", "-C", "x", "-C", "y",
				"-L", "x", "--syslocation=y", "-l", "info", "-l", "debug", "-l", "error", "-p", "1", "--port=2"}, code: 1,
			stderr: []string{
				`vicfg-snmp: -c/--communities is given 2 times ("a", "b"): only one would be used; give it once, with a comma-separated list`,
				`vicfg-snmp: -p/--port is given 2 times ("1", "2")`,
				`vicfg-snmp: -n/--notraps is given 2 times ("coldStart", "warmStart")`,
				`vicfg-snmp: -C/--syscontact is given 2 times ("x", "y"): only one would be used; give it once`,
				`vicfg-snmp: -L/--syslocation is given 2 times ("x", "y")`,
				`vicfg-snmp: -l/--loglevel is given 3 times ("info", "debug", "error")`,
			},
		},
		{
			name: "a switch twice, meaning two things", args: []string{"-E", "--enable=false"}, code: 1,
			stderr: []string{`vicfg-snmp: -E/--enable is given 2 times ("true", "false")`},
		},
		{
			// A switch given twice means what it means once.
			name: "a switch twice", args: []string{"-E", "--enable"},
			stdout:  "Enabling agent...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Enabled = true },
		},
		{
			name: "-p 162abc", args: []string{"-p", "162abc"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "162abc": must be a number from 1 to 65535`},
		},
		{
			name: "-p empty", args: []string{"-p", ""}, code: 1,
			stderr: []string{`vicfg-snmp: --port "": must be a number from 1 to 65535`},
		},
		{
			name: "-p huge", args: []string{"--port=99999999999999999999999"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "99999999999999999999999": must be a number from 1 to 65535`},
		},
		{
			name: "-p -1", args: []string{"--port=-1"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "-1": must be a number from 1 to 65535`},
		},
		{
			// Nothing is announced when a later value is refused.
			name: "validated before announcing", before: populated,
			args: []string{"-r", "-c", "ops", "-t", "0.0.0.0/ops", "-E", "-p", "1161"}, code: 1,
			stderr: []string{`"0.0.0.0/ops"`},
		},
		{
			name: "IPv6 target in brackets", args: []string{"-c", "public", "-t", "inform:::1@20164/public,2001:db8::1", "-s"},
			stdout: "Changing community list to: public...\n" +
				"Changing notification(trap) targets list to: inform:[::1]@20164/public,[2001:db8::1]@162...\nComplete.\n" +
				"Current SNMP agent settings:\nEnabled  : 0\nUDP port : 161\n\n" +
				"Communities :\npublic\n\nNotification targets :\ninform:[::1]@20164/public\n[2001:db8::1]@162\n\n" +
				"Options :\nSyscontact  :\nSyslocation :\nLoglevel    : info\nNotraps     :\n\n" +
				"Delivery :\n" +
				"192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
			updates: 1,
			want: func(c *snmpconfig.Config) {
				c.Communities, c.Targets = []string{"public"}, []string{"inform:[::1]@20164/public", "[2001:db8::1]@162"}
			},
		},
		{
			name: "IPv6 target in brackets given", args: []string{"-t", "v1:[fe80::1%eth0]@1162/c"},
			stdout:  "Changing notification(trap) targets list to: v1:[fe80::1%eth0]@1162/c...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Targets = []string{"v1:[fe80::1%eth0]@1162/c"} },
		},

		// Bad command lines: refused before anything is sent.
		{
			name: "unknown flag", args: []string{"--bogus"}, code: 1,
			stderr: []string{"vicfg-snmp: unknown flag: --bogus", "see vicfg-snmp --help"},
		},
		// SNMPv3, long options only.
		{
			name: "engineid", args: []string{"--engineid", "0x80:00:7E:D9:05:a1:b2:c3:d4:e5:f6:07:18"},
			stdout:  "Changing engine id to: 80007ed905a1b2c3d4e5f60718...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.EngineID = "80007ed905a1b2c3d4e5f60718" },
		},
		{
			name: "engineid empty: generated", before: [][]string{{"--engineid", "80007ed905a1b2c3d4e5f60718"}}, args: []string{"--engineid", ""},
			stdout:  "Changing engine id to: generated by hostagentd...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.EngineID = "" },
		},
		{
			name: "engineid refused", args: []string{"--engineid", "0000000000"}, code: 1,
			stderr: []string{`vicfg-snmp: --engineid: engine ID "0000000000": engine ID 0000000000 is reserved`},
		},
		{
			name: "authentication and privacy", args: []string{"--authentication", "sha256", "--privacy", "aes256"},
			stdout:  "Changing authentication protocol to: SHA256...\nChanging privacy protocol to: AES256...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) { c.Authentication, c.Privacy = "SHA256", "AES256" },
		},
		{
			name: "MD5 refused with the reason", args: []string{"--authentication", "MD5"}, code: 1,
			stderr: []string{`vicfg-snmp: --authentication: authentication "MD5" is refused: MD5 is a broken hash`},
		},
		{
			name: "DES refused", args: []string{"--privacy", "DES"}, code: 1,
			stderr: []string{`vicfg-snmp: --privacy: privacy "DES" is refused`},
		},
		{
			name: "users and v3targets, keys never shown",
			args: []string{"--authentication", "SHA1", "--privacy", "AES128", "--users", "ops/" + rfcKey + "/" + rfcKey + "/priv, nms/-/-/none",
				"--v3targets", "192.0.2.9/ops/priv/trap,[2001:db8::1]@1162/nms/none/trap"},
			stdout: "Changing authentication protocol to: SHA1...\nChanging privacy protocol to: AES128...\n" +
				"Changing users to: ops/<set>/<set>/priv,nms/-/-/none...\n" +
				"Changing SNMPv3 notification targets list to: 192.0.2.9@162/ops/priv/trap,[2001:db8::1]@1162/nms/none/trap...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) {
				c.Authentication, c.Privacy = "SHA1", "AES128"
				c.Users = snmpconfig.Users{"ops/" + rfcKey + "/" + rfcKey + "/priv", "nms/-/-/none"}
				c.V3Targets = []string{"192.0.2.9@162/ops/priv/trap", "[2001:db8::1]@1162/nms/none/trap"}
			},
		},
		{
			name: "show hides keys", before: [][]string{{"--authentication", "SHA1", "--users", "ops/" + rfcKey + "/-/auth", "--v3targets", "192.0.2.9/ops/auth/trap"}},
			args: []string{"--show"},
			stdout: "Current SNMP agent settings:\nEnabled  : 0\nUDP port : 161\n\nCommunities :\n\nNotification targets :\n\n" +
				"Options :\nSyscontact  :\nSyslocation :\nLoglevel    : info\nNotraps     :\n" +
				"\nSNMPv3 :\nEngine id      : " + rfcEngineID + " (generated)\nAuthentication : SHA1\nPrivacy        : none\n" +
				"\nUsers :\nops/<set>/-/auth\n\nSNMPv3 notification targets :\n192.0.2.9@162/ops/auth/trap\n" +
				"\nDelivery :\n192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
		},
		{
			name: "a key of the wrong length, not echoed", args: []string{"--authentication", "SHA256", "--privacy", "none", "--users", "ops/" + rfcKey + "/-/auth"}, code: 1,
			stderr: []string{`vicfg-snmp: users: user "ops" authhash: 20 octets, but a SHA256 key has 32 (64 hex digits, as vicfg-snmp --hash prints it)`},
		},
		{
			name: "a key checked by the daemon against its protocol", before: [][]string{{"--authentication", "SHA256"}},
			args: []string{"--users", "ops/" + rfcKey + "/-/auth"}, code: 1,
			stdout:  "Changing users to: ops/<set>/-/auth...\n",
			stderr:  []string{`users: user "ops" authhash: 20 octets, but a SHA256 key has 32`},
			updates: 1,
		},
		{
			name: "user of a bad shape masked", args: []string{"--users", "ops/" + rfcKey + "/priv"}, code: 1,
			stderr: []string{`vicfg-snmp: users: entry "ops/<set>" has 3 parts separated by '/'`},
		},
		{
			name: "more than 5 users", args: []string{"--users", "a/-/-/none,b/-/-/none,c/-/-/none,d/-/-/none,e/-/-/none,f/-/-/none"}, code: 1,
			stderr: []string{"vicfg-snmp: users: 6 given, at most 5 are allowed"},
		},
		{
			name: "v3 inform of a user that is not a remote user", before: [][]string{{"--authentication", "SHA1", "--users", "ops/" + rfcKey + "/-/auth"}},
			args: []string{"--v3targets", "192.0.2.9/ops/auth/inform"}, code: 1,
			stdout:  "Changing SNMPv3 notification targets list to: 192.0.2.9@162/ops/auth/inform...\n",
			stderr:  []string{`v3targets: "192.0.2.9@162/ops/auth/inform" names user "ops", which remoteusers does not list (remoteusers: none)`},
			updates: 1,
		},
		{
			name: "remoteusers and v3 informs, keys never shown",
			args: []string{"--authentication", "SHA1", "--privacy", "AES128", "--remoteusers", "nms/" + rfcKey + "/" + rfcKey + "/priv/" + rfcEngineID + ", open/-/-/none/-",
				"--v3targets", "192.0.2.9/nms/priv/inform,192.0.2.10/open/none/inform"},
			stdout: "Changing authentication protocol to: SHA1...\nChanging privacy protocol to: AES128...\n" +
				"Changing remote users to: nms/<set>/<set>/priv/" + rfcEngineID + ",open/-/-/none/-...\n" +
				"Changing SNMPv3 notification targets list to: 192.0.2.9@162/nms/priv/inform,192.0.2.10@162/open/none/inform...\nComplete.\n",
			updates: 1, want: func(c *snmpconfig.Config) {
				c.Authentication, c.Privacy = "SHA1", "AES128"
				c.RemoteUsers = snmpconfig.RemoteUsers{"nms/" + rfcKey + "/" + rfcKey + "/priv/" + rfcEngineID, "open/-/-/none/-"}
				c.V3Targets = []string{"192.0.2.9@162/nms/priv/inform", "192.0.2.10@162/open/none/inform"}
			},
		},
		{
			name: "remote user with keys needs the receiver's engine ID", args: []string{"--remoteusers", "nms/" + rfcKey + "/-/auth/-"}, code: 1,
			stderr: []string{`vicfg-snmp: remoteusers: user "nms" has model auth but no engine ID (the receiver's engine ID, in hex, is needed to localize its keys: vicfg-snmp --hash --remote-target HOST[@PORT] finds it by engine discovery; only model none may leave it out)`},
		},
		{
			name: "remote user key checked against the protocol", args: []string{"--authentication", "SHA256", "--privacy", "none", "--remoteusers", "nms/" + rfcKey + "/-/auth/" + rfcEngineID}, code: 1,
			stderr: []string{`vicfg-snmp: remoteusers: user "nms" authhash: 20 octets, but a SHA256 key has 32`},
		},
		{
			name: "remote user of a bad shape masked", args: []string{"--remoteusers", "nms/" + rfcKey + "/-/auth"}, code: 1,
			stderr: []string{`vicfg-snmp: remoteusers: entry "nms/<set>" has 4 parts separated by '/'`},
		},
		{
			name: "remoteusers repeated, values not echoed", args: []string{"--remoteusers", "nms/" + rfcKey + "/-/auth/" + rfcEngineID, "--remoteusers", "b/-/-/none/-"}, code: 1,
			stderr: []string{"vicfg-snmp: --remoteusers is given 2 times (values not shown): only one would be used; give it once, with a comma-separated list of all the values"},
		},
		{
			name: "show hides remote users' keys", before: [][]string{{"--authentication", "SHA1", "--remoteusers", "nms/" + rfcKey + "/-/auth/" + rfcEngineID, "--v3targets", "192.0.2.9/nms/auth/inform"}},
			args: []string{"--show"},
			stdout: "Current SNMP agent settings:\nEnabled  : 0\nUDP port : 161\n\nCommunities :\n\nNotification targets :\n\n" +
				"Options :\nSyscontact  :\nSyslocation :\nLoglevel    : info\nNotraps     :\n" +
				"\nSNMPv3 :\nEngine id      : " + rfcEngineID + " (generated)\nAuthentication : SHA1\nPrivacy        : none\n" +
				"\nUsers :\n\nRemote users :\nnms/<set>/-/auth/" + rfcEngineID + "\n\nSNMPv3 notification targets :\n192.0.2.9@162/nms/auth/inform\n" +
				"\nDelivery :\n192.0.2.1@162/public         v2c trap    sent 5  acknowledged 0  failed 0  dropped 0  queued 0\n" +
				"inform:192.0.2.2@162/public  v2c inform  sent 1  acknowledged 1  failed 0  dropped 0  queued 0\n",
		},
		{
			name: "hash for a remote user's engine", before: [][]string{{"--authentication", "SHA1", "--engineid", "80007ed905a1b2c3d4e5f60718"}},
			args:   []string{"--hash", "--remote-engineid", rfcEngineID, "--auth-hash", "maplesyrup", "--priv-hash", "maplesyrup", "--raw-secret"},
			stdout: "Authhash: " + rfcKey + "\nPrivhash: " + rfcKey + "\n",
		},
		{
			name: "remote-engineid refused", args: []string{"--hash", "--remote-engineid", "xyz", "--auth-hash", "maplesyrup", "--raw-secret"}, code: 1,
			stderr: []string{`vicfg-snmp: --remote-engineid: engine ID "xyz": not a hex string`},
		},
		{
			name: "remote-target beside remote-engineid", args: []string{"--hash", "--remote-engineid", rfcEngineID, "--remote-target", "192.0.2.9", "--auth-hash", "maplesyrup", "--raw-secret"}, code: 1,
			stderr: []string{"vicfg-snmp: --remote-engineid gives the receiver's engine ID and --remote-target finds it: give one of them"},
		},
		{
			name: "remote-target broadcast refused", args: []string{"--hash", "--remote-target", "255.255.255.255", "--auth-hash", "maplesyrup", "--raw-secret"}, code: 1,
			stderr: []string{`vicfg-snmp: --remote-target "255.255.255.255": `, "broadcast"},
		},
		{
			name: "remote-target with a community refused", args: []string{"--hash", "--remote-target", "192.0.2.9@162/public", "--auth-hash", "maplesyrup", "--raw-secret"}, code: 1,
			stderr: []string{`vicfg-snmp: --remote-target "192.0.2.9@162/public": want host[@port], without a kind or /community`},
		},
		{
			name: "remote-engineid without hash", args: []string{"--remote-engineid", rfcEngineID}, code: 1,
			stderr: []string{"vicfg-snmp: --auth-hash, --priv-hash, --raw-secret, --remote-engineid and --remote-target go with --hash"},
		},
		{
			name: "more than 3 v3targets", args: []string{"--v3targets", "192.0.2.1/a/none/trap,192.0.2.2/a/none/trap,192.0.2.3/a/none/trap,192.0.2.4/a/none/trap"}, code: 1,
			stderr: []string{"vicfg-snmp: v3targets: 4 given, at most 3 are allowed"},
		},
		{
			name: "v3target of an unknown user refused by the daemon", args: []string{"--v3targets", "192.0.2.9/ghost/none/trap"}, code: 1,
			stdout:  "Changing SNMPv3 notification targets list to: 192.0.2.9@162/ghost/none/trap...\n",
			stderr:  []string{`v3targets: "192.0.2.9@162/ghost/none/trap" names user "ghost", which users does not list (users: none)`},
			updates: 1,
		},
		{
			name: "v3target level above the user's model", before: [][]string{{"--authentication", "SHA1", "--users", "ops/" + rfcKey + "/-/auth"}},
			args: []string{"--v3targets", "192.0.2.9/ops/priv/trap"}, code: 1,
			stdout:  "Changing SNMPv3 notification targets list to: 192.0.2.9@162/ops/priv/trap...\n",
			stderr:  []string{`asks for security level priv, but user "ops" has model auth`},
			updates: 1,
		},
		{
			name: "users repeated, values not echoed", args: []string{"--users", "ops/" + rfcKey + "/-/auth", "--users", "b/-/-/none"}, code: 1,
			stderr: []string{"vicfg-snmp: --users is given 2 times (values not shown): only one would be used; give it once, with a comma-separated list of all the values"},
		},
		{
			name: "hash with raw secrets", before: [][]string{{"--authentication", "SHA1"}},
			args:   []string{"--hash", "--auth-hash", "maplesyrup", "--priv-hash", "maplesyrup", "--raw-secret"},
			stdout: "Authhash: " + rfcKey + "\nPrivhash: " + rfcKey + "\n",
		},
		{
			name: "hash without privacy password", before: [][]string{{"--authentication", "SHA1"}},
			args:   []string{"--hash", "--auth-hash", "maplesyrup", "--raw-secret"},
			stdout: "Authhash: " + rfcKey + "\n",
		},
		{
			name: "hash needs authentication", args: []string{"--hash", "--auth-hash", "maplesyrup", "--raw-secret"}, code: 1,
			stderr: []string{"vicfg-snmp: --hash: authentication is none, so users have no keys: set --authentication first"},
		},
		{
			name: "hash refused beside a change", args: []string{"--hash", "--auth-hash", "maplesyrup", "--raw-secret", "--authentication", "SHA1"}, code: 1,
			stderr: []string{"vicfg-snmp: --hash computes keys for the engine ID and authentication in force: give it without changes"},
		},
		{
			name: "hash password too short", before: [][]string{{"--authentication", "SHA1"}},
			args: []string{"--hash", "--auth-hash", "short", "--raw-secret"}, code: 1,
			stderr: []string{"vicfg-snmp: --hash: authentication password: password to key: password of 5 characters is too short"},
		},
		{
			name: "auth-hash without hash", args: []string{"--auth-hash", "maplesyrup"}, code: 1,
			stderr: []string{"vicfg-snmp: --auth-hash, --priv-hash, --raw-secret, --remote-engineid and --remote-target go with --hash"},
		},
		{
			name: "hash needs auth-hash", args: []string{"--hash"}, code: 1,
			stderr: []string{"vicfg-snmp: --hash needs --auth-hash"},
		},
		{
			name: "hash reads a missing file", args: []string{"--hash", "--auth-hash", "/nonexistent/auth"}, code: 1,
			stderr: []string{"vicfg-snmp: --auth-hash: stat /nonexistent/auth: no such file or directory"},
		},
		{
			name: "unknown short flag", args: []string{"-x"}, code: 1,
			stderr: []string{"vicfg-snmp: unknown shorthand flag: 'x' in -x", "see vicfg-snmp --help"},
		},
		{
			name: "missing value", args: []string{"-c"}, code: 1,
			stderr: []string{"vicfg-snmp: flag needs an argument: 'c' in -c", "see vicfg-snmp --help"},
		},
		{
			name: "non-numeric port", args: []string{"-p", "abc"}, code: 1,
			stderr: []string{`vicfg-snmp: --port "abc": must be a number from 1 to 65535`},
		},
		{
			name: "enable and disable", args: []string{"-E", "-D"}, code: 1,
			stderr: []string{"vicfg-snmp: --enable and --disable cannot be given together", "see vicfg-snmp --help"},
		},
		{
			name: "positional argument", args: []string{"-s", "public"}, code: 1,
			stderr: []string{`vicfg-snmp: unexpected argument "public"`},
		},
		{
			name: "no operation", args: nil, code: 1,
			stderr: []string{"Usage: vicfg-snmp [--server unix:PATH] OPTIONS", "--communities"},
		},
		{
			name: "daemon not running", noDaemon: true, args: []string{"-c", "public"}, code: 1,
			stdout: "Changing community list to: public...\n",
			stderr: []string{"vicfg-snmp: cannot connect to hostagentd at unix:", "missing.sock: is the daemon running?"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := &service{cfg: snmpconfig.DefaultConfig(), stats: stats, results: okResults}
			if tt.results != nil {
				svc.results = tt.results
			}
			server := start(t, svc)
			for _, args := range tt.before {
				if code, _, stderr := run(server, "vicfg-snmp", args...); code != 0 {
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

			code, stdout, stderr := run(server, "vicfg-snmp", tt.args...)
			vicfgtest.CheckOutput(t, code, stdout, stderr, tt.code, tt.stdout, tt.stderr)
			if svc.updates != tt.updates {
				t.Errorf("%d changes requested, want %d", svc.updates, tt.updates)
			}
			if got := svc.config(); !reflect.DeepEqual(got, want) {
				t.Errorf("config\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, tt := range []struct{ prog, flag string }{{"vicfg-snmp", "--help"}, {"esxcfg-snmp", "-h"}} {
		// No daemon: help must not need one.
		code, out, errb := vicfgtest.Run(context.Background(), Command, tt.prog, nil, tt.flag)
		if code != 0 || errb != "" {
			t.Errorf("%s %s: exit %d, stderr %q", tt.prog, tt.flag, code, errb)
		}
		for _, want := range []string{
			"Usage: " + tt.prog + " [--server unix:PATH] OPTIONS\n",
			"-c, --communities LIST", "-t, --targets LIST", "-p, --port N", "-E, --enable", "-D, --disable",
			"-s, --show", "-T, --test", "-r, --reset", "-n, --notraps LIST", "-C, --syscontact S",
			"-L, --syslocation S", "-l, --loglevel LEVEL", "--server unix:PATH", "-h, --help",
			"[v1:|v2c:|inform:]host[@port][/community]", "162",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%s %s lacks %q:\n%s", tt.prog, tt.flag, want, out)
			}
		}
	}
	// Errors are named after the program too.
	if code, _, errb := vicfgtest.Run(context.Background(), Command, "esxcfg-snmp", nil, "--bogus"); code != 1 ||
		!strings.Contains(errb, "esxcfg-snmp: unknown flag: --bogus\nsee esxcfg-snmp --help") {
		t.Errorf("esxcfg-snmp --bogus: exit %d, stderr %q", code, errb)
	}
}

func TestBadServer(t *testing.T) {
	if code, _, errb := vicfgtest.Run(context.Background(), Command, "vicfg-snmp", nil, "--server", "tcp:host:1", "-s"); code != 1 ||
		!strings.Contains(errb, `vicfg-snmp: --server "tcp:host:1"`) {
		t.Errorf("exit %d, stderr %q", code, errb)
	}
}

// TestPasswordPrompt: over https without --password, the password is asked
// for through the terminal before the change is sent.
func TestPasswordPrompt(t *testing.T) {
	svc := &service{cfg: snmpconfig.DefaultConfig(), stats: stats, results: okResults}
	h := apiserver.NewHandler(svc, nil, slog.New(slog.DiscardHandler))
	stdout := vicfgtest.CheckLoginPrompt(t, Command, h, "-c", "public", "-s")
	if want := "Changing community list to: public...\nComplete.\nCurrent SNMP agent settings:\n"; !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout %q, want it to start with %q", stdout, want)
	}
	if got := svc.config().Communities; !slices.Equal(got, []string{"public"}) {
		t.Errorf("communities %q", got)
	}
}

// TestHashFromFiles: without --raw-secret, --auth-hash and --priv-hash
// name files holding the passwords (on their first line), which must not
// be readable by others.
func TestHashFromFiles(t *testing.T) {
	svc := &service{cfg: snmpconfig.DefaultConfig()}
	svc.cfg.Authentication = "SHA1"
	server := start(t, svc)
	dir := t.TempDir()
	auth, priv := filepath.Join(dir, "auth"), filepath.Join(dir, "priv")
	for _, f := range []string{auth, priv} {
		if err := os.WriteFile(f, []byte("maplesyrup\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := run(server, "vicfg-snmp", "--hash", "--auth-hash", auth, "--priv-hash", priv)
	vicfgtest.CheckOutput(t, code, stdout, stderr, 0, "Authhash: "+rfcKey+"\nPrivhash: "+rfcKey+"\n", nil)

	if err := os.Chmod(priv, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(server, "vicfg-snmp", "--hash", "--auth-hash", auth, "--priv-hash", priv)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "--priv-hash "+priv) {
		t.Errorf("a password file readable by others: exit %d, %q %q", code, stdout, stderr)
	}
	if svc.updates != 0 {
		t.Errorf("--hash changed the configuration %d times", svc.updates)
	}
}
