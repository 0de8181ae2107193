package cfgbackup

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	"hostagent/manage/vicfg/vicfgtest"
)

// daemon stands in for hostagentd's backup routes (not in api's handler
// yet): it serves a backup, records the queries of the saves, the backups
// restored and the resets, and refuses a restore with loadErr when set.
type daemon struct {
	mu      sync.Mutex
	backup  api.Backup
	saves   []string // the raw query of each GET
	loads   []api.Backup
	resets  int
	loadErr string // multi-line, as the daemon reports every problem
}

func (d *daemon) requests() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.saves) + len(d.loads) + d.resets
}

var sample = api.Backup{
	Format: api.BackupFormat, Version: api.BackupVersion, Created: "2025-01-02T03:04:05Z", Host: "esx1",
	Files: map[string]string{
		"config/snmp.toml":  "enable = true\n",
		"state/users.toml":  "[[user]]\nname = \"root\"\nhash = \"$argon2id$...\"\n",
		"state/server.key":  "-----BEGIN PRIVATE KEY-----\n...\n",
		"state/server.cert": "-----BEGIN CERTIFICATE-----\n...\n",
	},
}

func start(t *testing.T, d *daemon) string {
	t.Helper()
	return vicfgtest.Serve(t, d.handler())
}

// handler serves d's routes.
func (d *daemon) handler() http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET "+api.PathBackup, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.saves = append(d.saves, r.URL.RawQuery)
		b := d.backup
		b.Files = map[string]string{}
		for k, v := range d.backup.Files {
			if r.URL.Query().Get("certificates") == "false" && strings.HasPrefix(k, "state/server.") {
				continue
			}
			b.Files[k] = v
		}
		writeJSON(w, http.StatusOK, b)
	})
	mux.HandleFunc("PUT "+api.PathBackup, func(w http.ResponseWriter, r *http.Request) {
		var b api.Backup
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil {
			writeJSON(w, http.StatusBadRequest, api.Error{Error: err.Error()})
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		d.loads = append(d.loads, b)
		if d.loadErr != "" {
			writeJSON(w, http.StatusBadRequest, api.Error{Error: d.loadErr})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST "+api.PathBackupReset, func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.resets++
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// run runs the command with stdin as its real terminal's input: not a
// terminal, so only the confirmation of --reset reads it.
func run(server, stdin string, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, "vicfg-cfgbackup", vicfg.NewTerminal(strings.NewReader(stdin), io.Discard),
		append([]string{"--server", server}, args...)...)
}

func TestSave(t *testing.T) {
	d := &daemon{backup: sample}
	server := start(t, d)
	dir := t.TempDir()
	file := filepath.Join(dir, "esx1.json")
	os.WriteFile(file, []byte("old"), 0o644) // replaced, and made private

	code, stdout, stderr := run(server, "", "-s", file)
	if code != 0 || stderr != "" || stdout != "Saving configuration to "+file+"...\nComplete.\n" {
		t.Fatalf("save: %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v, %v", fi, err)
	}
	data, _ := os.ReadFile(file)
	var got api.Backup
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Format != api.BackupFormat || got.Version != api.BackupVersion || !reflect.DeepEqual(got, sample) {
		t.Errorf("saved %+v", got)
	}
	if !bytes.Contains(data, []byte("\n  \"format\": ")) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Errorf("not indented JSON:\n%s", data)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	// --exclude-certificates asks the daemon to leave them out.
	code, _, stderr = run(server, "", "--save", file, "--exclude-certificates")
	if code != 0 || stderr != "" {
		t.Fatalf("exclude: %d, %q", code, stderr)
	}
	if want := []string{"", "certificates=false"}; !reflect.DeepEqual(d.saves, want) {
		t.Errorf("queries %q, want %q", d.saves, want)
	}
	data, _ = os.ReadFile(file)
	if bytes.Contains(data, []byte("server.key")) {
		t.Errorf("the key was saved:\n%s", data)
	}

	// A directory that does not exist: an error naming the file, nothing left.
	missing := filepath.Join(dir, "no", "such", "dir", "b.json")
	code, _, stderr = run(server, "", "-s", missing)
	if code != 1 || !strings.HasPrefix(stderr, "vicfg-cfgbackup: --save "+missing+": ") {
		t.Errorf("missing dir: %d, %q", code, stderr)
	}

	// The daemon down: nothing written.
	gone := filepath.Join(dir, "gone.json")
	code, _, stderr = run("unix:"+filepath.Join(dir, "nothing.sock"), "", "-s", gone)
	if _, err := os.Stat(gone); code != 1 || !strings.Contains(stderr, "is the daemon running?") || err == nil {
		t.Errorf("no daemon: %d, %q, %v", code, stderr, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	good, _ := json.MarshalIndent(sample, "", "  ")
	goodFile := write("good.json", string(good))

	d := &daemon{}
	server := start(t, d)
	code, stdout, stderr := run(server, "", "-l", goodFile)
	if code != 0 || stderr != "" || stdout != "Restoring configuration from "+goodFile+"...\nComplete.\n" {
		t.Fatalf("load: %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if len(d.loads) != 1 || !reflect.DeepEqual(d.loads[0], sample) {
		t.Errorf("sent %+v", d.loads)
	}

	// Refused before anything is sent.
	for _, tt := range []struct {
		name, content string
		want          string
	}{
		{"corrupt", `{"format": "hostagent-config-backup", "version": 1, "files": {`, "not a configuration backup: corrupt or not JSON: line 1: "},
		{"truncated", string(good[:len(good)/2]), "not a configuration backup: corrupt or not JSON"},
		{"text", "enable = true\n", "corrupt or not JSON: line 1: invalid character 'e'"},
		{"empty", "", "corrupt or not JSON"},
		{"array", "[]", "corrupt or not JSON"},
		{"foreign", `{"format": "esx-firmware", "version": 1}`, `its format is "esx-firmware", not "hostagent-config-backup"`},
		{"no format", `{"version": 1, "files": {}}`, `no "format" field`},
		{"no version", `{"format": "hostagent-config-backup"}`, `no "version" field`},
		{"zero version", `{"format": "hostagent-config-backup", "version": 0}`, "version 0 is not a version"},
		{"newer", `{"format": "hostagent-config-backup", "version": 4, "files": {"x": 1}}`, "backup version 4 is newer than this command reads (up to 3)"},
		{"files not a map", `{"format": "hostagent-config-backup", "version": 1, "files": ["a"]}`, "corrupt: line 1: "},
	} {
		f := write(tt.name+".json", tt.content)
		before := d.requests()
		code, stdout, stderr := run(server, "", "--load", f)
		want := "vicfg-cfgbackup: --load " + f + ": "
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, want) || !strings.Contains(stderr, tt.want) ||
			!strings.HasSuffix(stderr, "nothing was restored\n") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: %d, stdout %q, stderr %q, want %q", tt.name, code, stdout, stderr, tt.want)
		}
		if d.requests() != before {
			t.Errorf("%s: a request was sent", tt.name)
		}
	}
	code, _, stderr = run(server, "", "-l", filepath.Join(dir, "missing.json"))
	if code != 1 || !strings.Contains(stderr, "vicfg-cfgbackup: --load: open ") {
		t.Errorf("missing: %d, %q", code, stderr)
	}

	// The daemon's refusal, printed as is, one line per problem.
	d.loadErr = "config/snmp.toml: line 3: port 99999 out of range\nstate/users.toml: user \"root\" has no password hash"
	code, stdout, stderr = run(server, "", "-l", goodFile)
	wantErr := "vicfg-cfgbackup: config/snmp.toml: line 3: port 99999 out of range\n" +
		"vicfg-cfgbackup: state/users.toml: user \"root\" has no password hash\n"
	if code != 1 || stderr != wantErr || stdout != "Restoring configuration from "+goodFile+"...\n" {
		t.Errorf("refused: %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestReset(t *testing.T) {
	d := &daemon{}
	server := start(t, d)
	const done = "Resetting configuration to factory defaults...\nComplete.\n"

	for _, tt := range []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		resets int
	}{
		{"quiet", []string{"-r", "-q"}, "", 0, done, 1},
		{"long quiet", []string{"--reset", "--quiet"}, "n\n", 0, done, 1},
		{"y", []string{"-r"}, "y\n", 0, resetPrompt + done, 1},
		{"YES without newline", []string{"--reset"}, " YES", 0, resetPrompt + done, 1},
		{"n", []string{"-r"}, "n\n", 1, resetPrompt + "Canceled.\n", 0},
		{"empty answer", []string{"-r"}, "\n", 1, resetPrompt + "Canceled.\n", 0},
		{"end of input", []string{"-r"}, "", 1, resetPrompt + "Canceled.\n", 0},
		{"other", []string{"-r"}, "yep\ny\n", 1, resetPrompt + "Canceled.\n", 0},
	} {
		before := d.resets
		code, stdout, stderr := run(server, tt.stdin, tt.args...)
		if code != tt.code || stdout != tt.stdout || stderr != "" || d.resets-before != tt.resets {
			t.Errorf("%s: %d, stdout %q, stderr %q, %d resets", tt.name, code, stdout, stderr, d.resets-before)
		}
	}

	// Ctrl-C at the prompt cancels.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pr, pw := io.Pipe()
	defer pw.Close()
	if code, out, _ := vicfgtest.Run(ctx, Command, "vicfg-cfgbackup", vicfg.NewTerminal(pr, io.Discard), "--server", server, "-r"); code != 1 || out != resetPrompt+"\nCanceled.\n" {
		t.Errorf("interrupted: %d, %q", code, out)
	}
}

func TestUsage(t *testing.T) {
	d := &daemon{backup: sample}
	server := start(t, d)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "vicfg-cfgbackup: give one of --save FILE, --load FILE or --reset\nsee vicfg-cfgbackup --help\n"},
		{[]string{"-q"}, "give one of --save FILE, --load FILE or --reset"},
		{[]string{"-s", "a", "-l", "b"}, "vicfg-cfgbackup: --save and --load cannot be given together: one operation at a time\n"},
		{[]string{"-r", "-s", "a"}, "--save and --reset cannot be given together"},
		{[]string{"-s", "a", "-l", "b", "-r"}, "--save and --load and --reset cannot be given together"},
		{[]string{"--bogus"}, "vicfg-cfgbackup: unknown flag: --bogus\n"},
		{[]string{"-x"}, "unknown shorthand flag: 'x'"},
		{[]string{"-s"}, "flag needs an argument"},
		{[]string{"-s", ""}, "--save: no file given"},
		{[]string{"-l", ""}, "--load: no file given"},
		{[]string{"-r", "--exclude-certificates"}, "--exclude-certificates goes with --save only"},
		{[]string{"-r", "extra"}, `unexpected argument "extra"`},
	} {
		code, stdout, stderr := run(server, "y\n", tt.args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) {
			t.Errorf("%q: %d, stdout %q, stderr %q, want %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
	if d.requests() != 0 {
		t.Errorf("%d requests sent", d.requests())
	}

	code, stdout, stderr := run(server, "", "--help")
	if code != 0 || stderr != "" {
		t.Fatalf("--help: %d, %q", code, stderr)
	}
	for _, want := range []string{"Usage: vicfg-cfgbackup", "-s, --save FILE", "-l, --load FILE", "-r, --reset", "-q, --quiet", "--exclude-certificates", "Connection options:", "--server unix:PATH|HOST", "-h, --help"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout)
		}
	}
	if i, j := strings.Index(stdout, "--help"), strings.Index(stdout, "Connection options:"); i > j {
		t.Errorf("--help after the connection options:\n%s", stdout)
	}
}

// TestResetPrompt: the confirmation of --reset is read through the
// terminal, after the question on stdout, before the daemon is reached;
// the reset has no password prompt.
func TestResetPrompt(t *testing.T) {
	d := &daemon{}
	server := start(t, d)
	const done = "Resetting configuration to factory defaults...\nComplete.\n"
	for _, tt := range []struct {
		lines  []string
		code   int
		stdout string
	}{
		{[]string{"Yes"}, 0, resetPrompt + done},
		{[]string{"no", "y"}, 1, resetPrompt + "Canceled.\n"},
		{nil, 1, resetPrompt + "Canceled.\n"},
	} {
		before := d.requests()
		term := &vicfgtest.Terminal{Lines: tt.lines}
		code, stdout, stderr := vicfgtest.Run(context.Background(), Command, "vicfg-cfgbackup", term, "--server", server, "-r")
		if code != tt.code || stdout != tt.stdout || stderr != "" || d.requests()-before != 1-tt.code || len(term.Prompts()) != 0 {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, %d requests, prompts %q", tt.lines, code, stdout, stderr, d.requests()-before, term.Prompts())
		}
	}
}
