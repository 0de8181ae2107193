package vicfg

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string, perm os.FileMode) string {
		t.Helper()
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(content), perm); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(f, perm); err != nil { // past the umask
			t.Fatal(err)
		}
		return f
	}
	for _, tt := range []struct{ name, content, want string }{
		{"newline", "s3cret\n", "s3cret"},
		{"crlf", "s3cret\r\n", "s3cret"},
		{"no newline", "s3cret", "s3cret"},
		{"spaces kept", " two words \n", " two words "},
		{"first line only", "s3cret\nother\n", "s3cret"},
		{"4 KiB", strings.Repeat("x", MaxSecretFile-1) + "\n", strings.Repeat("x", MaxSecretFile-1)},
	} {
		got, err := ReadSecretFile("--password-file", file(tt.name, tt.content, 0o600))
		if err != nil || got != tt.want {
			t.Errorf("%s: %q, %v", tt.name, got, err)
		}
	}
	// Read-only for its owner is private too.
	if got, err := ReadSecretFile("--password-file", file("ro", "s3cret\n", 0o400)); err != nil || got != "s3cret" {
		t.Errorf("mode 0400: %q, %v", got, err)
	}
	// Someone else's private file is theirs to rewrite: refused (the
	// tests run as root, which may give a file away).
	if os.Geteuid() == 0 {
		other := file("other", "s3cret\n", 0o600)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSecretFile("--password-file", other); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Errorf("a file owned by another user: %v", err)
		}
	}
	// A link to a private file is followed: the file is what counts.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file("target", "s3cret\n", 0o600), link); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadSecretFile("--password-file", link); err != nil || got != "s3cret" {
		t.Errorf("symlink: %q, %v", got, err)
	}

	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, path, want string }{
		{"empty", file("empty", "", 0o600), ": the first line is empty"},
		{"empty line", file("emptyline", "\ns3cret\n", 0o600), ": the first line is empty"},
		{"crlf only", file("crlf-only", "\r\n", 0o600), ": the first line is empty"},
		{"too large", file("large", strings.Repeat("x", MaxSecretFile+1), 0o600), ": larger than 4 KiB: a secret file holds one line"},
		{"group readable", file("g", "s3cret\n", 0o640), ": mode 0640 lets users other than its owner read or change it: a secret file must be private to its owner (chmod 600)"},
		{"world readable", file("o", "s3cret\n", 0o604), ": mode 0604 lets users"},
		{"group writable", file("gw", "s3cret\n", 0o620), ": mode 0620 lets users"},
		{"directory", dir, ": a directory, not a file"},
		{"fifo", fifo, ": not a regular file (named pipe): give a file of mode 0600"},
		{"device", "/dev/null", ": not a regular file"},
	} {
		_, err := ReadSecretFile("--password-file", tt.path)
		if err == nil || err.Error() != "--password-file "+tt.path+tt.want && !strings.HasPrefix(err.Error(), "--password-file "+tt.path+tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, "--password-file "+tt.path+tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the secret shows: %v", tt.name, err)
		}
	}
	if _, err := ReadSecretFile("VI_PASSWORDFILE", filepath.Join(dir, "missing")); err == nil || !strings.HasPrefix(err.Error(), "VI_PASSWORDFILE: stat "+filepath.Join(dir, "missing")+": no such file") {
		t.Errorf("missing: %v", err)
	}
	if _, err := ReadSecretFile("--newpassword-file", ""); err == nil || err.Error() != "--newpassword-file: no file given" {
		t.Errorf("no path: %v", err)
	}
}

func TestWarnCommandLineSecret(t *testing.T) {
	var b bytes.Buffer
	WarnCommandLineSecret(&b, "--password", "--password-file FILE, VI_PASSWORD or the prompt")
	want := "warning: --password on the command line can be read by other local users while the command runs (ps, /proc/PID/cmdline); use --password-file FILE, VI_PASSWORD or the prompt instead\n"
	if b.String() != want {
		t.Errorf("%q\nwant %q", b.String(), want)
	}
}
