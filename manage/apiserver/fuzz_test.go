package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"hostagent/manage/api"
	"hostagent/mibs/resolve"
	"hostagent/snmpagent"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

var (
	fuzzResolverOnce sync.Once
	fuzzResolver     *resolve.Resolver
)

func nilResolver() *resolve.Resolver {
	fuzzResolverOnce.Do(func() { fuzzResolver = resolve.NewResolver(nil) })
	return fuzzResolver
}

// fuzzSNMP validates as the daemon does: the change on a copy, Normalize,
// Validate, and the stored config replaced only when it is accepted.
type fuzzSNMP struct{ cfg snmpconfig.Config }

func (s *fuzzSNMP) SNMPState() api.SNMPState {
	return api.SNMPState{Config: s.cfg, Targets: []snmpconfig.TargetStats{}}
}

func (s *fuzzSNMP) UpdateSNMP(_ context.Context, change func(*snmpconfig.Config)) (api.SNMPState, error) {
	c := s.cfg.Clone()
	change(&c)
	c.Normalize()
	if err := c.Validate(nilResolver()); err != nil {
		return api.SNMPState{}, Invalid(err)
	}
	s.cfg = c
	return s.SNMPState(), nil
}

func (s *fuzzSNMP) TestSNMP(context.Context) ([]snmpconfig.TestResult, error) {
	if !s.cfg.Enabled {
		return nil, Conflict(snmpagent.ErrDisabled)
	}
	return []snmpconfig.TestResult{}, nil
}

// fuzzSyslog validates as the daemon does: Reset, then the loghosts, then
// Validate and syslogd.ParseLoghosts on the result.
type fuzzSyslog struct {
	cfg  syslogd.Config
	mark []string
}

func (s *fuzzSyslog) SyslogState() api.SyslogState {
	return api.SyslogState{Config: s.cfg, Loghosts: []api.LoghostStatus{}}
}

func (s *fuzzSyslog) UpdateSyslog(_ context.Context, p api.SyslogPatch) (api.SyslogState, error) {
	c := s.cfg
	if p.Reset {
		c = syslogd.DefaultConfig()
	}
	if p.Loghosts != nil {
		c.Loghosts = append([]string{}, (*p.Loghosts)...)
	}
	if err := c.Validate(); err != nil {
		return api.SyslogState{}, Invalid(err)
	}
	if _, err := syslogd.ParseLoghosts(strings.Join(c.Loghosts, ",")); err != nil {
		return api.SyslogState{}, Invalid(err)
	}
	s.cfg = c
	return s.SyslogState(), nil
}

func (s *fuzzSyslog) MarkSyslog(_ context.Context, message string) error {
	if message == "" {
		return Invalid(errors.New("mark: the message is empty"))
	}
	s.mark = append(s.mark, message)
	return nil
}

func (s *fuzzSyslog) ReloadSyslog(context.Context) (api.SyslogState, error) {
	return s.SyslogState(), nil
}

// FuzzRequestBodies sends arbitrary bytes as the body of PATCH
// /api/v1/snmp, PATCH /api/v1/syslog and POST /api/v1/syslog/mark: every
// answer is 200, 400 or 409 (a bad request is never a 500), is JSON, and
// is an Error with a message unless it is a 200; a refused request leaves
// the stored configuration as it was, and an accepted one stores a
// configuration that validates.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"syscontact":"noc"}`, `{"port":0}`, `{"prot":5}`, `{} {}`, `port=5`, ``, `null`, `[]`, `{}`,
		`{"enabled":true,"communities":["public"],"targets":["192.0.2.1@162","v1:nms/c"]}`,
		`{"enabled":true,"targets":["h"]}`, `{"notraps":["warmStart","1.3.6.1.6.3.1.1.5.1","nope"]}`,
		`{"loglevel":"debug","syslocation":"rack\t4"}`, `{"port":1e3}`, `{"port":"161"}`, `{"port":99999999999999999999}`,
		`{"loghosts":["udp://10.0.0.5:514","tcp://loghost"]}`, `{"loghosts":null,"reset":true}`, `{"loghosts":["http://x"]}`,
		`{"loghosts":["tcp://a","tcp://a:514"]}`, `{"message":"hello"}`, `{"message":""}`, `{"message":"a\u0000\n"}`,
		`{"message":"x"}garbage`, `{"message":"x"} `, `{"Message":"case"}`, "\xff\xfe", `{"targets":[1]}`,
		`{"enabled":true,"communities":["c"],"targets":["inform:[::1]@10162/x"]}`, `"string"`, `{"reset":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		snmp := &fuzzSNMP{cfg: snmpconfig.DefaultConfig()}
		syslog := &fuzzSyslog{cfg: syslogd.DefaultConfig()}
		h := NewHandler(snmp, syslog, slog.New(slog.DiscardHandler))
		for _, route := range []struct{ method, path string }{
			{"PATCH", api.PathSNMP}, {"PATCH", api.PathSyslog}, {"POST", api.PathSyslogMark},
		} {
			beforeSNMP, beforeSyslog, beforeMarks := snmp.cfg.Clone(), syslog.cfg, len(syslog.mark)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(route.method, route.path, bytes.NewReader(body)))
			where := route.method + " " + route.path
			switch rec.Code {
			case http.StatusOK, http.StatusBadRequest, http.StatusConflict:
			default:
				t.Fatalf("%s %q: status %d: %s", where, body, rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("%s %q: Content-Type %q", where, body, ct)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: body is not JSON: %q", where, body, rec.Body)
			}
			if rec.Code != http.StatusOK {
				var e api.Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("%s %q: %d without an error message: %q", where, body, rec.Code, rec.Body)
				}
				if !reflect.DeepEqual(snmp.cfg, beforeSNMP) || !reflect.DeepEqual(syslog.cfg, beforeSyslog) || len(syslog.mark) != beforeMarks {
					t.Fatalf("%s %q: refused (%d) but the state changed", where, body, rec.Code)
				}
				continue
			}
			switch route.path {
			case api.PathSNMP:
				var st api.SNMPState
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s %q: 200 body is not an SNMPState: %v", where, body, err)
				}
				if err := snmp.cfg.Validate(nilResolver()); err != nil {
					t.Fatalf("%s %q: accepted, but the stored config is invalid: %v", where, body, err)
				}
			case api.PathSyslog:
				var st api.SyslogState
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s %q: 200 body is not a SyslogState: %v", where, body, err)
				}
			case api.PathSyslogMark:
				if len(syslog.mark) != beforeMarks+1 || syslog.mark[len(syslog.mark)-1] == "" {
					t.Fatalf("%s %q: 200 but no mark sent", where, body)
				}
			}
		}
	})
}
