package snmpagent

import (
	"context"
	"strconv"
	"testing"

	"github.com/gosnmp/gosnmp"

	"hostagent/mibs"
)

// TestV2cTrapsCarryDistinctRequestIDs: every v2c trap used to carry the
// placeholder request-id 2147483647, so a receiver that drops repeated ids
// as retransmissions could drop all but the first. Each trap now takes the
// sender's next id, in the 4-octet range.
func TestV2cTrapsCarryDistinctRequestIDs(t *testing.T) {
	r := newRecorder(t)
	a := testAgent(t)
	apply(t, a, enabled("127.0.0.1@"+strconv.Itoa(r.port())))
	const n = 5
	for range n {
		if err := a.Notify(context.Background(), mibs.WarmStart.MustNew()); err != nil {
			t.Fatal(err)
		}
	}
	pkts := r.wait(t, n+1) // and the coldStart
	seen := map[uint32]bool{}
	for i, p := range pkts {
		if p.PDUType != gosnmp.SNMPv2Trap {
			t.Fatalf("packet %d: PDU %v, want SNMPv2-Trap", i, p.PDUType)
		}
		id := p.RequestID
		if seen[id] || id < minRequestID || id > maxRequestID {
			t.Errorf("trap %d: request-id %d, seen before or outside [%d, %d]", i, id, minRequestID, maxRequestID)
		}
		seen[id] = true
		if i > 0 && id != nextID(pkts[i-1].RequestID) {
			t.Errorf("trap %d: request-id %d after %d, want the next in sequence", i, id, pkts[i-1].RequestID)
		}
	}
}

func nextID(id uint32) uint32 {
	if id == maxRequestID {
		return minRequestID
	}
	return id + 1
}

// TestRequestIDsWrapWithinFourOctets: past maxRequestID the sequence goes
// back to minRequestID, never to an id shorter than the placeholder.
func TestRequestIDsWrapWithinFourOctets(t *testing.T) {
	ids := requestIDs{next: maxRequestID - 1}
	for _, want := range []uint32{maxRequestID - 1, maxRequestID, minRequestID, minRequestID + 1} {
		if got := ids.take(); got != want {
			t.Errorf("take %#x, want %#x", got, want)
		}
	}
	for range 1000 {
		if id := newRequestIDs().next; id < minRequestID || id > maxRequestID {
			t.Fatalf("random start %#x outside [%#x, %#x]", id, minRequestID, maxRequestID)
		}
	}
}
