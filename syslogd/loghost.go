package syslogd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"hostagent/internal/hostname"
)

// Loghost is one remote collector.
type Loghost struct {
	Scheme string // "udp", "tcp", "ssl" or "relp"
	Host   string // hostname or IP literal, without brackets
	Port   int
}

// Default ports: syslog's 514, 1514 for ssl as ESXi uses it, 2514 for relp
// as rsyslog's documentation and most RELP collectors use it.
var defaultPorts = map[string]int{"udp": 514, "tcp": 514, "ssl": 1514, "relp": 2514}

// DefaultPort is the port a loghost of that scheme uses when its URI names
// none; ok is false for a scheme the forwarder does not know.
func DefaultPort(scheme string) (port int, ok bool) {
	port, ok = defaultPorts[scheme]
	return port, ok
}

// SchemeList names the schemes for messages.
const SchemeList = "udp, tcp, ssl or relp"

// MaxLoghosts bounds the list, as each loghost holds a connection and a queue.
const MaxLoghosts = 16

// ParseLoghost reads udp://host:514, tcp://host:1514, ssl://host:1514,
// relp://host:2514, [::1] forms, or a bare host[:port] (UDP, as ESXi's
// older --setserver).
func ParseLoghost(s string) (Loghost, error) {
	const allowed = "write udp://host[:port], tcp://host[:port], ssl://host[:port] or relp://host[:port] (IPv6 in brackets)"
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "udp://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Loghost{}, fmt.Errorf("loghost %q: %s", s, allowed)
	}
	h := Loghost{Scheme: strings.ToLower(u.Scheme), Host: u.Hostname()}
	if _, ok := defaultPorts[h.Scheme]; !ok {
		return h, fmt.Errorf("loghost %q: scheme %q is not %s", s, u.Scheme, SchemeList)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return h, fmt.Errorf("loghost %q: only a host and a port may follow the scheme; %s", s, allowed)
	}
	if err := hostname.Check(h.Host); err != nil {
		return h, fmt.Errorf("loghost %q: %w; %s", s, err, allowed)
	}
	h.Port = defaultPorts[h.Scheme]
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return h, fmt.Errorf("loghost %q: port %q must be a number from 1 to 65535", s, p)
		}
		h.Port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return h, fmt.Errorf("loghost %q: empty port; %s", s, allowed)
	}
	return h, nil
}

// ParseLoghosts reads a comma-separated list, refusing duplicates.
func ParseLoghosts(s string) ([]Loghost, error) {
	var out []Loghost
	var errs []error
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		h, err := ParseLoghost(item)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[h.String()] {
			errs = append(errs, fmt.Errorf("loghost %q is listed twice", item))
		}
		seen[h.String()] = true
		out = append(out, h)
	}
	if len(out) > MaxLoghosts {
		errs = append(errs, fmt.Errorf("loghosts: %d given, at most %d are allowed", len(out), MaxLoghosts))
	}
	return out, errors.Join(errs...)
}

// String is the canonical form, with the port always written.
func (h Loghost) String() string {
	// An IPv6 zone (fe80::1%eth0) is written %25 in a URI (RFC 6874), so
	// that what is shown can be given back.
	return h.Scheme + "://" + net.JoinHostPort(strings.ReplaceAll(h.Host, "%", "%25"), strconv.Itoa(h.Port))
}

// Addr is host:port for dialing.
func (h Loghost) Addr() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }
