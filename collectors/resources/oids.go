package resources

import "hostagent/mibs"

// The objects sent as mteHotOID, each the HOST-RESOURCES-MIB or
// UCD-SNMP-MIB object a manager would poll for the same figure, with the
// instance net-snmp's snmpd gives it, so that a receiver can correlate the
// notification with what it already graphs. mteHotValue is "the value of
// the object at mteTriggerValueID" (DISMAN-EVENT-MIB), so each is chosen for
// a unit the collector can send exactly:
//
//   - hrProcessorLoad and dskPercent are percents, the rule's own figure;
//   - hrStorageUsed counts hrStorageAllocationUnits, which net-snmp sets to
//     1024 bytes for its memory and swap rows, the kB of /proc/meminfo.
//     UCD-SNMP-MIB has no percent of memory or swap to point at instead.
//     File systems use dskPercent rather than hrStorageUsed: there the
//     allocation unit is the file system's block size, so a count of blocks
//     in a notification would mean nothing until the receiver polled
//     hrStorageAllocationUnits, while dskPercent is the rule's own figure;
//   - laLoadInt is the load average × 100.
//
// Verified with snmptranslate -On against the MIB modules (oids_test.go).
var (
	hrProcessorLoad = mibs.MustOID("1.3.6.1.2.1.25.3.3.1.2")  // HOST-RESOURCES-MIB::hrProcessorLoad
	hrStorageUsed   = mibs.MustOID("1.3.6.1.2.1.25.2.3.1.6")  // HOST-RESOURCES-MIB::hrStorageUsed
	dskPercent      = mibs.MustOID("1.3.6.1.4.1.2021.9.1.9")  // UCD-SNMP-MIB::dskPercent
	laLoadInt       = mibs.MustOID("1.3.6.1.4.1.2021.10.1.5") // UCD-SNMP-MIB::laLoadInt
)

// Instances as net-snmp numbers them.
const (
	// firstProcessorIndex is hrDeviceIndex of the first processor: net-snmp
	// numbers devices (type << 16) + n, and processors are type 3, so
	// snmpwalk shows hrProcessorLoad.196608, .196609, ...
	firstProcessorIndex = 3 << 16
	// physicalMemoryIndex and swapSpaceIndex are net-snmp's fixed
	// hrStorageIndex rows "Physical memory" and "Swap space".
	physicalMemoryIndex = 1
	swapSpaceIndex      = 10
	// firstDiskIndex is the first dskIndex: snmpd numbers dskTable from 1
	// in the order it lists the disks (includeAllDisks: mount table order).
	firstDiskIndex = 1
	// oneMinuteLoadIndex is laIndex of the 1-minute load average.
	oneMinuteLoadIndex = 1
)

var (
	cpuOID    = hrProcessorLoad.Append(firstProcessorIndex)
	memoryOID = hrStorageUsed.Append(physicalMemoryIndex)
	swapOID   = hrStorageUsed.Append(swapSpaceIndex)
	loadOID   = laLoadInt.Append(oneMinuteLoadIndex)
)

// storageIndex gives each watched mount point a stable dskIndex: 1 for the
// first in the mounts file, then 2, ... A mount point keeps its number for
// the life of the process, even when unmounted, and a new mount takes the
// next unused number, so a receiver's history of dskPercent.N never
// silently switches to another file system. Numbers are not reused.
type storageIndex struct {
	next    uint32
	byMount map[string]uint32
}

func newStorageIndex() *storageIndex {
	return &storageIndex{next: firstDiskIndex, byMount: map[string]uint32{}}
}

// of returns the index of mountPoint, numbering it if it is new.
func (s *storageIndex) of(mountPoint string) uint32 {
	if n, ok := s.byMount[mountPoint]; ok {
		return n
	}
	n := s.next
	s.next++
	s.byMount[mountPoint] = n
	return n
}

func filesystemOID(index uint32) mibs.OID { return dskPercent.Append(index) }
