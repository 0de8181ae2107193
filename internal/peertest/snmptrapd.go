package peertest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// startTimeout bounds how long snmptrapd may take to load the MIBs and answer
// the first probe. It is generous because test machines are shared.
const startTimeout = 30 * time.Second

// SnmptrapdOptions configures StartSnmptrapd.
type SnmptrapdOptions struct {
	Communities []string // accepted communities (authCommunity log); default {"public"}
	MIBDir      string   // passed as -M with -m ALL; default MIBDir(t)
	// Port is the UDP port to listen on (a receiver that comes back where
	// an agent already sends); 0 is a free one.
	Port int
	// Users are the SNMPv3 users snmptrapd accepts notifications from
	// (authUser log), each at the level its protocols give; without any,
	// it drops every SNMPv3 notification.
	Users []USMUser
	// EngineID, when set, is written as snmptrapd.conf's "engineID TEXT":
	// snmptrapd's engine ID is then TextEngineID(EngineID), known to the
	// test before it starts (the engine informs are sent to, and the one
	// users without USMUser.EngineID are localized to).
	EngineID string
	// Dir holds snmptrapd.conf and the persistent state; "" is a new
	// t.TempDir(). An snmptrapd started in the Dir of one ended by Stop is
	// that one restarted: it reads its saved engineBoots and increments it.
	Dir string
}

// Trap is one notification as snmptrapd decoded it.
type Trap struct {
	PDU        string    // "TRAP" (SNMPv1), "TRAP2" (v2c or v3 trap) or "INFORM"
	Version    string    // "v1", "v2c" or "v3"
	Community  string    // v1 and v2c; non-printable bytes shown as '.'
	User       string    // v3: the USM user (security name) it came from
	Source     string    // sender's address as snmptrapd prints it, e.g. "[127.0.0.1]:40123"
	TrapOID    string    // v2c and v3: snmpTrapOID.0 value as a MIB name, e.g. "SNMPv2-MIB::warmStart"; v1: the RFC 3584 translation snmptrapd shows if any, else ""
	Uptime     uint32    // sysUpTime.0 (v2c, v3) or time-stamp (v1), in centiseconds (TimeTicks)
	Enterprise string    // v1 only: enterprise OID as printed (e.g. "VMWARE-PRODUCTS-MIB::vmwESX")
	Generic    int       // v1 only: generic-trap
	Specific   int       // v1 only: specific-trap (-1 if TrapOID is a name and snmptranslate is missing)
	AgentAddr  string    // v1 only: agent-addr
	VarBinds   []VarBind // in order, excluding sysUpTime.0 and snmpTrapOID.0 for v2c and v3
	Raw        string    // the record as snmptrapd wrote it
}

// VarBind is one variable binding as snmptrapd printed it.
type VarBind struct {
	Name  string // e.g. "VMWARE-VMINFO-MIB::vmwVmDisplayName.7", "IF-MIB::ifIndex.2"
	Type  string // as snmptrapd prints it: "INTEGER", "STRING", "OID", "Timeticks", "Hex-STRING", ...; "" if it printed none
	Value string // the value text as printed (enumerations as printed, e.g. "up(1)"; strings without quotes; Hex-STRING on one line)
}

// Snmptrapd is a running snmptrapd; see StartSnmptrapd.
type Snmptrapd struct {
	port      int
	sep       string // separator in records (see config), random per instance
	probe     string // community of the readiness probes, left out of Traps
	mibDir    string
	translate string // snmptranslate, to number named v1 traps; "" if missing

	proc    *os.Process
	exited  chan struct{} // closed once snmptrapd has exited and its output is read
	waitErr error         // set before exited is closed

	mu        sync.Mutex
	out       []byte // everything snmptrapd wrote (stdout and stderr)
	scanned   int    // out[:scanned] holds no record that is still to parse
	traps     []Trap
	probed    bool
	changed   chan struct{}  // closed (and replaced) whenever a record was parsed
	specifics map[string]int // snmptranslate results; used by the output goroutine only
}

// StartSnmptrapd runs snmptrapd in the foreground on a free UDP port on
// 127.0.0.1, with its own snmptrapd.conf and persistent dir in opts.Dir
// (default t.TempDir()): the environment (SNMPCONFPATH, SNMP_PERSISTENT_DIR)
// points it there only, so it never reads the system's configuration. It
// returns once snmptrapd is ready to receive: it sends probe traps with a
// probe community until one is decoded (probe traps never show up in Traps).
// The process is killed in t.Cleanup, and its raw output is logged with t.Log
// if the test failed. An empty opts.MIBDir means MIBDir(t).
//
// Command line: snmptrapd -f -Lo -n -X -M DIR -m ALL udp:127.0.0.1:PORT.
func StartSnmptrapd(t testing.TB, opts SnmptrapdOptions) *Snmptrapd {
	t.Helper()
	bin := RequireCommand(t, "snmptrapd", "snmptrapd")
	if opts.MIBDir == "" {
		opts.MIBDir = MIBDir(t)
	}
	if len(opts.Communities) == 0 {
		opts.Communities = []string{"public"}
	}
	for _, c := range opts.Communities {
		// A config line cannot carry these; net-snmp would split or truncate the word.
		if c == "" || strings.ContainsAny(c, " \t\r\n\"'") {
			t.Fatalf("peertest: community %q cannot be written to snmptrapd.conf", c)
		}
	}
	for _, u := range opts.Users {
		if err := u.check(); err != nil {
			t.Fatalf("peertest: %v", err)
		}
	}
	if opts.EngineID != "" && !isWord(opts.EngineID) {
		t.Fatalf("peertest: engine ID text %q cannot be written to snmptrapd.conf: it must be one word of printable ASCII", opts.EngineID)
	}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	// The free port is found by binding and releasing it, so another process
	// may take it before snmptrapd binds; then we try again with a new port.
	for attempt := 1; ; attempt++ {
		s, err := startSnmptrapd(t, bin, opts)
		if err == nil {
			return s
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 || opts.Port != 0 {
			t.Fatalf("peertest: %v", err)
		}
	}
}

var errPortTaken = errors.New("UDP port already in use")

func startSnmptrapd(t testing.TB, bin string, opts SnmptrapdOptions) (*Snmptrapd, error) {
	t.Helper()
	port := opts.Port
	if port == 0 {
		var err error
		if port, err = freeUDPPort(); err != nil {
			return nil, err
		}
	}
	tag := randomHex(4)
	s := &Snmptrapd{
		port: port,
		// Random, so no value can contain it by accident; still, splitVarBinds
		// copes with a value that contains it.
		sep:       "~|" + tag + "|~",
		probe:     "peertest-probe-" + tag,
		mibDir:    opts.MIBDir,
		exited:    make(chan struct{}),
		changed:   make(chan struct{}),
		specifics: map[string]int{},
	}
	s.translate, _ = lookCommand("snmptranslate")

	dir := opts.Dir
	conf := filepath.Join(dir, "snmptrapd.conf")
	if err := os.WriteFile(conf, []byte(s.config(opts)), 0o600); err != nil {
		return nil, err
	}
	persist := filepath.Join(dir, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return nil, err
	}

	// -f: stay in the foreground, so that we own the process; -Lo: "log"
	// notifications to stdout; -n: no DNS lookups; -X: do not try to become
	// an AgentX subagent; -M -m ALL: all the test MIBs and only them, so that
	// OIDs print as names. SNMPCONFPATH, not -C -c FILE, confines it to our
	// configuration: -C would skip the persistent file too, where snmptrapd
	// keeps its engineBoots across a restart.
	cmd := exec.Command(bin, "-f", "-Lo", "-n", "-X",
		"-M", s.mibDir, "-m", "ALL", fmt.Sprintf("udp:127.0.0.1:%d", port))
	cmd.Env = append(cleanEnv(), "SNMP_PERSISTENT_DIR="+persist, "SNMPCONFPATH="+dir+string(filepath.ListSeparator)+persist)
	// One writer for both streams: exec then uses one pipe, so warnings and
	// records stay in order and Write is never called concurrently.
	cmd.Stdout = output{s}
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start snmptrapd: %w", err)
	}
	s.proc = cmd.Process
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.exited
		if t.Failed() {
			t.Logf("snmptrapd on %s wrote:\n%s", s.Addr(), s.rawOutput())
		}
	})

	if err := s.awaitProbe(); err != nil {
		if strings.Contains(s.rawOutput(), "Address already in use") {
			return nil, fmt.Errorf("%w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("snmptrapd on %s not ready: %v; output:\n%s", s.Addr(), err, s.rawOutput())
	}
	return s, nil
}

// config returns snmptrapd.conf. Each notification becomes one record:
//
//	BEGIN<sep>%P<sep>%u<sep>%b<sep>%T<sep>%N<sep>%w<sep>%q<sep>%a
//	<sep> NAME = TYPE: VALUE        (one line per varbind: %V and %v)
//	<sep>END
//
// v2c and v3 records leave the v1-only fields (%T to %a) empty: snmptrapd has
// no values for them.
func (s *Snmptrapd) config(opts SnmptrapdOptions) string {
	var b strings.Builder
	b.WriteString("# Written by hostagent/internal/peertest.\n")
	if opts.EngineID != "" {
		// First: createUser without -e localizes to the engine ID in force.
		fmt.Fprintf(&b, "engineID %s\n", opts.EngineID)
	}
	for _, u := range opts.Users {
		b.WriteString(u.config())
	}
	for _, c := range append(slices.Clone(opts.Communities), s.probe) {
		// "log" is all we need; snmptrapd drops (and never acknowledges)
		// notifications whose community is not listed.
		fmt.Fprintf(&b, "authCommunity log %s\n", c)
	}
	v1 := []string{"%P", "%u", "%b", "%T", "%N", "%w", "%q", "%a"}
	v2 := []string{"%P", "%u", "%b", "", "", "", "", ""}
	for i, fields := range [][]string{v1, v2} {
		format := s.begin() + strings.Join(fields, s.sep) + s.varSep() + "%V" + s.varSep() + "%v" + s.end() + "\n"
		// The format parser turns \n back into a newline, in %V too.
		fmt.Fprintf(&b, "format%d %s\n", i+1, strings.ReplaceAll(format, "\n", `\n`))
	}
	return b.String()
}

func (s *Snmptrapd) begin() string  { return "BEGIN" + s.sep }
func (s *Snmptrapd) varSep() string { return "\n" + s.sep + " " }
func (s *Snmptrapd) end() string    { return "\n" + s.sep + "END" }

// Addr returns "127.0.0.1:PORT".
func (s *Snmptrapd) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Port returns the UDP port snmptrapd listens on.
func (s *Snmptrapd) Port() int { return s.port }

// Traps returns the notifications decoded so far (accepted communities and
// users only).
func (s *Snmptrapd) Traps() []Trap {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.traps)
}

// UserTraps returns the SNMPv3 notifications decoded so far from user.
func (s *Snmptrapd) UserTraps(user string) []Trap {
	return fromUser(s.Traps(), user)
}

func fromUser(traps []Trap, user string) []Trap {
	var out []Trap
	for _, tr := range traps {
		if tr.Version == "v3" && tr.User == user {
			out = append(out, tr)
		}
	}
	return out
}

// WaitTraps waits until at least n notifications were decoded or the timeout
// passes; on timeout it calls t.Fatalf with what was received.
func (s *Snmptrapd) WaitTraps(t testing.TB, n int, timeout time.Duration) []Trap {
	t.Helper()
	return s.wait(t, n, timeout, "", func(traps []Trap) []Trap { return traps })
}

// WaitUserTraps is WaitTraps for the SNMPv3 notifications from user: it
// returns those once there are n.
func (s *Snmptrapd) WaitUserTraps(t testing.TB, user string, n int, timeout time.Duration) []Trap {
	t.Helper()
	return s.wait(t, n, timeout, " from user "+user, func(traps []Trap) []Trap { return fromUser(traps, user) })
}

// wait waits until keep leaves n of the notifications decoded; from names
// them in the failure message.
func (s *Snmptrapd) wait(t testing.TB, n int, timeout time.Duration, from string, keep func([]Trap) []Trap) []Trap {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	exited := false
	for {
		s.mu.Lock()
		all, changed := slices.Clone(s.traps), s.changed
		s.mu.Unlock()
		traps := keep(all)
		if len(traps) >= n {
			return traps
		}
		var why string
		if exited {
			why = fmt.Sprintf("snmptrapd exited (%v)", s.waitErr)
		} else {
			select {
			case <-changed:
				continue
			case <-s.exited:
				exited = true // look once more: the last records may have just arrived
				continue
			case <-deadline.C:
				why = "timed out after " + timeout.String()
			}
		}
		var got strings.Builder
		for i, tr := range all {
			fmt.Fprintf(&got, "\n  %d: %s", i+1, tr.Raw)
		}
		t.Fatalf("snmptrapd on %s: want %d notifications%s, got %d: %s; received:%s", s.Addr(), n, from, len(traps), why, got.String())
	}
}

// Stop ends snmptrapd as a service stop does (SIGTERM), so that it saves its
// persistent state (engineBoots, users) in the Dir it was started with, and
// returns once it has exited.
func (s *Snmptrapd) Stop() {
	_ = s.proc.Signal(syscall.SIGTERM)
	<-s.exited
}

func (s *Snmptrapd) rawOutput() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.out)
}

// awaitProbe sends probe traps until snmptrapd decodes one. This proves that
// it listens, has loaded the MIBs and read our config, and prints records.
func (s *Snmptrapd) awaitProbe() error {
	g := &gosnmp.GoSNMP{
		Target: "127.0.0.1", Port: uint16(s.port), Version: gosnmp.Version2c,
		Community: s.probe, Timeout: time.Second,
	}
	if err := g.Connect(); err != nil {
		return err
	}
	defer g.Conn.Close()
	probe := gosnmp.SnmpTrap{Variables: []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(0)},
		{Name: ".1.3.6.1.6.3.1.1.4.1.0", Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.6.3.1.1.5.1"}, // coldStart
	}}
	deadline := time.After(startTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		probed, changed := s.probed, s.changed
		s.mu.Unlock()
		if probed {
			return nil
		}
		// Errors only mean "not listening yet" (e.g. ICMP port unreachable).
		_, _ = g.SendTrap(probe)
		select {
		case <-changed:
		case <-tick.C:
		case <-s.exited:
			return fmt.Errorf("snmptrapd exited: %v", s.waitErr)
		case <-deadline:
			return fmt.Errorf("no probe trap decoded within %v", startTimeout)
		}
	}
}

// output receives everything snmptrapd writes and parses complete records.
type output struct{ s *Snmptrapd }

func (o output) Write(p []byte) (int, error) {
	s := o.s
	s.mu.Lock()
	s.out = append(s.out, p...)
	var raws []string
	for {
		raw, next, ok := s.nextRecord()
		if !ok {
			break
		}
		raws = append(raws, raw)
		s.scanned = next
	}
	s.mu.Unlock()
	if len(raws) == 0 {
		return len(p), nil
	}

	// Parse without the lock: a named v1 trap may need snmptranslate.
	var traps []Trap
	probed := false
	for _, raw := range raws {
		tr := s.parseRecord(raw)
		if tr.Community == s.probe {
			probed = true
			continue
		}
		traps = append(traps, tr)
	}
	s.mu.Lock()
	s.traps = append(s.traps, traps...)
	s.probed = s.probed || probed
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return len(p), nil
}

// nextRecord finds the next complete record after s.scanned; other lines
// (start-up messages, MIB warnings) between records are skipped.
func (s *Snmptrapd) nextRecord() (raw string, next int, ok bool) {
	rest := s.out[s.scanned:]
	i := bytes.Index(rest, []byte(s.begin()))
	if i < 0 {
		return "", 0, false
	}
	j := bytes.Index(rest[i:], []byte(s.end()+"\n"))
	if j < 0 {
		return "", 0, false // not all written yet
	}
	end := i + j + len(s.end())
	return string(rest[i:end]), s.scanned + end + 1, true
}

// parseRecord splits a record written with the formats from config.
func (s *Snmptrapd) parseRecord(raw string) Trap {
	tr := Trap{Raw: raw}
	body := strings.TrimSuffix(strings.TrimPrefix(raw, s.begin()), s.end())
	header, vars, _ := strings.Cut(body, s.varSep())
	f := strings.Split(header, s.sep)
	if len(f) != 8 {
		return tr // cannot happen with our formats; Raw still shows the record
	}
	// %P is e.g. "TRAP2, SNMP v2c, community public".
	wrap := strings.SplitN(f[0], ", ", 3)
	tr.PDU = wrap[0]
	if len(wrap) > 1 {
		tr.Version = strings.TrimPrefix(wrap[1], "SNMP ")
	}
	if tr.Version == "v3" {
		tr.User = f[1] // %u is the security name for v3
	} else {
		tr.Community = f[1]
	}
	// %b is e.g. "UDP: [127.0.0.1]:40123->[127.0.0.1]:162".
	src := strings.TrimPrefix(f[2], "UDP: ")
	src, _, _ = strings.Cut(src, "->")
	tr.Source = src
	tr.VarBinds = splitVarBinds(vars, s.varSep())

	if tr.Version == "v1" {
		up, _ := strconv.ParseUint(f[3], 10, 32) // %T: the time-stamp in centiseconds (not seconds, as the manual says)
		tr.Uptime = uint32(up)
		tr.Enterprise = f[4]
		tr.Generic, _ = strconv.Atoi(f[5])
		tr.AgentAddr = f[7]
		tr.TrapOID, tr.Specific = s.specificTrap(f[6])
		return tr
	}
	// RFC 3416: sysUpTime.0 and snmpTrapOID.0 come first.
	if len(tr.VarBinds) > 0 && isSysUpTime(tr.VarBinds[0].Name) {
		if m := ticksRE.FindStringSubmatch(tr.VarBinds[0].Value); m != nil {
			up, _ := strconv.ParseUint(m[1], 10, 32)
			tr.Uptime = uint32(up)
		}
		tr.VarBinds = tr.VarBinds[1:]
	}
	if len(tr.VarBinds) > 0 && (tr.VarBinds[0].Name == "SNMPv2-MIB::snmpTrapOID.0" || tr.VarBinds[0].Name == ".1.3.6.1.6.3.1.1.4.1.0") {
		tr.TrapOID = tr.VarBinds[0].Value
		tr.VarBinds = tr.VarBinds[1:]
	}
	return tr
}

// isSysUpTime recognises sysUpTime.0 by the names net-snmp may print for it:
// with -m ALL, DISMAN-EXPRESSION-MIB's sysUpTimeInstance (the same OID) wins.
func isSysUpTime(name string) bool {
	return strings.HasSuffix(name, "::sysUpTime.0") || strings.HasSuffix(name, "::sysUpTimeInstance") ||
		name == ".1.3.6.1.2.1.1.3.0"
}

var ticksRE = regexp.MustCompile(`^\((\d+)\)`) // Timeticks value: "(12345) 0:02:03.45"

// specificTrap reads %q. For generic traps and for enterprise-specific traps
// whose OID (enterprise.0.specific) has no MIB name, snmptrapd prints the
// number (after a dot for the latter). When the OID has a name (RFC 3584
// translation, e.g. "VMWARE-OBSOLETE-MIB::vmPoweredOn"), snmptrapd prints only
// the name, so the number is looked up with snmptranslate; -1 if that fails.
func (s *Snmptrapd) specificTrap(q string) (trapOID string, specific int) {
	if n, err := strconv.Atoi(strings.TrimPrefix(q, ".")); err == nil {
		return "", n
	}
	if n, ok := s.specifics[q]; ok {
		return q, n
	}
	n := -1
	if s.translate != "" {
		out, err := exec.Command(s.translate, "-M", s.mibDir, "-m", "ALL", "-On", q).Output()
		if err == nil {
			oid := strings.TrimSpace(string(out))
			if v, err := strconv.Atoi(oid[strings.LastIndexByte(oid, '.')+1:]); err == nil {
				n = v
			}
		}
	}
	s.specifics[q] = n
	return q, n
}

// varBindStart matches the start of a printed varbind, "NAME = ".
var varBindStart = regexp.MustCompile(`^\S+ = `)

// splitVarBinds splits %v output. Values are printed verbatim (a string with
// a DISPLAY-HINT such as DisplayString even keeps tabs, newlines and control
// characters), so a value may contain the separator: a piece that does not
// start like a varbind is glued back onto the previous value.
func splitVarBinds(vars, sep string) []VarBind {
	if vars == "" {
		return nil
	}
	var pieces []string
	for _, p := range strings.Split(vars, sep) {
		if len(pieces) > 0 && !varBindStart.MatchString(p) {
			pieces[len(pieces)-1] += sep + p
			continue
		}
		pieces = append(pieces, p)
	}
	vbs := make([]VarBind, len(pieces))
	for i, p := range pieces {
		vbs[i] = parseVarBind(p)
	}
	return vbs
}

// typeRE matches the type snmptrapd prints before a value, e.g. "INTEGER: ",
// "Hex-STRING: ", "Network Address: ".
var typeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*(?: [A-Za-z][A-Za-z0-9-]*)?): `)

func parseVarBind(p string) VarBind {
	name, val, ok := strings.Cut(p, " = ")
	if !ok {
		return VarBind{Value: p}
	}
	if val == `""` {
		// net-snmp prints an empty OCTET STRING as just "" (no type).
		return VarBind{Name: name, Type: "STRING"}
	}
	vb := VarBind{Name: name, Value: val}
	if m := typeRE.FindStringSubmatch(val); m != nil {
		vb.Type, vb.Value = m[1], val[len(m[0]):]
	}
	switch vb.Type {
	case "STRING":
		vb.Value = unquote(vb.Value)
	case "Hex-STRING":
		// Printed 16 bytes per line with trailing blanks.
		vb.Value = strings.Join(strings.Fields(vb.Value), " ")
	}
	return vb
}

// unquote undoes net-snmp's quoting of a string without a DISPLAY-HINT:
// "..." with \ and " escaped by a backslash. Strings with a hint (e.g.
// DisplayString) are printed raw; one that itself starts and ends with a quote
// and has no unescaped quote inside cannot be told apart and is unquoted too.
func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	in := v[1 : len(v)-1]
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '"':
			return v // an unescaped quote: raw text, not net-snmp's quoting
		case c == '\\':
			if i+1 == len(in) {
				return v
			}
			i++
			c = in[i]
		}
		b.WriteByte(c)
	}
	return b.String()
}

// cleanEnv drops variables that would point net-snmp at other MIBs or
// configuration.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MIBS", "MIBDIRS", "SNMPCONFPATH", "SNMP_PERSISTENT_DIR", "SNMP_PERSISTENT_FILE":
			continue
		}
		env = append(env, kv)
	}
	return env
}

// FreeUDPPort returns a UDP port on 127.0.0.1 that nothing listens on now
// (another process may take it before the caller binds it).
func FreeUDPPort() (int, error) { return freeUDPPort() }

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
