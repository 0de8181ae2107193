package output

import "sync/atomic"

// Ledger counts a log bus output's records from their publication to their
// acknowledgement, batch by batch (packages kafka and jetstream): Confirmed
// passes a batch only once every record of it and of the batches before it
// is acknowledged, in whatever order the acknowledgements came. Its owner
// serialises the other methods (under its own lock); Confirmed may be read
// from any goroutine.
type Ledger struct {
	nextID    uint64 // the last batch id given
	base      uint64 // the newest batch id confirmed with all before it
	remaining []int  // records not acknowledged of batches base+1, base+2, ...
	records   int    // records not acknowledged, in all
	bytes     int    // and their size
	confirmed atomic.Uint64
}

// Open records a batch of n records of size bytes, all published, and
// returns its id (1, 2, ...). An empty batch is confirmed at once.
func (l *Ledger) Open(n, size int) uint64 {
	l.nextID++
	l.remaining = append(l.remaining, n)
	l.records += n
	l.bytes += size
	l.advance()
	return l.nextID
}

// Ack records the acknowledgement of one record, of size bytes, of batch.
func (l *Ledger) Ack(batch uint64, size int) {
	l.records--
	l.bytes -= size
	l.remaining[batch-l.base-1]--
	l.advance()
}

// advance moves the confirmed id past the batches whose records are all
// acknowledged.
func (l *Ledger) advance() {
	n := 0
	for n < len(l.remaining) && l.remaining[n] == 0 {
		n++
	}
	if n == 0 {
		return
	}
	l.remaining = l.remaining[n:]
	l.base += uint64(n)
	l.confirmed.Store(l.base)
}

// Fits says whether n more records of size bytes stay within maxRecords
// and maxBytes unacknowledged. A batch larger than the bounds fits when
// nothing else is unacknowledged: it goes alone.
func (l *Ledger) Fits(n, size, maxRecords, maxBytes int) bool {
	return l.records == 0 || l.records+n <= maxRecords && l.bytes+size <= maxBytes
}

// LastID is the id of the last batch opened (0 before the first).
func (l *Ledger) LastID() uint64 { return l.nextID }

// Records is the number of records published and not yet acknowledged.
func (l *Ledger) Records() int { return l.records }

// Confirmed is the id of the newest batch that, with every earlier one,
// has all its records acknowledged.
func (l *Ledger) Confirmed() uint64 { return l.confirmed.Load() }
