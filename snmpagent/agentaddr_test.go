package snmpagent_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"hostagent/internal/peertest"
	"hostagent/mibs"
)

// TestV1AgentAddrPerTarget: with an IPv6 v1 target listed first, the
// agent-addr of every v1 trap used to come from the route to that target,
// which has no IPv4 address: 0.0.0.0. Each v1 target now gets the IPv4
// address this host uses to reach it; the IPv6 loopback one, 127.0.0.1.
// snmptrapd decodes the IPv4 receiver's traps; a loopback IPv6 socket,
// decoded with gosnmp, stands for the IPv6 receiver.
func TestV1AgentAddrPerTarget(t *testing.T) {
	peertest.RequireCommand(t, "snmptrapd", "snmptrapd")
	v6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer v6.Close()
	got6 := make(chan string, 10)
	go func() {
		buf := make([]byte, 65536)
		dec := &gosnmp.GoSNMP{Version: gosnmp.Version1, Logger: gosnmp.NewLogger(nil)}
		for {
			n, err := v6.Read(buf)
			if err != nil {
				return
			}
			if pkt, err := dec.SnmpDecodePacket(append([]byte(nil), buf[:n]...)); err == nil && pkt.PDUType == gosnmp.Trap {
				got6 <- pkt.SnmpTrap.AgentAddress
			}
		}
	}()
	trapd := peertest.StartSnmptrapd(t, peertest.SnmptrapdOptions{})
	a := startAgent(t, config(
		fmt.Sprintf("v1:[::1]@%d/public", v6.LocalAddr().(*net.UDPAddr).Port),
		fmt.Sprintf("v1:127.0.0.1@%d/public", trapd.Port()),
	))
	if err := a.Notify(context.Background(), mibs.WarmStart.MustNew()); err != nil {
		t.Fatal(err)
	}
	for i, tr := range trapd.WaitTraps(t, 2, 10*time.Second) { // coldStart, warmStart
		if tr.Version != "v1" || tr.Generic != i || tr.AgentAddr != "127.0.0.1" {
			t.Errorf("IPv4 receiver, trap %d: %s generic %d agent-addr %s; want v1 generic %d from 127.0.0.1", i, tr.Version, tr.Generic, tr.AgentAddr, i)
		}
	}
	for i := range 2 {
		select {
		case addr := <-got6:
			if addr != "127.0.0.1" {
				t.Errorf("IPv6 receiver, trap %d: agent-addr %s, want 127.0.0.1", i, addr)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("IPv6 receiver: %d traps, want 2", i)
		}
	}
}
