package auth

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DiffUsers describes, one line each and sorted, how the users and custom
// roles of next differ from those of cur: users added or removed (with
// their role), roles of users changed, passwords changed (the stored
// hashes differ: a new salt counts, the password itself is never known),
// custom roles added, removed or given other privileges. Nothing is said
// of sessions or lockdown. A restore or a factory reset audits its effect
// on the users with it, computed from the files rather than the backup's
// own claims.
func DiffUsers(cur, next *Store) []string {
	a, b := cur.snapshot(), next.snapshot()
	var out []string
	for _, name := range slices.Sorted(maps.Keys(a.roles)) {
		r := a.roles[name]
		n, ok := b.roles[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("role %s removed (privileges %s)", name, privList(r.Privileges)))
		case privList(r.Privileges) != privList(n.Privileges):
			out = append(out, fmt.Sprintf("role %s privileges %s -> %s", name, privList(r.Privileges), privList(n.Privileges)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.roles)) {
		if _, ok := a.roles[name]; !ok {
			out = append(out, fmt.Sprintf("role %s added (privileges %s)", name, privList(b.roles[name].Privileges)))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.users)) {
		u := a.users[name]
		n, ok := b.users[name]
		if !ok {
			out = append(out, fmt.Sprintf("user %s removed (role %s)", name, u.role))
			continue
		}
		if u.role != n.role {
			out = append(out, fmt.Sprintf("user %s role %s -> %s", name, u.role, n.role))
		}
		if u.hash != n.hash {
			out = append(out, fmt.Sprintf("user %s password changed", name))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(b.users)) {
		if _, ok := a.users[name]; !ok {
			out = append(out, fmt.Sprintf("user %s added (role %s)", name, b.users[name].role))
		}
	}
	return out
}

// snapshot is a copy of the state, taken under the lock.
func (s *Store) snapshot() state {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.clone()
}

// privList writes privileges sorted and comma-separated, so that the same
// set in another order is not a change.
func privList(privs []Privilege) string {
	names := make([]string, len(privs))
	for i, p := range privs {
		names[i] = string(p)
	}
	slices.Sort(names)
	return strings.Join(names, ",")
}
