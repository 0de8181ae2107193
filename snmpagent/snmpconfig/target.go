package snmpconfig

import (
	"fmt"
	"strconv"
	"strings"

	"hostagent/internal/hostname"
)

// Kind is how a target is notified.
type Kind uint8

const (
	TrapV2c   Kind = iota // SNMPv2c Trap-PDU (the default, as on ESXi)
	TrapV1                // SNMPv1 Trap-PDU, translated per RFC 3584
	InformV2c             // SNMPv2c InformRequest-PDU, acknowledged and retried
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
}

// ParseTarget parses one target; the error names the value and the syntax.
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
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if err := hostname.Check(host); err != nil {
		return t, fmt.Errorf("target %q: %w (%s)", s, err, syntax)
	}
	t.Host = host
	return t, nil
}

// String is the canonical form: the kind prefix only when it is not the
// default, the port always, the community when one was given.
func (t Target) String() string {
	var b strings.Builder
	switch t.Kind {
	case TrapV1:
		b.WriteString("v1:")
	case InformV2c:
		b.WriteString("inform:")
	}
	b.WriteString(t.Host)
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

// checkCommunity allows 1 to 64 printable ASCII characters; spaces and
// commas are refused because lists of communities are comma-separated.
func checkCommunity(c string) error {
	if c == "" || len(c) > MaxCommunityLen {
		return fmt.Errorf("community %q must be 1 to %d characters long", c, MaxCommunityLen)
	}
	for _, r := range c {
		if r <= ' ' || r > '~' || r == ',' {
			return fmt.Errorf("community %q: only printable ASCII characters without spaces or commas are allowed", c)
		}
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
