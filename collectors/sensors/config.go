package sensors

import (
	"errors"
	"fmt"
	"time"

	"hostagent/internal/configstore"
)

// Config is the [sensors] section of the configuration.
type Config struct {
	Enabled    bool                 `toml:"enabled"`
	Interval   configstore.Duration `toml:"interval"`
	Style      string               `toml:"style"`
	Hysteresis Hysteresis           `toml:"hysteresis"`
}

// Hysteresis is how far a sensor must come back inside a limit before it is
// judged better again, so that a reading hovering at a limit gives one
// notification rather than one per poll.
type Hysteresis struct {
	Temperature float64 `toml:"temperature"` // degrees Celsius
	Fan         float64 `toml:"fan"`         // percent of the limit
	Voltage     float64 `toml:"voltage"`     // percent of the limit
	Current     float64 `toml:"current"`     // percent of the limit
	Power       float64 `toml:"power"`       // percent of the limit
}

// The styles of notification: the classic vmwESXEnvHardwareEvent, the IPMI
// SEL raised/cleared pairs that replace it in VMWARE-ENV-MIB, or both, for
// receivers of either generation.
const (
	StyleEnv  = "env"
	StyleIPMI = "ipmi"
	StyleBoth = "both"
)

// Limits of the settings.
const (
	minInterval       = time.Second
	maxInterval       = time.Hour
	maxTemperatureHys = 20.0 // degrees: more would hide a real overheating
	maxPercentHys     = 50.0 // half the limit: more and a sensor could never clear
)

// DefaultConfig is the factory configuration: on, like the other sources,
// since nothing leaves the host until the SNMP agent itself is enabled.
func DefaultConfig() Config {
	return Config{
		Enabled:  true,
		Interval: configstore.Duration(10 * time.Second),
		Style:    StyleBoth,
		Hysteresis: Hysteresis{
			Temperature: 2,
			Fan:         5,
			Voltage:     2,
			Current:     2,
			Power:       2,
		},
	}
}

// Validate checks every setting and returns all problems at once, each
// naming the key, the value and what is allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if d := time.Duration(c.Interval); d < minInterval || d > maxInterval {
		bad("sensors.interval %q: must be from 1s to 1h", d)
	}
	switch c.Style {
	case StyleEnv, StyleIPMI, StyleBoth:
	default:
		bad("sensors.style %q: must be one of %s, %s, %s", c.Style, StyleEnv, StyleIPMI, StyleBoth)
	}
	// The negated comparisons also reject NaN.
	if v := c.Hysteresis.Temperature; !(v >= 0 && v <= maxTemperatureHys) {
		bad("sensors.hysteresis.temperature %v: must be from 0 to %v (degrees Celsius)", v, maxTemperatureHys)
	}
	for _, p := range []struct {
		key string
		v   float64
	}{
		{"fan", c.Hysteresis.Fan},
		{"voltage", c.Hysteresis.Voltage},
		{"current", c.Hysteresis.Current},
		{"power", c.Hysteresis.Power},
	} {
		if !(p.v >= 0 && p.v <= maxPercentHys) {
			bad("sensors.hysteresis.%s %v: must be from 0 to %v (percent of the limit)", p.key, p.v, maxPercentHys)
		}
	}
	return errors.Join(errs...)
}
