package sensors

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"hostagent/collectors"
	"hostagent/mibs"
)

// TestBaselineReportsOnlyWhatIsNotNormal reads testdata/host/sys, a host's
// sysfs as the kernel lays it out: coretemp's package at 45 C (limits 80
// and 95), an nct6775 with a turning fan, a failed fan (fan2_fault) and a
// voltage within its limits, and a healthy mains supply.
func TestBaselineReportsOnlyWhatIsNotNormal(t *testing.T) {
	h := newHarness(t, testdataFixture(t, "host"), StyleEnv)

	e := h.pollOne()
	want := event{name: "vmwESXEnvHardwareEvent", index: 1, subsystem: 4, status: 5, desc: "nct6775 fan2: fault - failed"}
	if e.name != want.name || e.index != want.index || e.subsystem != want.subsystem || e.status != want.status || e.desc != want.desc {
		t.Errorf("baseline event %+v, want %+v", e, want)
	}
	if string(e.time) != string(mibs.DateAndTime(testClock)) {
		t.Errorf("vmwEnvHardwareTime %v, want the injected clock", e.time)
	}
	h.pollNone()
}

func TestTemperatureThresholdsAndHysteresis(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "coretemp", map[string]string{
		"temp1_input": "45000", "temp1_max": "80000", "temp1_crit": "95000", "temp1_label": "Package id 0",
	})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()
	// Hysteresis 2 C: marginal until <= 78 C, critical until <= 93 C.
	steps := []struct {
		milli  string
		status int64  // 0: no event
		desc   string // the whole description, when an event is expected
	}{
		{"80000", 0, ""}, // at the limit is inside it
		{"81000", 3, "coretemp temp1 Package id 0: 81.0 C, high limit 80.0 C - marginal"},
		{"79000", 0, ""}, // oscillating within the hysteresis
		{"81500", 0, ""},
		{"78500", 0, ""},
		{"97000", 4, "coretemp temp1 Package id 0: 97.0 C, critical limit 95.0 C - critical"},
		{"94000", 0, ""}, // within the critical hysteresis
		{"96000", 0, ""},
		{"92000", 3, "coretemp temp1 Package id 0: 92.0 C, high limit 80.0 C - marginal"},
		{"78100", 0, ""},
		{"78000", 2, "coretemp temp1 Package id 0: 78.0 C - normal"},
		{"79900", 0, ""}, // normal again: the plain limit applies
	}
	for _, step := range steps {
		f.hwmon("hwmon0", "temp1_input", step.milli)
		events := h.poll()
		switch {
		case step.status == 0 && len(events) != 0:
			t.Fatalf("at %s: events %+v, want none", step.milli, events)
		case step.status != 0 && len(events) != 1:
			t.Fatalf("at %s: events %+v, want one", step.milli, events)
		case step.status != 0 && (events[0].status != step.status || events[0].desc != step.desc || events[0].subsystem != 8):
			t.Fatalf("at %s: event %+v, want status %d subsystem 8 %q", step.milli, events[0], step.status, step.desc)
		}
	}
}

// stepCase is one poll of a scenario: write files, poll, expect a status
// (0: no event) whose description contains desc.
type stepCase struct {
	files  map[string]string // relative to the chip
	status int64
	desc   string
}

func runSteps(t *testing.T, h *harness, entry string, steps []stepCase) {
	t.Helper()
	for i, step := range steps {
		for attr, v := range step.files {
			h.f.hwmon(entry, attr, v)
		}
		events := h.poll()
		if step.status == 0 {
			if len(events) != 0 {
				t.Fatalf("step %d %v: events %+v, want none", i, step.files, events)
			}
			continue
		}
		if len(events) != 1 || events[0].status != step.status || !strings.Contains(events[0].desc, step.desc) {
			t.Fatalf("step %d %v: events %+v, want one of status %d with %q", i, step.files, events, step.status, step.desc)
		}
	}
}

func TestFanBelowMinimum(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "nct6775", map[string]string{"fan1_input": "1200", "fan1_min": "600"})
	h := newHarness(t, f, StyleEnv)
	runSteps(t, h, "hwmon0", []stepCase{
		{nil, 0, ""},
		{map[string]string{"fan1_input": "300"}, 3, "nct6775 fan1: 300 RPM, low limit 600 RPM - marginal"},
		{map[string]string{"fan1_input": "620"}, 0, ""}, // 5% of 600 is 30: not yet
		{map[string]string{"fan1_input": "630"}, 2, "630 RPM - normal"},
		{map[string]string{"fan1_input": "0"}, 3, "0 RPM, low limit"},
	})
}

func TestVoltageOutOfRange(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "it87", map[string]string{
		"in0_input": "1200", "in0_min": "1100", "in0_max": "1300", "in0_lcrit": "1000", "in0_label": "Vcore",
	})
	h := newHarness(t, f, StyleEnv)
	runSteps(t, h, "hwmon0", []stepCase{
		{nil, 0, ""},
		{map[string]string{"in0_input": "1350"}, 3, "it87 in0 Vcore: 1.350 V, high limit 1.300 V - marginal"},
		{map[string]string{"in0_input": "1200"}, 2, "1.200 V - normal"},
		{map[string]string{"in0_input": "1050"}, 3, "1.050 V, low limit 1.100 V"},
		{map[string]string{"in0_input": "900"}, 4, "0.900 V, low critical limit 1.000 V - critical"},
		{map[string]string{"in0_input": "1200"}, 2, "normal"},
	})
}

func TestCurrentAndPower(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "ina3221", map[string]string{"curr1_input": "1500", "curr1_max": "2000", "curr1_crit": "3000"})
	f.chip("hwmon1", "amdgpu", map[string]string{"power1_average": "45000000", "power1_cap": "200000000", "power1_crit": "250000000"})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()
	f.hwmon("hwmon0", "curr1_input", "3500")
	f.hwmon("hwmon1", "power1_average", "260000000")
	events := h.poll()
	if len(events) != 2 {
		t.Fatalf("events %+v, want the current and the power one", events)
	}
	for i, want := range []string{"ina3221 curr1: 3.500 A, critical limit 3.000 A - critical", "amdgpu power1: 260.0 W, critical limit 250.0 W - critical"} {
		if events[i].desc != want || events[i].subsystem != 3 || events[i].status != 4 {
			t.Errorf("event %d %+v, want subsystem powerSupply(3) critical %q", i, events[i], want)
		}
	}
}

func TestFaultFile(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "nct6775", map[string]string{"fan1_input": "1200", "fan1_fault": "0"})
	h := newHarness(t, f, StyleEnv)
	runSteps(t, h, "hwmon0", []stepCase{
		{nil, 0, ""},
		{map[string]string{"fan1_fault": "1"}, 5, "nct6775 fan1: fault - failed"},
		{nil, 0, ""},
		{map[string]string{"fan1_fault": "0"}, 2, "1200 RPM - normal"},
	})
}

func TestGarbageIsFailedAndLoggedOnce(t *testing.T) {
	tests := []struct {
		name, attr, content, desc string
	}{
		{"text in input", "temp1_input", "hot", `bad value "hot" in temp1_input - failed`},
		{"empty input", "temp1_input", "", `bad value "" in temp1_input - failed`},
		{"float in input", "temp1_input", "45.5", `bad value "45.5" in temp1_input`},
		{"overflow", "temp1_input", "99999999999999999999", `bad value "99999999999999999999" in temp1_input`},
		{"text in a limit", "temp1_max", "none", `bad value "none" in temp1_max - failed`},
		{"text in an alarm", "temp1_alarm", "yes", `bad value "yes" in temp1_alarm`},
		{"text in fault", "temp1_fault", "?", `bad value "?" in temp1_fault`},
		{"too long", "temp1_input", strings.Repeat("7", 500), `in temp1_input - failed`},
		{"binary", "temp1_input", "\x00\xff\x01", `in temp1_input - failed`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.chip("hwmon0", "acpitz", map[string]string{"temp1_input": "45000", "temp1_max": "80000", "temp1_alarm": "0", "temp1_fault": "0"})
			h := newHarness(t, f, StyleEnv)
			h.pollNone()
			f.hwmon("hwmon0", tt.attr, tt.content)
			e := h.pollOne()
			if e.status != 5 || !strings.Contains(e.desc, tt.desc) || len(e.desc) > maxDescription {
				t.Errorf("event %+v, want failed with %q", e, tt.desc)
			}
			h.pollNone()
			h.pollNone()
			if n := strings.Count(h.log.String(), "sensor unreadable"); n != 1 {
				t.Errorf("problem logged %d times, want once:\n%s", n, h.log)
			}
		})
	}
}

func TestUnreadableInputIsFailed(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "acpitz", map[string]string{"temp1_input": "45000"})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()
	// A directory in place of the file: unreadable for root too (tests run
	// as root in CI, where a chmod would not stop the read).
	input := filepath.Join(f.root, "class/hwmon/hwmon0/temp1_input")
	if err := os.Remove(input); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(input, 0o755); err != nil {
		t.Fatal(err)
	}
	if e := h.pollOne(); e.status != 5 || !strings.HasPrefix(e.desc, "acpitz temp1: temp1_input unreadable") {
		t.Errorf("event %+v, want failed, unreadable", e)
	}
}

func TestAlarmFiles(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "lm85", map[string]string{
		"temp1_input": "45000", "temp1_alarm": "0", "temp1_crit_alarm": "0",
		"in1_input": "1200", "in1_min_alarm": "0", "in1_max_alarm": "0",
	})
	h := newHarness(t, f, StyleEnv)
	runSteps(t, h, "hwmon0", []stepCase{
		{nil, 0, ""},
		{map[string]string{"temp1_alarm": "1"}, 3, "lm85 temp1: 45.0 C, chip alarm alarm - marginal"},
		{map[string]string{"temp1_crit_alarm": "1"}, 4, "45.0 C, chip alarm crit_alarm - critical"},
		{map[string]string{"temp1_crit_alarm": "0", "temp1_alarm": "0"}, 2, "normal"},
		{map[string]string{"in1_min_alarm": "1"}, 3, "lm85 in1: 1.200 V, chip alarm min_alarm - marginal"},
		{map[string]string{"in1_min_alarm": "0", "in1_max_alarm": "1"}, 0, ""}, // still marginal
		{map[string]string{"in1_max_alarm": "0"}, 2, "normal"},
	})
}

func TestPowerSupplies(t *testing.T) {
	f := newFixture(t)
	f.supply("PSU1", map[string]string{"type": "Mains", "online": "1", "health": "Good"})
	f.supply("BAT0", map[string]string{"type": "Battery", "status": "Full", "capacity_level": "Full"})
	f.supply("hidpp_battery_0", map[string]string{"type": "Battery", "scope": "Device", "status": "Discharging"})
	h := newHarness(t, f, StyleBoth)
	h.pollNone()

	steps := []struct {
		supply, attr, value string
		want                []string // notification: desc
	}{
		{"PSU1", "online", "0", []string{
			"vmwESXEnvHardwareEvent: power supply PSU1 (Mains): offline, health Good - critical",
			"vmwEnvIpmiSelPowerSupplyRaised: power supply PSU1 (Mains): offline, health Good - critical"}},
		{"PSU1", "health", "Overheat", []string{ // critical already: env repeats nothing
		}},
		{"PSU1", "health", "Dead", []string{
			"vmwESXEnvHardwareEvent: power supply PSU1 (Mains): offline, health Dead - failed"}},
		{"PSU1", "online", "1", nil},
		{"PSU1", "health", "Good", []string{
			"vmwESXEnvHardwareEvent: power supply PSU1 (Mains): online, health Good - normal",
			"vmwEnvIpmiSelPowerSupplyCleared: power supply PSU1 (Mains): online, health Good - normal"}},
		{"BAT0", "status", "Discharging", []string{
			"vmwESXEnvHardwareEvent: battery BAT0: discharging - marginal"}},
		{"BAT0", "capacity_level", "Critical", []string{
			"vmwESXEnvHardwareEvent: battery BAT0: discharging, capacity critical - critical"}},
		{"hidpp_battery_0", "capacity_level", "Critical", nil}, // a mouse: not watched
	}
	for _, step := range steps {
		f.supplyAttr(step.supply, step.attr, step.value)
		var got []string
		for _, e := range h.poll() {
			got = append(got, e.name+": "+e.desc)
		}
		if strings.Join(got, "\n") != strings.Join(step.want, "\n") {
			t.Fatalf("%s %s=%s: got\n%s\nwant\n%s", step.supply, step.attr, step.value, strings.Join(got, "\n"), strings.Join(step.want, "\n"))
		}
	}
}

func TestBatterySubsystem(t *testing.T) {
	f := newFixture(t)
	f.supply("BAT0", map[string]string{"type": "Battery", "health": "Dead"})
	h := newHarness(t, f, StyleBoth)
	e := h.pollOne() // a battery has no IPMI pair
	if e.subsystem != 7 || e.status != 5 {
		t.Errorf("event %+v, want battery(7) failed(5)", e)
	}
}

func TestSensorRemovedAndBack(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "coretemp", map[string]string{"temp1_input": "45000", "temp2_input": "46000", "temp2_label": "Core 0"})
	f.chip("hwmon1", "nct6775", map[string]string{"fan1_input": "1200"})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()

	f.remove("devices/platform/coretemp.hwmon0/hwmon/hwmon0/temp2_input")
	if e := h.pollOne(); e.status != 1 || e.desc != "coretemp temp2 Core 0: removed - unknown" {
		t.Errorf("removal %+v, want unknown", e)
	}
	h.pollNone() // reported once

	f.hwmon("hwmon0", "temp2_input", "47000")
	if e := h.pollOne(); e.status != 2 || e.desc != "coretemp temp2 Core 0: 47.0 C - normal" {
		t.Errorf("return %+v, want normal", e)
	}

	f.remove("class/hwmon/hwmon1") // the whole chip
	if e := h.pollOne(); e.status != 1 || e.subsystem != 4 || !strings.HasPrefix(e.desc, "nct6775 fan1: removed") {
		t.Errorf("chip removal %+v, want its fan unknown", e)
	}
	h.pollNone()
}

func TestDisabledSensorIsRemoved(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "nct6775", map[string]string{"temp1_input": "30000", "temp3_input": "30000", "temp3_enable": "1"})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()
	f.hwmon("hwmon0", "temp3_enable", "0")
	if e := h.pollOne(); e.status != 1 || e.desc != "nct6775 temp3: removed - unknown" {
		t.Errorf("disabled sensor %+v, want unknown", e)
	}
}

func TestLastSensorGoneIsReportedThenAbsent(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "acpitz", map[string]string{"temp1_input": "30000"})
	h := newHarness(t, f, StyleEnv)
	h.pollNone()
	f.remove("class/hwmon")
	if err := h.s.Poll(context.Background(), h.rec); !errors.Is(err, collectors.ErrAbsent) {
		t.Errorf("poll: %v, want ErrAbsent", err)
	}
	if got := h.rec.take(); len(got) != 1 || decode(t, got[0]).status != 1 {
		t.Errorf("got %d notifications, want the sensor reported unknown", len(got))
	}
}

func TestDriverReloadKeepsSensors(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon2", "coretemp", map[string]string{"temp1_input": "97000", "temp1_crit": "95000"})
	h := newHarness(t, f, StyleEnv)
	if e := h.pollOne(); e.status != 4 {
		t.Fatalf("baseline %+v, want critical", e)
	}
	// The driver comes back as hwmon5 on the same device: same sensor.
	dev := "devices/platform/coretemp.hwmon2/hwmon/"
	if err := os.Rename(filepath.Join(f.root, dev, "hwmon2"), filepath.Join(f.root, dev, "hwmon5")); err != nil {
		t.Fatal(err)
	}
	f.remove("class/hwmon/hwmon2")
	f.link("hwmon5", dev+"hwmon5")
	h.pollNone()
}

func TestPlainDirectoriesAndOldDriverLayout(t *testing.T) {
	f := newFixture(t)
	f.plainChip("hwmon0", "acpitz", map[string]string{"temp1_input": "99000", "temp1_crit": "95000"})
	// An old driver: hwmon1 holds nothing, its attributes are on device/.
	f.writeAll("class/hwmon/hwmon1/device", "w83627hf", map[string]string{"fan1_input": "0", "fan1_min": "500"})
	h := newHarness(t, f, StyleEnv)
	events := h.poll()
	if len(events) != 2 || events[0].desc != "acpitz temp1: 99.0 C, critical limit 95.0 C - critical" ||
		events[1].desc != "w83627hf fan1: 0 RPM, low limit 500 RPM - marginal" {
		t.Errorf("events %+v, want the plain chip's and the old driver's", events)
	}
}

func TestNoSensorsIsAbsent(t *testing.T) {
	for name, setup := range map[string]func(f *fixture){
		"no class directories": func(*fixture) {},
		"empty class directories": func(f *fixture) {
			os.MkdirAll(filepath.Join(f.root, "class/hwmon"), 0o755)
			os.MkdirAll(filepath.Join(f.root, "class/power_supply"), 0o755)
		},
		"chips without sensors": func(f *fixture) {
			f.chip("hwmon0", "nvme", map[string]string{"pwm1": "128"})
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			setup(f)
			err := New(DefaultConfig(), f.paths(), nil).Poll(context.Background(), &recorder{})
			if !errors.Is(err, collectors.ErrAbsent) {
				t.Errorf("poll: %v, want ErrAbsent", err)
			}
		})
	}
}

func TestStyles(t *testing.T) {
	// One CPU temperature goes critical and back, a voltage (no IPMI pair)
	// goes marginal, and a DIMM goes marginal then critical.
	type sent struct {
		name   string
		index  uint32
		number int64 // IPMI only
	}
	tests := []struct {
		style string
		want  []sent
	}{
		{StyleEnv, []sent{
			{"vmwESXEnvHardwareEvent", 1, 0}, {"vmwESXEnvHardwareEvent", 2, 0}, {"vmwESXEnvHardwareEvent", 3, 0},
			{"vmwESXEnvHardwareEvent", 4, 0}, {"vmwESXEnvHardwareEvent", 5, 0},
		}},
		{StyleIPMI, []sent{
			{"vmwEnvIpmiSelCpuRaised", 1, 1}, {"vmwEnvIpmiSelMemoryRaised", 2, 3}, {"vmwEnvIpmiSelCpuCleared", 3, 1},
		}},
		{StyleBoth, []sent{
			{"vmwESXEnvHardwareEvent", 1, 0}, {"vmwEnvIpmiSelCpuRaised", 1, 1},
			{"vmwESXEnvHardwareEvent", 2, 0},
			{"vmwESXEnvHardwareEvent", 3, 0}, {"vmwEnvIpmiSelMemoryRaised", 3, 3},
			{"vmwESXEnvHardwareEvent", 4, 0},
			{"vmwESXEnvHardwareEvent", 5, 0}, {"vmwEnvIpmiSelCpuCleared", 5, 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.style, func(t *testing.T) {
			f := newFixture(t)
			// Discovery order: coretemp temp1 (0), temp2 (1), in0 (2), jc42 temp1 (3).
			f.chip("hwmon0", "coretemp", map[string]string{"temp1_input": "40000", "temp2_input": "40000", "temp2_crit": "95000", "in0_input": "900", "in0_max": "1000"})
			f.chip("hwmon1", "jc42", map[string]string{"temp1_input": "40000", "temp1_max": "85000", "temp1_crit": "95000"})
			h := newHarness(t, f, tt.style)
			h.pollNone()
			var got []event
			for _, change := range []struct{ entry, attr, value string }{
				{"hwmon0", "temp2_input", "99000"},
				{"hwmon0", "in0_input", "1100"},
				{"hwmon1", "temp1_input", "86000"},
				{"hwmon1", "temp1_input", "96000"}, // marginal to critical: no new SEL event
				{"hwmon0", "temp2_input", "50000"},
			} {
				f.hwmon(change.entry, change.attr, change.value)
				got = append(got, h.poll()...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d notifications %+v, want %+v", len(got), got, tt.want)
			}
			for i, w := range tt.want {
				g := got[i]
				if g.name != w.name || g.index != w.index || g.number != w.number || g.desc == "" || len(g.time) != 11 {
					t.Errorf("notification %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestSensorNumbersWrapAt256(t *testing.T) {
	f := newFixture(t)
	attrs := map[string]string{}
	for i := 1; i <= 300; i++ {
		attrs["temp"+strconv.Itoa(i)+"_input"] = "40000"
	}
	attrs["temp258_fault"] = "1"
	f.chip("hwmon0", "coretemp", attrs)
	h := newHarness(t, f, StyleIPMI)
	events := h.poll()
	// temp258 is the 258th sensor discovered: number 257 mod 256.
	if len(events) != 1 || events[0].number != 1 || !strings.HasPrefix(events[0].desc, "coretemp temp258:") {
		t.Errorf("events %+v, want temp258 with sensor number 1", events)
	}
}

func TestNotifyErrorsAreReturnedAndStateMoves(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "nct6775", map[string]string{"fan1_input": "1200", "fan1_fault": "1"})
	h := newHarness(t, f, StyleEnv)
	h.rec.err = errors.New("agent stopped")
	err := h.s.Poll(context.Background(), h.rec)
	if err == nil || !strings.Contains(err.Error(), "notify vmwESXEnvHardwareEvent of nct6775 fan1: agent stopped") {
		t.Errorf("poll: %v, want the notifier's error with context", err)
	}
	h.rec.err = nil
	h.rec.take()
	h.pollNone() // not re-sent every poll
}

func TestCancelledPollReportsNothing(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "nct6775", map[string]string{"fan1_input": "1200", "fan1_fault": "1"})
	h := newHarness(t, f, StyleEnv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.s.Poll(ctx, h.rec); !errors.Is(err, context.Canceled) {
		t.Errorf("poll: %v, want context.Canceled", err)
	}
	if got := h.rec.take(); len(got) != 0 {
		t.Errorf("cancelled poll sent %d notifications", len(got))
	}
}

func TestDescriptionFitsDisplayString(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "coretemp", map[string]string{"temp1_input": "99000", "temp1_crit": "95000", "temp1_label": strings.Repeat("é", 200)})
	h := newHarness(t, f, StyleEnv)
	e := h.pollOne()
	if len(e.desc) > 255 || !strings.HasSuffix(e.desc, "... - critical") || !strings.HasPrefix(e.desc, "coretemp temp1 éé") {
		t.Errorf("description of %d bytes %q, want at most 255 ending in the status", len(e.desc), e.desc)
	}
}
