// Package configstore reads and writes the daemon's TOML configuration files atomically, and the Duration they share.
package configstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load decodes the TOML file at path into v. v must already hold the defaults:
// keys absent from the file keep them. A missing file returns found=false and
// no error. Unknown keys are an error that names the file and every unknown key,
// e.g. `snmp.toml: unknown setting "enabeld" (allowed: enabled, port, ...)`;
// the allowed list is derived from the toml tags of v's struct fields when v
// points to a struct. A TOML syntax or type error names the file and the line;
// the underlying toml.ParseError stays reachable with errors.As, so callers
// can show its ErrorWithPosition context.
//
// On error v may be partly updated: a caller that must keep its current
// configuration when a hand edit is broken should Load into a fresh copy.
func Load(path string, v any) (found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("config %s: %w", path, err)
	}
	return true, Decode(path, data, v)
}

// Decode decodes data, the content of the file called name (in messages),
// into v as Load does.
func Decode(name string, data []byte, v any) error {
	path := name
	md, err := toml.Decode(string(data), v)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &parseError{path: path, pe: pe}
		}
		// Type mismatches are plain strings (no cause to wrap) that already
		// carry "line N"; only toml's own prefix is dropped so they read
		// like the syntax errors above.
		return fmt.Errorf("config %s: %s", path, strings.TrimPrefix(err.Error(), "toml: "))
	}

	// A misspelt key would otherwise be silently ignored and the default
	// used, which is the hardest kind of config mistake to notice.
	if unknown := topUnknown(md.Undecoded()); len(unknown) > 0 {
		return fmt.Errorf("config %s: %s", path, describeUnknown(unknown, reflect.TypeOf(v)))
	}
	return nil
}

// parseError prints a toml.ParseError on one line (logs stay greppable) while
// keeping it available to errors.As for a multi-line ErrorWithPosition.
type parseError struct {
	path string
	pe   toml.ParseError
}

func (e *parseError) Error() string {
	pos := e.pe.Position
	where := fmt.Sprintf("line %d", pos.Line)
	if pos.Col > 0 {
		where += fmt.Sprintf(", column %d", pos.Col)
	}
	if e.pe.LastKey != "" {
		where += fmt.Sprintf(" (last key %q)", e.pe.LastKey)
	}
	return fmt.Sprintf("config %s: %s: %s", e.path, where, e.pe.Message)
}

func (e *parseError) Unwrap() error { return e.pe }

// topUnknown drops keys nested under another unknown key: for a misspelt
// table "[snmpp]" the user needs to hear about "snmpp", not every key in it.
func topUnknown(keys []toml.Key) []toml.Key {
	seen := make(map[string]bool, len(keys))
	var top []toml.Key
	for _, k := range keys {
		nested := false
		for i := 1; i < len(k); i++ {
			if seen[k[:i].String()] {
				nested = true
				break
			}
		}
		seen[k.String()] = true
		if !nested {
			top = append(top, k)
		}
	}
	return top
}

// describeUnknown groups unknown keys by the table they appear in, so each
// group can be followed by the settings that table does allow.
func describeUnknown(keys []toml.Key, root reflect.Type) string {
	var (
		order  []string
		groups = map[string][]toml.Key{}
	)
	for _, k := range keys {
		parent := k[:len(k)-1].String()
		if _, ok := groups[parent]; !ok {
			order = append(order, parent)
		}
		groups[parent] = append(groups[parent], k)
	}

	var parts []string
	for _, parent := range order {
		ks := groups[parent]
		quoted := make([]string, len(ks))
		for i, k := range ks {
			quoted[i] = fmt.Sprintf("%q", k.String())
		}
		noun := "setting"
		if len(ks) > 1 {
			noun = "settings"
		}
		part := fmt.Sprintf("unknown %s %s", noun, strings.Join(quoted, ", "))
		if allowed := allowedKeys(root, ks[0][:len(ks[0])-1]); len(allowed) > 0 {
			in := ""
			if parent != "" {
				in = " in [" + parent + "]"
			}
			part += fmt.Sprintf(" (allowed%s: %s)", in, strings.Join(allowed, ", "))
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// allowedKeys returns the sorted key names of the struct table found by
// following path from t, or nil when that table is not a struct (a map
// accepts any key, so there is no list to offer).
func allowedKeys(t reflect.Type, path []string) []string {
	t = deref(t)
	for _, name := range path {
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByKey(t, name)
			if !ok {
				return nil
			}
			t = deref(f)
		case reflect.Map:
			t = deref(t.Elem())
		default:
			return nil
		}
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return slices.Sorted(maps.Keys(structKeys(t)))
}

// deref looks through pointers and slices/arrays (arrays of tables) to the
// type that holds a table's keys.
func deref(t reflect.Type) reflect.Type {
	for t != nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			t = t.Elem()
		default:
			return t
		}
	}
	return t
}

// fieldByKey finds the field type for a TOML key the way the decoder does:
// an exact name first, then a case-insensitive one.
func fieldByKey(t reflect.Type, key string) (reflect.Type, bool) {
	keys := structKeys(t)
	if ft, ok := keys[key]; ok {
		return ft, true
	}
	for name, ft := range keys {
		if strings.EqualFold(name, key) {
			return ft, true
		}
	}
	return nil, false
}

// structKeys maps each TOML key of struct t to its field type, following the
// decoder's rules: the toml tag name or else the Go field name, "-" skipped,
// unexported fields skipped, untagged embedded structs flattened.
func structKeys(t reflect.Type) map[string]reflect.Type {
	keys := map[string]reflect.Type{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("toml")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		ft := sf.Type
		if ft.Name() == "" && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			for k, v := range structKeys(ft) {
				if _, ok := keys[k]; !ok { // outer fields win, as in encoding/json
					keys[k] = v
				}
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		keys[name] = sf.Type
	}
	return keys
}

// Save writes v as TOML to path atomically: a temp file in the same directory
// (named ".<base>.*.tmp" so the Watcher ignores it), write, fsync, chmod to
// mode, rename over path, then fsync the directory. header, if not empty, is
// written first as "# " comment lines. On any error before the rename the old
// file is untouched and the temp file removed.
func Save(path string, v any, mode os.FileMode, header string) error {
	// Encode fully before touching the disk so an unencodable value can never
	// cost the user their existing file.
	data, err := Encode(v, header)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("config %w", err)
	}
	return nil
}

// Encode is v as Save writes it: header as "# " comment lines, then v as
// TOML.
func Encode(v any, header string) ([]byte, error) {
	// The encoder happily writes a bare "42" for a non-table value, which no
	// TOML reader (Load included) accepts back.
	if !isTable(v) {
		return nil, fmt.Errorf("encode: top level must be a struct or map, not %T", v)
	}
	var buf bytes.Buffer
	writeHeader(&buf, header)
	if err := toml.NewEncoder(&buf).Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteFile writes data to path atomically, as Save writes TOML: a temp
// file in the same directory, write, fsync, chmod, rename, fsync of the
// directory. Every file hostagent keeps (configuration, state, keys,
// backups, session files) is written through it.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	// Same directory as the target: rename is only atomic within one
	// filesystem.
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := writeTemp(tmp, data, mode); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("%s: %w", path, err)
	}
	// Without this the rename itself may be lost on a crash, leaving the old
	// file (or none) even though the write returned nil.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("%s: written but not yet durable: %w", path, err)
	}
	return nil
}

// isTable reports whether v (through pointers) encodes as a TOML table.
func isTable(v any) bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
}

// writeTemp fills, syncs, chmods and closes f. The chmod happens on the open
// file, before the rename, so the file never appears at its final name with
// CreateTemp's 0600 or a umask-reduced mode.
func writeTemp(f *os.File, data []byte, mode os.FileMode) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeHeader(buf *bytes.Buffer, header string) {
	header = strings.TrimRight(header, "\n")
	if header == "" {
		return
	}
	for line := range strings.SplitSeq(header, "\n") {
		if line == "" {
			buf.WriteString("#\n")
			continue
		}
		buf.WriteString("# " + line + "\n")
	}
	buf.WriteString("\n")
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
