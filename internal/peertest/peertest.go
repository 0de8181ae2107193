// Package peertest starts real protocol peers (net-snmp's snmptrapd, ...) on loopback for integration tests, and finds the test data they need.
package peertest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// mibEnv names the variable that overrides the MIB folder.
const mibEnv = "HOSTAGENT_TEST_MIBS"

// MIBDir returns the MIB folder for tests: $HOSTAGENT_TEST_MIBS, or ../shared/mibs
// relative to the module root (find the root by walking up from the working
// directory to the folder holding go.mod). When the folder is missing the test
// is skipped with a clear message naming the folder and the variable, except
// when CI=true, where it fails instead.
func MIBDir(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv(mibEnv); dir != "" {
		abs, err := filepath.Abs(dir)
		if err != nil || !isDir(abs) {
			unavailable(t, "MIB folder %s (from $%s) does not exist", dir, mibEnv)
		}
		return abs
	}
	root, err := moduleRoot()
	if err != nil {
		unavailable(t, "no MIB folder: %v; set $%s to a folder of MIB files", err, mibEnv)
	}
	dir := filepath.Join(root, "..", "shared", "mibs")
	if !isDir(dir) {
		unavailable(t, "MIB folder %s (../shared/mibs from the module root) does not exist; set $%s to a folder of MIB files", dir, mibEnv)
	}
	return dir
}

// RequireCommand returns the path of a peer program (e.g. "snmptrapd", looked
// up in PATH and in /usr/sbin, /sbin), with the same skip-or-fail-in-CI rule and
// a message saying which Debian package provides it.
func RequireCommand(t testing.TB, name, debianPackage string) string {
	t.Helper()
	path, ok := lookCommand(name)
	if !ok {
		unavailable(t, "%s not found in PATH, /usr/sbin or /sbin; it is in the Debian package %s (apt-get install %s)",
			name, debianPackage, debianPackage)
	}
	return path
}

// RequireRoot is for a test that changes the machine itself (a package
// installed with dpkg, a file system mounted): it needs root, which CI
// has; elsewhere it is skipped saying why, and with CI=true it fails.
func RequireRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "%s needs root (CI runs as root)", why)
	}
}

// lookCommand also searches the sbin folders because Debian installs daemons
// such as snmptrapd there, and they are often missing from a user's PATH.
func lookCommand(name string) (string, bool) {
	if path, err := exec.LookPath(name); err == nil {
		return path, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		path := filepath.Join(dir, name)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
			return path, true
		}
	}
	return "", false
}

// unavailable skips the test because something it needs is missing from this
// machine. In CI (CI=true) a missing peer must not turn into a silent skip, so
// the test fails there instead.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (failing instead of skipping because CI=true)", msg)
	}
	t.Skip(msg)
}

// moduleRoot walks up from the working directory (the package folder under
// go test) to the folder holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// RequirePythonModule returns the path of the system's python3 (Debian's,
// whose packages hold the module: a python3 of one's own earlier in PATH
// may not) once it imports module, with the same skip-or-fail-in-CI rule.
func RequirePythonModule(t testing.TB, module, debianPackage string) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if path, err := exec.LookPath(py); err == nil && exec.Command(path, "-c", "import "+module).Run() == nil {
			return path
		}
	}
	unavailable(t, "python3 cannot import %s; it is in the Debian package %s (apt-get install %s)", module, debianPackage, debianPackage)
	return ""
}
