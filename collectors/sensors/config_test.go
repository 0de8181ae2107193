package sensors

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"hostagent/internal/configstore"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // every problem expected; none for a valid config
	}{
		{"default", func(*Config) {}, nil},
		{"env", func(c *Config) { c.Style = StyleEnv }, nil},
		{"ipmi", func(c *Config) { c.Style = StyleIPMI }, nil},
		{"shortest interval", func(c *Config) { c.Interval = configstore.Duration(time.Second) }, nil},
		{"longest interval", func(c *Config) { c.Interval = configstore.Duration(time.Hour) }, nil},
		{"no hysteresis", func(c *Config) { c.Hysteresis = Hysteresis{} }, nil},
		{"zero interval", func(c *Config) { c.Interval = 0 }, []string{`sensors.interval "0s": must be from 1s to 1h`}},
		{"interval too long", func(c *Config) { c.Interval = configstore.Duration(2 * time.Hour) }, []string{`sensors.interval "2h0m0s": must be from 1s to 1h`}},
		{"unknown style", func(c *Config) { c.Style = "snmp" }, []string{`sensors.style "snmp": must be one of env, ipmi, both`}},
		{"empty style", func(c *Config) { c.Style = "" }, []string{`sensors.style "": must be one of env, ipmi, both`}},
		{"negative temperature", func(c *Config) { c.Hysteresis.Temperature = -1 }, []string{`sensors.hysteresis.temperature -1: must be from 0 to 20 (degrees Celsius)`}},
		{"NaN temperature", func(c *Config) { c.Hysteresis.Temperature = math.NaN() }, []string{`sensors.hysteresis.temperature NaN: must be from 0 to 20`}},
		{"fan percent", func(c *Config) { c.Hysteresis.Fan = 60 }, []string{`sensors.hysteresis.fan 60: must be from 0 to 50 (percent of the limit)`}},
		{"every problem at once", func(c *Config) {
			c.Interval = configstore.Duration(time.Millisecond)
			c.Style = "xml"
			c.Hysteresis = Hysteresis{Temperature: 21, Fan: -1, Voltage: 51, Current: 100, Power: math.Inf(1)}
		}, []string{
			`sensors.interval "1ms"`, `sensors.style "xml"`, `sensors.hysteresis.temperature 21`,
			`sensors.hysteresis.fan -1`, `sensors.hysteresis.voltage 51`, `sensors.hysteresis.current 100`, `sensors.hysteresis.power +Inf`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("Validate: %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("Validate gave %d problems, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v\nwant a problem with %q", err, w)
				}
			}
		})
	}
}

func TestConfigFromTOML(t *testing.T) {
	c := DefaultConfig()
	_, err := toml.Decode(`
enabled = true
interval = "30s"
style = "ipmi"
[hysteresis]
temperature = 3.5
fan = 10
`, &c)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Enabled, want.Interval, want.Style = true, configstore.Duration(30*time.Second), StyleIPMI
	want.Hysteresis.Temperature, want.Hysteresis.Fan = 3.5, 10
	if c != want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}
