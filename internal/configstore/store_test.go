package configstore

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

type trapConfig struct {
	Host string `toml:"host"`
	Port int    `toml:"port"`
}

type testConfig struct {
	Enabled   bool       `toml:"enabled"`
	Port      int        `toml:"port"`
	Community string     `toml:"community,omitempty"`
	Trap      trapConfig `toml:"trap"`
	Internal  string     `toml:"-"`
}

func defaults() testConfig {
	return testConfig{
		Enabled:   true,
		Port:      161,
		Community: "public",
		Trap:      trapConfig{Host: "localhost", Port: 162},
	}
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name      string
		content   *string // nil: the file does not exist
		wantFound bool
		want      func(*testConfig) // applied to defaults(); nil: unchanged
		wantErr   []string          // substrings of the error; nil: no error
		wantLine  int               // if set, the toml.ParseError line
		dontWant  []string          // substrings the error must not contain
	}{
		{
			name:      "keys absent from the file keep their defaults",
			content:   ptr("port = 1161\n[trap]\nhost = \"10.0.0.1\"\n"),
			wantFound: true,
			want: func(c *testConfig) {
				c.Port = 1161
				c.Trap.Host = "10.0.0.1"
			},
		},
		{
			name:      "empty file keeps every default",
			content:   ptr(""),
			wantFound: true,
		},
		{
			name:      "missing file is not an error",
			content:   nil,
			wantFound: false,
		},
		{
			name:      "unknown key names the file and the allowed keys",
			content:   ptr("enabeld = false\nport = 1\n"),
			wantFound: true,
			wantErr:   []string{`snmp.toml: unknown setting "enabeld" (allowed: community, enabled, port, trap)`},
		},
		{
			name:      "every unknown key is listed, per table",
			content:   ptr("enabeld = false\nprot = 1\n[trap]\nhots = \"x\"\n"),
			wantFound: true,
			wantErr: []string{
				`unknown settings "enabeld", "prot" (allowed: community, enabled, port, trap)`,
				`unknown setting "trap.hots" (allowed in [trap]: host, port)`,
			},
		},
		{
			name:      "unknown table is reported once, not key by key",
			content:   ptr("[snmpp]\nport = 1\n"),
			wantFound: true,
			wantErr:   []string{`unknown setting "snmpp" (allowed:`},
			dontWant:  []string{"snmpp.port"},
		},
		{
			name:      "syntax error names the file and line",
			content:   ptr("enabled = true\n\nport = = 1\n"),
			wantFound: true,
			wantErr:   []string{"snmp.toml: line 3"},
			wantLine:  3,
		},
		{
			name:      "type error names the file and line",
			content:   ptr("enabled = true\nport = \"high\"\n"),
			wantFound: true,
			wantErr:   []string{`snmp.toml: line 2 (last key "port"): incompatible types`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "snmp.toml")
			if tt.content != nil {
				writeFile(t, path, *tt.content)
			}
			got := defaults()
			found, err := Load(path, &got)

			if found != tt.wantFound {
				t.Errorf("found = %v, want %v", found, tt.wantFound)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				want := defaults()
				if tt.want != nil {
					tt.want(&want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("config = %+v, want %+v", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load: no error, want one containing %q", tt.wantErr)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			for _, s := range tt.dontWant {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
			if tt.wantLine != 0 {
				var pe toml.ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("error %q is not a toml.ParseError", err)
				}
				if pe.Position.Line != tt.wantLine {
					t.Errorf("ParseError line = %d, want %d", pe.Position.Line, tt.wantLine)
				}
			}
		})
	}
}

func TestLoadUnreadable(t *testing.T) {
	// A directory where the file should be: a real read error, not "missing".
	path := filepath.Join(t.TempDir(), "snmp.toml")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := defaults()
	if _, err := Load(path, &cfg); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("Load = %v, want an error naming %s", err, path)
	}
}

func TestSave(t *testing.T) {
	tests := []struct {
		name     string
		existing os.FileMode // 0: no file before Save
		mode     os.FileMode
		header   string
		value    func(*testConfig)
		wantHead string
	}{
		{
			name:     "new file with header",
			mode:     0o640,
			header:   "Written by hostagent.\n\nHand edits are kept.",
			value:    func(c *testConfig) { c.Port = 1161 },
			wantHead: "# Written by hostagent.\n#\n# Hand edits are kept.\n\n",
		},
		{
			name:  "new file without header",
			mode:  0o600,
			value: func(c *testConfig) { c.Enabled = false },
		},
		{
			name:     "replaces existing file and sets its mode",
			existing: 0o644,
			mode:     0o640,
			header:   "managed",
			value:    func(c *testConfig) { c.Trap.Host = "trap.example" },
			wantHead: "# managed\n\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "snmp.toml")
			if tt.existing != 0 {
				writeFile(t, path, "port = 1\n")
				if err := os.Chmod(path, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			want := defaults()
			tt.value(&want)

			if err := Save(path, want, tt.mode, tt.header); err != nil {
				t.Fatalf("Save: %v", err)
			}

			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), tt.wantHead) {
				t.Errorf("file starts %q, want header %q", data, tt.wantHead)
			}
			if tt.wantHead == "" && strings.HasPrefix(string(data), "#") {
				t.Errorf("file starts with a comment without a header: %q", data)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := info.Mode().Perm(); got != tt.mode {
				t.Errorf("mode = %v, want %v", got, tt.mode)
			}
			// Round trip from different defaults, so a value that was not
			// written cannot pass by coincidence.
			var got testConfig
			if found, err := Load(path, &got); err != nil || !found {
				t.Fatalf("Load = %v, %v", found, err)
			}
			want.Internal = "" // toml:"-" is never written
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip = %+v, want %+v", got, want)
			}
			assertDir(t, dir, map[string]string{"snmp.toml": string(data)})
		})
	}
}

type failingText struct{}

func (failingText) MarshalText() ([]byte, error) { return nil, errors.New("cannot marshal") }

func TestSaveFailureLeavesOldFile(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) (path string)
		value any
	}{
		{
			name:  "field fails to encode",
			setup: existingFile,
			value: struct {
				Port int         `toml:"port"`
				Bad  failingText `toml:"bad"`
			}{Port: 2},
		},
		{
			name:  "top level is not a table",
			setup: existingFile,
			value: 42,
		},
		{
			name:  "map with non-string keys",
			setup: existingFile,
			value: map[int]string{1: "x"},
		},
		{
			name: "rename onto a non-empty directory fails",
			setup: func(t *testing.T, dir string) string {
				path := filepath.Join(dir, "snmp.toml")
				if err := os.Mkdir(path, 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, filepath.Join(path, "keep"), "x")
				return path
			},
			value: defaults(),
		},
		{
			name: "directory does not exist",
			setup: func(t *testing.T, dir string) string {
				return filepath.Join(dir, "missing", "snmp.toml")
			},
			value: defaults(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tt.setup(t, dir)
			before := snapshot(t, dir)

			err := Save(path, tt.value, 0o640, "header")
			if err == nil {
				t.Fatal("Save succeeded, want an error")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			assertDir(t, dir, before)
		})
	}
}

func existingFile(t *testing.T, dir string) string {
	path := filepath.Join(dir, "snmp.toml")
	writeFile(t, path, "port = 1\n")
	return path
}

func ptr[T any](v T) *T { return &v }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// snapshot maps every path under dir (relative) to its content, or to "<dir>"
// for directories, so a test can prove nothing was added, removed or changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			files[rel] = "<dir>"
			return nil
		}
		data, err := os.ReadFile(p)
		files[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func assertDir(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	if got := snapshot(t, dir); !reflect.DeepEqual(got, want) {
		t.Errorf("directory holds %q, want %q", got, want)
	}
}
