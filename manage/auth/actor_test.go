package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The rules of Actor, at the store: nobody grants what they do not hold,
// nor changes an account that holds more; a custom role with every
// privilege counts as Administrator; one's own password needs the current
// one. Refused changes leave users and roles as they were.
func TestActorBoundedByItsPrivileges(t *testing.T) {
	e := newEnv(t)
	all := Privileges()
	must(t, e.s.AddRole("AllCopy", all))
	must(t, e.s.AddRole("UsersOnly", []Privilege{HostConfigUsers, SystemRead}))
	must(t, e.s.AddRole("SNMPOps", []Privilege{HostConfigSNMP, SystemRead}))
	for _, u := range [][2]string{{"alice", RoleAdministrator}, {"frank", "AllCopy"}, {"ursula", "UsersOnly"}, {"sam", "SNMPOps"}, {"bob", RoleReadOnly}} {
		must(t, e.s.AddUser(u[0], u[0]+"-password", u[1]))
	}
	ursula := Actor{User: "ursula", Source: "192.0.2.7:1"}
	frank := Actor{User: "frank", Source: "192.0.2.8:1"}
	usersBefore, rolesBefore := e.s.Users(), e.s.Roles()
	for name, tc := range map[string]struct {
		do   func() error
		want string
	}{
		"self-promotion":          {func() error { return e.s.SetRoleAs(ursula, "ursula", RoleAdministrator) }, "every privilege (Administrator): user ursula (role UsersOnly) lacks Host.Config.Backup, Host.Config.SNMP, Host.Config.Syslog"},
		"self to a copy of admin": {func() error { return e.s.SetRoleAs(ursula, "ursula", "AllCopy") }, "every privilege"},
		"another to SNMPOps":      {func() error { return e.s.SetRoleAs(ursula, "bob", "SNMPOps") }, "giving user bob the role SNMPOps needs Host.Config.SNMP"},
		"demote an admin":         {func() error { return e.s.SetRoleAs(ursula, "alice", RoleReadOnly) }, "changing the role of user alice (role Administrator) needs every privilege"},
		"add an admin":            {func() error { return e.s.AddUserAs(ursula, "eve", "eve-password", RoleAdministrator) }, "adding user eve with role Administrator needs every privilege"},
		"role beyond its own":     {func() error { return e.s.AddRoleAs(ursula, "Esc", []Privilege{HostConfigBackup}) }, "creating role Esc needs Host.Config.Backup"},
		"reset an admin":          {func() error { return e.s.SetPasswordAs(ursula, "alice", "", "taken-over") }, "changing the password of user alice (role Administrator) needs every privilege"},
		"reset a copy of admin":   {func() error { return e.s.SetPasswordAs(ursula, "frank", "", "taken-over") }, "every privilege"},
		"reset a holder of more":  {func() error { return e.s.SetPasswordAs(ursula, "sam", "", "taken-over") }, "Host.Config.SNMP"},
		"remove an admin":         {func() error { return e.s.RemoveUserAs(ursula, "alice") }, "every privilege"},
		"own, no current":         {func() error { return e.s.SetPasswordAs(frank, "frank", "", "frank-new-password") }, "needs your current password"},
		"own, wrong current":      {func() error { return e.s.SetPasswordAs(frank, "frank", "guess-guess", "frank-new-password") }, "current password given is wrong"},
		"gone actor":              {func() error { return e.s.AddUserAs(Actor{User: "ghost"}, "eve", "eve-password", RoleNoAccess) }, "no longer exists"},
	} {
		err := tc.do()
		if !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrForbidden with %q", name, err, tc.want)
		}
	}
	if got := e.s.Users(); !slices.Equal(got, usersBefore) {
		t.Errorf("users changed: %v", got)
	}
	if got := e.s.Roles(); len(got) != len(rolesBefore) {
		t.Errorf("roles changed: %v", got)
	}
	e.login(t, "alice", "alice-password")

	// Within its privileges, and for holders of every privilege, it works.
	must(t, e.s.AddUserAs(ursula, "nora", "nora-password", RoleReadOnly))
	must(t, e.s.SetPasswordAs(ursula, "bob", "", "bob-new-password"))
	must(t, e.s.AddRoleAs(ursula, "Helpdesk", []Privilege{SystemRead}))
	must(t, e.s.SetRoleAs(ursula, "ursula", "Helpdesk")) // lowering oneself is fine
	must(t, e.s.SetRoleAs(frank, "bob", RoleAdministrator))
	must(t, e.s.SetPasswordAs(frank, "alice", "", "alice-new-password"))
	must(t, e.s.SetPasswordAs(frank, "frank", "frank-password", "frank-new-password"))
	e.login(t, "frank", "frank-new-password")
	// The actor's role is read at the change, not at login: ursula, who
	// lowered herself to Helpdesk, no longer holds Host.Config.Users.
	if err := e.s.SetRoleAs(ursula, "nora", "UsersOnly"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "Host.Config.Users") {
		t.Errorf("after lowering herself: %v", err)
	}
	if err := e.s.RequireAll(frank, "a factory reset"); err != nil {
		t.Errorf("frank (AllCopy) RequireAll: %v", err)
	}
	if err := e.s.RequireAll(ConsoleActor, "a factory reset"); err != nil {
		t.Errorf("console RequireAll: %v", err)
	}
	if err := e.s.RequireAll(Actor{User: "sam"}, "a factory reset"); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "a factory reset needs every privilege (Administrator): user sam (role SNMPOps) lacks Host.Config.Backup") {
		t.Errorf("sam RequireAll: %v", err)
	}
}

// Guessing the current password through a session is limited as logins
// are: the sixth wrong one in a row is refused before any hashing.
func TestCurrentPasswordIsRateLimited(t *testing.T) {
	e := newEnv(t)
	must(t, e.s.AddUser("alice", "alice-password", RoleAdministrator))
	a := Actor{User: "alice", Source: "192.0.2.9:1"}
	for range 5 {
		if err := e.s.SetPasswordAs(a, "alice", "wrong-guess", "alice-new-password"); !errors.Is(err, ErrForbidden) {
			t.Fatalf("wrong current password: %v", err)
		}
	}
	before := e.kdfs.Load()
	var le *LoginError
	if err := e.s.SetPasswordAs(a, "alice", "alice-password", "alice-new-password"); !errors.As(err, &le) || !errors.Is(err, ErrRateLimited) || le.RetryAfter <= 0 {
		t.Fatalf("sixth attempt: %v", err)
	}
	if e.kdfs.Load() != before {
		t.Error("a refused attempt was hashed")
	}
}
