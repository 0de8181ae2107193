package packaging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"hostagent/internal/peertest"
)

// binDir is the make BIN of every test here: the programs and man pages
// are built once and each make target reuses them.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hostagent-packaging-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goCommand is the go program that runs this test, for make's $(GO).
func goCommand() string {
	if path, err := exec.LookPath("go"); err == nil {
		return path
	}
	return "/usr/local/go/bin/go"
}

// runMake runs make target in the repository with BIN=binDir and vars,
// and returns what it printed.
func runMake(t *testing.T, target string, vars ...string) string {
	t.Helper()
	peertest.RequireCommand(t, "make", "make")
	args := append([]string{"-C", "..", "--no-print-directory", target, "BIN=" + binDir, "GO=" + goCommand()}, vars...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "make", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// want is a file the install must have put in place.
type want struct {
	path string
	mode fs.FileMode // with the type bits: fs.ModeDir, fs.ModeSymlink
	link string      // a symlink's target
}

// checkFiles checks each file under root.
func checkFiles(t *testing.T, root string, files []want) {
	t.Helper()
	for _, w := range files {
		path := filepath.Join(root, w.path)
		st, err := os.Lstat(path)
		if err != nil {
			t.Errorf("%s: %v", w.path, err)
			continue
		}
		if w.mode&fs.ModeSymlink != 0 {
			if target, err := os.Readlink(path); err != nil || target != w.link {
				t.Errorf("%s: a link to %q, %v; want a link to %q", w.path, target, err, w.link)
			}
			continue
		}
		if got := st.Mode() & (fs.ModeType | fs.ModePerm); got != w.mode {
			t.Errorf("%s: mode %v, want %v", w.path, got, w.mode)
		}
	}
}

// vicfgNames are the names the vicfg program is installed under.
var vicfgNames = []string{"vicfg-snmp", "vicfg-syslog", "vicfg-user", "vicfg-hostops", "vicfg-cfgbackup", "esxcfg-snmp", "esxcfg-syslog"}

// installedFiles are the files of an install with prefix as PREFIX and
// unitDir as UNITDIR, uncompressed man pages having suffix manSuffix.
func installedFiles(prefix, unitDir, manSuffix string) []want {
	files := []want{
		{path: prefix + "/sbin/hostagentd", mode: 0o755},
		{path: prefix + "/bin/vicfg", mode: 0o755},
		{path: "/etc/hostagent", mode: fs.ModeDir | 0o750},
		{path: "/etc/hostagent/snmp.toml", mode: 0o640},
		{path: "/etc/hostagent/syslog.toml", mode: 0o640},
		{path: "/etc/hostagent/collectors.toml", mode: 0o640},
		{path: unitDir + "/hostagent.service", mode: 0o644},
		{path: prefix + "/share/man/man8/hostagentd.8" + manSuffix, mode: 0o644},
		{path: prefix + "/share/man/man1/vicfg.1" + manSuffix, mode: 0o644},
		{path: prefix + "/share/bash-completion/completions/vicfg", mode: 0o644},
	}
	for _, name := range []string{"snmp", "syslog", "collectors"} {
		files = append(files, want{path: prefix + "/share/man/man5/hostagent-" + name + ".toml.5" + manSuffix, mode: 0o644})
	}
	for _, name := range vicfgNames {
		files = append(files,
			want{path: prefix + "/bin/" + name, mode: fs.ModeSymlink, link: "vicfg"},
			want{path: prefix + "/share/bash-completion/completions/" + name, mode: fs.ModeSymlink, link: "vicfg"})
		if strings.HasPrefix(name, "vicfg-") {
			files = append(files, want{path: prefix + "/share/man/man1/" + name + ".1" + manSuffix, mode: 0o644})
		}
	}
	return files
}

// TestMakeInstall: make install lays the files out under DESTDIR and
// PREFIX, the unit starts the daemon where PREFIX put it, and an admin's
// edited configuration is kept by the next install.
func TestMakeInstall(t *testing.T) {
	dest := t.TempDir()
	runMake(t, "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	checkFiles(t, dest, append(installedFiles("/usr/local", "/usr/local/lib/systemd/system", ""),
		want{path: "/var/lib/hostagent", mode: fs.ModeDir | 0o750}))
	unit, err := os.ReadFile(filepath.Join(dest, "/usr/local/lib/systemd/system/hostagent.service"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(unit, []byte("\nExecStart=/usr/local/sbin/hostagentd\n")) || bytes.Contains(unit, []byte("@SBINDIR@")) {
		t.Errorf("the unit does not start /usr/local/sbin/hostagentd:\n%s", unit)
	}

	// An edit survives: the file is kept and the new default named.
	conf := filepath.Join(dest, "/etc/hostagent/snmp.toml")
	edited := []byte("enabled = true\nsyscontact = \"the admin's edit\"\n")
	if err := os.WriteFile(conf, edited, 0o640); err != nil {
		t.Fatal(err)
	}
	out := runMake(t, "install", "DESTDIR="+dest, "PREFIX=/usr/local")
	if got, _ := os.ReadFile(conf); !bytes.Equal(got, edited) {
		t.Errorf("a second make install replaced the edited snmp.toml:\n%s", got)
	}
	if want := "kept " + conf + "; the new default is configs/snmp.toml"; !strings.Contains(out, want) {
		t.Errorf("make install did not say %q:\n%s", want, out)
	}
}

// debianPackageName is the package's name, as dpkg knows it.
const debianPackageName = "hostagent"

// TestDebianPackage builds the package with make deb, has lintian judge
// it, installs it on this machine with dpkg, runs what it installed (the
// unit under a real systemd, the daemon on the shipped configuration,
// vicfg-snmp, man, systemd-analyze),
// upgrades it over an edited conffile, removes and purges it: once keeping
// the state directory, once with HOSTAGENT_PURGE_STATE=yes.
func TestDebianPackage(t *testing.T) {
	peertest.RequireRoot(t, "installing the package with dpkg")
	for _, c := range []struct{ cmd, pkg string }{
		{"dpkg", "dpkg"}, {"dpkg-deb", "dpkg"}, {"lintian", "lintian"}, {"man", "man-db"}, {"systemd-analyze", "systemd"},
	} {
		peertest.RequireCommand(t, c.cmd, c.pkg)
	}
	// This machine's own hostagent is not the test's to replace or purge.
	if st := packageStatus(t); st != "" {
		t.Fatalf("the package %s is on this machine (%s): this test installs and purges its own build; remove it first (dpkg -P %s)",
			debianPackageName, st, debianPackageName)
	}
	for _, dir := range []string{"/etc/hostagent", "/var/lib/hostagent"} {
		if _, err := os.Lstat(dir); err == nil {
			t.Fatalf("%s exists: this test installs and purges the package and would remove it; move it away first", dir)
		}
	}
	// Set once this run has handed dpkg the package: only then are the
	// package and its directories this run's to remove.
	installed := false
	t.Cleanup(func() {
		if !installed {
			return
		}
		if packageStatus(t) != "" {
			dpkgEnv(t, nil, []string{"HOSTAGENT_PURGE_STATE=yes"}, "-P", debianPackageName)
		}
		os.RemoveAll("/var/lib/hostagent")
		os.RemoveAll("/run/hostagent")
	})

	runMake(t, "deb")
	debs, _ := filepath.Glob(filepath.Join(binDir, "deb", debianPackageName+"_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v, want one package", debs)
	}
	deb := debs[0]

	t.Run("lintian", func(t *testing.T) {
		// --fail-on error,warning: no tag at either level may remain.
		out, err := exec.Command("lintian", "--fail-on", "error,warning", "--tag-display-limit", "0", deb).CombinedOutput()
		t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
		if err != nil {
			t.Errorf("lintian: %v", err)
		}
	})
	t.Run("control", func(t *testing.T) {
		control := debControlFile(t, deb, "control")
		for _, want := range []string{"Package: hostagent\n", "Recommends: snmpd\n"} {
			if !strings.Contains(control, want) {
				t.Errorf("control lacks %q:\n%s", want, control)
			}
		}
		// Static programs; the maintainer scripts need only essential packages.
		if strings.Contains(control, "Depends:") {
			t.Errorf("control has a Depends:\n%s", control)
		}
		conffiles := debControlFile(t, deb, "conffiles")
		if got, want := strings.Fields(conffiles), []string{"/etc/hostagent/collectors.toml", "/etc/hostagent/snmp.toml", "/etc/hostagent/syslog.toml"}; !slices.Equal(sorted(got), want) {
			t.Errorf("conffiles %v, want %v", got, want)
		}
	})

	installed = true
	dpkg(t, nil, "-i", deb)
	checkFiles(t, "/", append(installedFiles("/usr", "/lib/systemd/system", ".gz"),
		want{path: "/var/lib/hostagent", mode: fs.ModeDir | 0o750},
		want{path: "/usr/share/doc/hostagent/copyright", mode: 0o644},
		want{path: "/usr/share/doc/hostagent/changelog.Debian.gz", mode: 0o644},
		// Enabled at install, as deb-systemd-helper does it without a
		// running systemd.
		want{path: "/etc/systemd/system/multi-user.target.wants/hostagent.service", mode: fs.ModeSymlink, link: "/lib/systemd/system/hostagent.service"}))
	if got := dpkgQuery(t, "${Conffiles}"); strings.Count(got, "/etc/hostagent/") != 3 {
		t.Errorf("dpkg knows the conffiles as\n%s", got)
	}

	// The unit under a real systemd 252 as PID 1 of namespaces of its own
	// (systemd_test.go): readiness, reload, the watchdog, the stop.
	t.Run("under systemd", checkUnderSystemd)
	t.Run("help and man pages", func(t *testing.T) {
		out, err := exec.Command("/usr/bin/vicfg-snmp", "--help").CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "Usage: vicfg-snmp") || !strings.Contains(string(out), "--targets") {
			t.Errorf("vicfg-snmp --help: %v\n%s", err, out)
		}
		for _, page := range []struct{ section, name, text string }{
			{"1", "vicfg-snmp", "--targets"},
			{"1", "esxcfg-snmp", "--targets"},
			{"1", "vicfg-syslog", "--loghost"},
			{"8", "hostagentd", "--config-dir"},
			{"5", "hostagent-snmp.toml", "inform_timeout"},
			{"5", "hostagent-syslog.toml", "loghosts"},
			{"5", "hostagent-collectors.toml", "hysteresis"},
		} {
			cmd := exec.Command("man", "-P", "cat", page.section, page.name)
			cmd.Env = append(os.Environ(), "LC_ALL=C", "MANWIDTH=80")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), page.text) {
				t.Errorf("man %s %s: %v, want %q in\n%s", page.section, page.name, err, page.text, out)
			}
		}
	})
	t.Run("systemd-analyze", func(t *testing.T) {
		// verify checks the unit's syntax, that ExecStart exists and that
		// each Documentation= page opens with man.
		if out, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/hostagent.service").CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
		out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--no-pager", "/lib/systemd/system/hostagent.service").CombinedOutput()
		m := regexp.MustCompile(`Overall exposure level for hostagent.service: ([0-9.]+)`).FindSubmatch(out)
		if err != nil || m == nil {
			t.Fatalf("systemd-analyze security: %v\n%s", err, out)
		}
		score, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("systemd-analyze security: %s", m[0])
		if score > 2.5 {
			t.Errorf("exposure %.1f, want 2.5 or less:\n%s", score, out)
		}
	})

	// The installed daemon on the shipped configuration, as the unit
	// starts it, and vicfg-snmp through its default socket: the agent is
	// off until enabled. A setting changed through it rewrites the
	// conffile, which an upgrade then keeps.
	t.Run("daemon", func(t *testing.T) {
		stop := func() {}
		if _, err := os.Stat("/run/systemd/system"); err == nil {
			// systemd runs here: the postinst has started the unit, whose
			// daemon holds the socket; it is the one asked.
			t.Log("systemd runs on this machine: the unit the postinst started answers")
		} else {
			stop = startInstalledDaemon(t)
		}
		out := vicfgUntilAnswered(t, "/usr/bin/vicfg-snmp", "--show")
		if !strings.Contains(out, "Enabled  : 0") {
			t.Errorf("the shipped configuration does not keep the agent off:\n%s", out)
		}
		if out, err := exec.Command("/usr/bin/vicfg-snmp", "--syscontact", "noc@example.org").CombinedOutput(); err != nil {
			t.Fatalf("vicfg-snmp --syscontact: %v\n%s", err, out)
		}
		stop()
	})
	dpkg(t, nil, "-i", deb) // a reinstall: the postinst runs with the old version
	if conf, _ := os.ReadFile("/etc/hostagent/snmp.toml"); !bytes.Contains(conf, []byte(`syscontact = "noc@example.org"`)) {
		t.Errorf("the reinstall did not keep the changed conffile:\n%s", conf)
	}
	// An upgrade whose shipped snmp.toml changed too: without a terminal
	// dpkg would ask which to keep and fail; with --force-confold, as
	// unattended upgrades run it, the admin's file stays and the new
	// default lies beside it.
	upgrade := repackWithNewDefault(t, deb)
	dpkgEnv(t, nil, nil, "--force-confdef", "--force-confold", "-i", upgrade)
	if conf, _ := os.ReadFile("/etc/hostagent/snmp.toml"); !bytes.Contains(conf, []byte(`syscontact = "noc@example.org"`)) {
		t.Errorf("the upgrade did not keep the changed conffile:\n%s", conf)
	}
	if dist, err := os.ReadFile("/etc/hostagent/snmp.toml.dpkg-dist"); err != nil || !bytes.Contains(dist, []byte(newDefaultMark)) {
		t.Errorf("the upgrade's new default is not in snmp.toml.dpkg-dist: %v\n%s", err, dist)
	}

	// Removed: the programs go, the configuration stays, the unit is
	// masked so that its enablement starts nothing.
	dpkg(t, nil, "-r", debianPackageName)
	for _, gone := range []string{"/usr/sbin/hostagentd", "/usr/bin/vicfg-snmp", "/lib/systemd/system/hostagent.service"} {
		if _, err := os.Lstat(gone); err == nil {
			t.Errorf("%s left after dpkg -r", gone)
		}
	}
	checkFiles(t, "/", []want{
		{path: "/etc/hostagent/snmp.toml", mode: 0o640},
		{path: "/etc/systemd/system/hostagent.service", mode: fs.ModeSymlink, link: "/dev/null"},
	})

	// Purged: the configuration and the unit's links go; the state stays
	// unless asked, and the purge says so.
	var stderr peertest.Buffer
	dpkg(t, &stderr, "-P", debianPackageName)
	if !strings.Contains(stderr.String(), "hostagent: /var/lib/hostagent kept") {
		t.Errorf("the purge did not say the state is kept:\n%s", stderr.String())
	}
	checkGone(t, "/etc/hostagent", "/etc/systemd/system/hostagent.service", "/etc/systemd/system/multi-user.target.wants/hostagent.service")
	if entries, err := os.ReadDir("/var/lib/hostagent"); err != nil || len(entries) == 0 {
		t.Errorf("the state directory was not kept: %v, %v", entries, err)
	}
	if st := packageStatus(t); st != "" {
		t.Errorf("after the purge dpkg says %s", st)
	}

	// Installed again over the kept state, then purged with the state.
	dpkg(t, nil, "-i", deb)
	dpkgEnv(t, nil, []string{"HOSTAGENT_PURGE_STATE=yes"}, "-P", debianPackageName)
	checkGone(t, "/var/lib/hostagent", "/etc/hostagent")
}

// newDefaultMark is the line repackWithNewDefault adds to snmp.toml.
const newDefaultMark = "# a default changed by the next version"

// repackWithNewDefault is deb as its next version would be: the Debian
// revision raised by one, and the shipped snmp.toml changed.
func repackWithNewDefault(t *testing.T, deb string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if out, err := exec.Command("dpkg-deb", "--raw-extract", deb, dir).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --raw-extract: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "etc/hostagent/snmp.toml")
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(data, newDefaultMark+"\n"...), 0o640); err != nil {
		t.Fatal(err)
	}
	control := filepath.Join(dir, "DEBIAN/control")
	data, err = os.ReadFile(control)
	if err != nil {
		t.Fatal(err)
	}
	next := regexp.MustCompile(`(?m)^(Version: .*)-1$`).ReplaceAll(data, []byte("${1}-2"))
	if bytes.Equal(next, data) {
		t.Fatalf("no Debian revision -1 to raise in\n%s", data)
	}
	if err := os.WriteFile(control, next, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "next.deb")
	if b, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", dir, out).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, b)
	}
	return out
}

// startInstalledDaemon starts /usr/sbin/hostagentd with no option, as the
// unit does, in the runtime directory systemd would have made; the
// returned stop ends it with SIGTERM and checks it exits 0.
func startInstalledDaemon(t *testing.T) (stop func()) {
	t.Helper()
	if err := os.MkdirAll("/run/hostagent", 0o750); err != nil {
		t.Fatal(err)
	}
	var logs peertest.Buffer
	cmd := exec.Command("/usr/sbin/hostagentd")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("hostagentd exited: %v\n%s", err, logs.String())
			}
		case <-time.After(30 * time.Second): // the unit's TimeoutStopSec
			_ = cmd.Process.Kill()
			t.Errorf("hostagentd did not stop within 30 s of SIGTERM\n%s", logs.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

// vicfgUntilAnswered runs a vicfg command until the daemon answers it.
func vicfgUntilAnswered(t *testing.T, prog string, args ...string) string {
	t.Helper()
	var out []byte
	var err error
	if !peertest.Until(60*time.Second, func() bool {
		out, err = exec.Command(prog, args...).CombinedOutput()
		return err == nil
	}) {
		t.Fatalf("%s %s: no answer from hostagentd in 60 s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dpkg runs dpkg with args, its stderr also into stderr when not nil.
func dpkg(t *testing.T, stderr *peertest.Buffer, args ...string) { dpkgEnv(t, stderr, nil, args...) }

func dpkgEnv(t *testing.T, stderr *peertest.Buffer, env []string, args ...string) {
	t.Helper()
	var out *peertest.Buffer
	var err error
	// An apt-get of the machine's own (installing a test peer, say) holds
	// dpkg's lock for a while: dpkg refuses at once, so it is asked again
	// until the lock is free.
	peertest.Until(5*time.Minute, func() bool {
		out = new(peertest.Buffer) // written by stdout's and stderr's copiers at once
		var errs bytes.Buffer
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(append(os.Environ(), "DEBIAN_FRONTEND=noninteractive"), env...)
		cmd.Stdout, cmd.Stderr = out, io.MultiWriter(out, &errs)
		err = cmd.Run()
		if err != nil && strings.Contains(errs.String(), "lock was locked by another process") {
			return false
		}
		if stderr != nil {
			stderr.Write(errs.Bytes())
		}
		return true
	})
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out.String())
}

// packageStatus is dpkg's status of the package, "" when dpkg knows
// nothing of it (never installed, or purged).
func packageStatus(t *testing.T) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${db:Status-Status}", debianPackageName).Output()
	if err != nil || string(out) == "not-installed" {
		return ""
	}
	return string(out)
}

func dpkgQuery(t *testing.T, format string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f", format, debianPackageName).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-query: %v\n%s", err, out)
	}
	return string(out)
}

// debControlFile is a file of the package's control archive.
func debControlFile(t *testing.T, deb, name string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "--control", deb, dir).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --control: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func checkGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s still there", p)
		}
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
