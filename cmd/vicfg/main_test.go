package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"hostagent/manage/vicfg"
)

// goTool is the go command, or the test is skipped where there is none.
func goTool(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	t.Skip("no go tool")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// TestDeps: the program links none of the data planes: no SNMP agent
// (gosnmp), no MIB resolution (gosmi), no file watching (fsnotify), no
// password hashing (argon2), no forwarder.
func TestDeps(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	forbidden := regexp.MustCompile(`gosnmp|gosmi|fsnotify|argon2|hostagent/snmpagent$|hostagent/syslogd/(forward|output|tail|spool)`)
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !slices.Contains(deps, "hostagent/manage/vicfg") {
		t.Fatalf("go list -deps printed no real list:\n%s", out)
	}
	for _, d := range deps {
		if forbidden.MatchString(d) {
			t.Errorf("vicfg links %s", d)
		}
	}
}

// linked are the names make build and make install link to vicfg, read
// from the Makefile's VICFG_LINKS.
func linked(t *testing.T) []string {
	t.Helper()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VICFG_LINKS\s*:=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile names no links to vicfg (VICFG_LINKS)")
	}
	return strings.Fields(string(m[1]))
}

// TestRegistered: every name make build links is a command, and every
// name a command answers to is linked.
func TestRegistered(t *testing.T) {
	links := linked(t)
	var names []string
	for _, name := range links {
		c, ok := vicfg.Commands.Lookup(name)
		if !ok {
			t.Errorf("%s is linked but no command has that name", name)
			continue
		}
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
			for _, n := range append([]string{c.Name}, c.Aliases...) {
				if !slices.Contains(links, n) {
					t.Errorf("%s answers to %s, which make build does not link", c.Name, n)
				}
			}
		}
	}
	want := []string{"vicfg-cfgbackup", "vicfg-hostops", "vicfg-snmp", "vicfg-syslog", "vicfg-user"}
	if slices.Sort(names); !slices.Equal(names, want) {
		t.Errorf("commands %q, want %q", names, want)
	}
}

// TestLinks runs the built program through links named as make build
// names them: argv[0] picks the command.
func TestLinks(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "vicfg")
	build := exec.Command(goTool(t), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := func(argv0 string, args ...string) (code int, stdout, stderr string) {
		var out, errb bytes.Buffer
		cmd := exec.Command(argv0, args...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", argv0, err)
		}
		return code, out.String(), errb.String()
	}
	for _, name := range linked(t) {
		link := filepath.Join(dir, name)
		if err := os.Symlink("vicfg", link); err != nil {
			t.Fatal(err)
		}
		if code, stdout, stderr := run(link, "--help"); code != 0 || stderr != "" || !strings.HasPrefix(stdout, "Usage: "+name+" ") {
			t.Errorf("%s --help: exit %d, stderr %q, stdout %.60q", name, code, stderr, stdout)
		}
		if code, _, stderr := run(link, "--bogus"); code != 1 || stderr != name+": unknown flag: --bogus\nsee "+name+" --help\n" {
			t.Errorf("%s --bogus: exit %d, stderr %q", name, code, stderr)
		}
	}
	if code, stdout, stderr := run(bin); code != 1 || stdout != "" || !strings.Contains(stderr, "  vicfg-snmp, esxcfg-snmp  ") {
		t.Errorf("vicfg: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, stdout, _ := run(bin, "--help"); code != 0 || !strings.Contains(stdout, "  vicfg-user  ") {
		t.Errorf("vicfg --help: exit %d, stdout %q", code, stdout)
	}
	if code, stdout, _ := run(bin, "syslog", "-h"); code != 0 || !strings.HasPrefix(stdout, "Usage: vicfg syslog [--server unix:PATH] OPTIONS\n") {
		t.Errorf("vicfg syslog -h: exit %d, stdout %.60q", code, stdout)
	}
	if code, _, stderr := run(bin, "snmpd"); code != 1 || !strings.HasPrefix(stderr, `vicfg: unknown command "snmpd": the commands are esxcfg-snmp, `) {
		t.Errorf("vicfg snmpd: exit %d, stderr %q", code, stderr)
	}
	// A run against no daemon fails as the command did on its own.
	missing := "unix:" + filepath.Join(dir, "missing.sock")
	if code, _, stderr := run(filepath.Join(dir, "esxcfg-snmp"), "--server", missing, "-s"); code != 1 ||
		stderr != "esxcfg-snmp: cannot connect to hostagentd at "+missing+": is the daemon running?\n" {
		t.Errorf("esxcfg-snmp -s: exit %d, stderr %q", code, stderr)
	}
}
