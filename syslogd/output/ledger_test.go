package output

import "testing"

// TestLedger: a batch is confirmed only with every record of it and of the
// batches before it acknowledged, whatever the order of the acknowledgements;
// an empty batch at once; the bounds let a large batch go alone.
func TestLedger(t *testing.T) {
	var l Ledger
	a, b, c := l.Open(2, 20), l.Open(1, 10), l.Open(0, 0)
	if a != 1 || b != 2 || c != 3 || l.LastID() != 3 || l.Records() != 3 || l.Confirmed() != 0 {
		t.Fatalf("opened %d %d %d: last %d, records %d, confirmed %d", a, b, c, l.LastID(), l.Records(), l.Confirmed())
	}
	l.Ack(b, 10) // the second batch first: nothing confirmed yet
	if l.Confirmed() != 0 {
		t.Errorf("confirmed %d before the first batch's records", l.Confirmed())
	}
	l.Ack(a, 10)
	if l.Confirmed() != 0 || l.Fits(1, 1, 1, 100) {
		t.Errorf("one record of batch 1 left: confirmed %d, fits %v", l.Confirmed(), l.Fits(1, 1, 1, 100))
	}
	l.Ack(a, 10) // the empty third batch goes with the second
	if l.Confirmed() != 3 || l.Records() != 0 {
		t.Errorf("all acknowledged: confirmed %d, records %d", l.Confirmed(), l.Records())
	}
	if !l.Fits(1000, 1<<30, 1, 1) {
		t.Error("nothing unacknowledged: a batch over the bounds must go alone")
	}
	l.Open(1, 8)
	if l.Fits(1, 8, 10, 15) || !l.Fits(1, 7, 10, 15) || l.Fits(10, 1, 10, 100) {
		t.Error("bounds by bytes and by records")
	}
}
