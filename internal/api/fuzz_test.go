package api

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

	"hostagent/mibs"
	"hostagent/snmpagent"
	"hostagent/syslogd"
	"hostagent/syslogd/output"
)

var (
	fuzzResolverOnce sync.Once
	fuzzResolver     *mibs.Resolver
)

func nilResolver() *mibs.Resolver {
	fuzzResolverOnce.Do(func() { fuzzResolver = mibs.NewResolver(nil) })
	return fuzzResolver
}

// fuzzSNMP validates as the daemon does: the change on a copy, Normalize,
// Validate, and the stored config replaced only when it is accepted.
type fuzzSNMP struct{ cfg snmpagent.Config }

func (s *fuzzSNMP) SNMPState() SNMPState {
	return SNMPState{Config: s.cfg, Targets: []snmpagent.TargetStats{}}
}

func (s *fuzzSNMP) UpdateSNMP(_ context.Context, change func(*snmpagent.Config)) (SNMPState, error) {
	c := s.cfg.Clone()
	change(&c)
	c.Normalize()
	if err := c.Validate(nilResolver()); err != nil {
		return SNMPState{}, Invalid(err)
	}
	s.cfg = c
	return s.SNMPState(), nil
}

func (s *fuzzSNMP) TestSNMP(context.Context) ([]snmpagent.TestResult, error) {
	if !s.cfg.Enabled {
		return nil, Conflict(snmpagent.ErrDisabled)
	}
	return []snmpagent.TestResult{}, nil
}

// fuzzSyslog validates as the daemon does: Reset, then the loghosts, then
// Validate and output.ParseLoghosts on the result.
type fuzzSyslog struct {
	cfg  syslogd.Config
	mark []string
}

func (s *fuzzSyslog) SyslogState() SyslogState {
	return SyslogState{Config: s.cfg, Loghosts: []LoghostStatus{}}
}

func (s *fuzzSyslog) UpdateSyslog(_ context.Context, p SyslogPatch) (SyslogState, error) {
	c := s.cfg
	if p.Reset {
		c = syslogd.DefaultConfig()
	}
	if p.Loghosts != nil {
		c.Loghosts = append([]string{}, (*p.Loghosts)...)
	}
	if err := c.Validate(); err != nil {
		return SyslogState{}, Invalid(err)
	}
	if _, err := output.ParseLoghosts(strings.Join(c.Loghosts, ",")); err != nil {
		return SyslogState{}, Invalid(err)
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

func (s *fuzzSyslog) ReloadSyslog(context.Context) (SyslogState, error) { return s.SyslogState(), nil }

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
		snmp := &fuzzSNMP{cfg: snmpagent.DefaultConfig()}
		syslog := &fuzzSyslog{cfg: syslogd.DefaultConfig()}
		h := NewHandler(snmp, syslog, slog.New(slog.DiscardHandler))
		for _, route := range []struct{ method, path string }{
			{"PATCH", PathSNMP}, {"PATCH", PathSyslog}, {"POST", PathSyslogMark},
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
				var e Error
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
					t.Fatalf("%s %q: %d without an error message: %q", where, body, rec.Code, rec.Body)
				}
				if !reflect.DeepEqual(snmp.cfg, beforeSNMP) || !reflect.DeepEqual(syslog.cfg, beforeSyslog) || len(syslog.mark) != beforeMarks {
					t.Fatalf("%s %q: refused (%d) but the state changed", where, body, rec.Code)
				}
				continue
			}
			switch route.path {
			case PathSNMP:
				var st SNMPState
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s %q: 200 body is not an SNMPState: %v", where, body, err)
				}
				if err := snmp.cfg.Validate(nilResolver()); err != nil {
					t.Fatalf("%s %q: accepted, but the stored config is invalid: %v", where, body, err)
				}
			case PathSyslog:
				var st SyslogState
				if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
					t.Fatalf("%s %q: 200 body is not a SyslogState: %v", where, body, err)
				}
			case PathSyslogMark:
				if len(syslog.mark) != beforeMarks+1 || syslog.mark[len(syslog.mark)-1] == "" {
					t.Fatalf("%s %q: 200 but no mark sent", where, body)
				}
			}
		}
	})
}
