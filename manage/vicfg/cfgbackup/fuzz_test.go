package cfgbackup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/manage/api"
)

// FuzzReadBackup: whatever a backup file holds, reading it never panics;
// a refusal names the file; an accepted one is of the backup format and a
// known version, and writing it back reads back the same.
func FuzzReadBackup(f *testing.F) {
	for _, s := range []string{
		`{"format":"hostagent-config-backup","version":1,"created":"2026-11-25T17:00:00Z","host":"esx01","files":{"config/snmp.toml":"enabled = true\n"}}`,
		`{"format":"hostagent-config-backup","version":2,"files":{}}`,
		`{"format":"something-else","version":1}`,
		`{"format":"hostagent-config-backup"}`,
		`{"format":"hostagent-config-backup","version":1,"files":{"config/snmp.toml":1}}`,
		`{"format":"hostagent-config-backup","version":-1}`,
		`{`, ``, `null`, `[]`, "\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		file := filepath.Join(dir, "backup.json")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, err := readBackup(file)
		if err != nil {
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("refusal does not name the file: %v", err)
			}
			return
		}
		if b.Format != api.BackupFormat || b.Version < 1 || b.Version > api.BackupVersion {
			t.Fatalf("accepted %q version %d", b.Format, b.Version)
		}
		again := filepath.Join(dir, "again.json")
		if err := writeBackup(again, b); err != nil {
			t.Fatal(err)
		}
		b2, err := readBackup(again)
		if err != nil {
			t.Fatalf("a backup written back is refused: %v", err)
		}
		j1, _ := json.Marshal(b)
		j2, _ := json.Marshal(b2)
		if string(j1) != string(j2) {
			t.Fatalf("round trip changed the backup:\n%s\n%s", j1, j2)
		}
	})
}
