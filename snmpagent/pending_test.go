package snmpagent

import (
	"os"
	"slices"
	"testing"
)

// TestPendingStoreSurvivesReopen: what is added and not done is found
// again, in order, with its tries; a line cut by a crash is skipped; the
// file is compacted on open.
func TestPendingStoreSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	const target = "inform:192.0.2.1@162/public"
	p, live, err := openPending(dir, target)
	if err != nil || len(live) != 0 {
		t.Fatalf("open: %v, %d live", err, len(live))
	}
	pdu := []byte{0xa6, 0x10, 0x02, 0x04, 0, 0, 0, 0, 0x02, 0x01, 0}
	ids, err := p.add([]pendingInform{{Name: "a", PDU: pdu, ReqAt: 2}, {Name: "b", PDU: pdu, ReqAt: 2}, {Name: "c", PDU: pdu, ReqAt: 2}})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(p.tried(ids[2]))
	must(p.tried(ids[2]))
	must(p.done(ids[1]))
	must(p.close())
	// A crash in the middle of a line.
	f, err := os.OpenFile(pendingFile(dir, target), os.O_WRONLY|os.O_APPEND, 0)
	must(err)
	f.WriteString(`{"op":"done","id":`)
	f.Close()

	p, live, err = openPending(dir, target)
	must(err)
	var names []string
	for _, in := range live {
		names = append(names, in.Name)
	}
	if !slices.Equal(names, []string{"a", "c"}) || live[1].Attempts != 2 || !slices.Equal(live[0].PDU, pdu) || live[0].ReqAt != 2 {
		t.Fatalf("after reopen: %v, %+v", names, live)
	}
	// New ids never reuse an old one.
	more, err := p.add([]pendingInform{{Name: "d", PDU: pdu, ReqAt: 2}})
	must(err)
	if more[0] <= ids[2] {
		t.Errorf("id %d reused (last was %d)", more[0], ids[2])
	}
	must(p.done(live[0].ID))
	must(p.done(live[1].ID))
	must(p.done(more[0]))
	must(p.close())
	if _, live, err = openPending(dir, target); err != nil || len(live) != 0 {
		t.Fatalf("all done: %v, %d live", err, len(live))
	}
	if data, _ := os.ReadFile(pendingFile(dir, target)); len(data) != 0 {
		t.Errorf("compacted file still holds %q", data)
	}
	// Another target has a file of its own, and the name holds no community.
	if pendingFile(dir, target) == pendingFile(dir, "inform:192.0.2.1@162/private") {
		t.Error("two targets share a file")
	}
}
