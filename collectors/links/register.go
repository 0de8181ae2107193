package links

import "hostagent/collectors"

// The [links] section of collectors.toml: polled by the shared Runner,
// and woken by netlink.
func init() {
	collectors.Register("links", collectors.Definition[Config]{
		Default: DefaultConfig,
		Enabled: func(c Config) bool { return c.Enabled },
		New: func(c Config, env collectors.Env) (collectors.Source, error) {
			return New(c, env.Paths, env.Log), nil
		},
	})
}
