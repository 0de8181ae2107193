package resources

import (
	"testing"

	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
)

// TestHotOIDsNameTheirObjects checks each mteHotOID against the MIB
// modules: a wrong sub-identifier would send a receiver to another object,
// with another unit than mteHotValue's.
func TestHotOIDsNameTheirObjects(t *testing.T) {
	r := resolve.NewResolver([]string{peertest.MIBDir(t)})
	for _, tc := range []struct {
		oid  mibs.OID
		want string
	}{
		{cpuOID, "HOST-RESOURCES-MIB::hrProcessorLoad.196608"},
		{memoryOID, "HOST-RESOURCES-MIB::hrStorageUsed.1"},
		{swapOID, "HOST-RESOURCES-MIB::hrStorageUsed.10"},
		{filesystemOID(firstDiskIndex), "UCD-SNMP-MIB::dskPercent.1"},
		{loadOID, "UCD-SNMP-MIB::laLoadInt.1"},
	} {
		if got := r.Name(tc.oid); got != tc.want {
			t.Errorf("%s names %s, want %s", tc.oid, got, tc.want)
		}
	}
}
