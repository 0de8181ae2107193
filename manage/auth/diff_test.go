package auth

import (
	"slices"
	"testing"
)

func TestDiffUsers(t *testing.T) {
	cur, next := newEnv(t), newEnv(t)
	for _, e := range []*env{cur, next} {
		must(t, e.s.AddRole("Ops", []Privilege{SystemRead, HostConfigSNMP}))
		must(t, e.s.AddRole("Gone", []Privilege{SystemRead}))
		must(t, e.s.AddUser("alice", "alice-passw0rd", RoleAdministrator))
		must(t, e.s.AddUser("bob", "bob-passw0rd", RoleReadOnly))
		must(t, e.s.AddUser("dave", "dave-passw0rd", "Ops"))
	}
	if d := DiffUsers(cur.s, cur.s); len(d) != 0 {
		t.Errorf("a store differs from itself: %q", d)
	}
	// Same names, roles and passwords, other salts: only the passwords
	// differ, as the daemon cannot tell a re-hash from a change.
	must(t, next.s.RemoveUser("bob"))
	must(t, next.s.AddUser("carol", "carol-passw0rd", RoleReadOnly))
	must(t, next.s.SetRole("dave", RoleAdministrator))
	must(t, next.s.RemoveRole("Gone"))
	must(t, next.s.RemoveRole("Ops"))
	must(t, next.s.AddRole("Ops", []Privilege{HostConfigSNMP, SystemRead, HostConfigSyslog}))
	got := DiffUsers(cur.s, next.s)
	want := []string{
		"role Gone removed (privileges System.Read)",
		"role Ops privileges Host.Config.SNMP,System.Read -> Host.Config.SNMP,Host.Config.Syslog,System.Read",
		"user alice password changed",
		"user bob removed (role ReadOnly)",
		"user dave role Ops -> Administrator",
		"user dave password changed",
		"user carol added (role ReadOnly)",
	}
	if !slices.Equal(got, want) {
		t.Errorf("DiffUsers:\n got %q\nwant %q", got, want)
	}
	empty := newEnv(t)
	if got := DiffUsers(cur.s, empty.s); len(got) != 5 {
		t.Errorf("to no users: %q", got)
	}
}
