package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"hostagent/collectors"
	// The daemon runs the built-in sources, as hostagentd does.
	_ "hostagent/collectors/all"
	"hostagent/collectors/sensors"
	"hostagent/internal/configstore"
	"hostagent/internal/daemon"
	"hostagent/internal/peertest"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
	"hostagent/syslogd/forward"
)

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes beside and renames, as editors save.
func replaceFile(t *testing.T, path, body string) {
	t.Helper()
	writeFile(t, path+".new", body)
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// TestCollectorsThroughTheDaemon runs the sensors collector in the daemon
// on a fixture sysfs, and follows hand edits of collectors.toml, checking
// what snmptrapd decodes.
func TestCollectorsThroughTheDaemon(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	dir := t.TempDir()
	chip := filepath.Join(dir, "sys", "class", "hwmon", "hwmon0")
	writeFile(t, filepath.Join(chip, "name"), "coretemp\n")
	writeFile(t, filepath.Join(chip, "temp1_label"), "Package id 0\n")
	writeFile(t, filepath.Join(chip, "temp1_max"), "80000\n")
	writeFile(t, filepath.Join(chip, "temp1_crit"), "95000\n")
	writeFile(t, filepath.Join(chip, "temp1_input"), "50000\n")
	etc := filepath.Join(dir, "etc")
	collectorsToml := func(style, extra string) string {
		return fmt.Sprintf("[vms]\nenabled = false\n[links]\nenabled = false\n[resources]\nenabled = false\n%s"+
			"[sensors]\nenabled = true\ninterval = \"1s\"\nstyle = %q\n", extra, style)
	}
	writeFile(t, filepath.Join(etc, daemon.CollectorsFile), collectorsToml("env", ""))
	writeFile(t, filepath.Join(etc, daemon.SNMPFile), fmt.Sprintf(
		"enabled = true\ncommunities = [\"public\"]\ntargets = [\"127.0.0.1@%d\"]\n", trapd.Port()))
	d := start(t, dir)
	trapd.WaitTraps(t, 1, 10*time.Second) // coldStart; the sensor is normal: nothing more

	setTemp := func(milli int) { replaceFile(t, filepath.Join(chip, "temp1_input"), fmt.Sprintf("%d\n", milli)) }
	event := func(tr peertest.Trap) string {
		var parts []string
		for _, v := range tr.VarBinds {
			if strings.Contains(v.Name, "vmwSubsystemType") || strings.Contains(v.Name, "vmwHardwareStatus") {
				parts = append(parts, v.Value)
			}
		}
		return tr.TrapOID + " " + strings.Join(parts, " ")
	}

	setTemp(97000)
	traps := trapd.WaitTraps(t, 2, 10*time.Second)
	if got := event(traps[1]); got != "VMWARE-ENV-MIB::vmwESXEnvHardwareEvent temperatureSensor(8) critical(4)" {
		t.Errorf("hot sensor: %s\n%s", got, traps[1].Raw)
	}

	// An invalid edit is refused; the sensors keep running on the old one.
	replaceFile(t, filepath.Join(etc, daemon.CollectorsFile), collectorsToml("env",
		"[[resources.rules]]\nname = \"cpu\"\nresource = \"cpu\"\nrising = 50\nfalling = 70\n"))
	waitFor(t, "the refusal", func() bool { return strings.Contains(d.log.String(), "configuration change refused") })
	setTemp(50000)
	traps = trapd.WaitTraps(t, 3, 10*time.Second)
	if got := event(traps[2]); got != "VMWARE-ENV-MIB::vmwESXEnvHardwareEvent temperatureSensor(8) normal(2)" {
		t.Errorf("sensor back to normal: %s", got)
	}

	// A valid edit restarts the collectors with the new style.
	replaceFile(t, filepath.Join(etc, daemon.CollectorsFile), collectorsToml("ipmi", ""))
	waitFor(t, "the reload", func() bool {
		return strings.Count(d.log.String(), "collectors started") == 2
	})
	setTemp(97000)
	traps = trapd.WaitTraps(t, 4, 10*time.Second)
	if traps[3].TrapOID != "VMWARE-ENV-MIB::vmwEnvIpmiSelCpuRaised" {
		t.Errorf("after switching to ipmi: %s", traps[3].TrapOID)
	}
	// The hand edit is audited, section by section: the entry is written
	// after the new collectors started, so it may follow their first trap.
	var trail []byte
	waitFor(t, "the audit entry of the reload", func() bool {
		trail, _ = os.ReadFile(filepath.Join(dir, "state", "audit.log"))
		return strings.Contains(string(trail), `"action":"collectors.reload"`)
	})
	for _, want := range []string{`"setting":"sensors"`, `"result":"ok"`} {
		if !strings.Contains(string(trail), want) {
			t.Errorf("audit log lacks %s:\n%s", want, trail)
		}
	}
}

// TestShippedCollectorsConfig: configs/collectors.toml parses, is valid, and
// says what the daemon does without it, for every built-in source.
func TestShippedCollectorsConfig(t *testing.T) {
	if got, want := collectors.Names(), []string{"links", "resources", "sensors", "vms"}; !slices.Equal(got, want) {
		t.Fatalf("registered sources %v, want %v", got, want)
	}
	cfg := collectors.ZeroSettings()
	if _, err := configstore.Load("../../configs/collectors.toml", cfg.Ptr()); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Equal(daemon.DefaultCollectorsConfig()) {
		t.Errorf("configs/collectors.toml differs from the built-in defaults:\n%v\n%v", cfg, daemon.DefaultCollectorsConfig())
	}
	// A reset writes the defaults: they read back as they were.
	path := filepath.Join(t.TempDir(), daemon.CollectorsFile)
	if err := configstore.Save(path, daemon.DefaultCollectorsConfig().Ptr(), 0o640, "defaults"); err != nil {
		t.Fatal(err)
	}
	back := collectors.ZeroSettings()
	if _, err := configstore.Load(path, back.Ptr()); err != nil || !back.Equal(daemon.DefaultCollectorsConfig()) {
		t.Errorf("defaults written and read back: %v\n%v", err, back)
	}
}

// TestCollectorsConfigErrors: collectors.toml built from the registry names
// unknown keys with the allowed ones and each bad value, as a struct
// written by hand did.
func TestCollectorsConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), daemon.CollectorsFile)
	writeFile(t, path, "[vm]\nenabled = false\n[sensors]\nintervall = \"1s\"\n")
	_, err := configstore.Load(path, daemon.DefaultCollectorsConfig().Ptr())
	for _, want := range []string{
		`unknown setting "vm" (allowed: links, resources, sensors, vms)`,
		`unknown setting "sensors.intervall" (allowed in [sensors]: enabled, hysteresis, interval, style)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}

	writeFile(t, path, "[vms]\nuri = \"nope\"\n[sensors]\nstyle = \"loud\"\n[links]\ninterval = \"1ms\"\n")
	cfg := daemon.DefaultCollectorsConfig()
	if _, err := configstore.Load(path, cfg.Ptr()); err != nil {
		t.Fatal(err)
	}
	err = cfg.Validate()
	for _, want := range []string{
		`vms.uri "nope": must be a libvirt driver URI`,
		`sensors.style "loud": must be one of env, ipmi, both`,
		`interval "1ms": must be from 100ms to 1h`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %s", err, want)
		}
	}
	if collectors.Section[sensors.Config](cfg, "sensors").Style != "loud" {
		t.Errorf("Section does not reach the decoded [sensors]")
	}
}

// TestShippedSNMPConfig: configs/snmp.toml, which the package installs in
// /etc/hostagent, is the factory configuration (the agent off, as on
// ESXi), and configs/demo/snmp.toml, which `make run` puts over it, is
// valid and sends to each kind of target.
func TestShippedSNMPConfig(t *testing.T) {
	cfg := snmpconfig.DefaultConfig()
	if _, err := configstore.Load("../../configs/snmp.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Normalize()
	def := snmpconfig.DefaultConfig()
	def.Normalize()
	if !reflect.DeepEqual(cfg, def) {
		t.Errorf("configs/snmp.toml differs from the built-in defaults:\n%+v\n%+v", cfg, def)
	}
	// Every setting written out: an empty or comments-only file is refused.
	zero := snmpconfig.Config{}
	md, err := toml.DecodeFile("../../configs/snmp.toml", &zero)
	if err != nil {
		t.Fatal(err)
	}
	fields := reflect.TypeOf(zero)
	for i := range fields.NumField() {
		key, _, _ := strings.Cut(fields.Field(i).Tag.Get("toml"), ",")
		if key != "" && key != "-" && !md.IsDefined(key) {
			t.Errorf("configs/snmp.toml does not set %s", key)
		}
	}

	demo := snmpconfig.DefaultConfig()
	if _, err := configstore.Load("../../configs/demo/snmp.toml", &demo); err != nil {
		t.Fatal(err)
	}
	if err := demo.Validate(resolve.NewResolver(nil)); err != nil || !demo.Enabled || len(demo.Targets) != 3 {
		t.Errorf("configs/demo/snmp.toml: %v, %+v", err, demo)
	}
}

// TestShippedSyslogConfig: configs/syslog.toml is valid and is the default.
func TestShippedSyslogConfig(t *testing.T) {
	cfg := syslogd.Config{}
	if _, err := configstore.Load("../../configs/syslog.toml", &cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := forward.Prepare(cfg); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, syslogd.DefaultConfig()) {
		t.Errorf("configs/syslog.toml differs from the built-in defaults:\n%+v\n%+v", cfg, syslogd.DefaultConfig())
	}
}
