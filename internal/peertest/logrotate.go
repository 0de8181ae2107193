package peertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// LogrotateOptions is one rotation policy, as a logrotate.conf block says
// it. Rotation is by rename (logrotate's "create": the file is renamed to
// FILE.1 and an empty FILE created in its place) unless CopyTruncate is set.
type LogrotateOptions struct {
	// CopyTruncate copies the file to FILE.1 and truncates it in place
	// ("copytruncate"), for writers that cannot reopen their file.
	CopyTruncate bool
	// Compress gzips rotated generations (FILE.N.gz); with DelayCompress
	// the newest one (FILE.1) stays plain until the next rotation, as
	// writers may still append to it until they reopen their file.
	Compress, DelayCompress bool
	// Rotate is logrotate's "rotate N": how many rotated generations are
	// kept. Older ones are deleted; 0 deletes the rotated file at once.
	Rotate int
}

// Logrotate is the real logrotate set up for some files, with a config
// and a state file of its own in t.TempDir(): it never reads the host's
// /etc/logrotate.conf or /var/lib/logrotate/status.
type Logrotate struct {
	bin, conf, state string
}

// NewLogrotate writes a config rotating each of paths (absolute file
// names, no glob) as opts says. The test is skipped without logrotate
// (failed with CI=true), as for the other peers.
func NewLogrotate(t testing.TB, opts LogrotateOptions, paths ...string) *Logrotate {
	t.Helper()
	bin := RequireCommand(t, "logrotate", "logrotate")
	if opts.Rotate < 0 {
		t.Fatalf("peertest: LogrotateOptions.Rotate %d: must be 0 or more", opts.Rotate)
	}
	if len(paths) == 0 {
		t.Fatal("peertest: NewLogrotate needs at least one file")
	}
	for _, p := range paths {
		// The names are written into the config between quotes: one that
		// could break out of them would change the config.
		if !filepath.IsAbs(p) || strings.ContainsAny(p, "\"\\\n{}") {
			t.Fatalf("peertest: logrotate file %q: must be an absolute path without quotes, backslashes, braces or newlines", p)
		}
	}
	dir := t.TempDir()
	l := &Logrotate{bin: bin, conf: filepath.Join(dir, "logrotate.conf"), state: filepath.Join(dir, "status")}
	var b strings.Builder
	b.WriteString("# Written by hostagent/internal/peertest.\n")
	for _, p := range paths {
		fmt.Fprintf(&b, "%q {\n", p)
		fmt.Fprintf(&b, "\trotate %d\n", opts.Rotate)
		if opts.CopyTruncate {
			b.WriteString("\tcopytruncate\n")
		} else {
			b.WriteString("\tcreate\n")
		}
		if opts.Compress {
			b.WriteString("\tcompress\n")
		} else {
			b.WriteString("\tnocompress\n")
		}
		if opts.DelayCompress {
			b.WriteString("\tdelaycompress\n")
		}
		// Numbered generations in the same folder, rotated even when
		// empty; no mail, no date in names: what a test expects to find
		// must not depend on the host's defaults or the day.
		b.WriteString("\tnodateext\n\tnoolddir\n\tifempty\n\tmissingok\n\tnomail\n}\n")
	}
	// As root, logrotate ignores a config that others may write to.
	if err := os.WriteFile(l.conf, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return l
}

// Run rotates the files once, now (-f: whatever the state file says), and
// returns when logrotate has finished: renamed, copied, truncated and
// compressed. On failure the test fails with logrotate's verbose output.
func (l *Logrotate) Run(t testing.TB) {
	t.Helper()
	out, err := exec.Command(l.bin, "-v", "-f", "-s", l.state, l.conf).CombinedOutput()
	if err != nil {
		conf, _ := os.ReadFile(l.conf)
		t.Fatalf("peertest: logrotate: %v\nconfig %s:\n%s\noutput:\n%s", err, l.conf, conf, out)
	}
}
