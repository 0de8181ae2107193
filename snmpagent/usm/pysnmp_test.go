package usm_test

import (
	"net"
	"testing"
	"time"

	"hostagent/internal/peertest"
	"hostagent/snmpagent/usm"
)

// TestPysnmpDecodesTraps: a second implementation, pysnmp (Debian
// python3-pysnmp4), decodes the agent's traps for one combination of each
// kind: authPriv with SHA-256/AES-128 and SHA-512/AES-256, authNoPriv
// with SHA-1, and noAuthNoPriv; a trap with a wrong key is not delivered.
func TestPysnmpDecodesTraps(t *testing.T) {
	engineID := newEngineID(t)
	picked := []combo{{name: "none", level: usm.NoAuthNoPriv}}
	for _, c := range combos() {
		switch c.name {
		case "sha256-aes128", "sha512-aes256", "sha1-none":
			picked = append(picked, c)
		}
	}
	var users []peertest.USMUser
	for _, c := range picked {
		users = append(users, c.trapdUser(engineID)) // keys localized to the agent's engine
	}
	p := peertest.StartPysnmp(t, peertest.PysnmpOptions{Users: users})
	conn, err := net.Dial("udp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	coldStartWith := func(marker string) func([]peertest.PysnmpNotification) bool {
		return func(ns []peertest.PysnmpNotification) bool {
			for _, n := range ns {
				if n.VarBinds[snmpTrapOID0] == coldStart && n.VarBinds[sysLocation0] == marker {
					return true
				}
			}
			return false
		}
	}
	for i, c := range picked {
		// A wrong key first: pysnmp must drop it.
		if c.level >= usm.AuthNoPriv {
			bad := c.user(t, engineID, "not-the-password")
			if _, err := conn.Write(trap(t, wrapper(t, bad, engineID), engineID, "forged-"+c.name, int32(1000+i))); err != nil {
				t.Fatal(err)
			}
		}
		u := c.user(t, engineID, "auth-"+c.name)
		if _, err := conn.Write(trap(t, wrapper(t, u, engineID), engineID, "marker-"+c.name, int32(2000+i))); err != nil {
			t.Fatal(err)
		}
		ns := p.WaitNotifications(t, c.name, 20*time.Second, "the "+c.name+" trap", coldStartWith("marker-"+c.name))
		if coldStartWith("forged-" + c.name)(ns) {
			t.Errorf("%s: pysnmp accepted a trap with a wrong key", c.name)
		}
	}
}
