package api

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PathAudit reads the audit trail: GET, with the query of AuditQuery.
const PathAudit = "/api/v1/audit"

// Bounds of an audit query's limit.
const (
	AuditDefaultLimit = 200
	AuditMaxLimit     = 1000
)

// AuditResults are the results an entry has, and a query may ask for.
var AuditResults = []string{"ok", "denied", "invalid", "failed"}

// AuditEntry is one entry of the audit trail, as the daemon writes it
// (audit.Entry, converted field for field).
type AuditEntry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Source  string    `json:"source"`
	Action  string    `json:"action"`
	Setting string    `json:"setting,omitempty"`
	Old     string    `json:"old,omitempty"`
	New     string    `json:"new,omitempty"`
	Result  string    `json:"result"`
	Detail  string    `json:"detail,omitempty"`
}

// AuditPage answers an audit query: the newest matching entries first.
// Truncated says that older entries matched too, beyond the limit.
type AuditPage struct {
	Entries   []AuditEntry `json:"entries"`
	Truncated bool         `json:"truncated"`
}

// AuditQuery selects entries of the audit trail. Empty filters match
// everything; the others match exactly, except Action, which also matches
// as a prefix when it ends in "." ("snmp." matches "snmp.update").
type AuditQuery struct {
	User    string
	Action  string
	Setting string
	Result  string // one of AuditResults, or ""
	Limit   int    // 1 to AuditMaxLimit
}

// auditParams are the query parameters of PathAudit, in the order errors
// list them.
var auditParams = []string{"user", "action", "setting", "result", "limit"}

// ParseAuditQuery reads the query parameters of PathAudit. Each may be
// given once, and an empty one counts as not given (a blank field of a
// form); an unknown or repeated one, a result not in
// AuditResults or a limit outside 1 to AuditMaxLimit is an error naming the
// parameter, the value and what is allowed. A missing limit is
// AuditDefaultLimit.
func ParseAuditQuery(v url.Values) (AuditQuery, error) {
	for name := range v {
		if !slices.Contains(auditParams, name) {
			return AuditQuery{}, fmt.Errorf("query parameter %q: unknown (allowed: %s)", name, strings.Join(auditParams, ", "))
		}
	}
	q := AuditQuery{Limit: AuditDefaultLimit}
	for _, name := range auditParams {
		vals, ok := v[name]
		if !ok {
			continue
		}
		if len(vals) != 1 {
			return AuditQuery{}, fmt.Errorf("query parameter %s: given %d times (%q); give it at most once", name, len(vals), vals)
		}
		val := vals[0]
		if val == "" {
			continue // a blank field of a form: no filter
		}
		switch name {
		case "user":
			q.User = val
		case "action":
			q.Action = val
		case "setting":
			q.Setting = val
		case "result":
			if !slices.Contains(AuditResults, val) {
				return AuditQuery{}, fmt.Errorf("query parameter result %q: must be one of %s", val, strings.Join(AuditResults, ", "))
			}
			q.Result = val
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > AuditMaxLimit {
				return AuditQuery{}, fmt.Errorf("query parameter limit %q: must be a whole number from 1 to %d (default %d)", val, AuditMaxLimit, AuditDefaultLimit)
			}
			q.Limit = n
		}
	}
	return q, nil
}

// Values is q as the query of PathAudit (ParseAuditQuery's inverse).
func (q AuditQuery) Values() url.Values {
	v := url.Values{}
	for name, val := range map[string]string{"user": q.User, "action": q.Action, "setting": q.Setting, "result": q.Result} {
		if val != "" {
			v.Set(name, val)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// hiddenDetail replaces the detail of an entry WithoutSNMPDetails hides.
const hiddenDetail = "(hidden: the reason may quote an SNMP community; Host.Config.SNMP shows it)"

// WithoutSNMPDetails is the page for a reader who may not see SNMP
// communities (no Host.Config.SNMP): the audit trail hides communities in
// the old and new values, but the reason a change of the SNMP
// configuration or a restore was refused is the validator's message, which
// quotes the value refused, and a community mistyped by one character is
// all but the community. Those details are hidden.
func (p AuditPage) WithoutSNMPDetails() AuditPage {
	out := AuditPage{Entries: make([]AuditEntry, len(p.Entries)), Truncated: p.Truncated}
	for i, e := range p.Entries {
		if e.Detail != "" && e.Result != "ok" &&
			(strings.HasPrefix(e.Action, "snmp.") || strings.HasPrefix(e.Action, "backup.")) {
			e.Detail = hiddenDetail
		}
		out.Entries[i] = e
	}
	return out
}
