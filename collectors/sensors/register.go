package sensors

import (
	"time"

	"hostagent/collectors"
)

// The [sensors] section of collectors.toml: polled by the shared Runner.
func init() {
	collectors.Register("sensors", collectors.Definition[Config]{
		Default: DefaultConfig,
		Enabled: func(c Config) bool { return c.Enabled },
		New: func(c Config, env collectors.Env) (collectors.Source, error) {
			return &collectors.Runner{Name: "sensors", Interval: time.Duration(c.Interval), Poller: New(c, env.Paths, env.Log).WithPublisher(env.Publish()), Log: env.Log}, nil
		},
	})
}
