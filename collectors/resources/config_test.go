package resources

import (
	"math"
	"strings"
	"testing"
	"time"

	"hostagent/internal/configstore"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if !cfg.Enabled || len(cfg.Rules) != 5 {
		t.Errorf("default config %+v: want enabled with one rule per resource", cfg)
	}
}

func TestValidate(t *testing.T) {
	ok := Rule{Name: "r", Resource: Memory, Rising: 90, Falling: 80}
	with := func(change func(r *Rule)) []Rule {
		r := ok
		change(&r)
		return []Rule{r}
	}
	tests := []struct {
		name  string
		rules []Rule
		want  []string // each must appear in the message
	}{
		{"unknown resource", with(func(r *Rule) { r.Resource = "disk" }),
			[]string{`rules[0].resource "disk"`, "cpu, memory, swap, filesystem, load"}},
		{"empty resource", with(func(r *Rule) { r.Resource = "" }), []string{`rules[0].resource ""`}},
		{"falling equal to rising", with(func(r *Rule) { r.Falling = 90 }), []string{"rules[0].falling 90", "below rising 90"}},
		{"falling above rising", with(func(r *Rule) { r.Falling = 95 }), []string{"rules[0].falling 95", "below rising 90"}},
		{"rising above 100", with(func(r *Rule) { r.Rising = 101 }), []string{"rules[0].rising 101", "from 0 to 100"}},
		{"falling negative", with(func(r *Rule) { r.Falling = -1 }), []string{"rules[0].falling -1", "from 0 to 100"}},
		{"rising NaN", with(func(r *Rule) { r.Rising = math.NaN() }), []string{"rules[0].rising NaN"}},
		{"load above 10000", with(func(r *Rule) { r.Resource = Load; r.Rising = 10001 }), []string{"rules[0].rising 10001", "from 0 to 10000"}},
		{"interval too short", with(func(r *Rule) { r.Interval = configstore.Duration(500 * time.Millisecond) }),
			[]string{`rules[0].interval "500ms"`, "from 1s to 24h"}},
		{"interval too long", with(func(r *Rule) { r.Interval = configstore.Duration(25 * time.Hour) }), []string{`rules[0].interval "25h0m0s"`}},
		{"interval negative", with(func(r *Rule) { r.Interval = configstore.Duration(-time.Second) }), []string{`rules[0].interval "-1s"`}},
		{"duplicate name", []Rule{ok, ok}, []string{`rules[1].name "r"`, "already used by rules[0]"}},
		{"mount on a non-filesystem rule", with(func(r *Rule) { r.Mount = "/" }), []string{`rules[0].mount "/"`, `resource is "memory"`}},
		{"relative mount", with(func(r *Rule) { r.Resource = Filesystem; r.Mount = "var" }), []string{`rules[0].mount "var"`, "absolute"}},
		{"empty name", with(func(r *Rule) { r.Name = "" }), []string{`rules[0].name ""`, "1 to 32 characters"}},
		{"name too long", with(func(r *Rule) { r.Name = strings.Repeat("a", 33) }), []string{`rules[0].name "aaaa`}},
		{"name with a space", with(func(r *Rule) { r.Name = "cpu high" }), []string{`rules[0].name "cpu high"`}},
		{"name with a slash", with(func(r *Rule) { r.Name = "fs/var" }), []string{`rules[0].name "fs/var"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Enabled: true, Rules: tc.rules}.Validate()
			if err == nil {
				t.Fatalf("rules %+v: no error", tc.rules)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	cfg := Config{Rules: []Rule{
		{Name: "A-z_0.9", Resource: Filesystem, Mount: "/var/lib/libvirt", Rising: 100, Falling: 0, Interval: configstore.Duration(24 * time.Hour)},
		{Name: strings.Repeat("x", 32), Resource: Load, Rising: 10000, Falling: 9999.5, Interval: configstore.Duration(time.Second)},
		{Name: "unset-interval", Resource: CPU, Rising: 1, Falling: 0},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{Rules: []Rule{
		{Name: "", Resource: "gpu", Rising: 50, Falling: 60},
		{Name: "ok", Resource: Swap, Mount: "/", Rising: 200, Falling: 10},
	}}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 5 {
		t.Errorf("%d problems reported, want 5 (name, resource, falling; mount, rising):\n%v", n, err)
	}
	if _, err := New(cfg, newProcFixture(t).paths, nil); err == nil || !strings.Contains(err.Error(), "resources configuration") {
		t.Errorf("New with an invalid config: %v", err)
	}
}
