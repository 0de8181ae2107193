package collectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Source is one running source of notifications, polled (a Runner) or
// event-driven (vms, links). The daemon runs every enabled Source of
// collectors.toml in its own goroutine and reads its Stats for /metrics.
type Source interface {
	// Run delivers to out until ctx is done and returns nil then; an error
	// means the source gave up before that.
	Run(ctx context.Context, out Notifier) error
	// Stats may be called at any time, from any goroutine.
	Stats() Stats
}

// Config is a source's section of collectors.toml: a struct with toml
// tags, decoded over the source's defaults.
type Config interface {
	// Validate returns every problem at once, each naming the setting,
	// the value and what is allowed.
	Validate() error
}

// Env is what the daemon gives a source to build it with.
type Env struct {
	Paths    Paths        // procfs and sysfs roots
	StateDir string       // where a source keeps what must outlive a restart
	Log      *slog.Logger // the daemon's, for the collectors' subsystem
	// Publisher takes what the source knows of the host now, for polls;
	// nil when nothing polls (a source then publishes to Discard).
	Publisher Publisher
}

// Publish gives env's Publisher, or one that discards.
func (env Env) Publish() Publisher {
	if env.Publisher == nil {
		return Discard
	}
	return env.Publisher
}

// Definition is how a source registers (node_exporter's registerCollector,
// Telegraf's inputs.Add): what its section holds, and how to build it.
type Definition[C Config] struct {
	// Default is the section when collectors.toml, or the section, is
	// absent; keys the file sets are decoded over it.
	Default func() C
	// Enabled says whether cfg asks for the source to run.
	Enabled func(cfg C) bool
	// New builds the source of a valid cfg. An error refuses the whole
	// configuration: the daemon starts all enabled sources or none.
	New func(cfg C, env Env) (Source, error)
}

// entry is a Definition with its section's type erased.
type entry struct {
	name     string
	typ      reflect.Type
	def      func() any
	enabled  func(any) bool
	validate func(any) error
	build    func(any, Env) (Source, error)
}

var registry struct {
	mu      sync.Mutex
	entries []entry      // sorted by name
	layout  reflect.Type // collectors.toml's struct, fixed at first use
}

// validName keeps section names to what a bare TOML key and a Prometheus
// label value hold without quoting.
var validName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Register adds a source under name, which is also its section [name] in
// collectors.toml and its collector label in /metrics. Sources call it
// from init; a second source of the same name, a bad name, a missing
// function or a registration after collectors.toml was first read is a
// programming error and panics, as node_exporter's registerCollector does.
func Register[C Config](name string, d Definition[C]) {
	if !validName.MatchString(name) {
		panic(fmt.Sprintf("collectors.Register(%q): the name must match %s", name, validName))
	}
	if d.Default == nil || d.Enabled == nil || d.New == nil {
		panic(fmt.Sprintf("collectors.Register(%q): Default, Enabled and New are all needed", name))
	}
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.layout != nil {
		panic(fmt.Sprintf("collectors.Register(%q): after collectors.toml was read; register from init", name))
	}
	i, found := slices.BinarySearchFunc(registry.entries, name, func(e entry, n string) int { return strings.Compare(e.name, n) })
	if found {
		panic(fmt.Sprintf("collectors.Register(%q): registered twice", name))
	}
	registry.entries = slices.Insert(registry.entries, i, entry{
		name:     name,
		typ:      reflect.TypeFor[C](),
		def:      func() any { return d.Default() },
		enabled:  func(c any) bool { return d.Enabled(c.(C)) },
		validate: func(c any) error { return c.(C).Validate() },
		build:    func(c any, env Env) (Source, error) { return d.New(c.(C), env) },
	})
}

// Names lists the registered sources, sorted.
func Names() []string {
	entries, _ := layout()
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}

// layout fixes the registry and returns it with collectors.toml's struct
// type: one field per source, tagged with its name. A real struct type,
// rather than a map of sections, lets the TOML decoder type every key,
// configstore name unknown keys with the allowed ones, and audit.Changes
// diff sections, exactly as for a struct written by hand.
func layout() ([]entry, reflect.Type) {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.layout == nil {
		fields := make([]reflect.StructField, len(registry.entries))
		for i, e := range registry.entries {
			fields[i] = reflect.StructField{
				Name: strings.ToUpper(e.name[:1]) + e.name[1:], // exported, for the decoder
				Type: e.typ,
				Tag:  reflect.StructTag(fmt.Sprintf(`toml:%q`, e.name)),
			}
		}
		registry.layout = reflect.StructOf(fields)
	}
	return registry.entries, registry.layout
}

// Settings are collectors.toml: one section per registered source. A
// Settings refers to its sections; DefaultSettings and ZeroSettings make
// new ones, and nothing but decoding into Ptr changes one.
type Settings struct {
	p reflect.Value // *layout
}

// DefaultSettings are every registered source's defaults: what a host
// without collectors.toml runs.
func DefaultSettings() Settings {
	s := ZeroSettings()
	entries, _ := layout()
	for i, e := range entries {
		s.p.Elem().Field(i).Set(reflect.ValueOf(e.def()))
	}
	return s
}

// ZeroSettings have every section at its zero value: decoding a file over
// them shows what the file alone says.
func ZeroSettings() Settings {
	_, t := layout()
	return Settings{p: reflect.New(t)}
}

// Ptr is a pointer to the sections' struct: to decode the file into, to
// encode it, and to diff two of them for the audit.
func (s Settings) Ptr() any { return s.p.Interface() }

// Validate checks every section and reports all problems at once.
func (s Settings) Validate() error {
	entries, _ := layout()
	errs := make([]error, len(entries))
	for i, e := range entries {
		errs[i] = e.validate(s.p.Elem().Field(i).Interface())
	}
	return errors.Join(errs...)
}

// Equal says whether s and o hold the same settings.
func (s Settings) Equal(o Settings) bool {
	if !s.p.IsValid() || !o.p.IsValid() {
		return s.p.IsValid() == o.p.IsValid()
	}
	return reflect.DeepEqual(s.p.Interface(), o.p.Interface())
}

// String writes the sections as fmt's %+v does, for messages and tests.
func (s Settings) String() string {
	if !s.p.IsValid() {
		return "{}"
	}
	return fmt.Sprintf("%+v", s.p.Elem().Interface())
}

// Build builds the source of every enabled section, by name. It builds all
// or none: the first failure is returned and nothing runs.
func (s Settings) Build(env Env) (map[string]Source, error) {
	entries, _ := layout()
	sources := map[string]Source{}
	for i, e := range entries {
		cfg := s.p.Elem().Field(i).Interface()
		if !e.enabled(cfg) {
			continue
		}
		src, err := e.build(cfg, env)
		if err != nil {
			return nil, err
		}
		sources[e.name] = src
	}
	return sources, nil
}

// Section is the section name of s, for a test or a tool that sets one
// setting. It panics if no source of type C is registered under name.
func Section[C Config](s Settings, name string) *C {
	entries, _ := layout()
	i := slices.IndexFunc(entries, func(e entry) bool { return e.name == name })
	if i < 0 || entries[i].typ != reflect.TypeFor[C]() {
		panic(fmt.Sprintf("collectors.Section: no source %q with a section of type %s", name, reflect.TypeFor[C]()))
	}
	return s.p.Elem().Field(i).Addr().Interface().(*C)
}
