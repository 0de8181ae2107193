// Package registrytest proves the collector contract: a source written
// here, in a test and nowhere else, registers itself with
// collectors.Register and is run by a real daemon.Daemon, which reads its
// section of collectors.toml, follows hand edits of it, delivers its
// notifications to snmptrapd and serves its counters in /metrics.
package registrytest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hostagent/collectors"
	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/mibs"
	"hostagent/syslogd"
)

// beaconConfig is the [beacon] section of collectors.toml.
type beaconConfig struct {
	Enabled bool   `toml:"enabled"`
	IfIndex uint32 `toml:"ifindex"` // the interface its linkUp names
}

func (c beaconConfig) Validate() error {
	if c.IfIndex < 1 || c.IfIndex > 2147483647 {
		return fmt.Errorf("beacon.ifindex %d: must be from 1 to 2147483647", c.IfIndex)
	}
	return nil
}

// unbuildable is an ifindex that passes Validate but that New refuses, as
// a source refuses what it finds only when it starts (a damaged state file).
const unbuildable = 13

// beacon is an event-driven source: it sends linkUp for its interface
// once when it starts, then waits for the end.
type beacon struct {
	cfg beaconConfig

	mu    sync.Mutex
	stats collectors.Stats
}

func (b *beacon) Run(ctx context.Context, out collectors.Notifier) error {
	start := time.Now()
	n, err := mibs.LinkUp.New(mibs.Int(int64(b.cfg.IfIndex)).At(b.cfg.IfIndex), mibs.Int(1).At(b.cfg.IfIndex), mibs.Int(1).At(b.cfg.IfIndex))
	if err == nil {
		err = out.Notify(ctx, n)
	}
	b.mu.Lock()
	b.stats.Runs++
	b.stats.LastDuration = time.Since(start)
	if err != nil {
		b.stats.Failures++
		b.stats.LastError = err.Error()
	}
	b.mu.Unlock()
	<-ctx.Done()
	return nil
}

func (b *beacon) Stats() collectors.Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

func init() {
	collectors.Register("beacon", collectors.Definition[beaconConfig]{
		Default: func() beaconConfig { return beaconConfig{Enabled: true, IfIndex: 7} },
		Enabled: func(c beaconConfig) bool { return c.Enabled },
		New: func(c beaconConfig, _ collectors.Env) (collectors.Source, error) {
			if c.IfIndex == unbuildable {
				return nil, fmt.Errorf("beacon: interface %d cannot be opened", c.IfIndex)
			}
			return &beacon{cfg: c}, nil
		},
	})
}

func TestSourceRegisteredInATestRunsInTheDaemon(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	writeFile(t, filepath.Join(etc, daemon.SNMPFile), fmt.Sprintf(
		"enabled = true\ncommunities = [\"public\"]\ntargets = [\"127.0.0.1@%d\"]\n", trapd.Port()))
	sock := filepath.Join(dir, "api.sock")
	log := &peertest.Buffer{}
	d := daemon.New(daemon.Options{
		ConfigDir: etc, StateDir: filepath.Join(dir, "state"), APISocket: sock,
		Defaults: daemon.Defaults{Syslog: func() syslogd.Config {
			cfg := syslogd.DefaultConfig()
			cfg.Socket, cfg.Files = "", nil // nothing of the host's
			return cfg
		}},
	}, slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", log)
		}
	})
	select {
	case <-d.Ready():
	case err := <-done:
		t.Fatalf("daemon did not start: %v\n%s", err, log)
	}

	// Its defaults run with no collectors.toml at all.
	linkUp := func(tr peertest.Trap) string {
		for _, v := range tr.VarBinds {
			if strings.HasPrefix(v.Name, "IF-MIB::ifIndex.") {
				return tr.TrapOID + " " + v.Name
			}
		}
		return tr.TrapOID
	}
	traps := trapd.WaitTraps(t, 2, 10*time.Second) // coldStart and the beacon's
	if got := linkUp(traps[1]); got != "IF-MIB::linkUp IF-MIB::ifIndex.7" {
		t.Errorf("the beacon's notification: %s", got)
	}
	metrics := scrape(t, sock)
	for _, want := range []string{
		`hostagent_collector_runs_total{collector="beacon"} 1`,
		`hostagent_collector_failures_total{collector="beacon"} 0`,
		`hostagent_collector_last_duration_seconds{collector="beacon"} `,
		"# TYPE process_cpu_seconds_total counter",
		"# TYPE go_goroutines gauge",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, metrics)
		}
	}

	// A bad value is refused with the source's own message; the running
	// set stays.
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), "[beacon]\nifindex = 0\n")
	peertest.Eventually(t, 10*time.Second, "the refusal", func() bool {
		return strings.Contains(log.String(), "beacon.ifindex 0: must be from 1 to 2147483647")
	})
	// A misspelt key is named with the allowed ones.
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), "[beacon]\nifindexx = 9\n")
	peertest.Eventually(t, 10*time.Second, "the unknown key", func() bool {
		return strings.Contains(log.String(), `unknown setting \"beacon.ifindexx\" (allowed in [beacon]: enabled, ifindex)`)
	})
	// A valid edit restarts it with the new section.
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), "[beacon]\nifindex = 9\n")
	traps = trapd.WaitTraps(t, 3, 10*time.Second)
	if got := linkUp(traps[2]); got != "IF-MIB::linkUp IF-MIB::ifIndex.9" {
		t.Errorf("after the edit: %s", got)
	}
	// A valid edit that the source cannot build is refused and audited
	// as such; the previous section runs again.
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), fmt.Sprintf("[beacon]\nifindex = %d\n", unbuildable))
	traps = trapd.WaitTraps(t, 4, 10*time.Second)
	if got := linkUp(traps[3]); got != "IF-MIB::linkUp IF-MIB::ifIndex.9" {
		t.Errorf("after an edit it could not build: %s", got)
	}
	peertest.Eventually(t, 10*time.Second, "the refusal logged with its reason", func() bool {
		return strings.Contains(log.String(), `msg="configuration change refused; the previous configuration keeps running"`+
			" file="+filepath.Join(etc, daemon.CollectorsFile)+` err="beacon: interface 13 cannot be opened"`)
	})
	peertest.Eventually(t, 10*time.Second, "the refusal in the audit trail", func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "state", "audit.log"))
		return strings.Contains(string(b), `"action":"collectors.reload","result":"invalid","detail":"beacon: interface 13 cannot be opened"`)
	})

	// Disabled, it leaves /metrics.
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), "[beacon]\nenabled = false\n")
	peertest.Eventually(t, 10*time.Second, "the beacon gone from /metrics", func() bool {
		return !strings.Contains(scrape(t, sock), `collector="beacon"`)
	})
}

// writeFile writes beside and renames, as editors save.
func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// scrape reads /metrics on the console socket.
func scrape(t *testing.T, sock string) string {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Get("http://console" + api.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v\n%s", resp.StatusCode, err, body)
	}
	return string(body)
}
