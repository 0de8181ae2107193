// Package resolve turns OIDs into names for logs and names into OIDs for
// settings, from the catalogue and from whatever MIB modules are on disk
// (read with gosmi). Only the daemon links it: the commands send names as
// they are and let the daemon resolve them.
package resolve

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/sleepinggenius2/gosmi"
	"github.com/sleepinggenius2/gosmi/types"

	"hostagent/mibs"
)

// gosmi keeps one parsed MIB tree per process, so every Resolver shares it
// under this lock and reloads it when a Resolver with other directories asks.
var (
	smiMu   sync.Mutex
	smiDirs []string // directories the global tree was loaded from; nil: not loaded
)

// Resolver turns names into OIDs and OIDs into MODULE::name strings, from
// the MIB modules in its directories, falling back to the catalogue (and to
// numeric OIDs) when a module is not installed.
type Resolver struct {
	dirs    []string
	modules int
}

// NewResolver loads every MIB module found in dirs (missing directories are
// skipped, as net-snmp skips them).
func NewResolver(dirs []string) *Resolver {
	r := &Resolver{dirs: slices.Clone(dirs)}
	smiMu.Lock()
	defer smiMu.Unlock()
	r.modules = r.loadLocked()
	return r
}

// Modules is how many MIB modules were loaded.
func (r *Resolver) Modules() int { return r.modules }

// Dirs are the directories the resolver reads.
func (r *Resolver) Dirs() []string { return slices.Clone(r.dirs) }

func (r *Resolver) loadLocked() int {
	if smiDirs != nil && slices.Equal(smiDirs, r.dirs) {
		return len(gosmi.GetLoadedModules())
	}
	if smiDirs != nil {
		gosmi.Exit()
	}
	gosmi.Init()
	smiDirs = slices.Clone(r.dirs)
	if smiDirs == nil {
		smiDirs = []string{}
	}
	var existing []string
	for _, d := range r.dirs {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			existing = append(existing, d)
		}
	}
	if len(existing) == 0 {
		return 0
	}
	gosmi.SetPath(strings.Join(existing, string(os.PathListSeparator)))
	for _, d := range existing {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			name, _, _ := strings.Cut(e.Name(), ".")
			if e.IsDir() || gosmi.IsLoaded(name) || !isModuleFile(filepath.Join(d, e.Name())) {
				continue
			}
			_, _ = gosmi.LoadModule(name) // a module with broken imports is skipped, as net-snmp does
		}
	}
	return len(gosmi.GetLoadedModules())
}

// isModuleFile reports whether a file looks like an SMI module, so that
// READMEs and index files beside the MIBs are not handed to the parser.
func isModuleFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8192)
	n, _ := io.ReadFull(f, head)
	return bytes.Contains(head[:n], []byte("DEFINITIONS")) && bytes.Contains(head[:n], []byte("::="))
}

// OID resolves a numeric OID ("1.3.6.1.6.3.1.1.5.2", leading dot allowed),
// a catalogue name ("warmStart"), or a MIB name ("SNMPv2-MIB::warmStart",
// "IF-MIB::ifIndex") found in the loaded modules.
func (r *Resolver) OID(name string) (mibs.OID, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, fmt.Errorf("empty name")
	}
	if c := name[0]; c == '.' || c >= '0' && c <= '9' {
		return mibs.ParseOID(name)
	}
	if t, ok := mibs.Lookup(name); ok {
		return t.OID, nil
	}
	module, short, qualified := strings.Cut(name, "::")
	smiMu.Lock()
	defer smiMu.Unlock()
	r.loadLocked()
	var node gosmi.SmiNode
	var err error
	if qualified {
		m, merr := gosmi.GetModule(module)
		if merr != nil {
			return nil, fmt.Errorf("MIB module %s is not loaded from %s", module, strings.Join(r.dirs, ":"))
		}
		node, err = m.GetNode(short)
	} else {
		node, err = gosmi.GetNode(name)
	}
	if err != nil {
		return nil, fmt.Errorf("not a numeric OID, a notification of the catalogue, nor a name in the MIB modules loaded from %s", strings.Join(r.dirs, ":"))
	}
	oid := make(mibs.OID, len(node.Oid))
	for i, v := range node.Oid {
		oid[i] = uint32(v)
	}
	return oid, nil
}

// Name renders an OID as MODULE::name with the remaining sub-identifiers as
// a suffix ("SNMPv2-MIB::sysUpTime.0"); numeric when nothing matches. A nil
// Resolver names from the catalogue alone.
func (r *Resolver) Name(oid mibs.OID) string {
	if r == nil {
		return catalogueName(oid)
	}
	smiMu.Lock()
	r.loadLocked()
	node, err := gosmi.GetNodeByOID(toSmi(oid))
	module := ""
	if err == nil {
		module = node.GetModule().Name
	}
	smiMu.Unlock()
	// gosmi always knows its own "<well-known>" roots (iso, ...): a match
	// there, or one shorter than the catalogue's, is no better than the
	// catalogue.
	if err != nil || strings.HasPrefix(module, "<") || node.OidLen > len(oid) || node.OidLen <= catalogueMatch(oid) {
		return catalogueName(oid)
	}
	return qualified(module, node.Name, oid[node.OidLen:])
}

func qualified(module, name string, suffix mibs.OID) string {
	if len(suffix) == 0 {
		return module + "::" + name
	}
	return module + "::" + name + "." + suffix.String()
}

// catalogueObjects are the objects the catalogue can name.
var catalogueObjects = func() []mibs.Object {
	objects := []mibs.Object{mibs.SysUpTime, mibs.SnmpTrapOID, mibs.VmwESX}
	for _, t := range mibs.Catalogue {
		objects = append(objects, t.Objects...)
	}
	return objects
}()

// catalogueMatch is how many sub-identifiers of oid the catalogue names.
func catalogueMatch(oid mibs.OID) int {
	if t, ok := mibs.LookupOID(oid); ok {
		return len(t.OID)
	}
	best := 0
	for _, o := range catalogueObjects {
		if oid.HasPrefix(o.OID) && len(o.OID) > best {
			best = len(o.OID)
		}
	}
	return best
}

// catalogueName names an OID from the catalogue alone.
func catalogueName(oid mibs.OID) string {
	if t, ok := mibs.LookupOID(oid); ok {
		return t.QualifiedName()
	}
	for _, o := range catalogueObjects {
		if oid.HasPrefix(o.OID) {
			return qualified(o.Module, o.Name, oid[len(o.OID):])
		}
	}
	return oid.String()
}

func toSmi(oid mibs.OID) types.Oid {
	out := make(types.Oid, len(oid))
	for i, v := range oid {
		out[i] = types.SmiSubId(v)
	}
	return out
}
