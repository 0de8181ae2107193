package syslogd

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"hostagent/internal/hostname"
)

// Loghost is one remote collector, or one topic of a log bus.
type Loghost struct {
	Scheme string // "udp", "tcp", "ssl", "relp"; a log bus: "kafka", "kafkas" (TLS) or "nats"
	Host   string // hostname or IP literal, without brackets
	Port   int
	// More are a log bus's further brokers (Kafka) or servers (NATS), as
	// host:port separated by commas, ports always written. A string, not a
	// slice, so that loghosts stay comparable.
	More string
	// Topic is the Kafka topic or the NATS subject a log bus's records go to.
	Topic string
}

// Default ports: syslog's 514, 1514 for ssl as ESXi uses it, 2514 for relp
// as rsyslog's documentation and most RELP collectors use it; Kafka's 9092
// (9093 for TLS, the usual second listener) and NATS's 4222.
var defaultPorts = map[string]int{"udp": 514, "tcp": 514, "ssl": 1514, "relp": 2514, "kafka": 9092, "kafkas": 9093, "nats": 4222}

// IsBus says whether a scheme is a log bus's (Kafka, NATS JetStream):
// records published to a topic or subject, each acknowledged.
func IsBus(scheme string) bool { return scheme == "kafka" || scheme == "kafkas" || scheme == "nats" }

// DefaultPort is the port a loghost of that scheme uses when its URI names
// none; ok is false for a scheme the forwarder does not know.
func DefaultPort(scheme string) (port int, ok bool) {
	port, ok = defaultPorts[scheme]
	return port, ok
}

// SchemeList names the schemes for messages.
const SchemeList = "udp, tcp, ssl, relp, kafka, kafkas or nats"

// MaxLoghosts bounds the list, as each loghost holds a connection and a queue.
const MaxLoghosts = 16

// ParseLoghost reads udp://host:514, tcp://host:1514, ssl://host:1514,
// relp://host:2514, [::1] forms, or a bare host[:port] (UDP, as ESXi's
// older --setserver).
//
// A log bus is written kafka://broker[:port][,broker[:port]...]/TOPIC
// (kafkas:// over TLS) or nats://server[:port][,server[:port]...]/SUBJECT.
func ParseLoghost(s string) (Loghost, error) {
	const allowed = "write udp://host[:port], tcp://host[:port], ssl://host[:port], relp://host[:port] (IPv6 in brackets), " +
		"kafka://broker[:port][,broker...]/TOPIC or nats://server[:port][,server...]/SUBJECT"
	raw := strings.TrimSpace(s)
	if !strings.Contains(raw, "://") {
		raw = "udp://" + raw
	}
	if scheme, _, _ := strings.Cut(raw, "://"); IsBus(strings.ToLower(scheme)) {
		return parseBus(s, raw)
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
	h.Port, err = parsePort(s, u, defaultPorts[h.Scheme], allowed)
	return h, err
}

// parsePort reads u's port, or gives def when it names none.
func parsePort(s string, u *url.URL, def int, allowed string) (int, error) {
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return def, fmt.Errorf("loghost %q: port %q must be a number from 1 to 65535", s, p)
		}
		return n, nil
	} else if strings.HasSuffix(u.Host, ":") {
		return def, fmt.Errorf("loghost %q: empty port; %s", s, allowed)
	}
	return def, nil
}

// parseBus reads kafka://b1[:port],b2[:port]/TOPIC, kafkas://... and
// nats://s1[:port],s2[:port]/SUBJECT. net/url takes a single host, so the
// list of servers is cut here, and each server read by net/url.
func parseBus(s, raw string) (Loghost, error) {
	scheme, rest, _ := strings.Cut(raw, "://")
	h := Loghost{Scheme: strings.ToLower(scheme)}
	what, allowed := "topic", "write "+h.Scheme+"://broker[:port][,broker[:port]...]/TOPIC (IPv6 in brackets)"
	if h.Scheme == "nats" {
		what, allowed = "subject", "write nats://server[:port][,server[:port]...]/SUBJECT (IPv6 in brackets)"
	}
	servers, topic, ok := strings.Cut(rest, "/")
	if !ok || topic == "" {
		return h, fmt.Errorf("loghost %q: no %s; %s", s, what, allowed)
	}
	if strings.ContainsAny(servers, "@?#") || strings.ContainsAny(topic, "?#/") {
		return h, fmt.Errorf("loghost %q: only servers and a %s may follow the scheme (credentials go in loghost_options); %s", s, what, allowed)
	}
	var err error
	if h.Scheme == "nats" {
		err = checkSubject(topic)
	} else {
		err = checkTopic(topic)
	}
	if err != nil {
		return h, fmt.Errorf("loghost %q: %w", s, err)
	}
	h.Topic = topic
	var more []string
	for i, item := range strings.Split(servers, ",") {
		u, err := url.Parse(h.Scheme + "://" + strings.TrimSpace(item))
		if err != nil || u.Path != "" || u.User != nil {
			return h, fmt.Errorf("loghost %q: server %q: %s", s, item, allowed)
		}
		if err := hostname.Check(u.Hostname()); err != nil {
			return h, fmt.Errorf("loghost %q: %w; %s", s, err, allowed)
		}
		port, err := parsePort(s, u, defaultPorts[h.Scheme], allowed)
		if err != nil {
			return h, err
		}
		if i == 0 {
			h.Host, h.Port = u.Hostname(), port
			continue
		}
		addr := net.JoinHostPort(u.Hostname(), strconv.Itoa(port))
		if addr == h.Addr() || slices.Contains(more, addr) {
			return h, fmt.Errorf("loghost %q: server %s is listed twice", s, addr)
		}
		more = append(more, addr)
	}
	h.More = strings.Join(more, ",")
	return h, nil
}

// checkTopic applies Kafka's rule for topic names: 1 to 249 of
// [a-zA-Z0-9._-], not "." nor "..".
func checkTopic(t string) error {
	ok := len(t) <= 249 && t != "." && t != ".."
	for _, c := range t {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-')
	}
	if !ok {
		return fmt.Errorf("topic %q: Kafka allows 1 to 249 letters, digits, '.', '_' and '-' (not \".\" or \"..\")", t)
	}
	return nil
}

// checkSubject applies NATS's rule for a subject to publish to: tokens
// separated by '.', none empty, no wildcard ('*', '>'), no white space;
// here also at most 255 printable ASCII characters.
func checkSubject(t string) error {
	ok := len(t) <= 255
	for _, tok := range strings.Split(t, ".") {
		ok = ok && tok != "" && tok != "*" && tok != ">"
	}
	for _, c := range t {
		ok = ok && c > ' ' && c < 0x7f && c != '*' && c != '>'
	}
	if !ok {
		return fmt.Errorf("subject %q: NATS takes tokens of printable characters separated by '.', none empty, without wildcards ('*', '>'), at most 255 in all", t)
	}
	// $JS, $SYS, $KV... are the server's own APIs, _INBOX a client's
	// replies: log lines published there would be requests or answers.
	if first, _, _ := strings.Cut(t, "."); strings.HasPrefix(first, "$") || first == "_INBOX" {
		return fmt.Errorf("subject %q: subjects beginning with $ or _INBOX are NATS's own (its APIs, its replies); choose another", t)
	}
	return nil
}

// SplitLoghosts cuts a comma-separated list into loghosts: a log bus's
// further servers (kafka://b1:9092,b2:9092/logs) stay with it, as an item
// that follows a bus loghost not yet given its topic.
func SplitLoghosts(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if n := len(out); n > 0 && busWithoutTopic(out[n-1]) && !strings.Contains(item, "://") {
			out[n-1] += "," + strings.TrimSpace(item)
			continue
		}
		out = append(out, strings.TrimSpace(item))
	}
	return out
}

// busWithoutTopic: a bus loghost whose text has no '/' after its scheme.
func busWithoutTopic(item string) bool {
	scheme, rest, ok := strings.Cut(item, "://")
	return ok && IsBus(strings.ToLower(strings.TrimSpace(scheme))) && !strings.Contains(rest, "/")
}

// ParseLoghosts reads a comma-separated list (see SplitLoghosts), refusing
// duplicates.
func ParseLoghosts(s string) ([]Loghost, error) {
	var out []Loghost
	var errs []error
	seen := map[string]bool{}
	items := SplitLoghosts(s)
	for i, item := range items {
		if strings.TrimSpace(item) == "" {
			continue
		}
		// kafka://b1/logs,b2 would make b2 a UDP loghost: most likely a
		// broker written after the topic.
		if i > 0 && !strings.Contains(item, "://") {
			prev := strings.TrimSpace(items[i-1])
			if scheme, _, ok := strings.Cut(prev, "://"); ok && IsBus(strings.ToLower(scheme)) {
				errs = append(errs, fmt.Errorf("loghost %q follows %q without a scheme: the servers of a log bus go before its topic (%s://a,b/TOPIC); write udp://%s for a UDP loghost",
					item, prev, strings.ToLower(scheme), strings.TrimSpace(item)))
				continue
			}
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
	s := h.Scheme + "://" + net.JoinHostPort(strings.ReplaceAll(h.Host, "%", "%25"), strconv.Itoa(h.Port))
	if h.More != "" {
		s += "," + strings.ReplaceAll(h.More, "%", "%25")
	}
	if h.Topic != "" {
		s += "/" + h.Topic
	}
	return s
}

// Addr is host:port for dialing (a log bus's first server).
func (h Loghost) Addr() string { return net.JoinHostPort(h.Host, strconv.Itoa(h.Port)) }

// Servers are a log bus's brokers or servers, host:port each; Addr alone
// for the other schemes.
func (h Loghost) Servers() []string {
	if h.More == "" {
		return []string{h.Addr()}
	}
	return append([]string{h.Addr()}, strings.Split(h.More, ",")...)
}
