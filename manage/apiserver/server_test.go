package apiserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"hostagent/manage/api"
	"hostagent/snmpagent/snmpconfig"
)

// service records what the handler asks of it.
type service struct {
	cfg     snmpconfig.Config
	testErr error
}

func (s *service) SNMPState() api.SNMPState { return api.SNMPState{Config: s.cfg} }

func (s *service) UpdateSNMP(_ context.Context, change func(*snmpconfig.Config)) (api.SNMPState, error) {
	c := s.cfg.Clone()
	change(&c)
	if c.Port == 0 {
		return api.SNMPState{}, Invalid(errors.New("port 0: must be from 1 to 65535"))
	}
	s.cfg = c
	return s.SNMPState(), nil
}

func (s *service) TestSNMP(context.Context) ([]snmpconfig.TestResult, error) { return nil, s.testErr }

func TestHandler(t *testing.T) {
	for _, tc := range []struct {
		name, method, path, body string
		testErr                  error
		code                     int
		bodyHas                  string
	}{
		{"get", "GET", api.PathSNMP, "", nil, 200, `"loglevel":"info"`},
		{"patch", "PATCH", api.PathSNMP, `{"syscontact":"noc"}`, nil, 200, `"syscontact":"noc"`},
		{"invalid value", "PATCH", api.PathSNMP, `{"port":0}`, nil, 400, `port 0: must be from 1 to 65535`},
		{"unknown field", "PATCH", api.PathSNMP, `{"prot":5}`, nil, 400, `unknown field \"prot\"`},
		{"two values", "PATCH", api.PathSNMP, `{} {}`, nil, 400, "more than one JSON value"},
		{"not json", "PATCH", api.PathSNMP, `port=5`, nil, 400, "request body"},
		{"too large", "PATCH", api.PathSNMP, `{"syscontact":"` + strings.Repeat("x", maxBody) + `"}`, nil, 413, "larger than the limit of 1048576 bytes"},
		{"test refused", "POST", api.PathSNMPTest, `{}`, Conflict(errors.New("disabled")), 409, `"error":"disabled"`},
		{"test failing", "POST", api.PathSNMPTest, `{}`, errors.New("boom"), 500, `"error":"boom"`},
		{"wrong method", "DELETE", api.PathSNMP, "", nil, 405, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &service{cfg: snmpconfig.DefaultConfig(), testErr: tc.testErr}
			h := NewHandler(svc, nil, slog.New(slog.DiscardHandler))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Errorf("%s %s: %d %s, want %d containing %q", tc.method, tc.path, rec.Code, rec.Body, tc.code, tc.bodyHas)
			}
			if tc.code != http.StatusOK && svc.cfg.Syscontact != "" {
				t.Errorf("a refused request changed the config")
			}
		})
	}
}
