package agentx

import (
	"os"
	"os/exec"
	"testing"

	"hostagent/internal/peertest"
)

// testSnmpd is the master the tests attach to (peertest.Snmpd).
type testSnmpd struct{ *peertest.Snmpd }

func startSnmpd(t testing.TB) testSnmpd { return testSnmpd{peertest.StartSnmpd(t)} }

// snmpCmd runs a net-snmp client (snmpget, snmpwalk, ...) against s with
// numeric output and no MIB loaded, and returns its stdout.
func (s testSnmpd) snmpCmd(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	all := append([]string{"-v2c", "-m", "", "-On", "-Ox", "-t", "3", "-r", "1"}, args...)
	cmd := exec.Command(name, all...)
	cmd.Env = append(os.Environ(), "MIBS=", "MIBDIRS=", "SNMPCONFPATH="+t.TempDir()) // none of the user's or host's configuration
	out, err := cmd.CombinedOutput()
	return string(out), err
}
