package snmp

import (
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// TestHashRemoteTargetDiscoversEngine: --hash --remote-target finds an
// inform receiver's engine ID by RFC 3414 discovery, against the real
// snmptrapd, prints it, and localizes the keys to it; a port where nothing
// answers fails with a message saying so, exit 1.
func TestHashRemoteTargetDiscoversEngine(t *testing.T) {
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{EngineID: "nms-east"})
	engine := peertest.TextEngineID("nms-east")

	svc := &service{cfg: snmpconfig.DefaultConfig(), stats: stats, results: okResults}
	svc.cfg.Authentication = "SHA256"
	server := start(t, svc)
	code, stdout, stderr := run(server, "vicfg-snmp", "--hash", "--remote-target", fmt.Sprintf("127.0.0.1@%d", trapd.Port()),
		"--auth-hash", "nms-auth-secret", "--priv-hash", "nms-priv-secret", "--raw-secret")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ak, pk, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("nms-auth-secret"), []byte("nms-priv-secret"), engine)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Engineid: " + hex.EncodeToString(engine) + "\n" + usm.FormatHashes(ak, pk); stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}

	silent, err := peertest.FreeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(server, "vicfg-snmp", "--hash", "--remote-target", fmt.Sprintf("127.0.0.1@%d", silent),
		"--auth-hash", "nms-auth-secret", "--raw-secret")
	if code != 1 || !strings.Contains(stderr, fmt.Sprintf("--remote-target 127.0.0.1@%d: engine discovery of 127.0.0.1:%d", silent, silent)) ||
		!strings.Contains(stderr, "is an SNMPv3 receiver listening there?") {
		t.Errorf("nothing listening: exit %d, %s", code, stderr)
	}
}
