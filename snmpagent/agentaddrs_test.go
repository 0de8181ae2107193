package snmpagent

import (
	"net/netip"
	"testing"
)

// TestAgentAddrOfRemoteIPv6Target: a remote IPv6 v1 target gets the
// host's address towards the first remote IPv4 target, or that of the IPv4
// default route; never 127.0.0.1 from a local IPv4 receiver listed first.
func TestAgentAddrOfRemoteIPv6Target(t *testing.T) {
	v6 := netip.MustParseAddrPort("[2001:db8::5]:162")
	local := netip.MustParseAddrPort("127.0.0.1:162")
	a := newAgentAddrs([]netip.AddrPort{v6, local})
	got := netip.AddrFrom4(a.of(v6))
	if want := netip.AddrFrom4(localIPv4(defaultRouteProbe)); got != want {
		t.Errorf("agent-addr %s, want %s (the IPv4 default route's source)", got, want)
	}
	if got.IsLoopback() {
		t.Errorf("agent-addr %s for a remote target", got)
	}
	if got := netip.AddrFrom4(a.of(local)); got != local.Addr() {
		t.Errorf("agent-addr towards %s: %s", local, got)
	}

	// With a remote IPv4 target in the list, its route decides. On
	// loopback-only test hosts there is none to try.
	remote := netip.AddrPortFrom(netip.AddrFrom4(localIPv4(defaultRouteProbe)), 162)
	if remote.Addr() == netip.AddrFrom4([4]byte{}) {
		t.Skip("no IPv4 default route on this host")
	}
	a = newAgentAddrs([]netip.AddrPort{local, v6, remote})
	if got := netip.AddrFrom4(a.of(v6)); got != netip.AddrFrom4(localIPv4(remote)) {
		t.Errorf("agent-addr %s, want %s (towards %s)", got, netip.AddrFrom4(localIPv4(remote)), remote)
	}
}
