package agentx

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"hostagent/mibs"
)

// vmwVmTable is where the test table lives: VMware's enterprise subtree,
// as hostagent serves it.
var vmwVmTable = mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2, 1}

// table is a sorted list of objects served by binary search: the test's
// Handler.
type table struct {
	mu   sync.Mutex
	objs []mibs.VarBind
}

func (t *table) find(oid mibs.OID) int {
	return sort.Search(len(t.objs), func(i int) bool { return compareOID(t.objs[i].OID, oid) >= 0 })
}

func (t *table) Get(oid mibs.OID) (mibs.VarBind, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.find(oid)
	if i < len(t.objs) && t.objs[i].OID.Equal(oid) {
		return t.objs[i], true
	}
	return mibs.VarBind{}, false
}

func (t *table) Next(from mibs.OID, include bool, end mibs.OID) (mibs.VarBind, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.find(from)
	if i < len(t.objs) && !include && t.objs[i].OID.Equal(from) {
		i++
	}
	if i >= len(t.objs) || (len(end) > 0 && compareOID(t.objs[i].OID, end) >= 0) {
		return mibs.VarBind{}, false
	}
	return t.objs[i], true
}

// columns is how many columns newTable makes, one per value syntax (and a
// negative INTEGER).
const columns = 9

// newTable makes a vmwVmTable-like table of rows rows (row indexes 1..rows,
// column-major order as SNMP sorts it), with a value of every syntax.
func newTable(rows int) *table {
	t := &table{}
	entry := vmwVmTable.Append(1)
	for col := uint32(1); col <= columns; col++ {
		for r := 1; r <= rows; r++ {
			oid := entry.Append(col, uint32(r))
			vb := mibs.VarBind{OID: oid}
			switch col {
			case 1:
				vb.Syntax, vb.Int = mibs.Integer, int64(r)
			case 2:
				// Spaces, quotes and bytes that are not ASCII (UTF-8 and not).
				vb.Syntax, vb.Bytes = mibs.OctetString, []byte(fmt.Sprintf("vm %d \"ünïcode\" \xff\x00end", r))
			case 3:
				vb.Syntax, vb.Object = mibs.ObjectIdentifier, mibs.OID{1, 3, 6, 1, 4, 1, 6876, 4, 1, uint32(r)}
			case 4:
				vb.Syntax, vb.Bytes = mibs.IPAddress, []byte{10, byte(r >> 16), byte(r >> 8), byte(r)}
			case 5:
				vb.Syntax, vb.Uint = mibs.Counter32, uint64(4294967295-r)
			case 6:
				vb.Syntax, vb.Uint = mibs.Gauge32, uint64(r*1024)
			case 7:
				vb.Syntax, vb.Uint = mibs.TimeTicks, uint64(r*100)
			case 8:
				vb.Syntax, vb.Uint = mibs.Counter64, 1<<63+uint64(r)
			case 9:
				vb.Syntax, vb.Int = mibs.Integer, -int64(r)*1000
			}
			t.objs = append(t.objs, vb)
		}
	}
	if !slices.IsSortedFunc(t.objs, func(a, b mibs.VarBind) int { return compareOID(a.OID, b.OID) }) {
		panic("test table not sorted")
	}
	return t
}

// netsnmpText is how the net-snmp clients print vb with -On -Ox:
// ".OID = TYPE: VALUE", strings as hex.
func netsnmpText(vb mibs.VarBind) string {
	var v string
	switch vb.Syntax {
	case mibs.Integer:
		v = fmt.Sprintf("INTEGER: %d", vb.Int)
	case mibs.OctetString:
		if len(vb.Bytes) == 0 {
			v = `""`
		} else {
			v = "Hex-STRING: " + strings.ToUpper(spaced(hex.EncodeToString(vb.Bytes)))
		}
	case mibs.ObjectIdentifier:
		v = "OID: ." + vb.Object.String()
	case mibs.IPAddress:
		v = fmt.Sprintf("IpAddress: %d.%d.%d.%d", vb.Bytes[0], vb.Bytes[1], vb.Bytes[2], vb.Bytes[3])
	case mibs.Counter32:
		v = fmt.Sprintf("Counter32: %d", vb.Uint)
	case mibs.Gauge32:
		v = fmt.Sprintf("Gauge32: %d", vb.Uint)
	case mibs.TimeTicks:
		cs := vb.Uint // centiseconds; the test's values stay below a day
		v = fmt.Sprintf("Timeticks: (%d) %d:%02d:%02d.%02d", cs, cs/360000, cs/6000%60, cs/100%60, cs%100)
	case mibs.Counter64:
		v = fmt.Sprintf("Counter64: %d", vb.Uint)
	}
	return "." + vb.OID.String() + " = " + v
}

func spaced(h string) string {
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// parseOutput splits a client's output into one normalized line per
// varbind: a Hex-STRING printed over several lines is joined, runs of
// blanks collapse to one.
func parseOutput(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, ".") || len(lines) == 0 {
			lines = append(lines, l)
			continue
		}
		lines[len(lines)-1] += " " + l
	}
	return lines
}
