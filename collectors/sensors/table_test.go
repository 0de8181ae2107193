package sensors

import (
	"testing"

	"hostagent/mibs"
	"hostagent/snmpagent/mibview"
)

func envCol(col, index uint32) mibs.OID {
	return mibs.MustOID("1.3.6.1.4.1.6876.4.20.3.1").Append(col, index)
}

// TestEnvTableFollowsEvents: a sensor crossing a threshold gets a
// vmwEnvTable row at the index its notification carries, with its status,
// subsystem, description, time and sensor number; its next event moves
// the row to that event's index; sensors that never left normal have no
// row; vmwEnvNumber counts the rows and vmwEnvSource says sensors(2).
func TestEnvTableFollowsEvents(t *testing.T) {
	f := newFixture(t)
	f.chip("hwmon0", "coretemp", map[string]string{"temp1_input": "40000", "temp1_crit": "95000", "temp2_input": "40000"})
	h := newHarness(t, f, StyleEnv)
	view := mibview.New()
	h.s.WithPublisher(view)
	h.pollNone()
	get := func(oid mibs.OID) (mibs.VarBind, bool) { return view.Get(oid) }
	if n, _ := get(mibs.MustOID("1.3.6.1.4.1.6876.4.20.1.0")); n.Int != 0 {
		t.Errorf("vmwEnvNumber at rest %d, want 0", n.Int)
	}
	if src, _ := get(mibs.MustOID("1.3.6.1.4.1.6876.4.20.100.0")); src.Int != 2 {
		t.Errorf("vmwEnvSource %d, want sensors(2)", src.Int)
	}

	f.hwmon("hwmon0", "temp1_input", "99000")
	ev := h.pollOne()
	row := func(col uint32) mibs.VarBind {
		vb, ok := get(envCol(col, ev.index))
		if !ok {
			t.Fatalf("no vmwEnvTable column %d at index %d", col, ev.index)
		}
		return vb
	}
	if row(3).Int != int64(statusCritical) || row(2).Int != ev.subsystem || string(row(4).Bytes) != ev.desc ||
		string(row(5).Bytes) != string(ev.time) || row(7).Int != ev.number || row(6).Int != 0 {
		t.Errorf("row %d: status %d subsystem %d desc %q number %d; the notification: %+v", ev.index, row(3).Int, row(2).Int, row(4).Bytes, row(7).Int, ev)
	}
	if n, _ := get(mibs.MustOID("1.3.6.1.4.1.6876.4.20.1.0")); n.Int != 1 {
		t.Errorf("vmwEnvNumber %d, want 1", n.Int)
	}
	first := ev.index

	f.hwmon("hwmon0", "temp1_input", "40000")
	ev = h.pollOne()
	if row(3).Int != int64(statusNormal) {
		t.Errorf("back to normal: row status %d", row(3).Int)
	}
	if _, ok := get(envCol(3, first)); ok || first == ev.index {
		t.Errorf("the row stayed at the old index %d too (new %d)", first, ev.index)
	}
	if n, _ := get(mibs.MustOID("1.3.6.1.4.1.6876.4.20.1.0")); n.Int != 1 {
		t.Errorf("vmwEnvNumber %d, want 1 (one sensor has reported)", n.Int)
	}
}
