package vms

import "hostagent/collectors"

// The [vms] section of collectors.toml: event-driven, a Source itself.
func init() {
	collectors.Register("vms", collectors.Definition[Config]{
		Default: DefaultConfig,
		Enabled: func(c Config) bool { return c.Enabled },
		New: func(c Config, env collectors.Env) (collectors.Source, error) {
			v, err := New(c, env.StateDir, env.Log)
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return v.WithPublisher(env.Publish()), nil
		},
	})
}
