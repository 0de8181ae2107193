package resolve

import (
	"testing"

	"hostagent/mibs"
)

func TestCatalogueNamesWithoutMIBFiles(t *testing.T) {
	var r *Resolver // nil: the catalogue alone
	for oid, want := range map[string]string{
		"1.3.6.1.6.3.1.1.5.1":           "SNMPv2-MIB::coldStart",
		"1.3.6.1.2.1.1.3.0":             "SNMPv2-MIB::sysUpTime.0",
		"1.3.6.1.4.1.6876.2.1.1.2.12":   "VMWARE-VMINFO-MIB::vmwVmDisplayName.12",
		"1.3.6.1.4.1.6876.4.20.3.1.5.9": "VMWARE-ENV-MIB::vmwEnvHardwareTime.9",
		"1.3.6.1.4.1.99999.1":           "1.3.6.1.4.1.99999.1",
	} {
		if got := r.Name(mibs.MustOID(oid)); got != want {
			t.Errorf("Name(%s) = %q, want %q", oid, got, want)
		}
	}
	empty := NewResolver([]string{t.TempDir()})
	if got := empty.Name(mibs.MustOID("1.3.6.1.6.3.1.1.5.2")); got != "SNMPv2-MIB::warmStart" {
		t.Errorf("resolver without modules: %q", got)
	}
	if oid, err := empty.OID("mteTriggerFalling"); err != nil || oid.String() != "1.3.6.1.2.1.88.2.0.3" {
		t.Errorf("OID(mteTriggerFalling) = %v, %v", oid, err)
	}
	if _, err := empty.OID("IF-MIB::ifIndex"); err == nil {
		t.Error("a MIB name resolved without MIB files")
	}
}
