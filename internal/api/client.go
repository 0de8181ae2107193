package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"

	"hostagent/snmpagent"
)

// DefaultSocket is where hostagentd listens unless told otherwise.
const DefaultSocket = "/run/hostagent/api.sock"

// Client talks to one daemon.
type Client struct {
	server string
	base   string
	http   *http.Client
}

// NewClient connects to server, written "unix:/path/to/api.sock"; an empty
// server means the local daemon's default socket.
func NewClient(server string) (*Client, error) {
	if server == "" {
		server = "unix:" + DefaultSocket
	}
	path, ok := strings.CutPrefix(server, "unix:")
	if !ok || path == "" {
		return nil, fmt.Errorf("--server %q: only unix:/path/to/api.sock is supported (remote https access comes with user accounts)", server)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{server: server, base: "http://hostagentd", http: &http.Client{Transport: tr}}, nil
}

// SNMP returns the agent's configuration and counters.
func (c *Client) SNMP(ctx context.Context) (SNMPState, error) {
	var st SNMPState
	return st, c.do(ctx, http.MethodGet, PathSNMP, nil, &st)
}

// PatchSNMP changes the given settings.
func (c *Client) PatchSNMP(ctx context.Context, p SNMPPatch) (SNMPState, error) {
	var st SNMPState
	return st, c.do(ctx, http.MethodPatch, PathSNMP, p, &st)
}

// TestSNMP sends warmStart to every target and returns each result.
func (c *Client) TestSNMP(ctx context.Context) ([]snmpagent.TestResult, error) {
	var res []snmpagent.TestResult
	return res, c.do(ctx, http.MethodPost, PathSNMPTest, struct{}{}, &res)
}

// Syslog returns the forwarder's configuration and loghost states.
func (c *Client) Syslog(ctx context.Context) (SyslogState, error) {
	var st SyslogState
	return st, c.do(ctx, http.MethodGet, PathSyslog, nil, &st)
}

// PatchSyslog changes the loghosts (or resets the configuration).
func (c *Client) PatchSyslog(ctx context.Context, p SyslogPatch) (SyslogState, error) {
	var st SyslogState
	return st, c.do(ctx, http.MethodPatch, PathSyslog, p, &st)
}

// MarkSyslog sends a mark message to every loghost.
func (c *Client) MarkSyslog(ctx context.Context, message string) error {
	var out struct{}
	return c.do(ctx, http.MethodPost, PathSyslogMark, SyslogMark{Message: message}, &out)
}

// ReloadSyslog makes the daemon read syslog.toml again and reopen inputs.
func (c *Client) ReloadSyslog(ctx context.Context) (SyslogState, error) {
	var st SyslogState
	return st, c.do(ctx, http.MethodPost, PathSyslogReload, struct{}{}, &st)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body bytes.Buffer
	if in != nil {
		if err := json.NewEncoder(&body).Encode(in); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, syscall.EACCES):
			return fmt.Errorf("cannot connect to hostagentd at %s: permission denied (only root and the socket's group may use it)", c.server)
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("cannot connect to hostagentd at %s: is the daemon running?", c.server)
		}
		return fmt.Errorf("cannot connect to hostagentd at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e Error
		if json.NewDecoder(resp.Body).Decode(&e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return errors.New(e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
