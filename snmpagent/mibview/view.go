// Package mibview holds the objects hostagent answers polls with: the
// VMware MIBs' scalars and tables as the collectors see the host now. Each
// producer (the product's identity, the VM collector, the sensors, the
// host's resources) publishes its section whole, whenever it changes; a
// poll reads one snapshot of every section, sorted by OID, so that a walk
// never sees half of a change. The AgentX subagent serves a View as its
// Handler; the View knows nothing of the protocol.
package mibview

import (
	"slices"
	"sync"
	"sync/atomic"

	"hostagent/mibs"
)

// View is the set of objects served, by section.
type View struct {
	mu       sync.Mutex // Publish against Publish
	sections map[string][]mibs.VarBind
	snap     atomic.Pointer[[]mibs.VarBind] // every section's objects, sorted, unique
}

// New returns an empty view.
func New() *View {
	v := &View{sections: map[string][]mibs.VarBind{}}
	v.snap.Store(&[]mibs.VarBind{})
	return v
}

// Publish replaces section's objects with vbs (copied; nil or empty removes
// the section). Objects of one section should lie in its own subtree; an
// OID given twice keeps the section's last value.
func (v *View) Publish(section string, vbs []mibs.VarBind) {
	own := slices.Clone(vbs)
	slices.SortStableFunc(own, func(a, b mibs.VarBind) int { return Compare(a.OID, b.OID) })
	own = dedupLast(own)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(own) == 0 {
		delete(v.sections, section)
	} else {
		v.sections[section] = own
	}
	var all []mibs.VarBind
	for _, name := range sortedKeys(v.sections) {
		all = append(all, v.sections[name]...)
	}
	slices.SortStableFunc(all, func(a, b mibs.VarBind) int { return Compare(a.OID, b.OID) })
	all = dedupLast(all)
	v.snap.Store(&all)
}

// Retain removes every section but those named: the sections of
// producers that stopped (collectors reconfigured) must not be served as
// if they were live.
func (v *View) Retain(keep ...string) {
	v.mu.Lock()
	var drop []string
	for name := range v.sections {
		if !slices.Contains(keep, name) {
			drop = append(drop, name)
		}
	}
	v.mu.Unlock()
	for _, name := range drop {
		v.Publish(name, nil)
	}
}

// Len is the number of objects served.
func (v *View) Len() int { return len(*v.snap.Load()) }

// Get returns the object at exactly oid.
func (v *View) Get(oid mibs.OID) (mibs.VarBind, bool) {
	all := *v.snap.Load()
	i, found := slices.BinarySearchFunc(all, oid, func(vb mibs.VarBind, o mibs.OID) int { return Compare(vb.OID, o) })
	if !found {
		return mibs.VarBind{}, false
	}
	return all[i], true
}

// Next returns the first object after from (or at from, when include),
// and before end when end is not empty: GETNEXT's and GETBULK's step.
func (v *View) Next(from mibs.OID, include bool, end mibs.OID) (mibs.VarBind, bool) {
	all := *v.snap.Load()
	i, found := slices.BinarySearchFunc(all, from, func(vb mibs.VarBind, o mibs.OID) int { return Compare(vb.OID, o) })
	if found && !include {
		i++
	}
	if i >= len(all) || (len(end) > 0 && Compare(all[i].OID, end) >= 0) {
		return mibs.VarBind{}, false
	}
	return all[i], true
}

// Compare orders OIDs lexicographically by sub-identifier, as SNMP walks
// them (a prefix comes first).
func Compare(a, b mibs.OID) int {
	for i := range min(len(a), len(b)) {
		switch {
		case a[i] < b[i]:
			return -1
		case a[i] > b[i]:
			return 1
		}
	}
	return len(a) - len(b)
}

// dedupLast keeps the last of each run of equal OIDs in a sorted slice.
func dedupLast(s []mibs.VarBind) []mibs.VarBind {
	out := s[:0]
	for i, vb := range s {
		if i+1 < len(s) && Compare(vb.OID, s[i+1].OID) == 0 {
			continue
		}
		out = append(out, vb)
	}
	return out
}

func sortedKeys(m map[string][]mibs.VarBind) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
