package snmpconfig

import (
	"slices"
	"strings"
	"testing"
)

// TestSecretsHiddenAndFilledBack: WithoutSecrets leaves no secret, and
// FillSecrets against the same configuration gives it back whole; entries
// without a secret pass through; a hidden entry the host lacks is refused
// by name, as is a list that mixes hidden and given communities.
func TestSecretsHiddenAndFilledBack(t *testing.T) {
	key := strings.Repeat("ab", 32)
	host := Config{
		Communities: []string{"public", "s3cret"},
		Targets:     []string{"192.0.2.1@162/tc", "inform:[2001:db8::1]@1162/ic", "192.0.2.2@162"},
		Users:       Users{"ops/" + key + "/" + key + "/priv", "open/-/-/none"},
		RemoteUsers: RemoteUsers{"nms/" + key + "/-/auth/80001f8804616263"},
	}
	hidden := host.WithoutSecrets()
	for _, s := range []string{"public", "s3cret", "/tc", "/ic", key} {
		for _, v := range slices.Concat(hidden.Communities, hidden.Targets, []string(hidden.Users), []string(hidden.RemoteUsers)) {
			if strings.Contains(v, s) {
				t.Errorf("WithoutSecrets left %q in %q", s, v)
			}
		}
	}
	if !slices.Equal(host.Communities, []string{"public", "s3cret"}) || host.Users[0] != "ops/"+key+"/"+key+"/priv" {
		t.Error("WithoutSecrets changed its receiver's lists")
	}
	back := hidden
	if err := back.FillSecrets(host); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Communities, host.Communities) || !slices.Equal(back.Targets, host.Targets) ||
		!slices.Equal(back.Users, host.Users) || !slices.Equal(back.RemoteUsers, host.RemoteUsers) {
		t.Errorf("filled back:\n%+v\nwant\n%+v", back, host)
	}

	// New receivers of what the backup gives itself pass.
	own := hidden.Clone()
	own.Targets = append(own.Targets, "192.0.2.98@162/own-community")
	own.V3Targets = append(own.V3Targets, "192.0.2.98@162/open/none/trap")
	if err := own.FillSecrets(host); err != nil {
		t.Errorf("targets carrying no secret of the host: %v", err)
	}

	for name, tc := range map[string]struct {
		change func(*Config)
		want   string
	}{
		"user renamed":          {func(c *Config) { c.Users[0] = "eve/<set>/<set>/priv" }, `users: "eve/<set>/<set>/priv": its secret is hidden`},
		"user of another model": {func(c *Config) { c.Users[0] = "ops/<set>/-/auth" }, `users: "ops/<set>/-/auth"`},
		"remote engine changed": {func(c *Config) { c.RemoteUsers[0] = "nms/<set>/-/auth/80001f8804646566" }, `remoteusers: "nms/<set>/-/auth/80001f8804646566"`},
		"target moved":          {func(c *Config) { c.Targets[0] = "192.0.2.9@162/****" }, `targets: "192.0.2.9@162/****"`},
		"communities mixed":     {func(c *Config) { c.Communities[0] = "given" }, "communities: some are hidden and some given"},
		"new target, first community": {func(c *Config) { c.Targets = append(c.Targets, "192.0.2.99@162") },
			`targets: "192.0.2.99@162" is not a target of this host, and would get the first community taken from the host`},
		"new v3 target of a filled user": {func(c *Config) { c.V3Targets = append(c.V3Targets, "192.0.2.99@162/ops/priv/trap") },
			`v3targets: "192.0.2.99@162/ops/priv/trap" is not a target of this host, and would get user "ops"'s keys`},
		"new v3 inform of a filled remote user": {func(c *Config) { c.V3Targets = append(c.V3Targets, "192.0.2.99@162/nms/auth/inform") },
			`v3targets: "192.0.2.99@162/nms/auth/inform" is not a target of this host, and would get remote user "nms"'s keys`},
	} {
		c := hidden.Clone()
		tc.change(&c)
		if err := c.FillSecrets(host); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
