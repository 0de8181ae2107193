package vms

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"slices"

	"github.com/digitalocean/go-libvirt"

	"hostagent/collectors"
	"hostagent/mibs"
)

// Section is the collector's part of what polls read: VMWARE-VMINFO-MIB's
// vmwVmTable and vmwVmNetTable.
const Section = "vms"

// The tables' columns (VMWARE-VMINFO-MIB). vmwVmIdx and vmwVmNetVmIdx,
// vmwVmNetIdx are the indexes (not-accessible); vmwVmVMID and
// vmwVmNetConnType are obsolete and not served.
var (
	vmwVmEntry      = mibs.MustOID("1.3.6.1.4.1.6876.2.1.1")
	vmwVmNetEntry   = mibs.MustOID("1.3.6.1.4.1.6876.2.4.1")
	colDisplayName  = uint32(2)
	colConfigFile   = uint32(3)
	colGuestOS      = uint32(4)
	colMemSize      = uint32(5)
	colState        = uint32(6)
	colGuestState   = uint32(8)
	colCpus         = uint32(9)
	colUUID         = uint32(10)
	colNetNum       = uint32(3)
	colNetName      = uint32(4)
	colNetConnected = uint32(6)
	colNetMAC       = uint32(7)
)

// details are what vmwVmTable shows of a domain beyond its power and
// heartbeat: read from libvirt when the domain is seen or changes, not
// kept on disk (libvirt has them).
type details struct {
	memMB   int64
	cpus    int64
	guestOS string
	nics    []nic
}

// nic is one row of vmwVmNetTable.
type nic struct {
	backing   string // the network or bridge it is connected to
	mac       []byte
	connected bool
}

// WithPublisher makes the collector publish its tables to p.
func (v *VMs) WithPublisher(p collectors.Publisher) *VMs {
	v.publisher = p
	return v
}

// readDetails asks libvirt for d's memory, vCPUs, guest OS and network
// adapters. A domain gone meanwhile keeps what was known of it.
func (v *VMs) readDetails(l *libvirt.Libvirt, d libvirt.Domain) {
	_, maxMem, _, vcpus, _, err := l.DomainGetInfo(d)
	if err != nil {
		return
	}
	det := details{memMB: min(int64(maxMem/1024), math.MaxInt32), cpus: int64(vcpus), guestOS: "E: guest OS unknown (no libosinfo metadata in the domain's XML)"}
	if desc, err := l.DomainGetXMLDesc(d, 0); err == nil {
		det.guestOS, det.nics = parseDomainXML(desc, det.guestOS)
	}
	v.details[uuidString(d.UUID)] = det
}

// domainXML is the part of libvirt's domain XML the tables show.
type domainXML struct {
	Metadata struct {
		Libosinfo struct {
			OS struct {
				ID string `xml:"id,attr"`
			} `xml:"os"`
		} `xml:"libosinfo"`
	} `xml:"metadata"`
	OS struct {
		Type string `xml:"type"`
	} `xml:"os"`
	Interfaces []struct {
		Type string `xml:"type,attr"`
		MAC  struct {
			Address string `xml:"address,attr"`
		} `xml:"mac"`
		Source struct {
			Network string `xml:"network,attr"`
			Bridge  string `xml:"bridge,attr"`
			Dev     string `xml:"dev,attr"`
		} `xml:"source"`
		Link struct {
			State string `xml:"state,attr"`
		} `xml:"link"`
	} `xml:"devices>interface"`
}

// parseDomainXML reads the guest OS (libosinfo's id, as virt-install and
// virt-manager record it) and the network adapters of a domain's XML.
func parseDomainXML(desc, unknownOS string) (guestOS string, nics []nic) {
	var x domainXML
	if err := xml.Unmarshal([]byte(desc), &x); err != nil {
		return "E: domain XML unreadable: " + err.Error(), nil
	}
	guestOS = unknownOS
	if id := x.Metadata.Libosinfo.OS.ID; id != "" {
		guestOS = id
	}
	for _, i := range x.Interfaces {
		n := nic{connected: i.Link.State != "down"}
		switch {
		case i.Source.Network != "":
			n.backing = i.Source.Network
		case i.Source.Bridge != "":
			n.backing = i.Source.Bridge
		case i.Source.Dev != "":
			n.backing = i.Source.Dev
		default:
			n.backing = "W: no backing (" + i.Type + ")"
		}
		if mac, err := net.ParseMAC(i.MAC.Address); err == nil {
			n.mac = mac
		}
		nics = append(nics, n)
	}
	return guestOS, nics
}

// vmState is vmwVmState's text (ESXi's words).
var vmState = map[power]string{powerOn: "powered on", powerOff: "powered off", powerSuspended: "suspended", powerUnknown: "unknown"}

// guestState is vmwVmGuestState's text: the guest agent connected means
// the guest runs normally.
func guestState(p power, hb heartbeat) string {
	switch {
	case p == powerOff:
		return "notRunning"
	case hb == heartbeatUp:
		return "running"
	case hb == heartbeatDown:
		return "notRunning"
	}
	return "unknown"
}

// vmStateWord is a power state as the management API names it (ESXi's
// VirtualMachinePowerState words).
var vmStateWord = map[power]string{powerOn: "poweredOn", powerOff: "poweredOff", powerSuspended: "suspended", powerUnknown: "unknown"}

// publish gives the tables as the registry and the details have them now,
// and the same VMs to the API's snapshot (collectors.VMReporter).
func (v *VMs) publish() {
	snap := make([]collectors.VM, 0, len(v.reg.byUUID))
	for _, rec := range v.reg.byUUID {
		snap = append(snap, collectors.VM{ID: rec.ID, Name: rec.Name, State: vmStateWord[rec.Power],
			ConfigPath: filepath.Join(v.cfg.ConfigDir, rec.Name+".xml")})
	}
	slices.SortFunc(snap, func(a, b collectors.VM) int { return cmp.Compare(a.ID, b.ID) })
	v.snapshot.Store(&snap)
	if v.publisher == nil {
		return
	}
	var out []mibs.VarBind
	str := func(oid mibs.OID, s string) {
		out = append(out, mibs.VarBind{OID: oid, Syntax: mibs.OctetString, Bytes: []byte(truncate(s))})
	}
	num := func(oid mibs.OID, n int64) {
		out = append(out, mibs.VarBind{OID: oid, Syntax: mibs.Integer, Int: n})
	}
	for _, rec := range v.reg.byUUID {
		if rec.ID > 65535 { // vmwVmIdx is 0..65535
			continue
		}
		id := uint32(rec.ID)
		det := v.details[rec.UUID]
		col := func(c uint32) mibs.OID { return vmwVmEntry.Append(c, id) }
		str(col(colDisplayName), rec.Name)
		str(col(colConfigFile), filepath.Join(v.cfg.ConfigDir, rec.Name+".xml"))
		str(col(colGuestOS), det.guestOS)
		num(col(colMemSize), det.memMB)
		str(col(colState), vmState[rec.Power])
		str(col(colGuestState), guestState(rec.Power, rec.Heartbeat))
		num(col(colCpus), det.cpus)
		str(col(colUUID), rec.UUID)
		for i, n := range det.nics {
			ncol := func(c uint32) mibs.OID { return vmwVmNetEntry.Append(c, id, uint32(i+1)) }
			str(ncol(colNetNum), fmt.Sprintf("Network adapter %d", i+1))
			str(ncol(colNetName), n.backing)
			connected := "false" // VmwConnectedState: an OCTET STRING, "true", "false" or "unknown"
			if n.connected && rec.Power == powerOn {
				connected = "true"
			}
			str(ncol(colNetConnected), connected)
			out = append(out, mibs.VarBind{OID: ncol(colNetMAC), Syntax: mibs.OctetString, Bytes: slices.Clone(n.mac)})
		}
	}
	v.publisher.Publish(Section, out)
}

// forgetDetails drops what is known of a domain no longer defined.
func (v *VMs) forgetDetails(uuid string) { delete(v.details, uuid) }

// VMs implements collectors.VMReporter: the VMs as last published.
func (v *VMs) VMs() []collectors.VM {
	if p := v.snapshot.Load(); p != nil {
		return *p
	}
	return nil
}
