// Package trapwatch is a small notification receiver built into hostagentd
// for demonstrations (make run): it decodes what the agent sends and logs
// each notification with its MIB names, as a NOC receiver would show it.
// Production receivers are snmptrapd, LibreNMS, Zabbix and the like.
package trapwatch

import (
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/gosnmp/gosnmp"

	"hostagent/mibs"
)

// Namer renders OIDs with MIB names.
type Namer interface {
	Name(mibs.OID) string
}

// Watch receives on addr (UDP) until Close; informs are acknowledged.
type Watch struct {
	tl *gosnmp.TrapListener
}

// Start listens on addr and returns once the socket is open.
func Start(addr string, names Namer, log *slog.Logger) (*Watch, error) {
	tl := gosnmp.NewTrapListener()
	tl.Params = &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	tl.OnNewTrap = func(p *gosnmp.SnmpPacket, from *net.UDPAddr) {
		log.Info("received notification", describe(p, from, names)...)
	}
	errc := make(chan error, 1)
	go func() { errc <- tl.Listen(addr) }()
	select {
	case <-tl.Listening():
		return &Watch{tl: tl}, nil
	case err := <-errc:
		return nil, fmt.Errorf("demo receiver on %s: %w", addr, err)
	}
}

// Close stops receiving.
func (w *Watch) Close() { w.tl.Close() }

// describe turns a packet into log attributes: the PDU kind, community,
// notification name, uptime and each varbind as name=value.
func describe(p *gosnmp.SnmpPacket, from *net.UDPAddr, names Namer) []any {
	name := func(s string) string {
		oid, err := mibs.ParseOID(s)
		if err != nil {
			return s
		}
		return names.Name(oid)
	}
	attrs := []any{"from", from.String(), "community", p.Community}
	vbs := p.Variables
	switch p.PDUType {
	case gosnmp.Trap:
		t := p.SnmpTrap
		// The notification's SNMPv2 identity, per RFC 3584 section 3.1.
		trapOID := fmt.Sprintf("1.3.6.1.6.3.1.1.5.%d", t.GenericTrap+1)
		if t.GenericTrap == 6 {
			trapOID = fmt.Sprintf("%s.0.%d", strings.TrimPrefix(t.Enterprise, "."), t.SpecificTrap)
		}
		attrs = append(attrs, "pdu", "v1 trap", "notification", name(trapOID), "enterprise", name(t.Enterprise),
			"generic", t.GenericTrap, "specific", t.SpecificTrap, "agent_addr", t.AgentAddress, "uptime", t.Timestamp)
	default:
		kind := "v2c trap"
		if p.PDUType == gosnmp.InformRequest {
			kind = "v2c inform"
		}
		attrs = append(attrs, "pdu", kind)
		if len(vbs) >= 2 {
			attrs = append(attrs, "notification", name(fmt.Sprint(vbs[1].Value)), "uptime", vbs[0].Value)
			vbs = vbs[2:]
		}
	}
	var b strings.Builder
	for i, v := range vbs {
		if i > 0 {
			b.WriteString(" ")
		}
		val := v.Value
		switch x := v.Value.(type) {
		case []byte:
			val = string(x)
		case string:
			if v.Type == gosnmp.ObjectIdentifier {
				val = name(x)
			}
		}
		fmt.Fprintf(&b, "%s=%v", name(v.Name), val)
	}
	return append(attrs, "varbinds", b.String())
}
