package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hostagent/manage/apiserver"
	"hostagent/syslogd"
)

// TestGlobOutsideRoots: which globs the network may set, with the state
// and config directories under the log root, a link out of it, ".." and
// wildcards above it.
func TestGlobOutsideRoots(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	logs := filepath.Join(dir, "log")
	for _, p := range []string{logs, filepath.Join(dir, "state"), filepath.Join(dir, "etc"), filepath.Join(logs, "app")} {
		if err := os.MkdirAll(p, 0o750); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(logs, "out")); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{opts: Options{LogRoots: []string{dir}, StateDir: filepath.Join(dir, "state"), ConfigDir: filepath.Join(dir, "etc"),
		TLSKey: filepath.Join(logs, "tls.key")}}
	for glob, allowed := range map[string]bool{
		filepath.Join(logs, "*.log"):               true,
		filepath.Join(logs, "*", "*.log"):          true,
		filepath.Join(logs, "app", "x.log"):        true,
		filepath.Join(logs, "new", "*.log"):        true,  // not yet there: compared as written
		filepath.Join(dir, "*.log"):                true,  // the root's own files
		filepath.Join(dir, "*", "*.log"):           false, // reaches state/ and etc/
		filepath.Join(dir, "state", "audit.log"):   false,
		filepath.Join(dir, "etc", "*"):             false,
		filepath.Join(dir, "st*", "users.toml"):    false,
		filepath.Join(logs, "..", "etc", "*.toml"): false,
		filepath.Join(logs, "out", "*"):            false, // a link to outside the root
		filepath.Join(logs, "tls.key"):             false, // the TLS key, wherever it is
		filepath.Join(logs, "*.key"):               false,
		filepath.Join(outside, "shadow"):           false,
		"/*/shadow":                                false,
		"relative/*.log":                           false,
	} {
		why := d.globOutsideRoots(glob)
		if (why == "") != allowed {
			t.Errorf("%s: allowed %v, want %v (%s)", glob, why == "", allowed, why)
		}
		if why != "" && !strings.Contains(why, dir) {
			t.Errorf("%s: the refusal does not name the log roots: %s", glob, why)
		}
	}

	// What is in force or the factory default passes; the console and
	// hand edits may set anything.
	network := apiserver.WithPrincipal(context.Background(), apiserver.Principal{User: "alice", Source: "192.0.2.1:1"})
	old := syslogd.Config{Files: []syslogd.FileInput{{Glob: filepath.Join(outside, "kept.log")}}, Socket: "/run/x.sock"}
	def := syslogd.Config{Files: []syslogd.FileInput{{Glob: "/var/log/vmware/*.log"}}, Socket: "/run/hostagent/syslog.sock"}
	cfg := syslogd.Config{Files: append(old.Files, def.Files...), Socket: def.Socket}
	if err := d.checkSyslogPaths(network, old, cfg, def); err != nil {
		t.Errorf("unchanged and default paths refused: %v", err)
	}
	cfg.Files = append(cfg.Files, syslogd.FileInput{Glob: filepath.Join(outside, "new.log")})
	cfg.Socket = filepath.Join(outside, "s.sock")
	err := d.checkSyslogPaths(network, old, cfg, def)
	if err == nil || !strings.Contains(err.Error(), "files[2].glob") || !strings.Contains(err.Error(), "socket") {
		t.Errorf("new paths over the network: %v", err)
	}
	if err := d.checkSyslogPaths(context.Background(), old, cfg, def); err != nil {
		t.Errorf("the console refused: %v", err)
	}
}

// TestCheckLogRoots: --log-root must be absolute and outside the state and
// config directories.
func TestCheckLogRoots(t *testing.T) {
	dir := t.TempDir()
	for roots, want := range map[string]string{
		"":                                     "",
		"/var/log":                             "",
		"var/log":                              "must be an absolute directory",
		filepath.Join(dir, "state"):            "lies in the state or config directory",
		filepath.Join(dir, "etc", "sub"):       "lies in the state or config directory",
		"/var/log," + filepath.Join(dir, "st"): "",
	} {
		d := &Daemon{opts: Options{StateDir: filepath.Join(dir, "state"), ConfigDir: filepath.Join(dir, "etc")}}
		if roots != "" {
			d.opts.LogRoots = strings.Split(roots, ",")
		}
		err := d.checkLogRoots()
		if (want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("--log-root %s: %v, want %q", roots, err, want)
		}
	}
}
