package cfgbackup

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age/armor"

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
		b, _, err := readBackup(file, nil)
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
		if err := writeBackup(again, b, ""); err != nil {
			t.Fatal(err)
		}
		b2, _, err := readBackup(again, nil)
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

// FuzzReadEncryptedBackup: whatever an encrypted backup file holds (a
// damaged header or payload, another recipient, a work factor out of
// bounds, armor or binary), reading it with its passphrase never panics;
// a refusal names the file; an accepted one is a backup of a known
// version. The seeds are real encrypted files: armored and binary, of
// this passphrase and of another, a file of this version (testdata).
func FuzzReadEncryptedBackup(f *testing.F) {
	// The reader allows no more than 2^10: a mutated work factor costs a
	// millisecond, not a second.
	fastScrypt(f, 8, 10)
	const pass = "fuzz passphrase"
	plain := []byte(`{"format":"hostagent-config-backup","version":2,"host":"esx01","files":{"config/snmp.toml":"enabled = true\n"}}`)
	armored, err := encrypt(plain, pass)
	if err != nil {
		f.Fatal(err)
	}
	other, _ := encrypt(plain, "another one")
	notJSON, _ := encrypt([]byte("enabled = true\n"), pass)
	var binary bytes.Buffer
	io.Copy(&binary, armor.NewReader(bytes.NewReader(armored)))
	saved, err := os.ReadFile(filepath.Join("testdata", "backup-v2.age"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{
		armored, binary.Bytes(), other, notJSON, saved,
		armored[:len(armored)/2], binary.Bytes()[:len(binary.Bytes())-1],
		[]byte("\n\n" + string(armored)), []byte(strings.ReplaceAll(string(armored), "\n", "\r\n")),
		[]byte(armor.Header + "\n"), []byte("age-encryption.org/v1\n"), []byte("age-encryption.org/v1\n-> scrypt AAAAAAAAAAAAAAAAAAAAAA 30\n\n--- \n"),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(t.TempDir(), "backup.age")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b, enc, err := readBackup(file, func() (string, error) { return pass, nil })
		if err != nil {
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("refusal does not name the file: %v", err)
			}
			return
		}
		if b.Format != api.BackupFormat || b.Version < 1 || b.Version > api.BackupVersion {
			t.Fatalf("accepted %q version %d", b.Format, b.Version)
		}
		if enc != encrypted(data) {
			t.Fatalf("read as encrypted %v, detected %v", enc, encrypted(data))
		}
	})
}
