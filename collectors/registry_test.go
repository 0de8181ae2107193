package collectors

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// testConfig is a section of the sources this test registers.
type testConfig struct {
	Enabled bool `toml:"enabled"`
	Level   int  `toml:"level"`
}

func (c testConfig) Validate() error {
	if c.Level < 0 {
		return errors.New("level must not be negative")
	}
	return nil
}

type idle struct{}

func (idle) Run(ctx context.Context, _ Notifier) error { <-ctx.Done(); return nil }
func (idle) Stats() Stats                              { return Stats{} }

func register(name string, err error) {
	Register(name, Definition[testConfig]{
		Default: func() testConfig { return testConfig{Enabled: true, Level: 1} },
		Enabled: func(c testConfig) bool { return c.Enabled },
		New: func(c testConfig, _ Env) (Source, error) {
			if err != nil {
				return nil, err
			}
			return idle{}, nil
		},
	})
}

func init() {
	register("beta", nil)
	register("alpha", nil)
	register("broken", errors.New("cannot open its device"))
}

func TestRegistry(t *testing.T) {
	if got := strings.Join(Names(), ","); got != "alpha,beta,broken" {
		t.Errorf("names %s, want them sorted", got)
	}
	s := DefaultSettings()
	if !s.Equal(DefaultSettings()) || s.Equal(ZeroSettings()) {
		t.Error("Equal does not compare the sections")
	}
	// All or none: one source that cannot be built refuses the set.
	if src, err := s.Build(Env{}); err == nil || src != nil {
		t.Errorf("Build with a broken source: %v, %v", src, err)
	}
	Section[testConfig](s, "broken").Enabled = false
	src, err := s.Build(Env{})
	if err != nil || len(src) != 2 || src["alpha"] == nil || src["beta"] == nil {
		t.Errorf("Build: %v, %v", src, err)
	}
	Section[testConfig](s, "alpha").Level = -1
	Section[testConfig](s, "beta").Level = -2
	if err := s.Validate(); err == nil || strings.Count(err.Error(), "level must not be negative") != 2 {
		t.Errorf("Validate reports every section: %v", err)
	}
}

func TestRegisterRefusesMistakes(t *testing.T) {
	for name, f := range map[string]func(){
		"a name that is no TOML key": func() { register("Bad-Name", nil) },
		"a second source of a name":  func() { register("alpha", nil) },
		"a missing function":         func() { Register("gamma", Definition[testConfig]{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
