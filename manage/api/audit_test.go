package api

import (
	"net/url"
	"testing"
)

// TestAuditQueryValuesRoundTrip: what a client writes with Values, the
// daemon reads back with ParseAuditQuery.
func TestAuditQueryValuesRoundTrip(t *testing.T) {
	for _, q := range []AuditQuery{
		{Limit: AuditDefaultLimit},
		{User: "alice", Action: "snmp.", Setting: "syscontact", Result: "denied", Limit: 7},
		{User: "a b&c=d", Limit: AuditMaxLimit},
	} {
		got, err := ParseAuditQuery(q.Values())
		if err != nil || got != q {
			t.Errorf("%+v: read back as %+v, %v", q, got, err)
		}
	}
	if q, err := ParseAuditQuery(url.Values{}); err != nil || q.Limit != AuditDefaultLimit {
		t.Errorf("no parameters: %+v, %v; want the default limit", q, err)
	}
}
