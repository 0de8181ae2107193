package resources

import "hostagent/collectors"

// The [resources] section of collectors.toml: polled by the shared Runner
// as often as the most frequent rule needs.
func init() {
	collectors.Register("resources", collectors.Definition[Config]{
		Default: DefaultConfig,
		Enabled: func(c Config) bool { return c.Enabled },
		New: func(c Config, env collectors.Env) (collectors.Source, error) {
			r, err := New(c, env.Paths, env.Log, WithPublisher(env.Publish()))
			if err != nil {
				return nil, err
			}
			return &collectors.Runner{Name: "resources", Interval: r.PollInterval(), Poller: r, Log: env.Log}, nil
		},
	})
}
