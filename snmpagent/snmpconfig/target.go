package snmpconfig

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"hostagent/internal/hostname"
	"hostagent/snmpagent/usm"
)

// Kind is how a target is notified.
type Kind uint8

const (
	TrapV2c   Kind = iota // SNMPv2c Trap-PDU (the default, as on ESXi)
	TrapV1                // SNMPv1 Trap-PDU, translated per RFC 3584
	InformV2c             // SNMPv2c InformRequest-PDU, acknowledged and retried
	TrapV3                // SNMPv3 Trap-PDU (USM), a v3targets entry
	InformV3              // SNMPv3 InformRequest-PDU (USM), a v3targets entry with a remote user
)

// kindPrefixes are the target-syntax prefixes; none of them can begin a
// hostname or an IPv6 literal followed by ':', so plain ESXi targets keep
// their meaning.
var kindPrefixes = []struct {
	prefix string
	kind   Kind
}{{"v2c:", TrapV2c}, {"v1:", TrapV1}, {"inform:", InformV2c}}

func (k Kind) String() string {
	switch k {
	case TrapV1:
		return "v1 trap"
	case InformV2c:
		return "v2c inform"
	case TrapV3:
		return "v3 trap"
	case InformV3:
		return "v3 inform"
	default:
		return "v2c trap"
	}
}

// DefaultTrapPort is where notifications go when a target names no port.
const DefaultTrapPort = 162

// Target is one notification receiver, written as ESXi writes it,
// host[@port][/community], optionally prefixed with "v1:", "v2c:" or
// "inform:" to choose how it is notified.
type Target struct {
	Kind      Kind
	Host      string // hostname or IP address literal, without brackets
	Port      uint16
	Community string // empty: the first of the agent's communities
	// SNMPv3 targets (Kind TrapV3) only: the USM user and security level.
	User  string
	Level usm.Level
}

// ParseTarget parses one target; the error names the value and the syntax.
// An IPv6 literal may be written with or without brackets (String writes
// them). A target is one receiver: the unspecified address, the limited
// broadcast address and multicast addresses are refused, as is a second
// '/' (it would end up in the community). A subnet-directed broadcast
// address (192.0.2.255 in a /24) is accepted: without the receiver's
// netmask it cannot be told from a host address (it is one in a /23).
func ParseTarget(s string) (Target, error) {
	const syntax = "want [v1:|v2c:|inform:]host[@port][/community]"
	t := Target{Port: DefaultTrapPort}
	rest := strings.TrimSpace(s)
	for _, p := range kindPrefixes {
		if strings.HasPrefix(strings.ToLower(rest), p.prefix) {
			t.Kind, rest = p.kind, rest[len(p.prefix):]
			break
		}
	}
	if hostPort, community, ok := strings.Cut(rest, "/"); ok {
		if strings.Contains(community, "/") {
			return t, fmt.Errorf("target %q: more than one '/': only the community follows a '/' and a community cannot hold one (%s)", s, syntax)
		}
		if err := checkCommunity(community); err != nil {
			return t, fmt.Errorf("target %q: %w", s, err)
		}
		rest, t.Community = hostPort, community
	}
	host, port, hasPort := strings.Cut(rest, "@")
	if hasPort {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 {
			return t, fmt.Errorf("target %q: port %q must be a number from 1 to 65535 (%s)", s, port, syntax)
		}
		t.Port = uint16(n)
	}
	if strings.HasPrefix(host, "[") || strings.HasSuffix(host, "]") {
		inner, open := strings.CutPrefix(host, "[")
		inner, closed := strings.CutSuffix(inner, "]")
		if !open || !closed {
			return t, fmt.Errorf("target %q: host %q has an unmatched bracket; write an IPv6 address as [2001:db8::1] or 2001:db8::1 (%s)", s, host, syntax)
		}
		host = inner
	}
	if err := hostname.Check(host); err != nil {
		return t, fmt.Errorf("target %q: %w (%s)", s, err, syntax)
	}
	if err := checkReceiver(host); err != nil {
		return t, fmt.Errorf("target %q: %w", s, err)
	}
	t.Host = host
	return t, nil
}

// limitedBroadcast is 255.255.255.255, every host of the local link.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// checkReceiver refuses a host that cannot be one receiver: an address for
// no host or for many (informs expect one acknowledgement, and a trap sent
// to many hosts is a trap sent to unknown ones), and a name that resolvers
// read as a shortened IPv4 address ("0" is 0.0.0.0, "127.1" is 127.0.0.1,
// "010.0.0.1" is octal), which hostname.Check lets through as a name.
func checkReceiver(host string) error {
	a, err := netip.ParseAddr(host)
	if err != nil {
		if numericName(host) {
			return fmt.Errorf("host %q is not a valid IPv4 address and resolvers would read it as one; write the address as four decimal numbers without leading zeros, a.b.c.d", host)
		}
		return nil
	}
	if zone := a.Zone(); zone != "" && !interfaceName(zone) {
		// netip takes any text as a zone, a newline included, which
		// --show and the logs would print as it is.
		return fmt.Errorf("host %q: zone %q is not an interface name (1 to 15 printable ASCII characters without spaces, '/', ':', '%%', '@' or brackets)", host, zone)
	}
	if err := CheckReceiverAddr(a); err != nil {
		return fmt.Errorf("host %q %w", host, err)
	}
	return nil
}

// CheckReceiverAddr refuses an address that is not one receiver's: the
// unspecified address, the limited broadcast address, a multicast address.
// ParseTarget applies it to an address literal; the agent applies it to the
// address a hostname resolves to. The error reads after the host: "host X
// is the limited broadcast address: ...".
func CheckReceiverAddr(a netip.Addr) error {
	const want = "a target must be the address or name of one receiver"
	a = a.Unmap() // ::ffff:255.255.255.255 is the IPv4 broadcast address too
	switch {
	case a.IsUnspecified():
		return fmt.Errorf("is the unspecified address (0.0.0.0 or ::), which names no host: %s", want)
	case a == limitedBroadcast:
		return fmt.Errorf("is the limited broadcast address: %s", want)
	case a.IsMulticast():
		return fmt.Errorf("is a multicast address (224.0.0.0/4 or ff00::/8): %s", want)
	}
	return nil
}

// interfaceName reports whether zone can name a network interface as
// Linux names them (dev_valid_name: at most 15 bytes, no '/', ':' or
// blanks), without the characters of the target syntax.
func interfaceName(zone string) bool {
	if len(zone) > 15 || zone == "." || zone == ".." {
		return false
	}
	for _, r := range zone {
		if r <= ' ' || r > '~' || strings.ContainsRune("/:%@[]", r) {
			return false
		}
	}
	return true
}

// numericName reports whether every label of host is a number as
// inet_aton reads one: decimal, octal (a leading 0) or hexadecimal (0x).
func numericName(host string) bool {
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		digits := label
		if len(label) >= 2 && (label[:2] == "0x" || label[:2] == "0X") {
			digits = label[2:]
			if strings.Trim(digits, "0123456789abcdefABCDEF") != "" {
				return false
			}
			continue
		}
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return false
		}
	}
	return true
}

// String is the canonical form: the kind prefix only when it is not the
// default, an IPv6 address in brackets (so that its colons are not taken
// for the prefix's and the address reads as one), the port always, the
// community when one was given.
func (t Target) String() string {
	if t.Kind.IsV3() {
		host := t.Host
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return t.v3String(host)
	}
	var b strings.Builder
	switch t.Kind {
	case TrapV1:
		b.WriteString("v1:")
	case InformV2c:
		b.WriteString("inform:")
	}
	if strings.Contains(t.Host, ":") {
		b.WriteByte('[')
		b.WriteString(t.Host)
		b.WriteByte(']')
	} else {
		b.WriteString(t.Host)
	}
	b.WriteByte('@')
	b.WriteString(strconv.Itoa(int(t.Port)))
	if t.Community != "" {
		b.WriteByte('/')
		b.WriteString(t.Community)
	}
	return b.String()
}

// MaxCommunityLen is ESXi's limit on a community string.
const MaxCommunityLen = 64

// checkCommunity allows 1 to 64 printable ASCII characters, except those a
// community cannot hold: a space or a comma (lists of communities are
// comma-separated, with blanks trimmed), quotes and backslashes (net-snmp's
// configuration files read them as quoting and escapes, so a receiver
// could not be configured with the same community; and a quote in a
// community is nearly always the shell's quoting doubled, -c '"public"'),
// control characters and anything beyond ASCII.
func checkCommunity(c string) error {
	if c == "" || len(c) > MaxCommunityLen {
		return fmt.Errorf("community %q must be 1 to %d characters long", c, MaxCommunityLen)
	}
	if c == HiddenCommunity {
		// Taken for a community, a copy of what --show or a backup hides
		// would silently replace the real one, and every receiver would
		// refuse the traps.
		return fmt.Errorf("community %q is the placeholder shown for a hidden community, not a community: give the community itself", c)
	}
	for _, r := range c {
		var why string
		switch {
		case r == '"' || r == '\'':
			why = "quotes are not part of a community: were the shell's quotes doubled, as in -c '\"public\"'? Write -c public or -c 'public'"
		case r == '\\':
			why = "backslashes are not allowed: a list of communities has no escapes, a comma always separates"
		case r == ',':
			why = "commas are not allowed: a comma separates communities"
		case r == ' ':
			why = "spaces are not allowed"
		case r < ' ' || r == 0x7f:
			why = "control characters are not allowed"
		case r > '~':
			why = "only printable ASCII characters are allowed"
		default:
			continue
		}
		return fmt.Errorf("community %q: character %q: %s", c, r, why)
	}
	return nil
}

// TargetStats are the delivery counters of one target.
type TargetStats struct {
	Target       string `json:"target"`
	Kind         string `json:"kind"`
	Sent         uint64 `json:"sent"`
	Acknowledged uint64 `json:"acknowledged"`
	Failed       uint64 `json:"failed"`
	Dropped      uint64 `json:"dropped"`
	Queued       int    `json:"queued"`
}

// TestResult is what became of the test notification sent to one target.
type TestResult struct {
	Target string `json:"target"`
	Kind   string `json:"kind"`
	Result string `json:"result"` // "acknowledged", "sent" or "failed"
	Reason string `json:"reason,omitempty"`
}
