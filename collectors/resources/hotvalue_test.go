package resources

import (
	"math"
	"testing"
)

// TestHotValueIsInTheUnitsOfHotOID: DISMAN-EVENT-MIB defines mteHotValue as
// "the value of the object at mteTriggerValueID", which mteHotOID names. A
// receiver that compares the two, or graphs mteHotValue beside what it polls
// at mteHotOID, must find the same unit: kB used for hrStorageUsed of memory
// and swap (net-snmp's hrStorageAllocationUnits 1024 for those rows), load ×
// 100 for laLoadInt, a percent for dskPercent and hrProcessorLoad. The
// thresholds stay percents of the rule (load: per core).
func TestHotValueIsInTheUnitsOfHotOID(t *testing.T) {
	f := newProcFixture(t)
	f.meminfo(16_000_000, 800_000, 4_000_000, 1_000_000) // memory 95% used, swap 75%
	f.loadavg(5)                                         // 2 CPUs: 250% per core
	fs := fixtureStatfs()                                // / at 95%
	cfg := Config{Enabled: true, Rules: []Rule{
		{Name: "mem", Resource: Memory, Rising: 90, Falling: 80},
		{Name: "swap", Resource: Swap, Rising: 50, Falling: 25},
		{Name: "load", Resource: Load, Rising: 200, Falling: 150},
		{Name: "root", Resource: Filesystem, Mount: "/", Rising: 90, Falling: 80},
	}}
	r, clock := newTestResources(t, cfg, f, fs)
	out := &recorder{}
	expectSent(t, "rising", poll(t, r, out),
		sent{rise, "mem", "1.3.6.1.2.1.25.2.3.1.6.1", 15_200_000},  // HOST-RESOURCES-MIB::hrStorageUsed.1, kB
		sent{rise, "swap", "1.3.6.1.2.1.25.2.3.1.6.10", 3_000_000}, // hrStorageUsed.10, kB
		sent{rise, "load", "1.3.6.1.4.1.2021.10.1.5.1", 500},       // UCD-SNMP-MIB::laLoadInt.1 = load 5.00 × 100
		sent{rise, "root", "1.3.6.1.4.1.2021.9.1.9.1", 95})         // UCD-SNMP-MIB::dskPercent.1

	// Back down: the falling edge carries the same units.
	f.meminfo(16_000_000, 4_000_000, 4_000_000, 3_200_000) // 75%, 20%
	f.loadavg(2.29)                                        // 114.5% per core; 2.29 × 100 is 228.99999... in floating point
	fs.set("/host", usedFS(70))
	clock.advance(DefaultInterval)
	expectSent(t, "falling", poll(t, r, out),
		sent{fall, "mem", "1.3.6.1.2.1.25.2.3.1.6.1", 12_000_000},
		sent{fall, "swap", "1.3.6.1.2.1.25.2.3.1.6.10", 800_000},
		sent{fall, "load", "1.3.6.1.4.1.2021.10.1.5.1", 229},
		sent{fall, "root", "1.3.6.1.4.1.2021.9.1.9.1", 70})
}

// TestHotValueSaturatesAtInteger32: hrStorageUsed and mteHotValue are
// Integer32; a host with more than 2 TiB of RAM in use sends the largest
// value rather than a wrapped, negative one.
func TestHotValueSaturatesAtInteger32(t *testing.T) {
	f := newProcFixture(t)
	f.meminfo(3<<31, 1<<20, 0, 0) // 6 TiB, nearly all used
	cfg := Config{Enabled: true, Rules: []Rule{{Name: "mem", Resource: Memory, Rising: 90, Falling: 80}}}
	r, _ := newTestResources(t, cfg, f, fixtureStatfs())
	out := &recorder{}
	expectSent(t, "rising", poll(t, r, out), sent{rise, "mem", "1.3.6.1.2.1.25.2.3.1.6.1", math.MaxInt32})
}
