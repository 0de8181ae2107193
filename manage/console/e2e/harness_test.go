package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hostagent/internal/peertest"
	"hostagent/manage/api"
	"hostagent/manage/tlsid"
)

// binDir holds hostagentd and vicfg (with its vicfg-* links), built once
// by TestMain for every test of the package.
var binDir string

// identity is the TLS pair every daemon of the package serves, generated
// once by tlsid as a daemon generates its own, and copied into each
// daemon's state folder: chromium, started once, pins its key alone.
var identity struct {
	dir      string // holds tlsid.CertName and tlsid.KeyName
	leaf     *x509.Certificate
	spkiHash string // base64(sha256(SubjectPublicKeyInfo)), for chromium's pin
}

func TestMain(m *testing.M) {
	code := run(m)
	os.Exit(code)
}

// run builds the programs, runs the tests, then stops the shared browser:
// a function of its own so that its deferred cleanups run before os.Exit.
func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hostagent-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	binDir = dir
	if err := makeIdentity(filepath.Join(dir, "identity")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer stopBrowser()
	return m.Run()
}

// build compiles the daemon and vicfg once, as make build does, with the
// vicfg-* names as links.
func build(dir string) error {
	cmd := exec.Command("go", "build", "-o", dir, "hostagent/cmd/hostagentd", "hostagent/cmd/vicfg")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	for _, name := range []string{"vicfg-snmp", "vicfg-syslog", "vicfg-user", "vicfg-hostops", "vicfg-cfgbackup"} {
		if err := os.Symlink("vicfg", filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}

func makeIdentity(dir string) error {
	id, err := tlsid.Load(dir, "", "", nil)
	if err != nil {
		return fmt.Errorf("generate the daemons' TLS identity: %w", err)
	}
	sum := sha256.Sum256(id.Leaf.RawSubjectPublicKeyInfo)
	identity.dir, identity.leaf = dir, id.Leaf
	identity.spkiHash = base64.StdEncoding.EncodeToString(sum[:])
	return nil
}

// Users every daemon of the harness has, made with vicfg-user on the socket.
const (
	adminUser    = "alice"
	readOnlyUser = "rob"
)

// daemon is one hostagentd of a test: its own folders, socket and HTTPS
// port, its users, and the fingerprint of its generated certificate.
type daemon struct {
	dir       string // the test's folder: etc, state, log, api.sock
	sock      string
	addr      string // host:port of the HTTPS listener
	base      string // https://addr
	cmd       *exec.Cmd
	log       *peertest.Buffer
	exited    chan struct{}
	client    *http.Client
	passwords map[string]string
}

// daemonOptions shapes the configuration a daemon starts on.
type daemonOptions struct {
	// trapTarget, when set, enables the SNMP agent with this one target
	// ("127.0.0.1@PORT/public"); the agent stays off otherwise.
	trapTarget string
	// loghost, when set, is the forwarder's one loghost (none otherwise).
	loghost string
}

// startDaemon runs hostagentd with --https-listen on a free loopback port
// and waits until its socket answers and its HTTPS listener serves; then
// it creates an Administrator and a ReadOnly user with vicfg-user. It is
// stopped in t.Cleanup, its log shown when the test failed.
func startDaemon(t testing.TB, opts daemonOptions) *daemon {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"etc", "state", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(t, dir, opts)
	for name, mode := range map[string]os.FileMode{tlsid.CertName: 0o644, tlsid.KeyName: 0o600} {
		b, err := os.ReadFile(filepath.Join(identity.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "state", name), b, mode); err != nil {
			t.Fatal(err)
		}
	}
	var d *daemon
	// The free port is found by binding and releasing it, so another
	// process may take it first: the daemon then exits, and we try again.
	for attempt := 1; ; attempt++ {
		var err error
		d, err = launch(t, dir)
		if err == nil {
			break
		}
		if attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("attempt %d: %v", attempt, err)
	}
	d.passwords = map[string]string{}
	d.addUser(t, adminUser, "Administrator")
	d.addUser(t, readOnlyUser, "ReadOnly")
	return d
}

func writeConfig(t testing.TB, dir string, opts daemonOptions) {
	t.Helper()
	loghosts := "[]"
	if opts.loghost != "" {
		loghosts = fmt.Sprintf("[%q]", opts.loghost)
	}
	syslogToml := fmt.Sprintf("socket = %q\nloghosts = %s\n[[files]]\nglob = %q\n",
		filepath.Join(dir, "syslog.sock"), loghosts, filepath.Join(dir, "log", "*.log"))
	// Polling off: no snmpd of the daemon's own; the agent only sends.
	snmpToml := "enabled = false\nport = 16199\npolling = \"off\"\nlisten_address = \"127.0.0.1\"\n" +
		"syscontact = \"e2e contact\"\nsyslocation = \"e2e location\"\n"
	if opts.trapTarget != "" {
		port, err := peertest.FreeUDPPort()
		if err != nil {
			t.Fatal(err)
		}
		snmpToml = fmt.Sprintf("enabled = true\nport = %d\npolling = \"off\"\nlisten_address = \"127.0.0.1\"\n"+
			"communities = [\"public\"]\ntargets = [%q]\nsyscontact = \"e2e contact\"\nsyslocation = \"e2e location\"\n",
			port, opts.trapTarget)
	}
	for name, text := range map[string]string{"syslog.toml": syslogToml, "snmp.toml": snmpToml} {
		if err := os.WriteFile(filepath.Join(dir, "etc", name), []byte(text), 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// launch starts the daemon once; an error means it exited or never served.
func launch(t testing.TB, dir string) (*daemon, error) {
	t.Helper()
	addr, err := freeTCPAddr()
	if err != nil {
		return nil, err
	}
	d := &daemon{dir: dir, sock: filepath.Join(dir, "api.sock"), addr: addr, base: "https://" + addr,
		log: &peertest.Buffer{}, exited: make(chan struct{})}
	d.cmd = exec.Command(filepath.Join(binDir, "hostagentd"),
		"--config-dir", filepath.Join(dir, "etc"), "--state-dir", filepath.Join(dir, "state"),
		"--api-socket", d.sock, "--log-root", filepath.Join(dir, "log"), "--https-listen", addr)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	// Killed with the test binary too, should it die before its cleanups.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hostagentd: %w", err)
	}
	go func() { _ = d.cmd.Wait(); close(d.exited) }()
	stop := func() {
		_ = d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	ready := peertest.Until(30*time.Second, func() bool {
		select {
		case <-d.exited:
			return true
		default:
		}
		_, err := d.vicfgOK("vicfg-hostops", "--show")
		return err == nil
	})
	select {
	case <-d.exited:
		return nil, fmt.Errorf("hostagentd exited at start:\n%s", d.log.String())
	default:
	}
	if !ready {
		stop()
		return nil, fmt.Errorf("hostagentd's socket did not answer within 30s:\n%s", d.log.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("hostagentd output:\n%s", d.log.String())
		}
	})
	if err := d.trustCertificate(); err != nil {
		return nil, err
	}
	served := peertest.Until(20*time.Second, func() bool {
		resp, err := d.client.Get(d.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	})
	if !served {
		return nil, fmt.Errorf("hostagentd did not serve HTTPS on %s within 20s:\n%s", addr, d.log.String())
	}
	return d, nil
}

// trustCertificate checks that the daemon serves the package's identity
// (the pair copied into its state folder), which the Go client trusts
// alone and chromium pins by its key.
func (d *daemon) trustCertificate() error {
	pemBytes, err := os.ReadFile(filepath.Join(d.dir, "state", tlsid.CertName))
	if err != nil {
		return fmt.Errorf("the daemon's certificate: %w", err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil || !bytes.Equal(block.Bytes, identity.leaf.Raw) {
		return errors.New("the daemon's certificate is not the one copied into its state folder")
	}
	roots := x509.NewCertPool()
	roots.AddCert(identity.leaf)
	d.client = &http.Client{
		Timeout:       15 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return nil
}

func freeTCPAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// vicfgOK runs one vicfg-* command on the daemon's socket.
func (d *daemon) vicfgOK(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, name), append([]string{"--server", "unix:" + d.sock}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// vicfg runs one vicfg-* command and fails the test when it fails.
func (d *daemon) vicfg(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := d.vicfgOK(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// addUser creates a user with a random password, given in a file of mode
// 0600 as vicfg-user wants it.
func (d *daemon) addUser(t testing.TB, name, role string) {
	t.Helper()
	password := "pw-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + name
	file := filepath.Join(t.TempDir(), name+".password")
	if err := os.WriteFile(file, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.vicfg(t, "vicfg-user", "-o", "add", "-n", name, "-r", role, "--newpassword-file", file)
	d.passwords[name] = password
}

// apiCall sends one JSON request over HTTPS, with a bearer token when
// given, and returns the status and the body.
func (d *daemon) apiCall(t testing.TB, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// login logs a user in over HTTPS and returns the token.
func (d *daemon) login(t testing.TB, user string) string {
	t.Helper()
	status, body := d.apiCall(t, http.MethodPost, api.PathSession, "", api.Login{User: user, Password: d.passwords[user]})
	if status != http.StatusOK {
		t.Fatalf("login of %s: %d %s", user, status, body)
	}
	var s api.SessionInfo
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatal(err)
	}
	return s.Token
}

// apiError returns the message of an api.Error body.
func apiError(t testing.TB, body []byte) string {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Fatalf("not an api.Error: %s", body)
	}
	return e.Error
}

// The browser: one chromium for the package, started by the first test
// that needs it, stopped by TestMain; each test works in a browser context
// of its own (no shared cookies, storage or cache).
var browser struct {
	sync.Mutex
	ctx            context.Context
	cancelAlloc    context.CancelFunc
	cancelBrowser  context.CancelFunc
	startErr       error
	userDataDirRmv func()
}

// stepTimeout bounds one browser step: generous, for a loaded machine.
const stepTimeout = 30 * time.Second

// tab is one test's page in a fresh browser context.
type tab struct {
	t     testing.TB
	ctx   context.Context
	d     *daemon
	close context.CancelFunc // closes the tab and its browser context
}

// newTab opens a page for d in a fresh browser context (closed in
// t.Cleanup).
func newTab(t testing.TB, d *daemon) *tab {
	t.Helper()
	parent := sharedBrowser(t)
	ctx, cancel := chromedp.NewContext(parent, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, d: d, close: cancel}
	// Opens the tab now, with no timeout: the first Run binds the tab's
	// life to its context.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	return tb
}

// sharedBrowser starts chromium once: no timeout on this first Run, since
// its context lives as long as the browser.
func sharedBrowser(t testing.TB) context.Context {
	t.Helper()
	exe := peertest.RequireCommand(t, "chromium", "chromium")
	browser.Lock()
	defer browser.Unlock()
	if browser.ctx != nil || browser.startErr != nil {
		if browser.startErr != nil {
			t.Fatal(browser.startErr)
		}
		return browser.ctx
	}
	profile, err := os.MkdirTemp("", "hostagent-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	browser.userDataDirRmv = func() { os.RemoveAll(profile) }
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.UserDataDir(profile),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// The daemons' self-signed certificate is trusted by its key
		// alone: any other certificate error still fails.
		chromedp.Flag("ignore-certificate-errors-spki-list", identity.spkiHash),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		browser.startErr = fmt.Errorf("start chromium: %w", err)
		t.Fatal(browser.startErr)
	}
	browser.ctx, browser.cancelAlloc, browser.cancelBrowser = ctx, cancelAlloc, cancelBrowser
	return ctx
}

func stopBrowser() {
	browser.Lock()
	defer browser.Unlock()
	if browser.cancelBrowser != nil {
		browser.cancelBrowser()
		browser.cancelAlloc()
	}
	if browser.userDataDirRmv != nil {
		browser.userDataDirRmv()
	}
}

// do runs browser steps, each bounded by stepTimeout, and fails the test
// at the first error.
func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	for _, step := range steps {
		ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
		err := chromedp.Do(ctx, step)
		cancel()
		if err != nil {
			tb.t.Fatalf("browser: %v", err)
		}
	}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func eval[T any](tb *tab, js string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %s: %v", js, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true in the page (polled
// with a deadline) and fails the test naming what it waited for.
func (tb *tab) waitJS(what, js string) {
	tb.t.Helper()
	tb.waitJSFor(stepTimeout, what, js)
}

// waitJSFor is waitJS with its own deadline.
func (tb *tab) waitJSFor(timeout time.Duration, what, js string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, timeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		tb.t.Fatalf("browser: waiting for %s (%s): %v", what, js, err)
	}
}

// open navigates to a route of the console (e.g. "#/login").
func (tb *tab) open(route string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.d.base + "/ui/" + route))
}

// route changes the hash route without loading the page again (a load
// would end the session: the token lives in a JS variable).
func (tb *tab) route(route string) {
	tb.t.Helper()
	eval[chromedp.Void](tb, "location.hash = "+jsString(route)+"; undefined")
}

// loginAs fills in the login form and waits for the dashboard.
func (tb *tab) loginAs(user string) {
	tb.t.Helper()
	tb.submitLogin(user, tb.d.passwords[user])
	tb.do(chromedp.WaitVisible(chromedp.CSS("#page-dashboard")))
}

// submitLogin loads the login page and submits the form.
func (tb *tab) submitLogin(user, password string) {
	tb.t.Helper()
	tb.open("#/login")
	tb.do(
		chromedp.WaitVisible(chromedp.CSS("#login-user")),
		chromedp.SendKeys(chromedp.CSS("#login-user"), user),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
		chromedp.Click(chromedp.CSS("#login-submit")),
	)
}

// text returns an element's textContent, trimmed ("" when missing).
func (tb *tab) text(selector string) string {
	tb.t.Helper()
	return eval[string](tb, "(document.querySelector("+jsString(selector)+")?.textContent ?? '').trim()")
}

// setField replaces the value of an input or textarea as a user would:
// the old value removed (with the input event a deletion fires), then the
// new one typed key by key.
func (tb *tab) setField(selector, value string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(selector)))
	eval[chromedp.Void](tb, `(() => {
		const e = document.querySelector(`+jsString(selector)+`);
		e.focus(); e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true}));
	})()`)
	tb.do(chromedp.SendKeys(chromedp.CSS(selector), value))
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
