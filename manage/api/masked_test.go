package api

import (
	"strings"
	"testing"

	"hostagent/snmpagent/snmpconfig"
)

// TestMaskedV3: keys are hidden from whoever reads the state without
// Host.Config.SNMP (and by WithoutKeys from everyone); SNMPv3 targets,
// which hold no secret, stay readable; the state itself is not modified.
func TestMaskedV3(t *testing.T) {
	key := strings.Repeat("ab", 32)
	st := SNMPState{
		Config: snmpconfig.Config{
			Communities: []string{"public"},
			Targets:     []string{"192.0.2.1@162/public"},
			Users:       snmpconfig.Users{"ops/" + key + "/" + key + "/priv", "anon/-/-/none"},
			V3Targets:   []string{"192.0.2.9@162/ops/priv/trap"},
		},
		Targets: []snmpconfig.TargetStats{{Target: "192.0.2.1@162/public"}, {Target: "192.0.2.9@162/ops/priv/trap"}},
	}
	m := st.WithoutCommunities()
	if got := strings.Join(m.Config.Users, ","); got != "ops/<set>/<set>/priv,anon/-/-/none" {
		t.Errorf("users shown as %q", got)
	}
	if m.Config.Communities[0] != Masked || m.Config.Targets[0] != "192.0.2.1@162/"+Masked {
		t.Errorf("communities shown as %q %q", m.Config.Communities, m.Config.Targets)
	}
	if m.Targets[1].Target != "192.0.2.9@162/ops/priv/trap" || m.Config.V3Targets[0] != "192.0.2.9@162/ops/priv/trap" {
		t.Errorf("v3 target shown as %q", m.Targets[1].Target)
	}
	if !strings.Contains(st.Config.Users[0], key) {
		t.Errorf("masking modified the state: %q", st.Config.Users)
	}
	if k := st.WithoutKeys(); k.Config.Users[0] != "ops/<set>/<set>/priv" || k.Config.Communities[0] != "public" {
		t.Errorf("WithoutKeys: %q %q", k.Config.Users, k.Config.Communities)
	}
}
