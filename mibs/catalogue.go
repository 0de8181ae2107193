package mibs

import (
	"fmt"
	"strings"
)

// Syntax is the SMI base type of a varbind value, which decides its BER tag.
type Syntax uint8

const (
	Integer          Syntax = iota + 1 // INTEGER, Integer32 and enumerations
	OctetString                        // OCTET STRING, DisplayString, DateAndTime
	ObjectIdentifier                   // OBJECT IDENTIFIER
	IPAddress                          // IpAddress (4 octets)
	Counter32                          // Counter32
	Gauge32                            // Gauge32, Unsigned32
	TimeTicks                          // TimeTicks (centiseconds)
	Counter64                          // Counter64 (not allowed in SNMPv1, RFC 3584)
)

var syntaxNames = [...]string{"", "INTEGER", "OCTET STRING", "OBJECT IDENTIFIER", "IpAddress", "Counter32", "Gauge32", "TimeTicks", "Counter64"}

func (s Syntax) String() string {
	if int(s) < len(syntaxNames) && s != 0 {
		return syntaxNames[s]
	}
	return fmt.Sprintf("Syntax(%d)", uint8(s))
}

// Object is one varbind of a notification: a scalar (sent with instance .0)
// or a table column (its instance is given by the producer).
type Object struct {
	Module   string
	Name     string
	OID      OID
	Syntax   Syntax
	Columnar bool
}

// NotificationType is a NOTIFICATION-TYPE (or SNMPv1 TRAP-TYPE translated per
// RFC 3584) with its OBJECTS clause in order.
type NotificationType struct {
	Module  string
	Name    string
	OID     OID
	Objects []Object
}

// QualifiedName is the name as net-snmp prints it: MODULE::name.
func (t *NotificationType) QualifiedName() string { return t.Module + "::" + t.Name }

// VmwESX is ESXi's sysObjectID (VMWARE-PRODUCTS-MIB), the agent's default:
// the enterprise of its SNMPv1 generic traps.
var VmwESX = Object{"VMWARE-PRODUCTS-MIB", "vmwESX", MustOID("1.3.6.1.4.1.6876.4.1"), ObjectIdentifier, false}

// Objects shared by several notifications.
var (
	SysUpTime   = Object{"SNMPv2-MIB", "sysUpTime", MustOID("1.3.6.1.2.1.1.3"), TimeTicks, false}
	SnmpTrapOID = Object{"SNMPv2-MIB", "snmpTrapOID", MustOID("1.3.6.1.6.3.1.1.4.1"), ObjectIdentifier, false}

	IfIndex       = Object{"IF-MIB", "ifIndex", MustOID("1.3.6.1.2.1.2.2.1.1"), Integer, true}
	IfAdminStatus = Object{"IF-MIB", "ifAdminStatus", MustOID("1.3.6.1.2.1.2.2.1.7"), Integer, true}
	IfOperStatus  = Object{"IF-MIB", "ifOperStatus", MustOID("1.3.6.1.2.1.2.2.1.8"), Integer, true}

	MteHotTrigger     = Object{"DISMAN-EVENT-MIB", "mteHotTrigger", MustOID("1.3.6.1.2.1.88.2.1.1"), OctetString, false}
	MteHotTargetName  = Object{"DISMAN-EVENT-MIB", "mteHotTargetName", MustOID("1.3.6.1.2.1.88.2.1.2"), OctetString, false}
	MteHotContextName = Object{"DISMAN-EVENT-MIB", "mteHotContextName", MustOID("1.3.6.1.2.1.88.2.1.3"), OctetString, false}
	MteHotOID         = Object{"DISMAN-EVENT-MIB", "mteHotOID", MustOID("1.3.6.1.2.1.88.2.1.4"), ObjectIdentifier, false}
	MteHotValue       = Object{"DISMAN-EVENT-MIB", "mteHotValue", MustOID("1.3.6.1.2.1.88.2.1.5"), Integer, false}

	VmwVmID             = Object{"VMWARE-VMINFO-MIB", "vmwVmID", MustOID("1.3.6.1.4.1.6876.50.101"), Integer, false}
	VmwVmConfigFilePath = Object{"VMWARE-VMINFO-MIB", "vmwVmConfigFilePath", MustOID("1.3.6.1.4.1.6876.50.102"), OctetString, false}
	VmwVmDisplayName    = Object{"VMWARE-VMINFO-MIB", "vmwVmDisplayName", MustOID("1.3.6.1.4.1.6876.2.1.1.2"), OctetString, true}

	VmwSubsystemType      = Object{"VMWARE-ENV-MIB", "vmwSubsystemType", MustOID("1.3.6.1.4.1.6876.4.20.3.1.2"), Integer, true}
	VmwHardwareStatus     = Object{"VMWARE-ENV-MIB", "vmwHardwareStatus", MustOID("1.3.6.1.4.1.6876.4.20.3.1.3"), Integer, true}
	VmwEventDescription   = Object{"VMWARE-ENV-MIB", "vmwEventDescription", MustOID("1.3.6.1.4.1.6876.4.20.3.1.4"), OctetString, true}
	VmwEnvHardwareTime    = Object{"VMWARE-ENV-MIB", "vmwEnvHardwareTime", MustOID("1.3.6.1.4.1.6876.4.20.3.1.5"), OctetString, true}
	VmwEnvSelSensorNumber = Object{"VMWARE-ENV-MIB", "vmwEnvSelSensorNumber", MustOID("1.3.6.1.4.1.6876.4.20.3.1.7"), Integer, true}
)

func notification(module, name, oid string, objects ...Object) *NotificationType {
	return &NotificationType{Module: module, Name: name, OID: MustOID(oid), Objects: objects}
}

func ipmiSel(name, oid string) *NotificationType {
	return notification("VMWARE-ENV-MIB", name, oid, VmwEnvSelSensorNumber, VmwEnvHardwareTime, VmwEventDescription)
}

// The notifications hostagent sends.
var (
	ColdStart         = notification("SNMPv2-MIB", "coldStart", "1.3.6.1.6.3.1.1.5.1")
	WarmStart         = notification("SNMPv2-MIB", "warmStart", "1.3.6.1.6.3.1.1.5.2")
	LinkDown          = notification("IF-MIB", "linkDown", "1.3.6.1.6.3.1.1.5.3", IfIndex, IfAdminStatus, IfOperStatus)
	LinkUp            = notification("IF-MIB", "linkUp", "1.3.6.1.6.3.1.1.5.4", IfIndex, IfAdminStatus, IfOperStatus)
	MteTriggerRising  = notification("DISMAN-EVENT-MIB", "mteTriggerRising", "1.3.6.1.2.1.88.2.0.2", MteHotTrigger, MteHotTargetName, MteHotContextName, MteHotOID, MteHotValue)
	MteTriggerFalling = notification("DISMAN-EVENT-MIB", "mteTriggerFalling", "1.3.6.1.2.1.88.2.0.3", MteHotTrigger, MteHotTargetName, MteHotContextName, MteHotOID, MteHotValue)

	VmwVmPoweredOn  = notification("VMWARE-VMINFO-MIB", "vmwVmPoweredOn", "1.3.6.1.4.1.6876.4.1.0.1", VmwVmID, VmwVmConfigFilePath, VmwVmDisplayName)
	VmwVmPoweredOff = notification("VMWARE-VMINFO-MIB", "vmwVmPoweredOff", "1.3.6.1.4.1.6876.4.1.0.2", VmwVmID, VmwVmConfigFilePath, VmwVmDisplayName)
	VmwVmHBLost     = notification("VMWARE-VMINFO-MIB", "vmwVmHBLost", "1.3.6.1.4.1.6876.4.1.0.3", VmwVmID, VmwVmConfigFilePath, VmwVmDisplayName)
	VmwVmHBDetected = notification("VMWARE-VMINFO-MIB", "vmwVmHBDetected", "1.3.6.1.4.1.6876.4.1.0.4", VmwVmID, VmwVmConfigFilePath, VmwVmDisplayName)
	VmwVmSuspended  = notification("VMWARE-VMINFO-MIB", "vmwVmSuspended", "1.3.6.1.4.1.6876.4.1.0.5", VmwVmID, VmwVmConfigFilePath, VmwVmDisplayName)

	// VmwESXEnvHardwareEvent is the classic hardware notification; VMWARE-ENV-MIB
	// marks it deprecated in favour of the IPMI SEL pairs below, but older
	// receivers only know this one, so both are offered.
	VmwESXEnvHardwareEvent = notification("VMWARE-ENV-MIB", "vmwESXEnvHardwareEvent", "1.3.6.1.4.1.6876.4.1.0.301", VmwSubsystemType, VmwHardwareStatus, VmwEventDescription, VmwEnvHardwareTime)

	VmwEnvIpmiSelMemoryRaised       = ipmiSel("vmwEnvIpmiSelMemoryRaised", "1.3.6.1.4.1.6876.4.1.0.400")
	VmwEnvIpmiSelMemoryCleared      = ipmiSel("vmwEnvIpmiSelMemoryCleared", "1.3.6.1.4.1.6876.4.1.0.401")
	VmwEnvIpmiSelPowerSupplyRaised  = ipmiSel("vmwEnvIpmiSelPowerSupplyRaised", "1.3.6.1.4.1.6876.4.1.0.410")
	VmwEnvIpmiSelPowerSupplyCleared = ipmiSel("vmwEnvIpmiSelPowerSupplyCleared", "1.3.6.1.4.1.6876.4.1.0.411")
	VmwEnvIpmiSelFanRaised          = ipmiSel("vmwEnvIpmiSelFanRaised", "1.3.6.1.4.1.6876.4.1.0.420")
	VmwEnvIpmiSelFanCleared         = ipmiSel("vmwEnvIpmiSelFanCleared", "1.3.6.1.4.1.6876.4.1.0.421")
	VmwEnvIpmiSelCpuRaised          = ipmiSel("vmwEnvIpmiSelCpuRaised", "1.3.6.1.4.1.6876.4.1.0.430")
	VmwEnvIpmiSelCpuCleared         = ipmiSel("vmwEnvIpmiSelCpuCleared", "1.3.6.1.4.1.6876.4.1.0.431")
)

// Catalogue lists every notification type the agent can send.
var Catalogue = []*NotificationType{
	ColdStart, WarmStart, LinkDown, LinkUp, MteTriggerRising, MteTriggerFalling,
	VmwVmPoweredOn, VmwVmPoweredOff, VmwVmHBLost, VmwVmHBDetected, VmwVmSuspended,
	VmwESXEnvHardwareEvent,
	VmwEnvIpmiSelMemoryRaised, VmwEnvIpmiSelMemoryCleared,
	VmwEnvIpmiSelPowerSupplyRaised, VmwEnvIpmiSelPowerSupplyCleared,
	VmwEnvIpmiSelFanRaised, VmwEnvIpmiSelFanCleared,
	VmwEnvIpmiSelCpuRaised, VmwEnvIpmiSelCpuCleared,
}

// Lookup finds a catalogue entry by name ("warmStart") or qualified name
// ("SNMPv2-MIB::warmStart").
func Lookup(name string) (*NotificationType, bool) {
	module, short, qualified := strings.Cut(name, "::")
	if !qualified {
		short, module = name, ""
	}
	for _, t := range Catalogue {
		if t.Name == short && (module == "" || module == t.Module) {
			return t, true
		}
	}
	return nil, false
}

// LookupOID finds a catalogue entry by its notification OID.
func LookupOID(oid OID) (*NotificationType, bool) {
	for _, t := range Catalogue {
		if t.OID.Equal(oid) {
			return t, true
		}
	}
	return nil, false
}
