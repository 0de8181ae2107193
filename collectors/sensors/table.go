package sensors

import (
	"cmp"
	"slices"
	"time"

	"hostagent/collectors"
	"hostagent/mibs"
)

// Section is the collector's part of what polls read: VMWARE-ENV-MIB's
// vmwEnvNumber, vmwEnvLastChange, vmwEnvTable and vmwEnvSource.
const Section = "sensors"

// VMWARE-ENV-MIB (vmwEnv 1.3.6.1.4.1.6876.4.20).
var (
	vmwEnvNumber     = mibs.MustOID("1.3.6.1.4.1.6876.4.20.1.0")
	vmwEnvLastChange = mibs.MustOID("1.3.6.1.4.1.6876.4.20.2.0")
	vmwEnvEntry      = mibs.MustOID("1.3.6.1.4.1.6876.4.20.3.1")
	vmwEnvSource     = mibs.MustOID("1.3.6.1.4.1.6876.4.20.100.0")
)

// vmwEnvSource's value: the host agent's own sensors (not CIM or the BMC's SEL).
const sourceSensors = 2

// WithPublisher makes every Poll publish vmwEnvTable to p.
func (s *Sensors) WithPublisher(p collectors.Publisher) *Sensors {
	s.publisher = p
	return s
}

// publish gives one row per sensor that has reported an event, as the
// MIB has it (a table of the BMC's events, "one conceptual row for each
// reporting component"): at the index of its last event, the one its
// notification carried, with its status now and that event's description
// and time. A sensor that never left normal has no event and no row.
// Removed sensors stay, unknown, as they are tracked. Called with s.mu held.
func (s *Sensors) publish() {
	if s.publisher == collectors.Discard {
		return
	}
	rows := make([]*tracked, 0, len(s.tracked))
	for _, tr := range s.tracked {
		if tr.row != 0 {
			rows = append(rows, tr)
		}
	}
	slices.SortFunc(rows, func(a, b *tracked) int { return cmp.Compare(a.row, b.row) })
	out := []mibs.VarBind{
		{OID: vmwEnvNumber, Syntax: mibs.Integer, Int: int64(len(rows))},
		{OID: vmwEnvLastChange, Syntax: mibs.TimeTicks, Uint: ticksSince(s.started, s.rowsChange)},
		{OID: vmwEnvSource, Syntax: mibs.Integer, Int: sourceSensors},
	}
	for _, tr := range rows {
		col := func(c uint32) mibs.OID { return vmwEnvEntry.Append(c, tr.row) }
		out = append(out,
			mibs.VarBind{OID: col(2), Syntax: mibs.Integer, Int: int64(tr.subsystem)},
			mibs.VarBind{OID: col(3), Syntax: mibs.Integer, Int: int64(tr.status)},
			mibs.VarBind{OID: col(4), Syntax: mibs.OctetString, Bytes: []byte(tr.desc)},
			mibs.VarBind{OID: col(5), Syntax: mibs.OctetString, Bytes: mibs.DateAndTime(tr.when)},
			mibs.VarBind{OID: col(6), Syntax: mibs.Integer, Int: 0}, // no hrDeviceTable row of ours
			mibs.VarBind{OID: col(7), Syntax: mibs.Integer, Int: tr.number},
		)
	}
	s.publisher.Publish(Section, out)
}

// ticksSince is TimeTicks (centiseconds) from start to t, 0 before start.
func ticksSince(start, t time.Time) uint64 {
	if t.Before(start) {
		return 0
	}
	return uint64(t.Sub(start) / (10 * time.Millisecond))
}
