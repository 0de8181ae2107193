package resources

import (
	"context"
	"log/slog"
	"testing"

	"hostagent/mibs"
	"hostagent/snmpagent/mibview"
)

// TestHostScalarsPublished: every Poll publishes VMWARE-RESOURCES-MIB's
// scalars from /proc: the CPUs /proc/stat lists, memory in kilobytes,
// vmwMemAvail = vmwMemSize - vmwMemCOS as the MIB computes it; a change
// of /proc shows at the next Poll.
func TestHostScalarsPublished(t *testing.T) {
	f := newProcFixture(t)
	view := mibview.New()
	r, err := New(Config{Enabled: true}, f.paths, slog.New(slog.DiscardHandler), WithPublisher(view))
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]uint64) {
		t.Helper()
		if err := r.Poll(context.Background(), &recorder{}); err != nil {
			t.Fatal(err)
		}
		for oid, w := range want {
			vb, ok := view.Get(mibs.MustOID(oid))
			if !ok || vb.Syntax != mibs.Gauge32 || vb.Uint != w {
				t.Errorf("%s: %s = %+v (%v), want Gauge32 %d", when, oid, vb, ok, w)
			}
		}
	}
	// The fixture: two CPUs, 1000 kB of which 500 available.
	check("at rest", map[string]uint64{"1.3.6.1.4.1.6876.3.1.1.0": 2, "1.3.6.1.4.1.6876.3.2.1.0": 1000, "1.3.6.1.4.1.6876.3.2.2.0": 500, "1.3.6.1.4.1.6876.3.2.3.0": 500})
	f.meminfo(4000, 3000, 0, 0)
	f.stat(cpuTicks{400, 3600}, cpuTicks{100, 900}, cpuTicks{100, 900}, cpuTicks{100, 900}, cpuTicks{100, 900})
	check("after a change", map[string]uint64{"1.3.6.1.4.1.6876.3.1.1.0": 4, "1.3.6.1.4.1.6876.3.2.1.0": 4000, "1.3.6.1.4.1.6876.3.2.2.0": 1000, "1.3.6.1.4.1.6876.3.2.3.0": 3000})
}
