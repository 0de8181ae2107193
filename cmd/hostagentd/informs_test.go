package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// TestInformsSurviveSIGKILL: informs sent to a receiver that is down stay
// unacknowledged; the agent is killed (SIGKILL: nothing is flushed at
// exit); the receiver comes up; the restarted agent sends them again and
// snmptrapd acknowledges and logs them, with the first run's uptimes.
func TestInformsSurviveSIGKILL(t *testing.T) {
	bin, work := t.TempDir(), t.TempDir()
	build(t, bin)
	ownSyslog(t, work)
	port, err := peertest.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	// Nobody listens on port yet: each inform is retried every 5 s, ten
	// times, and stays pending. No collector: the informs are the test's.
	snmpToml := fmt.Sprintf("enabled = true\npolling = \"off\"\ncommunities = [\"public\"]\ntargets = [\"inform:127.0.0.1@%d/public\"]\ninform_timeout = \"5s\"\ninform_retries = 10\nsyscontact = \"first run\"\n", port)
	collectorsToml := "[vms]\nenabled = false\n[sensors]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n"
	for name, text := range map[string]string{"snmp.toml": snmpToml, "collectors.toml": collectorsToml} {
		if err := os.WriteFile(filepath.Join(work, "etc", name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	run := func() (*exec.Cmd, *peertest.Buffer) {
		log := &peertest.Buffer{}
		d := exec.Command(filepath.Join(bin, "hostagentd"), "--config-dir", filepath.Join(work, "etc"),
			"--state-dir", filepath.Join(work, "state"), "--api-socket", filepath.Join(work, "api.sock"))
		d.Stdout, d.Stderr = log, log
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = d.Process.Kill()
			_ = d.Wait()
			if t.Failed() {
				t.Logf("hostagentd:\n%s", log.String())
			}
		})
		return d, log
	}
	first, log := run()
	peertest.Eventually(t, 60*time.Second, "the first run ready", func() bool { return strings.Contains(log.String(), "hostagentd ready") })
	// coldStart, then a change of settings for a warmStart: two informs,
	// each on disk before its first transmission.
	esxcfg := exec.Command(filepath.Join(bin, "esxcfg-snmp"), "--server", "unix:"+filepath.Join(work, "api.sock"), "--syscontact", "second setting")
	if out, err := esxcfg.CombinedOutput(); err != nil {
		t.Fatalf("esxcfg-snmp: %v\n%s", err, out)
	}
	informs := filepath.Join(work, "state", "informs")
	peertest.Eventually(t, 30*time.Second, "two informs kept", func() bool {
		files, _ := filepath.Glob(filepath.Join(informs, "informs-*.jsonl"))
		if len(files) != 1 {
			return false
		}
		data, _ := os.ReadFile(files[0])
		return bytes.Count(data, []byte(`"op":"add"`)) == 2
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()

	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{Port: port})
	_, log = run()
	// Three informs: the first run's coldStart and warmStart, resent, and
	// this run's own coldStart.
	traps := trapd.WaitTraps(t, 3, 30*time.Second)
	var seen []string
	for _, tr := range traps {
		if tr.PDU != "INFORM" {
			t.Errorf("not an inform: %s", tr.Raw)
		}
		seen = append(seen, tr.TrapOID)
	}
	joined := strings.Join(seen, " ")
	if strings.Count(joined, "SNMPv2-MIB::coldStart") != 2 || strings.Count(joined, "SNMPv2-MIB::warmStart") != 1 {
		t.Errorf("received %v, want the first run's coldStart and warmStart and the second run's coldStart", seen)
	}
	if !strings.Contains(log.String(), "informs left unacknowledged by the last run are sent again") {
		t.Error("the restart did not say it resends the informs")
	}
	// Acknowledged: nothing is pending any more (the store writes its
	// dones unsynced, so wait for them).
	peertest.Eventually(t, 30*time.Second, "no inform pending", func() bool {
		files, _ := filepath.Glob(filepath.Join(informs, "informs-*.jsonl"))
		if len(files) != 1 {
			return false
		}
		data, _ := os.ReadFile(files[0])
		return bytes.Count(data, []byte(`"op":"add"`)) == bytes.Count(data, []byte(`"op":"done"`))
	})
}
