package auth

import (
	"slices"
	"strings"
)

// Names of the built-in roles, which always exist and cannot be changed or
// removed.
const (
	RoleAdministrator = "Administrator"
	RoleReadOnly      = "ReadOnly"
	RoleNoAccess      = "NoAccess"
)

// Role is a named set of privileges.
type Role struct {
	Name       string
	Privileges []Privilege // sorted, no duplicates
	BuiltIn    bool
}

// Has reports whether the role grants p. Administrator is checked by name
// rather than by its list so that it keeps "all privileges" even for a
// privilege added after a custom list was written.
func (r Role) Has(p Privilege) bool {
	if r.BuiltIn && r.Name == RoleAdministrator {
		return p.valid()
	}
	return slices.Contains(r.Privileges, p)
}

// Lacks returns those of privs that r does not grant, in privs' order.
func (r Role) Lacks(privs []Privilege) []Privilege {
	var missing []Privilege
	for _, p := range privs {
		if !r.Has(p) {
			missing = append(missing, p)
		}
	}
	return missing
}

// HasAll reports whether r grants every privilege: the built-in
// Administrator, or a custom role that lists them all. The rules kept for
// Administrators (granting everything, restoring users, factory reset)
// apply to both, so a copy of Administrator under another name is not a
// way around them.
func (r Role) HasAll() bool { return len(r.Lacks(allPrivileges)) == 0 }

// builtinRoles returns fresh copies, so callers may not change the originals.
func builtinRoles() []Role {
	return []Role{
		{Name: RoleAdministrator, Privileges: Privileges(), BuiltIn: true},
		{Name: RoleReadOnly, Privileges: []Privilege{SystemRead}, BuiltIn: true},
		{Name: RoleNoAccess, Privileges: []Privilege{}, BuiltIn: true},
	}
}

func builtinRole(name string) (Role, bool) {
	for _, r := range builtinRoles() {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}

// checkRoleName enforces 1–64 characters of [A-Za-z0-9_.-]. A name that
// differs from a built-in one only in case is refused too: "administrator"
// next to "Administrator" would only confuse whoever reads the user list.
func checkRoleName(name string) error {
	if name == "" || len(name) > 64 {
		return invalidf("role name %q: must be 1 to 64 characters", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return invalidf("role name %q: only letters, digits, '_', '.' and '-' are allowed", name)
		}
	}
	for _, b := range builtinRoles() {
		if strings.EqualFold(name, b.Name) {
			return errorf(ErrExists, "role %s: is a built-in role", name)
		}
	}
	return nil
}

// newCustomRole validates a custom role's name and privileges and returns the
// role with its privileges sorted and deduplicated.
func newCustomRole(name string, privs []Privilege) (Role, error) {
	if err := checkRoleName(name); err != nil {
		return Role{}, err
	}
	list := make([]Privilege, 0, len(privs))
	for _, p := range privs {
		if _, err := ParsePrivilege(string(p)); err != nil {
			return Role{}, invalidf("role %s: unknown privilege %q", name, p)
		}
		list = append(list, p)
	}
	slices.Sort(list)
	return Role{Name: name, Privileges: slices.Compact(list)}, nil
}
