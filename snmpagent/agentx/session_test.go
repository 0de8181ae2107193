package agentx

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"hostagent/mibs"
)

// fakeMaster is the master side of AgentX written from RFC 2741, for the
// requests net-snmp's snmpd never sends (GetBulk, contexts, unknown types,
// malformed PDUs) and to see exactly what the subagent sends.
type fakeMaster struct {
	t     *testing.T
	ln    net.Listener
	conns chan net.Conn
}

func newFakeMaster(t *testing.T) *fakeMaster {
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "master.sock"))
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeMaster{t: t, ln: ln, conns: make(chan net.Conn, 4)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			m.conns <- c
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return m
}

// masterConn is one accepted subagent connection.
type masterConn struct {
	t  *testing.T
	c  net.Conn
	r  *bufio.Reader
	id uint32
}

// accept takes the next connection and completes Open and the Registers.
func (m *fakeMaster) accept(registers int) *masterConn {
	m.t.Helper()
	select {
	case c := <-m.conns:
		m.t.Cleanup(func() { c.Close() })
		mc := &masterConn{t: m.t, c: c, r: bufio.NewReader(c), id: 42}
		open := mc.read()
		if open.Type != typeOpen {
			m.t.Fatalf("first PDU %s, want Open", open.Type)
		}
		mc.respond(open, errNoError)
		for range registers {
			reg := mc.read()
			if reg.Type != typeRegister || reg.SessionID != mc.id {
				m.t.Fatalf("got %s for session %d, want Register for %d", reg.Type, reg.SessionID, mc.id)
			}
			mc.respond(reg, errNoError)
		}
		return mc
	case <-time.After(10 * time.Second):
		m.t.Fatal("no connection from the subagent")
		return nil
	}
}

func (mc *masterConn) read() *pdu {
	mc.t.Helper()
	_ = mc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	hb := make([]byte, headerLen)
	if _, err := io.ReadFull(mc.r, hb); err != nil {
		mc.t.Fatalf("master read: %v", err)
	}
	h, err := decodeHeader(hb)
	if err != nil {
		mc.t.Fatal(err)
	}
	if h.Flags&flagNetworkByteOrder == 0 {
		mc.t.Errorf("%s sent without NETWORK_BYTE_ORDER", h.Type)
	}
	payload := make([]byte, h.PayloadLength)
	if _, err := io.ReadFull(mc.r, payload); err != nil {
		mc.t.Fatal(err)
	}
	p, err := decodePDU(h, payload)
	if err != nil {
		mc.t.Fatal(err)
	}
	return p
}

func (mc *masterConn) respond(req *pdu, code uint16) {
	mc.t.Helper()
	mc.send(&pdu{header: header{Type: typeResponse, SessionID: mc.id, TransactionID: req.TransactionID, PacketID: req.PacketID}, Error: code})
}

func (mc *masterConn) send(p *pdu) {
	mc.t.Helper()
	b, err := p.encode()
	if err != nil {
		mc.t.Fatal(err)
	}
	mc.raw(b)
}

func (mc *masterConn) raw(b []byte) {
	mc.t.Helper()
	if _, err := mc.c.Write(b); err != nil {
		mc.t.Fatal(err)
	}
}

// request sends a request of the master and returns the subagent's answer.
func (mc *masterConn) request(p *pdu) *pdu {
	mc.t.Helper()
	p.SessionID, p.PacketID, p.TransactionID = mc.id, 1000+uint32(p.Type), 77
	mc.send(p)
	res := mc.read()
	if res.Type != typeResponse || res.PacketID != p.PacketID || res.TransactionID != 77 || res.SessionID != mc.id {
		mc.t.Fatalf("answer to %s: %s packet %d transaction %d session %d", p.Type, res.Type, res.PacketID, res.TransactionID, res.SessionID)
	}
	return res
}

func startFake(t *testing.T, h Handler, ping time.Duration) (*fakeMaster, *Subagent, context.CancelFunc, chan struct{}) {
	m := newFakeMaster(t)
	a, err := New(Options{
		Address:      m.ln.Addr().String(),
		Subtrees:     []mibs.OID{vmwVmTable},
		Handler:      h,
		PingInterval: ping,
		Log:          slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return m, a, cancel, done
}

func TestFakeMasterRequests(t *testing.T) {
	tab := newTable(3)
	m, a, cancel, done := startFake(t, tab, time.Hour)
	mc := m.accept(1)
	waitSession(t, a, 0)
	col := func(c, r uint32) mibs.OID { return vmwVmTable.Append(1, c, r) }
	end := mibs.OID{1, 3, 6, 1, 4, 1, 6876, 2, 2}

	// Get of several ranges, one missing; non-default context: nothing.
	res := mc.request(&pdu{header: header{Type: typeGet}, Ranges: []searchRange{{Start: col(1, 2)}, {Start: col(1, 9)}, {Start: col(8, 3)}}})
	if len(res.VarBinds) != 3 || res.VarBinds[0].Int != 2 || res.VarBinds[1].Type != vtNoSuchObject || res.VarBinds[2].Uint != 1<<63+3 {
		t.Errorf("Get: %+v", res.VarBinds)
	}
	res = mc.request(&pdu{header: header{Type: typeGet}, Context: []byte("other"), Ranges: []searchRange{{Start: col(1, 2)}}})
	if len(res.VarBinds) != 1 || res.VarBinds[0].Type != vtNoSuchObject {
		t.Errorf("Get in another context: %+v", res.VarBinds)
	}

	// GetBulk: a non-repeater, then two columns; ends at endOfMibView.
	res = mc.request(&pdu{header: header{Type: typeGetBulk}, NonRepeaters: 1, MaxRepetitions: 10, Ranges: []searchRange{
		{Start: vmwVmTable, End: end}, {Start: col(8, 1), End: end}, {Start: col(9, 2), End: end}}})
	var names []string
	for _, v := range res.VarBinds {
		if v.Type == vtEndOfMibView {
			names = append(names, "end")
		} else {
			names = append(names, v.Name.String()[len(vmwVmTable.String())+3:])
		}
	}
	want := []string{"1.1", "8.2", "9.3", "8.3", "end", "9.1", "end", "9.2", "end", "9.3", "end", "end", "end"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("GetBulk: %v, want %v", names, want)
	}

	// GetNext honours the range end.
	res = mc.request(&pdu{header: header{Type: typeGetNext}, Ranges: []searchRange{{Start: col(1, 3), End: col(2, 2)}, {Start: col(2, 1), Include: true, End: col(2, 2)}}})
	if res.VarBinds[0].Name.String() != col(2, 1).String() || res.VarBinds[1].Name.String() != col(2, 1).String() {
		t.Errorf("GetNext: %+v", res.VarBinds)
	}
	res = mc.request(&pdu{header: header{Type: typeGetNext}, Ranges: []searchRange{{Start: col(2, 1), End: col(2, 2)}}})
	if res.VarBinds[0].Type != vtEndOfMibView || !res.VarBinds[0].Name.Equal(col(2, 1)) {
		t.Errorf("GetNext at the range end: %+v", res.VarBinds)
	}

	// Sets: refused, nothing to commit or undo, no answer to CleanupSet.
	res = mc.request(&pdu{header: header{Type: typeTestSet}, VarBinds: []varBind{{Type: vtInteger, Name: col(1, 1), Int: 5}}})
	if res.Error != errNotWritable || res.Index != 1 {
		t.Errorf("TestSet: error %d index %d", res.Error, res.Index)
	}
	if res = mc.request(&pdu{header: header{Type: typeCommitSet}}); res.Error != errCommitFailed {
		t.Errorf("CommitSet: error %d", res.Error)
	}
	if res = mc.request(&pdu{header: header{Type: typeUndoSet}}); res.Error != errNoError {
		t.Errorf("UndoSet: error %d", res.Error)
	}
	mc.send(&pdu{header: header{Type: typeCleanupSet, SessionID: mc.id, PacketID: 5000}})

	// A type a master never sends: an error, and the session goes on.
	b, _ := (&pdu{header: header{Type: typePing, SessionID: mc.id, PacketID: 5001}}).encode()
	b[1] = 99
	mc.raw(b)
	if res = mc.read(); res.PacketID != 5001 || res.Error != errProcessingError {
		t.Errorf("unknown type 99: packet %d error %d (CleanupSet must get no answer)", res.PacketID, res.Error)
	}

	// A malformed Get (truncated OID), little-endian: parseError.
	bad := []byte{1, byte(typeGet), 0, 0}
	for _, v := range []uint32{mc.id, 1, 5002, 8} {
		bad = binary.LittleEndian.AppendUint32(bad, v)
	}
	bad = append(bad, 3, 0, 0, 0, 1, 0, 0, 0)
	mc.raw(bad)
	if res = mc.read(); res.PacketID != 5002 || res.Error != errParseError {
		t.Errorf("truncated Get: packet %d error %d", res.PacketID, res.Error)
	}
	if res = mc.request(&pdu{header: header{Type: typeGet}, Ranges: []searchRange{{Start: col(1, 1)}}}); res.VarBinds[0].Int != 1 {
		t.Errorf("Get after errors: %+v", res.VarBinds)
	}

	// Cancel: a Close with reasonShutdown, then Run returns.
	cancel()
	cl := mc.read()
	if cl.Type != typeClose || cl.Reason != reasonShutdown || cl.SessionID != mc.id {
		t.Errorf("at cancel: %s reason %d, want Close reasonShutdown", cl.Type, cl.Reason)
	}
	mc.respond(cl, errNoError)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// badHandler returns objects outside the range it was asked for.
type badHandler struct{}

func (badHandler) Get(oid mibs.OID) (mibs.VarBind, bool) {
	return mibs.VarBind{OID: oid, Syntax: mibs.Integer, Int: 1 << 40}, true
}

func (badHandler) Next(from mibs.OID, include bool, end mibs.OID) (mibs.VarBind, bool) {
	return mibs.VarBind{OID: mibs.OID{1, 3}, Syntax: mibs.Integer}, true
}

func TestFakeMasterBadHandler(t *testing.T) {
	m, a, _, _ := startFake(t, badHandler{}, time.Hour)
	mc := m.accept(1)
	waitSession(t, a, 0)
	res := mc.request(&pdu{header: header{Type: typeGetNext}, Ranges: []searchRange{{Start: vmwVmTable.Append(1)}, {Start: vmwVmTable}}})
	if res.Error != errGenErr || res.Index != 1 {
		t.Errorf("out-of-range Next: error %d index %d", res.Error, res.Index)
	}
	res = mc.request(&pdu{header: header{Type: typeGet}, Ranges: []searchRange{{Start: vmwVmTable}}})
	if res.Error != errGenErr {
		t.Errorf("INTEGER out of range: error %d", res.Error)
	}
}

// TestFakeMasterDeadAndHostile: an unanswered Ping and a header the
// subagent cannot frame both end the session, and it reconnects.
func TestFakeMasterDeadAndHostile(t *testing.T) {
	m, a, _, _ := startFake(t, newTable(1), 50*time.Millisecond)
	mc := m.accept(1)
	n := waitSession(t, a, 0)
	if p := mc.read(); p.Type != typePing {
		t.Fatalf("got %s, want Ping", p.Type)
	}
	// Ping left unanswered: the subagent gives up after callTimeout.
	mc2 := m.accept(1)
	n = waitSession(t, a, n)
	// A header announcing a payload above the limit.
	h := []byte{1, byte(typeGet), flagNetworkByteOrder, 0}
	for _, v := range []uint32{mc2.id, 1, 1, 1 << 30} {
		h = binary.BigEndian.AppendUint32(h, v)
	}
	mc2.raw(h)
	for {
		p := mc2.read()
		if p.Type == typeClose {
			if p.Reason != reasonParseError {
				t.Errorf("Close reason %d, want parseError", p.Reason)
			}
			break
		}
		mc2.respond(p, errNoError) // pings
	}
	m.accept(1)
	waitSession(t, a, n)
	if st := a.Status(); st.Sessions != 3 {
		t.Errorf("sessions %d, want 3", st.Sessions)
	}
}
