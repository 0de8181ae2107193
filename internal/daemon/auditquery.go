package daemon

import (
	"context"
	"fmt"

	"hostagent/manage/api"
	"hostagent/manage/apiserver"
	"hostagent/manage/audit"
	"hostagent/manage/auth"
)

// The audit trail's reader for the console's audit page, and the
// privileges a session reports, both on the unix socket and on HTTPS.
var (
	_ apiserver.AuditService          = (*Daemon)(nil)
	_ apiserver.RolePrivilegesService = (*Daemon)(nil)
)

// QueryAudit implements apiserver.AuditService: the newest entries of the
// audit trail (the current file and its rotated generations) that q
// selects.
func (d *Daemon) QueryAudit(ctx context.Context, q api.AuditQuery) (api.AuditPage, error) {
	aq := audit.Query{User: q.User, Action: q.Action, Setting: q.Setting, Result: q.Result, Limit: q.Limit}
	if err := aq.Check(); err != nil {
		return api.AuditPage{}, apiserver.Invalid(err)
	}
	page, err := d.remote.audit.Query(ctx, aq)
	if err != nil {
		return api.AuditPage{}, fmt.Errorf("reading the audit trail: %w", err)
	}
	out := api.AuditPage{Entries: make([]api.AuditEntry, len(page.Entries)), Truncated: page.Truncated}
	for i, e := range page.Entries {
		out.Entries[i] = api.AuditEntry(e) // same fields: the conversion breaks the build if they drift
	}
	return out, nil
}

// RolePrivileges implements apiserver.RolePrivilegesService.
func (d *Daemon) RolePrivileges(role string) []string {
	r, ok := d.remote.users.Role(role)
	if !ok {
		return nil
	}
	out := []string{}
	for _, p := range auth.Privileges() {
		if r.Has(p) {
			out = append(out, string(p))
		}
	}
	return out
}
