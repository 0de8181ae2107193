package audit

import (
	"cmp"
	"encoding"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// Changes compares two values of the same struct type (e.g. two
// snmpconfig.Config, or pointers to them) field by field and returns one
// Entry per changed field, with Setting, Old and New filled; the caller
// sets User, Source, Action and Result.
//
// The setting name is the field's toml tag (the field name when it has
// none; fields tagged "-" and unexported fields are skipped). Values are
// written as fmt's %v writes them, except that slices and arrays are joined
// with "," and pointers are followed (nil is ""), so that two equal
// configurations never differ by an address. A field is changed when its
// written form is; a nil and an empty slice are thus the same. Values of
// password settings, and password fields inside nested values, are
// "(hidden)".
//
// Changes panics if old and new are not structs (or pointers to structs) of
// the same type; a nil pointer counts as the zero value.
func Changes(old, new any) []Entry {
	ov, nv := structValue(old, "old"), structValue(new, "new")
	switch {
	case !ov.IsValid() && !nv.IsValid():
		return nil
	case !ov.IsValid():
		ov = reflect.Zero(nv.Type())
	case !nv.IsValid():
		nv = reflect.Zero(ov.Type())
	}
	if ov.Type() != nv.Type() {
		panic(fmt.Sprintf("audit.Changes: %s and %s differ", ov.Type(), nv.Type()))
	}
	var out []Entry
	t := ov.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, ok := settingName(f)
		if !ok {
			continue
		}
		// Compare the values in full, so that a changed password inside
		// a nested value counts, then write them with passwords hidden.
		// A value whose own String hides its secrets (SNMPv3 users and
		// their keys) is compared by its content: a changed key alone
		// is a change, written as such.
		e := Entry{Setting: name}
		if formatTop(ov.Field(i), false) == formatTop(nv.Field(i), false) {
			if !hasString(ov.Field(i)) || sameContent(ov.Field(i), nv.Field(i)) {
				continue
			}
			e.Detail = "secret values changed (not shown)"
		}
		e.Old, e.New = formatTop(ov.Field(i), true), formatTop(nv.Field(i), true)
		out = append(out, Sanitize(e))
	}
	return out
}

// sameContent compares two values of a type with its own String, an
// empty slice equal to a nil one.
func sameContent(a, b reflect.Value) bool {
	if a.Kind() == reflect.Slice && a.Len() == 0 && b.Len() == 0 {
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// structValue is v's struct, following pointers; the invalid Value for a
// nil pointer.
func structValue(v any, which string) reflect.Value {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			if rv.Type().Elem().Kind() == reflect.Struct {
				return reflect.Value{}
			}
			break
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		panic(fmt.Sprintf("audit.Changes: %s is %T, not a struct", which, v))
	}
	return rv
}

// settingName is a field's toml key, and whether it is a setting at all.
func settingName(f reflect.StructField) (string, bool) {
	if !f.IsExported() {
		return "", false
	}
	tag := f.Tag.Get("toml")
	if tag == "-" {
		return "", false
	}
	if name, _, _ := strings.Cut(tag, ","); name != "" {
		return name, true
	}
	return f.Name, true
}

var (
	stringerType = reflect.TypeFor[fmt.Stringer]()
	textType     = reflect.TypeFor[encoding.TextMarshaler]()
)

// formatTop writes a field's value: slices and arrays joined with ",",
// nil pointers as "", other values as format writes them.
func formatTop(v reflect.Value, hide bool) string {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		if hasString(v) || hasText(v) {
			break
		}
		v = v.Elem()
	}
	if (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && !hasString(v) && !hasText(v) && v.Type().Elem().Kind() != reflect.Uint8 {
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = format(v.Index(i), hide)
		}
		return strings.Join(parts, ",")
	}
	return format(v, hide)
}

// methodText is v written by its String method, or else by its MarshalText
// method, and whether it has either. A panicking method is written as fmt
// writes it.
func methodText(v reflect.Value) (text string, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			text, ok = fmt.Sprintf("%%!v(PANIC=%v)", r), true
		}
	}()
	if hasString(v) {
		return v.Interface().(fmt.Stringer).String(), true
	}
	if hasText(v) {
		if t, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			return string(t), true
		}
	}
	return "", false
}

// hasText reports whether v's MarshalText method can and should be used.
func hasText(v reflect.Value) bool {
	if !v.CanInterface() || !v.Type().Implements(textType) {
		return false
	}
	return v.Kind() != reflect.Pointer || !v.IsNil()
}

// hasString reports whether v's String method can and should be used.
func hasString(v reflect.Value) bool {
	if !v.CanInterface() || !v.Type().Implements(stringerType) {
		return false
	}
	// A nil pointer with a value-receiver String method would panic.
	return v.Kind() != reflect.Pointer || !v.IsNil()
}

// format writes v as fmt's %v does, except that pointers are followed
// (nil is "<nil>"), values with a MarshalText but no String method are
// written as text (as in the toml file: "30s" for an configstore.Duration),
// and, if hide is set, non-zero password fields of structs and password
// keys of maps are written "(hidden)".
func format(v reflect.Value, hide bool) string {
	p := printer{hide: hide}
	p.value(v, 0)
	return p.b.String()
}

type printer struct {
	b    strings.Builder
	hide bool
}

const maxDepth = 32 // against cycles through pointers

func (p *printer) value(v reflect.Value, depth int) {
	b := &p.b
	if !v.IsValid() {
		b.WriteString("<nil>")
		return
	}
	if depth > maxDepth {
		b.WriteString("...")
		return
	}
	if text, ok := methodText(v); ok {
		b.WriteString(text)
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("<nil>")
			return
		}
		p.value(v.Elem(), depth+1)
	case reflect.Struct:
		b.WriteByte('{')
		t := v.Type()
		for i := range t.NumField() {
			if i > 0 {
				b.WriteByte(' ')
			}
			f := t.Field(i)
			name, _ := settingName(f)
			if p.hide && (Sensitive(f.Name) || Sensitive(name)) && !v.Field(i).IsZero() {
				b.WriteString(Hidden)
				continue
			}
			p.value(v.Field(i), depth+1)
		}
		b.WriteByte('}')
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 && v.CanInterface() {
			fmt.Fprintf(b, "%v", v.Interface())
			return
		}
		b.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				b.WriteByte(' ')
			}
			p.value(v.Index(i), depth+1)
		}
		b.WriteByte(']')
	case reflect.Map:
		b.WriteString("map[")
		keys := v.MapKeys()
		slices.SortFunc(keys, compareKeys)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(' ')
			}
			p.value(k, depth+1)
			b.WriteByte(':')
			if p.hide && k.Kind() == reflect.String && Sensitive(k.String()) && !v.MapIndex(k).IsZero() {
				b.WriteString(Hidden)
				continue
			}
			p.value(v.MapIndex(k), depth+1)
		}
		b.WriteByte(']')
	case reflect.String:
		b.WriteString(v.String())
	case reflect.Bool:
		fmt.Fprint(b, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		fmt.Fprint(b, v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		fmt.Fprint(b, v.Uint())
	case reflect.Float32:
		fmt.Fprint(b, float32(v.Float()))
	case reflect.Float64:
		fmt.Fprint(b, v.Float())
	case reflect.Complex64:
		fmt.Fprint(b, complex64(v.Complex()))
	case reflect.Complex128:
		fmt.Fprint(b, v.Complex())
	default: // chan, func, unsafe pointer: as fmt writes them
		if v.CanInterface() {
			fmt.Fprintf(b, "%v", v.Interface())
		} else {
			fmt.Fprintf(b, "<%s>", v.Type())
		}
	}
}

// compareKeys orders map keys as fmt does for the usual key kinds, and by
// their written form otherwise.
func compareKeys(a, b reflect.Value) int {
	switch a.Kind() {
	case reflect.String:
		return cmp.Compare(a.String(), b.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return cmp.Compare(a.Int(), b.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cmp.Compare(a.Uint(), b.Uint())
	case reflect.Float32, reflect.Float64:
		return cmp.Compare(a.Float(), b.Float())
	case reflect.Bool:
		return cmp.Compare(boolInt(a.Bool()), boolInt(b.Bool()))
	}
	return cmp.Compare(format(a, false), format(b, false))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
