package auth

import (
	"fmt"
	"strings"
)

// Privilege names one thing a user may do through the management API. The
// names follow ESXi's dotted style so that they read familiar in role lists.
type Privilege string

// The privileges the API checks. Each configuration area has its own so a
// role can, say, manage SNMP without being able to add users.
const (
	HostConfigSNMP   Privilege = "Host.Config.SNMP"
	HostConfigSyslog Privilege = "Host.Config.Syslog"
	HostConfigUsers  Privilege = "Host.Config.Users"
	HostConfigBackup Privilege = "Host.Config.Backup"
	SystemRead       Privilege = "System.Read"
)

// allPrivileges lists every privilege in a fixed order (the order shown to
// users); Administrator holds all of them.
var allPrivileges = []Privilege{
	HostConfigBackup,
	HostConfigSNMP,
	HostConfigSyslog,
	HostConfigUsers,
	SystemRead,
}

// Privileges returns every known privilege, sorted.
func Privileges() []Privilege {
	return append([]Privilege(nil), allPrivileges...)
}

// ParsePrivilege returns the privilege named s. The match is exact: these
// names end up in files and audit logs, where one spelling is easier to grep.
func ParsePrivilege(s string) (Privilege, error) {
	for _, p := range allPrivileges {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(allPrivileges))
	for i, p := range allPrivileges {
		names[i] = string(p)
	}
	return "", invalidf("unknown privilege %q (known: %s)", s, strings.Join(names, ", "))
}

// String returns the privilege's name.
func (p Privilege) String() string { return string(p) }

// valid reports whether p is one of the known privileges.
func (p Privilege) valid() bool {
	_, err := ParsePrivilege(string(p))
	return err == nil
}

// DeniedError is what Authorize returns when the session's role lacks the
// privilege. It names all three so that both the client and the audit log
// can tell what to fix.
type DeniedError struct {
	User      string
	Role      string
	Privilege Privilege
}

func (e *DeniedError) Error() string {
	return fmt.Sprintf("user %s (role %s) lacks privilege %s", e.User, e.Role, e.Privilege)
}
