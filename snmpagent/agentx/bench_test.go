package agentx

import (
	"strings"
	"testing"
	"time"
)

// hrSWInstalledTable (HOST-RESOURCES-MIB) is the native table the
// benchmark compares with: snmpd serves it itself, from the package
// database, and it holds thousands of objects on a Debian host.
const hrSWInstalledTable = ".1.3.6.1.2.1.25.6.3"

// BenchmarkBulkwalk runs snmpbulkwalk -Cr50 over a 10,000-object table
// served through this subagent and over a table snmpd serves itself,
// alternately in the same run, and reports both rates in varbinds per
// second (client start-up included in both) and their ratio.
//
// The subagent's rate is bounded by round trips, not by this package:
// net-snmp's master turns a GETBULK into one AgentX GetNext per
// repetition (agentx/master.c maps MODE_GETBULK to AGENTX_MSG_GETNEXT), so
// a walk of N objects is N request/response exchanges on the socket.
func BenchmarkBulkwalk(b *testing.B) {
	s := startSnmpd(b)
	tab := newTable(1112)
	tab.objs = tab.objs[:10000]
	runSubagent(b, s, tab)

	walk := func(oid string) (int, time.Duration) {
		start := time.Now()
		out, err := s.snmpCmd(b, "snmpbulkwalk", "-Cr50", "-c", "public", s.Addr(), oid)
		d := time.Since(start)
		if err != nil {
			b.Fatalf("snmpbulkwalk %s: %v\n%s", oid, err, out)
		}
		return strings.Count(out, "\n."), d // lines of continued Hex-STRINGs do not start with a dot
	}
	if n, _ := walk(hrSWInstalledTable); n < 100 {
		b.Skipf("snmpd serves only %d objects of hrSWInstalledTable here: too few to compare", n)
	}
	var subN, natN int
	var subD, natD time.Duration
	for b.Loop() {
		n, d := walk("." + vmwVmTable.String())
		if n+1 < len(tab.objs) { // the first line has no newline before it
			b.Fatalf("subagent walk returned %d objects, want %d", n+1, len(tab.objs))
		}
		subN, subD = subN+n+1, subD+d
		n, d = walk(hrSWInstalledTable)
		natN, natD = natN+n+1, natD+d
	}
	sub := float64(subN) / subD.Seconds()
	nat := float64(natN) / natD.Seconds()
	b.ReportMetric(sub, "subagent-varbinds/s")
	b.ReportMetric(nat, "native-varbinds/s")
	b.ReportMetric(sub/nat, "ratio")
	b.ReportMetric(float64(subN)/float64(b.N), "subagent-varbinds/walk")
	b.ReportMetric(float64(natN)/float64(b.N), "native-varbinds/walk")
}
