package daemon_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/manage/api"
)

// TestObserveEndpoints: what the web console watches, from a daemon with
// real peers: libvirtd's test driver for the VMs, a fixture hwmon chip for
// the sensors, snmptrapd as the SNMP target and rsyslogd as the loghost.
// /host shows the VM, the sensor and the collectors' last runs; the feed
// shows the warmStart of POST /api/v1/snmp/test with its target, and
// after= filters it; the history shows the target's and the loghost's
// rates once something went; a NoAccess user is refused over HTTPS and a
// ReadOnly one sees the communities masked.
func TestObserveEndpoints(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	peertest.RequireCommand(t, "rsyslogd", "rsyslog")
	peertest.RequireCommand(t, "virsh", "libvirt-clients")
	lv := peertest.StartLibvirtd(t)
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	rs := peertest.StartRsyslogd(t, peertest.RsyslogdOptions{TCP: true})

	dir, logs := t.TempDir(), t.TempDir()
	chip := filepath.Join(dir, "sys", "class", "hwmon", "hwmon0")
	writeFile(t, filepath.Join(chip, "name"), "coretemp\n")
	writeFile(t, filepath.Join(chip, "temp1_label"), "Package id 0\n")
	writeFile(t, filepath.Join(chip, "temp1_crit"), "95000\n")
	writeFile(t, filepath.Join(chip, "temp1_input"), "45000\n")
	writeFile(t, filepath.Join(dir, "etc", daemon.CollectorsFile), fmt.Sprintf(
		"[vms]\nenabled = true\nuri = \"test:///default\"\nsocket = %q\n[sensors]\nenabled = true\ninterval = \"1s\"\n[links]\nenabled = false\n[resources]\nenabled = false\n", lv.Socket()))
	writeFile(t, filepath.Join(dir, "etc", daemon.SyslogFile), fmt.Sprintf(
		"socket = %q\n[[files]]\nglob = %q\npriority = \"local1.notice\"\n", filepath.Join(dir, "syslog.sock"), filepath.Join(logs, "*.log")))
	d := start(t, dir, func(o *daemon.Options) {
		o.HTTPSListen = "127.0.0.1:0"
		o.SampleInterval = 200 * time.Millisecond
	})
	console := consoleClient(d.sock)
	get := func(path string, v any) {
		t.Helper()
		code, out := call(t, console, "GET", path, nil)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, code, out)
		}
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("GET %s: %v\n%s", path, err, out)
		}
	}

	target := fmt.Sprintf("127.0.0.1@%d/public", trapd.Port())
	if code, out, errOut := d.cli(t, "-c", "public", "-t", target, "-E"); code != 0 {
		t.Fatalf("enable: exit %d\n%s%s", code, out, errOut)
	}
	trapd.WaitTraps(t, 1, 10*time.Second) // coldStart
	loghost := "tcp://" + rs.TCPAddr()
	if code, out := call(t, console, "PATCH", api.PathSyslog, api.SyslogPatch{Loghosts: &[]string{loghost}}); code != http.StatusOK {
		t.Fatalf("set loghost: %d %s", code, out)
	}

	// /host: the test driver's one running VM, the sensor, every
	// collector with its state.
	var host api.HostState
	waitFor(t, "the VM, the sensor and both collectors' runs in /host", func() bool {
		get(api.PathHost, &host)
		ran := 0
		for _, c := range host.Collectors {
			if (c.Name == "vms" || c.Name == "sensors") && c.Enabled && c.State == "running" && c.LastRun != "" {
				ran++
			}
		}
		return ran == 2 && len(host.VMs) > 0 && len(host.Sensors) > 0
	})
	if want := (api.VMState{ID: "1", Name: "test", State: "poweredOn", ConfigPath: host.VMs[0].ConfigPath}); len(host.VMs) != 1 || host.VMs[0] != want || !strings.HasSuffix(want.ConfigPath, "/test.xml") {
		t.Errorf("VMs = %+v, want one: %+v", host.VMs, want)
	}
	if want := (api.SensorState{Name: host.Sensors[0].Name, Subsystem: "temperatureSensor", Status: "normal", Reading: "45.0 C"}); len(host.Sensors) != 1 || host.Sensors[0] != want || !strings.Contains(want.Name, "Package id 0") {
		t.Errorf("sensors = %+v, want one: %+v", host.Sensors, want)
	}
	for _, c := range host.Collectors {
		if (c.Name == "links" || c.Name == "resources") && (c.Enabled || c.State != "stopped" || c.LastRun != "") {
			t.Errorf("collector %s disabled, shown %+v", c.Name, c)
		}
	}
	if hostname, _ := os.Hostname(); host.Hostname != hostname || host.Product == "" || host.Version == "" || host.Started == "" {
		t.Errorf("identity: %+v", host)
	}
	if _, err := time.Parse(time.RFC3339, host.Started); err != nil {
		t.Errorf("started: %v", err)
	}

	// The feed: coldStart already, then the test's warmStart.
	var before api.NotificationFeed
	get(api.PathNotifications, &before)
	if code, out := call(t, console, "POST", api.PathSNMPTest, struct{}{}); code != http.StatusOK {
		t.Fatalf("test notification: %d %s", code, out)
	}
	var feed api.NotificationFeed
	get(fmt.Sprintf("%s?after=%d", api.PathNotifications, before.Latest), &feed)
	if len(feed.Notifications) != 1 || feed.Latest != before.Latest+1 {
		t.Fatalf("after=%d: %+v, want the warmStart only", before.Latest, feed)
	}
	warm := feed.Notifications[0]
	if warm.Name != "SNMPv2-MIB::warmStart" || warm.OID != "1.3.6.1.6.3.1.1.5.2" || warm.Seq != feed.Latest || !slices.Equal(warm.Targets, []string{target}) {
		t.Errorf("warmStart in the feed: %+v", warm)
	}
	if _, err := time.Parse(time.RFC3339, warm.Time); err != nil {
		t.Errorf("time: %v", err)
	}
	var all api.NotificationFeed
	get(api.PathNotifications, &all)
	if len(all.Notifications) < 2 || all.Notifications[0].Name != "SNMPv2-MIB::coldStart" || all.Notifications[len(all.Notifications)-1].Seq != warm.Seq {
		t.Errorf("whole feed: %+v", all)
	}
	var none api.NotificationFeed
	get(fmt.Sprintf("%s?after=%d", api.PathNotifications, feed.Latest), &none)
	if len(none.Notifications) != 0 || none.Latest != feed.Latest {
		t.Errorf("after the latest: %+v", none)
	}
	for _, bad := range []string{"-1", "x", "1.5"} {
		code, out := call(t, console, "GET", api.PathNotifications+"?after="+bad, nil)
		if code != http.StatusBadRequest || !strings.Contains(string(out), `after=\"`+bad+`\"`) {
			t.Errorf("after=%s: %d %s, want 400 naming the parameter and value", bad, code, out)
		}
	}

	// The history: the target's notifications and the loghost's lines.
	var hist api.History
	waitFor(t, "the warmStart in the target's history", func() bool {
		get(api.PathHistory, &hist)
		i := slices.IndexFunc(hist.Targets, func(s api.TargetSeries) bool { return s.Target == target })
		return i >= 0 && slices.ContainsFunc(hist.Targets[i].NotificationsPerMinute, func(v float64) bool { return v > 0 })
	})
	f, err := os.Create(filepath.Join(logs, "vpxa.log"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		fmt.Fprintf(f, "vpxa line %d\n", i)
	}
	f.Close()
	rs.WaitMessages(t, 50, 10*time.Second)
	waitFor(t, "the lines in the loghost's history", func() bool {
		get(api.PathHistory, &hist)
		i := slices.IndexFunc(hist.Loghosts, func(s api.LoghostSeries) bool { return s.Loghost == loghost })
		return i >= 0 && slices.ContainsFunc(hist.Loghosts[i].LinesPerSecond, func(v float64) bool { return v > 0 })
	})
	if len(hist.Times) == 0 || len(hist.Times) > 360 || hist.IntervalSeconds != 1 {
		t.Errorf("history: %d times, interval %d", len(hist.Times), hist.IntervalSeconds)
	}
	for _, s := range hist.Loghosts {
		if len(s.LinesPerSecond) != len(hist.Times) {
			t.Errorf("loghost %s: %d points for %d times", s.Loghost, len(s.LinesPerSecond), len(hist.Times))
		}
	}
	for _, s := range hist.Targets {
		if len(s.NotificationsPerMinute) != len(hist.Times) {
			t.Errorf("target %s: %d points for %d times", s.Target, len(s.NotificationsPerMinute), len(hist.Times))
		}
	}

	// Over HTTPS: NoAccess is refused, ReadOnly reads with the
	// communities masked.
	for _, u := range []api.NewUser{{Name: "nora", Password: "nora-passw0rd", Role: "NoAccess"}, {Name: "bob", Password: "bob-passw0rd", Role: "ReadOnly"}} {
		if code, out := call(t, console, "POST", api.PathUsers, u); code != http.StatusOK && code != http.StatusCreated {
			t.Fatalf("add %s: %d %s", u.Name, code, out)
		}
	}
	as := httpsLogin(t, dir, d.daemon)
	nora, bob := as("nora", "nora-passw0rd"), as("bob", "bob-passw0rd")
	for _, path := range []string{api.PathHost, api.PathHistory, api.PathNotifications} {
		if code, out, _ := nora.do("GET", path, nil); code != http.StatusForbidden || !strings.Contains(out, "System.Read") {
			t.Errorf("NoAccess GET %s: %d %s, want 403 naming System.Read", path, code, out)
		}
		if code, out, _ := bob.do("GET", path, nil); code != http.StatusOK || strings.Contains(out, "/public") {
			t.Errorf("ReadOnly GET %s: %d %s, want 200 without the community", path, code, out)
		}
	}
	code, out, _ := bob.do("GET", api.PathNotifications, nil)
	if masked := fmt.Sprintf("127.0.0.1@%d/%s", trapd.Port(), api.Masked); code != http.StatusOK || !strings.Contains(out, masked) {
		t.Errorf("ReadOnly feed: %d %s, want the target as %s", code, out, masked)
	}
}
