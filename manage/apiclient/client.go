// Package apiclient is the management API's client, used by the vicfg
// commands: it reaches the daemon over its unix socket or over HTTPS,
// checks the server's certificate (CA or pinned fingerprint), keeps the
// session token and turns error replies into Go errors.
package apiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"hostagent/manage/api"
	"hostagent/manage/tlsid"
	"hostagent/snmpagent/snmpconfig"
)

// DefaultPort is the port of an https server given without one.
const DefaultPort = 443

// Client talks to one daemon, over its local unix socket or over https.
type Client struct {
	server string // as shown in messages: unix:/path or https://host:port
	base   string
	http   *http.Client
	token  string // sent as "Authorization: Bearer" when set
	remote bool   // https
}

// ClientOptions say how to reach a daemon.
type ClientOptions struct {
	// Server is "unix:/path/to/api.sock", "" (the default socket), "host",
	// "host:port", "[v6addr]:port" or "https://host[:port]".
	Server string
	// Port is the https port when Server names none (--portnumber); 0 means
	// DefaultPort.
	Port int
	// Protocol is "https" (or "", the same); anything else is refused.
	Protocol string
	// CACertsFile holds PEM certificates trusted besides the system's.
	CACertsFile string
	// Thumbprint pins the server's certificate by its SHA-256 fingerprint
	// (colon-separated or plain hex): exactly that certificate is accepted,
	// whoever issued it.
	Thumbprint string
	// Token is a session token from an earlier login.
	Token string
}

// NewClient connects to server, written "unix:/path/to/api.sock"; an empty
// server means the local daemon's default socket. Remote servers need Dial.
func NewClient(server string) (*Client, error) {
	if server == "" {
		server = "unix:" + api.DefaultSocket
	}
	path, ok := strings.CutPrefix(server, "unix:")
	if !ok || path == "" {
		return nil, fmt.Errorf("--server %q: NewClient takes unix:/path/to/api.sock only", server)
	}
	return unixClient(server, path), nil
}

func unixClient(server, path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}
	return &Client{server: server, base: "http://hostagentd", http: &http.Client{Transport: tr}}
}

// Dial returns a client for o.Server: the local socket for "", "unix:PATH",
// else https with the certificate checked against the system's roots and
// o.CACertsFile, or pinned by o.Thumbprint. Nothing is sent yet: errors are
// those of the options, each naming the value.
func Dial(o ClientOptions) (*Client, error) {
	if o.Protocol != "" && !strings.EqualFold(o.Protocol, "https") {
		return nil, fmt.Errorf("--protocol %q: only https is supported", o.Protocol)
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("--portnumber %d: must be from 1 to 65535", o.Port)
	}
	if o.Server == "" || strings.HasPrefix(o.Server, "unix:") {
		c, err := NewClient(o.Server)
		if err != nil {
			return nil, fmt.Errorf("--server %q: write unix:/path/to/api.sock", o.Server)
		}
		c.token = o.Token
		return c, nil
	}
	host, port, err := parseServer(o.Server, o.Port)
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	tc, err := tlsConfig(host, addr, o)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tc,
		TLSHandshakeTimeout: 15 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	base := "https://" + addr
	return &Client{server: base, base: base, http: &http.Client{Transport: tr}, token: o.Token, remote: true}, nil
}

// parseServer splits a remote --server into host and port; port is the
// --portnumber given (0: none), which must agree with a port in server.
func parseServer(server string, port int) (string, int, error) {
	bad := func(why string) (string, int, error) {
		return "", 0, fmt.Errorf("--server %q: %s", server, why)
	}
	s := server
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if !strings.EqualFold(scheme, "https") {
			return bad(fmt.Sprintf("protocol %s is not supported, only https", scheme))
		}
		u, err := url.Parse("https://" + rest)
		if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			return bad("write https://HOST[:PORT]")
		}
		s = u.Host
	}
	host, p := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		h, pp, err := net.SplitHostPort(s)
		if err != nil {
			if strings.HasSuffix(s, "]") { // [v6] without a port
				h, pp, err = s[1:len(s)-1], "", nil
			} else {
				return bad("write HOST, HOST:PORT, [IPv6]:PORT or https://HOST[:PORT]")
			}
		}
		host, p = h, pp
		if net.ParseIP(host) == nil {
			return bad("brackets are for IPv6 addresses")
		}
	case strings.Count(s, ":") == 1:
		host, p, _ = strings.Cut(s, ":")
	case strings.Count(s, ":") > 1:
		if net.ParseIP(s) == nil { // a bare IPv6 address has no port
			return bad("write HOST, HOST:PORT, [IPv6]:PORT, https://HOST[:PORT] or unix:/path/to/api.sock")
		}
	}
	if host == "" || strings.ContainsAny(host, "/ \t\r\n@?#") {
		return bad("write HOST, HOST:PORT, [IPv6]:PORT, https://HOST[:PORT] or unix:/path/to/api.sock")
	}
	if p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad(fmt.Sprintf("port %q must be a number from 1 to 65535", p))
		}
		if port != 0 && port != n {
			return bad(fmt.Sprintf("names port %d but --portnumber is %d", n, port))
		}
		port = n
	}
	if port == 0 {
		port = DefaultPort
	}
	return host, port, nil
}

// UntrustedError is a server certificate that is neither issued by a
// trusted authority for the server's name nor pinned. It carries the
// fingerprint the user may check and pin.
type UntrustedError struct {
	Addr        string // host:port
	Fingerprint string // SHA-256, AA:BB:...
	Reason      error  // why verification failed; nil when a pin did not match
	Pinned      string // the --thumbprint given, if any
}

func (e *UntrustedError) Error() string {
	if e.Pinned != "" {
		return fmt.Sprintf("the certificate of %s has SHA-256 fingerprint %s, not the --thumbprint %s given; "+
			"if the server's certificate was replaced, check the new one and pass --thumbprint %s",
			e.Addr, e.Fingerprint, e.Pinned, e.Fingerprint)
	}
	why := ""
	if e.Reason != nil {
		why = ": " + e.Reason.Error()
	}
	return fmt.Sprintf("the certificate of %s is not trusted (SHA-256 fingerprint %s)%s; "+
		"check it and pass --thumbprint %s or --cacertsfile FILE",
		e.Addr, e.Fingerprint, why, e.Fingerprint)
}

func (e *UntrustedError) Unwrap() error { return e.Reason }

// tlsConfig verifies the peer itself (InsecureSkipVerify only turns off
// crypto/tls's own check, which would not tell the fingerprint).
func tlsConfig(host, addr string, o ClientOptions) (*tls.Config, error) {
	pin := ""
	if o.Thumbprint != "" {
		fp, err := tlsid.ParseFingerprint(o.Thumbprint)
		if err != nil {
			return nil, fmt.Errorf("--thumbprint: %w", err)
		}
		pin = fp
	}
	var roots *x509.CertPool
	if pin == "" {
		var err error
		if roots, err = x509.SystemCertPool(); err != nil || roots == nil {
			roots = x509.NewCertPool()
		}
		if o.CACertsFile != "" {
			data, err := os.ReadFile(o.CACertsFile)
			if err != nil {
				return nil, fmt.Errorf("--cacertsfile: %w", err)
			}
			if !roots.AppendCertsFromPEM(data) {
				return nil, fmt.Errorf("--cacertsfile %s: no PEM certificate in it", o.CACertsFile)
			}
		}
	}
	return &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         host,
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%s sent no certificate", addr)
			}
			leaf := cs.PeerCertificates[0]
			fp := tlsid.FingerprintOf(leaf)
			if pin != "" {
				if fp != pin {
					return &UntrustedError{Addr: addr, Fingerprint: fp, Pinned: pin}
				}
				return nil
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
			if err != nil {
				return &UntrustedError{Addr: addr, Fingerprint: fp, Reason: err}
			}
			return nil
		},
	}, nil
}

// Server is the daemon as messages name it: unix:/path or https://host:port.
func (c *Client) Server() string { return c.server }

// Remote reports whether the client talks https (and so needs a session).
func (c *Client) Remote() bool { return c.remote }

// Token is the session token sent with each request, "" for none.
func (c *Client) Token() string { return c.token }

// Login opens a session for user; the client then sends its token.
func (c *Client) Login(ctx context.Context, user, password string) (api.SessionInfo, error) {
	var si api.SessionInfo
	if err := c.do(ctx, http.MethodPost, api.PathSession, api.Login{User: user, Password: password}, &si); err != nil {
		return si, err
	}
	if si.Token == "" {
		return si, fmt.Errorf("%s answered the login without a session token", c.server)
	}
	c.token = si.Token
	return si, nil
}

// Session returns who the client's session is (user and role; no token).
func (c *Client) Session(ctx context.Context) (api.SessionInfo, error) {
	var si api.SessionInfo
	return si, c.do(ctx, http.MethodGet, api.PathSession, nil, &si)
}

// Logout ends the client's session.
func (c *Client) Logout(ctx context.Context) error {
	if err := c.do(ctx, http.MethodDelete, api.PathSession, nil, nil); err != nil {
		return err
	}
	c.token = ""
	return nil
}

// Identity returns the fingerprint of the daemon's certificate; no session
// is needed.
func (c *Client) Identity(ctx context.Context) (api.Identity, error) {
	var id api.Identity
	return id, c.do(ctx, http.MethodGet, api.PathIdentity, nil, &id)
}

// Users lists the local users.
func (c *Client) Users(ctx context.Context) ([]api.User, error) {
	var us []api.User
	return us, c.do(ctx, http.MethodGet, api.PathUsers, nil, &us)
}

// AddUser creates a user.
func (c *Client) AddUser(ctx context.Context, u api.NewUser) error {
	return c.do(ctx, http.MethodPost, api.PathUsers, u, nil)
}

// PatchUser changes a user's password or role.
func (c *Client) PatchUser(ctx context.Context, name string, p api.UserPatch) error {
	return c.do(ctx, http.MethodPatch, api.PathUsers+"/"+url.PathEscape(name), p, nil)
}

// RemoveUser deletes a user.
func (c *Client) RemoveUser(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, api.PathUsers+"/"+url.PathEscape(name), nil, nil)
}

// Roles lists the roles, built-in ones included.
func (c *Client) Roles(ctx context.Context) ([]api.Role, error) {
	var rs []api.Role
	return rs, c.do(ctx, http.MethodGet, api.PathRoles, nil, &rs)
}

// AddRole creates a custom role.
func (c *Client) AddRole(ctx context.Context, r api.Role) error {
	return c.do(ctx, http.MethodPost, api.PathRoles, r, nil)
}

// RemoveRole deletes a custom role.
func (c *Client) RemoveRole(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, api.PathRoles+"/"+url.PathEscape(name), nil, nil)
}

// Lockdown returns the lockdown mode.
func (c *Client) Lockdown(ctx context.Context) (api.Lockdown, error) {
	var l api.Lockdown
	return l, c.do(ctx, http.MethodGet, api.PathLockdown, nil, &l)
}

// SetLockdown changes the lockdown mode or its exception users (the fields
// of ch that are set) and returns the state now.
func (c *Client) SetLockdown(ctx context.Context, ch api.LockdownChange) (api.Lockdown, error) {
	var l api.Lockdown
	return l, c.do(ctx, http.MethodPut, api.PathLockdown, ch, &l)
}

// Locks lists the login limiter's locks.
func (c *Client) Locks(ctx context.Context) ([]api.Lock, error) {
	var ls []api.Lock
	return ls, c.do(ctx, http.MethodGet, api.PathLocks, nil, &ls)
}

// Unlock clears the locks of a user name or a source address and says how
// many it cleared.
func (c *Client) Unlock(ctx context.Context, target string) (int, error) {
	var u api.Unlocked
	return u.Cleared, c.do(ctx, http.MethodDelete, api.PathLocks+"/"+url.PathEscape(target), nil, &u)
}

// SNMP returns the agent's configuration and counters.
func (c *Client) SNMP(ctx context.Context) (api.SNMPState, error) {
	var st api.SNMPState
	return st, c.do(ctx, http.MethodGet, api.PathSNMP, nil, &st)
}

// PatchSNMP changes the given settings.
func (c *Client) PatchSNMP(ctx context.Context, p api.SNMPPatch) (api.SNMPState, error) {
	var st api.SNMPState
	return st, c.do(ctx, http.MethodPatch, api.PathSNMP, p, &st)
}

// TestSNMP sends warmStart to every target and returns each result.
func (c *Client) TestSNMP(ctx context.Context) ([]snmpconfig.TestResult, error) {
	var res []snmpconfig.TestResult
	return res, c.do(ctx, http.MethodPost, api.PathSNMPTest, struct{}{}, &res)
}

// Syslog returns the forwarder's configuration and loghost states.
func (c *Client) Syslog(ctx context.Context) (api.SyslogState, error) {
	var st api.SyslogState
	return st, c.do(ctx, http.MethodGet, api.PathSyslog, nil, &st)
}

// PatchSyslog changes the loghosts (or resets the configuration).
func (c *Client) PatchSyslog(ctx context.Context, p api.SyslogPatch) (api.SyslogState, error) {
	var st api.SyslogState
	return st, c.do(ctx, http.MethodPatch, api.PathSyslog, p, &st)
}

// MarkSyslog sends a mark message to every loghost.
func (c *Client) MarkSyslog(ctx context.Context, message string) error {
	var out struct{}
	return c.do(ctx, http.MethodPost, api.PathSyslogMark, api.SyslogMark{Message: message}, &out)
}

// ReloadSyslog makes the daemon read syslog.toml again and reopen inputs.
func (c *Client) ReloadSyslog(ctx context.Context) (api.SyslogState, error) {
	var st api.SyslogState
	return st, c.do(ctx, http.MethodPost, api.PathSyslogReload, struct{}{}, &st)
}

// SaveBackup returns every setting of the daemon as one backup; with
// excludeCertificates its TLS key and certificate are left out.
func (c *Client) SaveBackup(ctx context.Context, excludeCertificates bool) (api.Backup, error) {
	path := api.PathBackup
	if excludeCertificates {
		path += "?certificates=false"
	}
	var b api.Backup
	return b, c.do(ctx, http.MethodGet, path, nil, &b)
}

// LoadBackup restores b on the daemon, which checks all of it and applies
// all of it or nothing.
func (c *Client) LoadBackup(ctx context.Context, b api.Backup) error {
	return c.do(ctx, http.MethodPut, api.PathBackup, b, nil)
}

// ResetConfig returns the daemon's configuration to the factory defaults.
func (c *Client) ResetConfig(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, api.PathBackupReset, struct{}{}, nil)
}

// ResponseError is a request the daemon refused: its status and its
// message, kept as the daemon wrote it.
type ResponseError struct {
	Status     int           // HTTP status
	Message    string        // the daemon's {"error": ...}, else the status line
	RetryAfter time.Duration // from Retry-After (429, 503); 0 when absent
}

func (e *ResponseError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s (retry after %s)", e.Message, e.RetryAfter)
	}
	return e.Message
}

// maxReply bounds the replies read; the largest legitimate one is a few KiB.
const maxReply = 16 << 20

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
	req.Header.Set("Accept", "application/json")
	if c.token != "" && !(method == http.MethodPost && path == api.PathSession) { // a login carries credentials instead
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var untrusted *UntrustedError
		switch {
		case errors.As(err, &untrusted):
			return untrusted
		case ctx.Err() != nil:
			return fmt.Errorf("request to hostagentd at %s: %w", c.server, ctx.Err())
		case errors.Is(err, syscall.EACCES):
			return fmt.Errorf("cannot connect to hostagentd at %s: permission denied (only root and the socket's group may use it)", c.server)
		case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.ECONNREFUSED):
			return fmt.Errorf("cannot connect to hostagentd at %s: is the daemon running?", c.server)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is c.server already
		}
		return fmt.Errorf("cannot connect to hostagentd at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return fmt.Errorf("reading the reply of hostagentd at %s: %w", c.server, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &ResponseError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
		var msg api.Error
		if json.Unmarshal(data, &msg) == nil && msg.Error != "" {
			e.Message = msg.Error
		} else {
			e.Message = resp.Status
		}
		return e
	}
	if out == nil || len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("reply of hostagentd at %s to %s %s: %w", c.server, method, path, err)
	}
	return nil
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t).Round(time.Second); d > 0 {
			return d
		}
	}
	return 0
}
