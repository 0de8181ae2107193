package vicfg

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// MaxSecretFile bounds a secret file: a password or passphrase is a line,
// and a larger file is more likely the wrong one (a key, a log) than a
// secret.
const MaxSecretFile = 4 << 10

// ReadSecretFile returns the secret on the first line of path, without its
// line ending (\n or \r\n), for a setting such as --password-file: a
// secret in a file is not seen by other users in ps, as one on the command
// line is. setting names the option in errors. It refuses:
//   - a path that is not a regular file (a directory, a pipe, a device: a
//     FIFO would block the command, a device has no end);
//   - a file that others than its owner may read or write (mode & 077), as
//     ssh refuses such a private key: readable, the secret is no better
//     kept than on the command line; writable, someone else chooses it;
//   - a file over MaxSecretFile, or whose first line is empty.
func ReadSecretFile(setting, path string) (string, error) {
	fail := func(format string, a ...any) (string, error) {
		return "", fmt.Errorf("%s %s: "+format, append([]any{setting, path}, a...)...)
	}
	if path == "" {
		return "", fmt.Errorf("%s: no file given", setting)
	}
	// Stat first, so that a FIFO is refused without opening it (an open
	// for reading blocks until a writer comes); O_NONBLOCK covers one put
	// in its place after the check.
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", setting, err)
	}
	if err := secretFileMode(fi); err != nil {
		return fail("%v", err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return "", fmt.Errorf("%s: %w", setting, err)
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return fail("%v", err)
	}
	if err := secretFileMode(fi); err != nil {
		return fail("%v", err)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return fail("%v", err)
	}
	if len(data) > MaxSecretFile {
		return fail("larger than %d KiB: a secret file holds one line", MaxSecretFile>>10)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return fail("the first line is empty: the secret goes on the first line")
	}
	return string(line), nil
}

// secretFileMode refuses what ReadSecretFile does not read by its type
// and permissions.
func secretFileMode(fi os.FileInfo) error {
	m := fi.Mode()
	switch {
	case m.IsDir():
		return errors.New("a directory, not a file")
	case !m.IsRegular():
		what := "special file"
		switch {
		case m&os.ModeNamedPipe != 0:
			what = "named pipe"
		case m&os.ModeSocket != 0:
			what = "socket"
		case m&os.ModeDevice != 0:
			what = "device"
		}
		return fmt.Errorf("not a regular file (%s): give a file of mode 0600", what)
	case m.Perm()&0o077 != 0:
		return fmt.Errorf("mode %04o lets users other than its owner read or change it: a secret file must be private to its owner (chmod 600)", m.Perm())
	}
	// Its owner chooses the secret: someone else's file (root excepted),
	// even private, is theirs to rewrite, as ssh refuses such a key.
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if uid := os.Geteuid(); st.Uid != uint32(uid) && st.Uid != 0 {
			return fmt.Errorf("owned by uid %d, not by you (uid %d) or root: a secret file must be your own", st.Uid, uid)
		}
	}
	return nil
}

// WarnCommandLineSecret writes on w (stderr) one line, starting with
// "warning: ", saying that the secret given with flag on the command line
// can be read by every local user while the command runs (ps,
// /proc/PID/cmdline), and to use alternative instead ("--password-file
// FILE, VI_PASSWORD or the prompt"). A command writes its name first, as
// Env.Report does. The command goes on: scripts that pass a password so
// keep working, but are told.
func WarnCommandLineSecret(w io.Writer, flag, alternative string) {
	fmt.Fprintf(w, "warning: %s on the command line can be read by other local users while the command runs (ps, /proc/PID/cmdline); use %s instead\n", flag, alternative)
}
