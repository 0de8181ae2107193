package mibview

import "hostagent/mibs"

// SystemSection is the product's part of what polls read:
// VMWARE-SYSTEM-MIB's identity of this product (hostagent's own name,
// version and build, not VMware's).
const SystemSection = "system"

// VMWARE-SYSTEM-MIB (vmwSystem 1.3.6.1.4.1.6876.1).
var (
	vmwProdName    = mibs.MustOID("1.3.6.1.4.1.6876.1.1.0")
	vmwProdVersion = mibs.MustOID("1.3.6.1.4.1.6876.1.2.0")
	vmwProdBuild   = mibs.MustOID("1.3.6.1.4.1.6876.1.4.0")
)

// SystemObjects are VMWARE-SYSTEM-MIB's scalars for a product.
func SystemObjects(name, version, build string) []mibs.VarBind {
	str := func(oid mibs.OID, s string) mibs.VarBind {
		return mibs.VarBind{OID: oid, Syntax: mibs.OctetString, Bytes: []byte(s)}
	}
	return []mibs.VarBind{str(vmwProdName, name), str(vmwProdVersion, version), str(vmwProdBuild, build)}
}
