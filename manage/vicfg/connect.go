package vicfg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/apiclient"
)

// ConnectionFlags are vCLI's connection options, shared by every vicfg
// command as govc's ClientFlag is. Without --server (or VI_SERVER) the
// command talks to the local daemon over its unix socket, as before remote
// access existed; with a host it talks https, logging in with
// --username/--password (or --password-file) or reusing the session of
// --sessionfile.
type ConnectionFlags struct {
	Server          string
	Port            int
	Protocol        string
	Username        string
	Password        string
	PasswordFile    string
	SessionFile     string
	SaveSessionFile string
	CACertsFile     string
	Thumbprint      string

	// Getenv reads the VI_* variables; nil means os.Getenv.
	Getenv func(string) string
	// Stderr receives the warnings of Connect (a password on the command
	// line); nil means os.Stderr.
	Stderr io.Writer

	prog   string         // the command's name, first on a warning
	flags  *pflag.FlagSet // the connection flags alone, for usage
	logout bool           // Connect opened a session nobody keeps
	warned bool           // the warning about --password is given once
}

// envVars maps each connection flag to the environment variable standing
// in for it when the flag is not given, as vCLI's VI_* variables do.
var envVars = []struct{ flag, env string }{
	{"server", "VI_SERVER"},
	{"portnumber", "VI_PORTNUMBER"},
	{"protocol", "VI_PROTOCOL"},
	{"username", "VI_USERNAME"},
	{"password", "VI_PASSWORD"},
	{"password-file", "VI_PASSWORDFILE"},
	{"sessionfile", "VI_SESSIONFILE"},
	{"savesessionfile", "VI_SAVESESSIONFILE"},
	{"cacertsfile", "VI_CACERTSFILE"},
	{"thumbprint", "VI_THUMBPRINT"},
}

// AddConnectionFlags adds the connection options to fs. None has a short
// form: the commands' own options keep theirs (-p, -t, -c...).
func AddConnectionFlags(fs *pflag.FlagSet) *ConnectionFlags {
	cf := &ConnectionFlags{prog: fs.Name(), flags: pflag.NewFlagSet("connection", pflag.ContinueOnError)}
	f := cf.flags
	f.SortFlags = false
	f.StringVar(&cf.Server, "server", "", "the daemon to talk to, `unix:PATH|HOST`: its local socket (default unix:"+api.DefaultSocket+"), or HOST, HOST:PORT or https://HOST[:PORT] over https (VI_SERVER)")
	f.IntVar(&cf.Port, "portnumber", 0, "the https port `N` of --server HOST (default 443) (VI_PORTNUMBER)")
	f.StringVar(&cf.Protocol, "protocol", "", "the `PROTOCOL` of --server HOST: https, the only one (VI_PROTOCOL)")
	f.StringVar(&cf.Username, "username", "", "log in to --server HOST as `USER` (VI_USERNAME)")
	f.StringVar(&cf.Password, "password", "", "the `PASSWORD` of --username, seen by every local user in ps: prefer --password-file, or the prompt without echo on a terminal when not given (VI_PASSWORD)")
	f.StringVar(&cf.PasswordFile, "password-file", "", "read the password of --username from the first line of `FILE`, of mode 0600 (VI_PASSWORDFILE)")
	f.StringVar(&cf.SessionFile, "sessionfile", "", "use the session saved in `FILE` instead of logging in; --username and --password are then ignored (VI_SESSIONFILE)")
	f.StringVar(&cf.SaveSessionFile, "savesessionfile", "", "after logging in, save the session in `FILE` (mode 0600) for --sessionfile (VI_SAVESESSIONFILE)")
	f.StringVar(&cf.CACertsFile, "cacertsfile", "", "trust the certificate authorities in the PEM `FILE` besides the system's (VI_CACERTSFILE)")
	f.StringVar(&cf.Thumbprint, "thumbprint", "", "trust exactly the server certificate with this SHA-256 fingerprint `FP` (VI_THUMBPRINT)")
	fs.AddFlagSet(f)
	return cf
}

// FlagUsages is the help of the connection options alone.
func (cf *ConnectionFlags) FlagUsages() string { return cf.flags.FlagUsages() }

// OwnFlagUsages is the help of fs's flags but the connection options, so
// that a command lists its own options, then the connection ones.
func (cf *ConnectionFlags) OwnFlagUsages(fs *pflag.FlagSet) string {
	own := pflag.NewFlagSet("own", pflag.ContinueOnError)
	own.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		if cf.flags.Lookup(f.Name) == nil {
			own.AddFlag(f)
		}
	})
	return own.FlagUsages()
}

// given reports whether the flag was on the command line.
func (cf *ConnectionFlags) given(name string) bool {
	f := cf.flags.Lookup(name)
	return f != nil && f.Changed
}

// settings are the connection options once the environment is read.
type settings struct {
	server, protocol, username, password string
	passwordFile                         string
	sessionFile, saveSessionFile         string
	caCertsFile, thumbprint              string
	port                                 int
	haveUsername, havePassword           bool
}

// resolve fills what no flag gave from the VI_* variables: flags win.
func (cf *ConnectionFlags) resolve() (settings, error) {
	getenv := cf.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	s := settings{
		server: cf.Server, protocol: cf.Protocol, username: cf.Username, password: cf.Password,
		passwordFile: cf.PasswordFile, sessionFile: cf.SessionFile, saveSessionFile: cf.SaveSessionFile,
		caCertsFile: cf.CACertsFile, thumbprint: cf.Thumbprint, port: cf.Port,
	}
	s.haveUsername, s.havePassword = cf.given("username"), cf.given("password")
	passwordGiven := cf.given("password") || cf.given("password-file")
	switch {
	case cf.given("password") && cf.given("password-file"):
		return s, errors.New("--password and --password-file cannot be given together: give the password one way")
	case cf.given("password-file") && cf.PasswordFile == "":
		return s, errors.New("--password-file: no file given")
	case !passwordGiven && getenv("VI_PASSWORD") != "" && getenv("VI_PASSWORDFILE") != "":
		return s, errors.New("VI_PASSWORD and VI_PASSWORDFILE are both set: unset one, or give --password-file FILE")
	}
	for _, ev := range envVars {
		v := getenv(ev.env)
		// A password given one way on the command line wins over the
		// other way in the environment, as every flag wins over its
		// variable.
		if v == "" || cf.given(ev.flag) || (ev.flag == "password" || ev.flag == "password-file") && passwordGiven {
			continue
		}
		switch ev.flag {
		case "server":
			s.server = v
		case "portnumber":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return s, fmt.Errorf("%s %q: not a port number", ev.env, v)
			}
			s.port = n
		case "protocol":
			s.protocol = v
		case "username":
			s.username, s.haveUsername = v, true
		case "password":
			s.password, s.havePassword = v, true
		case "password-file":
			s.passwordFile = v
		case "sessionfile":
			// A login asked for on the command line wins over a session
			// file from the environment.
			if !cf.given("username") && !cf.given("savesessionfile") {
				s.sessionFile = v
			}
		case "savesessionfile":
			if !cf.given("sessionfile") {
				s.saveSessionFile = v
			}
		case "cacertsfile":
			s.caCertsFile = v
		case "thumbprint":
			s.thumbprint = v
		}
	}
	if cf.given("sessionfile") && cf.given("savesessionfile") {
		return s, errors.New("--sessionfile and --savesessionfile cannot be given together: --sessionfile reuses a session, --savesessionfile saves a new one")
	}
	if s.sessionFile != "" {
		s.saveSessionFile = "" // no login, nothing new to save
	}
	return s, nil
}

// local reports whether server names the local socket.
func local(server string) bool { return server == "" || strings.HasPrefix(server, "unix:") }

// Connect returns a client for the daemon the options name. Over the local
// socket the credentials are not needed and are ignored. Over https it
// reuses the session of --sessionfile, or logs in (the password read from
// --password-file, or asked of t when none is given) and saves the session
// to --savesessionfile if asked. A password given with --password is
// warned about on Stderr, whatever the server. Call Disconnect when done.
func (cf *ConnectionFlags) Connect(ctx context.Context, t Terminal) (*apiclient.Client, error) {
	cf.warnPassword()
	s, err := cf.resolve()
	if err != nil {
		return nil, err
	}
	o := apiclient.ClientOptions{
		Server: s.server, Port: s.port, Protocol: s.protocol,
		CACertsFile: s.caCertsFile, Thumbprint: s.thumbprint,
	}
	if local(s.server) {
		return apiclient.Dial(o)
	}
	if s.sessionFile != "" {
		if o.Token, err = ReadSessionFile(s.sessionFile); err != nil {
			return nil, err
		}
		return apiclient.Dial(o)
	}
	c, err := apiclient.Dial(o)
	if err != nil {
		return nil, err
	}
	if !s.haveUsername || s.username == "" {
		return nil, fmt.Errorf("logging in to %s needs --username USER (or VI_USERNAME), or --sessionfile FILE", c.Server())
	}
	if !s.havePassword && s.passwordFile != "" {
		setting := "--password-file"
		if !cf.given("password-file") {
			setting = "VI_PASSWORDFILE"
		}
		if s.password, err = ReadSecretFile(setting, s.passwordFile); err != nil {
			return nil, err
		}
		s.havePassword = true
	}
	if !s.havePassword {
		pw, err := t.ReadSecret("Enter password: ")
		switch {
		case errors.Is(err, ErrNoTerminal):
			return nil, fmt.Errorf("no password for %s: give --password-file FILE, --password or VI_PASSWORD, or run on a terminal to be asked for it", s.username)
		case err != nil:
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		s.password = pw
	}
	if _, err := c.Login(ctx, s.username, s.password); err != nil {
		return nil, fmt.Errorf("cannot log in to %s as %s: %w", c.Server(), s.username, err)
	}
	if s.saveSessionFile != "" {
		if err := WriteSessionFile(s.saveSessionFile, c.Token()); err != nil {
			cf.logout = true
			cf.Disconnect(ctx, c)
			return nil, err
		}
		return c, nil
	}
	cf.logout = true
	return c, nil
}

// warnPassword warns, once, that --password shows in ps. Not
// VI_PASSWORD: the environment of a process is readable by its user
// alone (and root).
func (cf *ConnectionFlags) warnPassword() {
	if cf.warned || !cf.given("password") {
		return
	}
	cf.warned = true
	w := cf.Stderr
	if w == nil {
		w = os.Stderr
	}
	if cf.prog != "" {
		fmt.Fprintf(w, "%s: ", cf.prog)
	}
	WarnCommandLineSecret(w, "--password", "--password-file FILE, VI_PASSWORD or the prompt")
}

// Disconnect ends the session Connect opened, unless it was saved for
// later. It runs even when ctx is done (an interrupted command still logs
// out), for a few seconds at most.
func (cf *ConnectionFlags) Disconnect(ctx context.Context, c *apiclient.Client) {
	if !cf.logout || c == nil {
		return
	}
	cf.logout = false
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = c.Logout(ctx) // the session expires by itself anyway
}

// ReadSessionFile returns the token saved in file.
func ReadSessionFile(file string) (string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--sessionfile: %w", err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("--sessionfile %s: no session in it (save one with --savesessionfile)", file)
	}
	return tok, nil
}

// WriteSessionFile saves token in file, mode 0600, atomically: a temporary
// file in the same directory renamed over it.
func WriteSessionFile(file, token string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("--savesessionfile %s: %w", file, err)
		}
	}()
	return configstore.WriteFile(file, []byte(token+"\n"), 0o600)
}
