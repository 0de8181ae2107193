package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/internal/daemon"
	"hostagent/snmpagent/usm"
)

// TestEngineIDPersistedAndBootsCounted: the first start generates the
// SNMPv3 engine ID and keeps it in the state directory; each start counts
// engineBoots up; the API reports the engine ID in force.
func TestEngineIDPersistedAndBootsCounted(t *testing.T) {
	dir := t.TempDir()
	r := start(t, dir)
	first := r.daemon.SNMPState().EngineID
	id, err := usm.ParseEngineID(first)
	if err != nil {
		t.Fatalf("engine ID %q: %v", first, err)
	}
	if len(id) != 13 || id[4] != 5 {
		t.Errorf("engine ID %x is not a generated one (format 5, 13 octets)", id)
	}
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	r = start(t, dir)
	if again := r.daemon.SNMPState().EngineID; again != first {
		t.Errorf("engine ID after a restart %s, want %s", again, first)
	}
	boots, err := os.ReadFile(filepath.Join(dir, "state", daemon.EngineBootsFile))
	if err != nil || !strings.Contains(string(boots), "engine_boots = 2") {
		t.Errorf("%s after two starts: %q %v", daemon.EngineBootsFile, boots, err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "state", daemon.EngineIDFile))
	if err != nil || !strings.Contains(string(saved), `engine_id = "`+first+`"`) {
		t.Errorf("%s: %q %v", daemon.EngineIDFile, saved, err)
	}
}

// TestBrokenEngineIDFileKeepsV2c: an engine ID file that does not hold an
// engine ID is not replaced by a new one (that would invalidate every
// user's keys); it is logged at ERROR, and the daemon runs without SNMPv3.
func TestBrokenEngineIDFileKeepsV2c(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, daemon.EngineIDFile), []byte("engine_id = \"00000000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := start(t, dir)
	if id := r.daemon.SNMPState().EngineID; id != "" {
		t.Errorf("engine ID %q reported with a broken file", id)
	}
	if log := r.log.String(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "SNMPv3 engine not started") {
		t.Errorf("no ERROR about the engine in:\n%s", log)
	}
}
