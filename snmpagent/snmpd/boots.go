package snmpd

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"

	"hostagent/internal/configstore"
	"hostagent/snmpagent/usm"
)

// snmpd's engine boots, as net-snmp 5.9.3 keeps them (snmplib/snmpv3.c,
// checked against the real snmpd in the tests):
//
//   - snmpd writes "engineBoots N" and "oldEngineID 0xID" to the
//     persistent snmpd.conf in its persistent directory
//     ($SNMP_PERSISTENT_DIR) at start and at shutdown, next to its other
//     state: the users created by createUser (usmUser lines, with their
//     keys), setserialno, ifXTable settings.
//   - At start it reads "engineBoots N" as N+1, and resets it to 1 when
//     "oldEngineID" is missing or differs from the engine ID it runs with.
//   - -C (read no configuration but -c's files) also skips the persistent
//     file, so it is named in -c after snmpd.conf.
//
// So before each start the supervisor replaces the persistent file with
// two lines, engineBoots B-1 and the engine ID, and snmpd runs with boots
// B. Rewriting it also forgets what the previous run saved: a user
// removed from the settings would otherwise come back from its usmUser
// line.

// persistentConf is the persistent file that makes snmpd start with boots
// (1 to maxBoots-1) for engineID.
func persistentConf(engineID []byte, boots uint32) ([]byte, error) {
	if boots == 0 || boots >= maxBoots {
		return nil, fmt.Errorf("engine boots %d: allowed are 1 to %d (at %d the engine needs a new engine ID and new user keys, RFC 3414 2.2.2)", boots, maxBoots-1, maxBoots)
	}
	var b bytes.Buffer
	b.WriteString("# snmpd's persistent state, replaced by hostagent before each start of snmpd:\n")
	b.WriteString("# snmpd adds 1 to engineBoots when it starts.\n")
	fmt.Fprintf(&b, "engineBoots %d\n", boots-1)
	fmt.Fprintf(&b, "oldEngineID 0x%s\n", hex.EncodeToString(engineID))
	return b.Bytes(), nil
}

// savedBoots reads the engineBoots snmpd last saved in its persistent
// file, if it saved them for engineID; 0 otherwise.
func savedBoots(path string, engineID []byte) uint32 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var boots uint64
	same := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "engineBoots":
			if n, err := strconv.ParseUint(f[1], 10, 32); err == nil {
				boots = n
			}
		case "oldEngineID":
			id, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(f[1], "0x"), "0X"))
			same = err == nil && bytes.Equal(id, engineID)
		}
	}
	if !same || boots >= maxBoots {
		return 0
	}
	return uint32(boots)
}

// writePersistent replaces snmpd's persistent file (mode 0600: snmpd
// writes the users' keys there).
func writePersistent(path string, engineID []byte, boots uint32) error {
	data, err := persistentConf(engineID, boots)
	if err != nil {
		return err
	}
	if err := configstore.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("snmpd persistent state: %w", err)
	}
	return nil
}

// ClockBoots returns an Options.Boots for hostagent's engine clock, so
// that the trap sender and snmpd, one SNMP engine with one engine ID, run
// with the same snmpEngineBoots and nearly the same snmpEngineTime: each
// start of snmpd raises the clock to a new boot first, which also starts
// its time at 0 (usm.Clock.Raise), as snmpd's.
func ClockBoots(c *usm.Clock) func() (uint32, error) {
	return func() (uint32, error) {
		// Every start, the first included: snmpd's time starts at 0, and
		// the trap sender's must start with it (a manager keeps one
		// engine time per engine ID), which a new boot does.
		return c.NextBoot()
	}
}
