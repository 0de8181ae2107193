package vms

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"hostagent/internal/configstore"
)

// record is what the collector last reported of one VM.
type record struct {
	UUID      string    `toml:"uuid"`
	ID        int       `toml:"id"` // vmwVmID: small, stable, never reused
	Name      string    `toml:"name"`
	Power     power     `toml:"power"`
	Heartbeat heartbeat `toml:"heartbeat"`
}

type registryFile struct {
	NextID int      `toml:"next_id"`
	VMs    []record `toml:"vm"`
}

// registry keeps the VMs' ids and last reported states in the state
// directory, so that ids survive restarts and a change made while the agent
// (or libvirtd) was down is reported once, not never and not twice.
type registry struct {
	path   string
	nextID int
	byUUID map[string]*record
	loaded bool // a previous run left a file: this is not the first start
}

func loadRegistry(path string) (*registry, error) {
	var f registryFile
	found, err := configstore.Load(path, &f)
	if err != nil {
		return nil, fmt.Errorf("VM registry: %w", err)
	}
	r := &registry{path: path, nextID: max(f.NextID, 1), byUUID: map[string]*record{}, loaded: found}
	for i := range f.VMs {
		rec := f.VMs[i]
		r.byUUID[rec.UUID] = &rec
		r.nextID = max(r.nextID, rec.ID+1)
	}
	return r, nil
}

// get returns the record of a VM, giving a new VM the next id.
func (r *registry) get(uuid, name string) (rec *record, isNew bool) {
	if rec, ok := r.byUUID[uuid]; ok {
		rec.Name = name
		return rec, false
	}
	rec = &record{UUID: uuid, ID: r.nextID, Name: name}
	r.nextID++
	r.byUUID[uuid] = rec
	return rec, true
}

func (r *registry) forget(uuid string) { delete(r.byUUID, uuid) }

// snapshot copies the registry for writing by another goroutine.
func (r *registry) snapshot() registryFile {
	f := registryFile{NextID: r.nextID, VMs: make([]record, 0, len(r.byUUID))}
	for _, rec := range r.byUUID {
		f.VMs = append(f.VMs, *rec)
	}
	slices.SortFunc(f.VMs, func(a, b record) int { return a.ID - b.ID })
	return f
}

func (r *registry) save() error { return writeRegistry(r.path, r.snapshot()) }

func writeRegistry(path string, f registryFile) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return configstore.Save(path, f, 0o640, "VMs seen by hostagent's VM collector: their vmwVmID and last reported state.")
}
