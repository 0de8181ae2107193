package resolve_test

import (
	"testing"

	"github.com/sleepinggenius2/gosmi"
	"github.com/sleepinggenius2/gosmi/types"

	"hostagent/internal/peertest"
	"hostagent/mibs"
	"hostagent/mibs/resolve"
)

// syntaxOf maps what gosmi reports for an object to the catalogue's syntax:
// the SMI type's name for the application types, else its base type.
func syntaxOf(node gosmi.SmiNode) mibs.Syntax {
	if node.Type == nil {
		return 0
	}
	switch node.SmiType.Name {
	case "Counter32", "Counter":
		return mibs.Counter32
	case "Gauge32", "Gauge", "Unsigned32":
		return mibs.Gauge32
	case "TimeTicks":
		return mibs.TimeTicks
	case "Counter64":
		return mibs.Counter64
	case "IpAddress":
		return mibs.IPAddress
	}
	switch node.Type.BaseType {
	case types.BaseTypeInteger32, types.BaseTypeEnum:
		return mibs.Integer
	case types.BaseTypeOctetString, types.BaseTypeBits:
		return mibs.OctetString
	case types.BaseTypeObjectIdentifier:
		return mibs.ObjectIdentifier
	case types.BaseTypeUnsigned32:
		return mibs.Gauge32
	case types.BaseTypeUnsigned64:
		return mibs.Counter64
	}
	return 0
}

// TestCatalogueMatchesMIBFiles checks every notification of the catalogue
// against the MIB modules written by the IETF and VMware: its OID, and its
// OBJECTS clause in order, with each object's OID, syntax and kind.
func TestCatalogueMatchesMIBFiles(t *testing.T) {
	dir := peertest.MIBDir(t)
	r := resolve.NewResolver([]string{dir})
	if r.Modules() < 10 {
		t.Fatalf("only %d MIB modules loaded from %s", r.Modules(), dir)
	}
	for _, n := range mibs.Catalogue {
		t.Run(n.Name, func(t *testing.T) {
			// Straight from gosmi: the resolver would answer from the catalogue.
			mod, err := gosmi.GetModule(n.Module)
			if err != nil {
				t.Fatal(err)
			}
			node, err := mod.GetNode(n.Name)
			if err != nil {
				t.Fatal(err)
			}
			if oid := toOID(node); !oid.Equal(n.OID) {
				t.Errorf("OID %s, the MIB says %s", n.OID, oid)
			}
			if node.Kind != types.NodeNotification {
				t.Fatalf("%s is a %s, not a notification", n.Name, node.Kind)
			}
			objs := node.GetNotificationObjects()
			if len(objs) != len(n.Objects) {
				t.Fatalf("%d objects, the MIB lists %d", len(n.Objects), len(objs))
			}
			for i, o := range n.Objects {
				mo := objs[i]
				moOID := toOID(mo)
				if o.Name != mo.Name || o.Module != mo.GetModule().Name || !o.OID.Equal(moOID) {
					t.Errorf("object %d: %s::%s %s, the MIB says %s::%s %s", i, o.Module, o.Name, o.OID, mo.GetModule().Name, mo.Name, moOID)
				}
				if s := syntaxOf(mo); s != o.Syntax {
					t.Errorf("object %s: syntax %s, the MIB says %s (%v)", o.Name, o.Syntax, s, mo.Type)
				}
				if columnar := mo.Kind == types.NodeColumn; columnar != o.Columnar {
					t.Errorf("object %s: columnar %v, the MIB says kind %s", o.Name, o.Columnar, mo.Kind)
				}
			}
		})
	}
	for _, name := range []string{"SNMPv2-MIB::sysUpTime", "SNMPv2-MIB::snmpTrapOID", "VMWARE-PRODUCTS-MIB::vmwESX"} {
		want := map[string]string{"SNMPv2-MIB::sysUpTime": mibs.SysUpTime.OID.String(),
			"SNMPv2-MIB::snmpTrapOID": mibs.SnmpTrapOID.OID.String(), "VMWARE-PRODUCTS-MIB::vmwESX": "1.3.6.1.4.1.6876.4.1"}[name]
		if oid, err := r.OID(name); err != nil || oid.String() != want {
			t.Errorf("%s: %v %v, want %s", name, oid, err, want)
		}
	}
}

func toOID(n gosmi.SmiNode) mibs.OID {
	oid := make(mibs.OID, len(n.Oid))
	for i, v := range n.Oid {
		oid[i] = uint32(v)
	}
	return oid
}
