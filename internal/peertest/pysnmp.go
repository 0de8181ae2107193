package peertest

import (
	"bufio"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// pysnmpReceiver is the notification receiver StartPysnmp runs.
//
//go:embed pysnmp_receiver.py
var pysnmpReceiver []byte

// PysnmpOptions configures StartPysnmp.
type PysnmpOptions struct {
	// EngineID is the receiver's own snmpEngineID, the authoritative
	// engine of the informs it receives (RFC 3414 1.5.1), known to the
	// test before it starts; nil lets pysnmp make one (see
	// Pysnmp.EngineID).
	EngineID []byte
	// Users are the SNMPv3 users pysnmp accepts notifications from, made
	// from passwords as for snmptrapd: pysnmp localizes the keys itself,
	// to USMUser.EngineID (the sender's engine, for traps) or, when that
	// is nil, to the receiver's own engine (informs).
	Users []USMUser
}

// PysnmpNotification is one notification as pysnmp decoded it.
type PysnmpNotification struct {
	User string // the USM user (security name) it came from
	// PDU is pysnmp's class of the PDU: "InformRequestPDU" or
	// "SNMPv2TrapPDU".
	PDU string
	// Level is the securityLevel: 1 noAuthNoPriv, 2 authNoPriv, 3 authPriv.
	Level int
	// VarBinds are the values by numeric OID without a leading dot (e.g.
	// "1.3.6.1.2.1.1.3.0"), as pysnmp prints them: strings as text (in hex
	// with "0x" when not printable), OIDs numeric.
	VarBinds map[string]string
}

// PysnmpRefusal is why pysnmp's USM refused a message.
type PysnmpRefusal struct {
	// Reason is pysnmp's errorIndication class, e.g.
	// "AuthenticationFailure" (a wrong digest) or "NotInTimeWindow".
	Reason string
	// Counter is the usmStats counter it counts in, e.g.
	// "1.3.6.1.6.3.15.1.1.5.0" (usmStatsWrongDigests.0); "" for none.
	Counter string
}

// String is "REASON COUNTER", e.g.
// "AuthenticationFailure 1.3.6.1.6.3.15.1.1.5.0".
func (r PysnmpRefusal) String() string { return r.Reason + " " + r.Counter }

// Pysnmp is a running pysnmp notification receiver; see StartPysnmp.
type Pysnmp struct {
	port     int
	engineID []byte

	exited  chan struct{} // closed once the process has exited and its output is read
	waitErr error         // set before exited is closed
	stderr  Buffer

	mu            sync.Mutex
	lines         []string // everything it printed on stdout, for the log
	notifications []PysnmpNotification
	refusals      map[string][]PysnmpRefusal // by user name
}

// pysnmpEvent is one line the receiver prints.
type pysnmpEvent struct {
	Event    string      `json:"event"` // ready, notification or refused
	Port     int         `json:"port"`
	EngineID string      `json:"engine_id"`
	User     string      `json:"user"`
	PDU      string      `json:"pdu"`
	Level    int         `json:"level"`
	VarBinds [][2]string `json:"varbinds"`
	Reason   string      `json:"reason"`
	Counter  string      `json:"counter"`
}

// pysnmpConfig is the receiver's JSON configuration file.
type pysnmpConfig struct {
	EngineID string       `json:"engine_id"`
	Users    []pysnmpUser `json:"users"`
}

type pysnmpUser struct {
	Name     string `json:"name"`
	EngineID string `json:"engine_id"`
	Auth     string `json:"auth"`
	AuthPass string `json:"auth_pass"`
	Priv     string `json:"priv"`
	PrivPass string `json:"priv_pass"`
}

// StartPysnmp runs pysnmp's notification receiver (pysnmp_receiver.py,
// written to t.TempDir()) with the python3 RequirePythonModule finds, on a
// UDP port of 127.0.0.1 the kernel picks, and returns once it listens. The
// test is skipped without pysnmp (failed with CI=true). The process is
// killed in t.Cleanup, and what it printed is logged if the test failed.
func StartPysnmp(t testing.TB, opts PysnmpOptions) *Pysnmp {
	t.Helper()
	py := RequirePythonModule(t, "pysnmp", "python3-pysnmp4")
	conf := pysnmpConfig{EngineID: hex.EncodeToString(opts.EngineID), Users: []pysnmpUser{}}
	for _, u := range opts.Users {
		pu, err := u.pysnmp()
		if err != nil {
			t.Fatalf("peertest: %v", err)
		}
		conf.Users = append(conf.Users, pu)
	}
	dir := t.TempDir()
	script, confFile := filepath.Join(dir, "pysnmp_receiver.py"), filepath.Join(dir, "pysnmp_receiver.json")
	js, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, pysnmpReceiver, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(confFile, js, 0o600); err != nil {
		t.Fatal(err)
	}

	p := &Pysnmp{exited: make(chan struct{}), refusals: map[string][]PysnmpRefusal{}}
	cmd := exec.Command(py, script, confFile)
	cmd.Stderr = &p.stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("peertest: start the pysnmp receiver: %v", err)
	}
	ready := make(chan pysnmpEvent, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20) // a notification's varbinds are one line
		for sc.Scan() {
			p.read(sc.Text(), ready)
		}
		// Wait only once stdout is read: it closes the pipe.
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("pysnmp receiver on port %d printed:\n%s\nstderr:\n%s", p.port, strings.Join(p.output(), "\n"), p.stderr.String())
		}
	})

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	select {
	case ev := <-ready:
		p.port = ev.Port
		if p.engineID, err = hex.DecodeString(ev.EngineID); err != nil {
			t.Fatalf("peertest: the pysnmp receiver's engine ID %q: %v", ev.EngineID, err)
		}
	case <-p.exited:
		t.Fatalf("peertest: the pysnmp receiver exited (%v) before it listened; stderr:\n%s", p.waitErr, p.stderr.String())
	case <-deadline.C:
		t.Fatalf("peertest: the pysnmp receiver did not listen within %v; stderr:\n%s", startTimeout, p.stderr.String())
	}
	return p
}

// pysnmp is u as the receiver's configuration has it. u is checked as
// for snmptrapd (check), so that a test cannot give pysnmp a user that
// the other peer refuses, nor one pysnmp would fail on later, with less
// to go on (an unknown protocol name).
func (u USMUser) pysnmp() (pysnmpUser, error) {
	if err := u.check(); err != nil {
		return pysnmpUser{}, fmt.Errorf("pysnmp takes the users snmptrapd does: %w", err)
	}
	pu := pysnmpUser{Name: u.Name, EngineID: hex.EncodeToString(u.EngineID), Auth: "none", Priv: "none"}
	if u.hasAuth() {
		pu.Auth, pu.AuthPass = u.Auth, u.AuthPass
	}
	if u.hasPriv() {
		pu.Priv, pu.PrivPass = u.Priv, u.PrivPass
	}
	return pu, nil
}

// read takes one line of the receiver's output; the first ready event
// goes to ready.
func (p *Pysnmp) read(line string, ready chan<- pysnmpEvent) {
	var ev pysnmpEvent
	err := json.Unmarshal([]byte(line), &ev)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line) // also what is not an event: it is logged
	if err == nil {
		switch ev.Event {
		case "ready":
			select {
			case ready <- ev:
			default:
			}
		case "notification":
			n := PysnmpNotification{User: ev.User, PDU: ev.PDU, Level: ev.Level, VarBinds: map[string]string{}}
			for _, vb := range ev.VarBinds {
				n.VarBinds[vb[0]] = vb[1]
			}
			p.notifications = append(p.notifications, n)
		case "refused":
			p.refusals[ev.User] = append(p.refusals[ev.User], PysnmpRefusal{Reason: ev.Reason, Counter: ev.Counter})
		}
	}
}

// Port returns the UDP port the receiver listens on (127.0.0.1).
func (p *Pysnmp) Port() int { return p.port }

// Addr returns "127.0.0.1:PORT".
func (p *Pysnmp) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p.port)) }

// EngineID returns the receiver's snmpEngineID: PysnmpOptions.EngineID,
// or the one pysnmp made.
func (p *Pysnmp) EngineID() []byte { return slices.Clone(p.engineID) }

// Notifications returns the notifications pysnmp decoded from user so far,
// in order.
func (p *Pysnmp) Notifications(user string) []PysnmpNotification {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ns []PysnmpNotification
	for _, n := range p.notifications {
		if n.User == user {
			ns = append(ns, n)
		}
	}
	return ns
}

// Refusals returns why pysnmp's USM refused user's messages so far, in
// order; user "" are the messages without a user name it could read.
func (p *Pysnmp) Refusals(user string) []PysnmpRefusal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.refusals[user])
}

// WaitNotifications waits until cond holds for the notifications from user
// (see Notifications) and returns them. When timeout passes first, or the
// receiver exits, it calls t.Fatalf, naming what (what it waited for) and
// what was decoded.
func (p *Pysnmp) WaitNotifications(t testing.TB, user string, timeout time.Duration, what string, cond func([]PysnmpNotification) bool) []PysnmpNotification {
	t.Helper()
	var ns []PysnmpNotification
	exited, held := false, false
	Until(timeout, func() bool {
		select {
		case <-p.exited: // all it printed is read: ns is final
			exited = true
		default:
		}
		ns = p.Notifications(user)
		held = cond(ns)
		return held || exited
	})
	if held {
		return ns
	}
	why := "timed out after " + timeout.String()
	if exited {
		why = fmt.Sprintf("the receiver exited (%v)", p.waitErr)
	}
	t.Fatalf("pysnmp receiver on port %d: waiting for %s: %s; decoded from %s: %+v", p.port, what, why, user, ns)
	return nil
}

func (p *Pysnmp) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}
