package sensors

import (
	"slices"
	"testing"

	"hostagent/collectors"
)

// TestSensorsSnapshot: Sensors lists every sensor of the last poll with
// its subsystem, status and reading, normal ones included; a removed one
// stays, unknown.
func TestSensorsSnapshot(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "coretemp", map[string]string{"temp1_input": "45000", "temp1_max": "80000", "temp1_label": "Package id 0"})
	f.chip("hwmon1", "nct6775", map[string]string{"fan1_input": "1200", "fan1_min": "300"})
	f.supply("PSU1", map[string]string{"type": "Mains", "online": "1", "health": "Good"})
	h := newHarness(t, f, StyleEnv)
	if got := h.s.Sensors(); got != nil {
		t.Errorf("before a poll: %+v", got)
	}
	h.pollNone()
	want := []collectors.Sensor{
		{Name: "coretemp temp1 Package id 0", Subsystem: "temperatureSensor", Status: "normal", Reading: "45.0 C"},
		{Name: "nct6775 fan1", Subsystem: "fan", Status: "normal", Reading: "1200 RPM"},
		{Name: "power supply PSU1 (Mains)", Subsystem: "powerSupply", Status: "normal", Reading: "online, health Good"},
	}
	if got := h.s.Sensors(); !slices.Equal(got, want) {
		t.Errorf("sensors:\n got %+v\nwant %+v", got, want)
	}
	f.hwmon("hwmon0", "temp1_input", "81000")
	f.remove("class/hwmon/hwmon1")
	h.poll()
	want[0].Status, want[0].Reading = "marginal", "81.0 C"
	want[1].Status, want[1].Reading = "unknown", "removed"
	if got := h.s.Sensors(); !slices.Equal(got, want) {
		t.Errorf("after a change:\n got %+v\nwant %+v", got, want)
	}
}
