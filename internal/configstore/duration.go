package configstore

import (
	"fmt"
	"time"
)

// Duration is a time.Duration written as "5s" in TOML and JSON.
type Duration time.Duration

func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: write it as 500ms, 5s or 1m", b)
	}
	*d = Duration(v)
	return nil
}
