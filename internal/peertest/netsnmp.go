package peertest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// NetSNMP runs one of net-snmp's clients (snmpget, snmpwalk, snmpbulkwalk,
// snmptable, snmpset) with the test MIB files (MIBDir, every module loaded)
// and none of the user's or the host's net-snmp configuration, bounded by
// a minute. It returns what the client printed on stdout; the error holds
// the command line and stderr.
func NetSNMP(t testing.TB, client string, args ...string) (string, error) {
	t.Helper()
	bin := RequireCommand(t, client, "snmp")
	all := append([]string{"-M", MIBDir(t), "-m", "ALL"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, all...)
	c.Env = append(cleanEnv(), "SNMPCONFPATH="+t.TempDir()) // no ~/.snmp, no /etc/snmp
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s%s", client, strings.Join(all, " "), err, out.String(), errOut.String())
	}
	return out.String(), nil
}
