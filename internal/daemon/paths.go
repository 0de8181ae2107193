package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"hostagent/internal/configstore"
	"hostagent/manage/apiserver"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

// Paths are not a network privilege. A setting that names a file or a
// socket is read or opened by the daemon as root: a log file glob is
// forwarded line by line to the loghosts, a MIB directory is parsed, the
// libvirt socket is dialled. Over the network (the HTTPS API, or a backup
// restored through it) such a setting may therefore only change within
// fixed bounds:
//
//   - a log file glob must name files under the log roots (Options.LogRoots,
//     --log-root, default /var/log), never in the state or the config
//     directory nor the TLS key, symbolic links of its fixed part resolved;
//   - every other path (the local syslog socket, a loghost's CA, certificate
//     and key files, follow_symlinks, MIB directories, and any path or URI
//     of collectors.toml) may change only from the console (the local
//     socket) or by editing the file as root.
//
// A value that is already in force, or is the factory default, passes:
// restoring a backup of this host, or resetting, names no new path.

// DefaultLogRoot is where log file globs set over the network may point
// when --log-root is not given.
const DefaultLogRoot = "/var/log"

// consoleOnly ends the message of a path refused over the network.
const consoleOnly = "a path can be changed only from the console (the local socket) or by editing the file, not over the network"

// logRoots are the log roots in force (--log-root), cleaned.
func (d *Daemon) logRoots() []string {
	if len(d.opts.LogRoots) == 0 {
		return []string{DefaultLogRoot}
	}
	roots := make([]string, len(d.opts.LogRoots))
	for i, r := range d.opts.LogRoots {
		roots[i] = filepath.Clean(r)
	}
	return roots
}

// checkLogRoots validates --log-root: absolute directories, none of them
// the state or config directory or inside one.
func (d *Daemon) checkLogRoots() error {
	var errs []error
	for _, r := range d.logRoots() {
		if !filepath.IsAbs(r) {
			errs = append(errs, fmt.Errorf("--log-root %q: must be an absolute directory such as %s", r, DefaultLogRoot))
			continue
		}
		for _, p := range []string{d.opts.StateDir, d.opts.ConfigDir} {
			if within(resolveLinks(r), resolveLinks(p)) {
				errs = append(errs, fmt.Errorf("--log-root %q: lies in the state or config directory %s, whose files must not be forwarded", r, p))
			}
		}
	}
	return errors.Join(errs...)
}

// fromNetwork reports whether ctx's change comes over the network, where
// paths are bounded; the console and hand edits may set any path.
func fromNetwork(ctx context.Context) bool { return !apiserver.PrincipalFrom(ctx).Console }

// pathError is a path-bearing setting refused over the network.
func pathError(file, setting, value, why string) error {
	return fmt.Errorf("%s: %s %q: %s", file, setting, value, why)
}

// checkSyslogPaths refuses, over the network, the path-bearing settings
// of cfg that are neither in force (old) nor the factory default (def).
func (d *Daemon) checkSyslogPaths(ctx context.Context, old, cfg, def syslogd.Config) error {
	if !fromNetwork(ctx) {
		return nil
	}
	// What is in force or the default, by setting.
	trusted := map[string][]string{}
	for _, c := range []syslogd.Config{old, def} {
		for _, f := range c.Files {
			trusted["glob"] = append(trusted["glob"], f.Glob)
		}
		trusted["socket"] = append(trusted["socket"], c.Socket)
		for _, o := range c.Options {
			trusted["ca_file"] = append(trusted["ca_file"], o.CAFile)
			trusted["cert_file"] = append(trusted["cert_file"], o.CertFile)
			trusted["key_file"] = append(trusted["key_file"], o.KeyFile)
		}
	}
	var errs []error
	for i, f := range cfg.Files {
		if slices.Contains(trusted["glob"], f.Glob) {
			continue
		}
		if why := d.globOutsideRoots(f.Glob); why != "" {
			errs = append(errs, pathError(SyslogFile, fmt.Sprintf("files[%d].glob", i), f.Glob, why))
		}
	}
	if cfg.Socket != "" && !slices.Contains(trusted["socket"], cfg.Socket) {
		errs = append(errs, pathError(SyslogFile, "socket", cfg.Socket, consoleOnly))
	}
	hosts := make([]string, 0, len(cfg.Options))
	for h := range cfg.Options {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts) // one order for the message
	for _, h := range hosts {
		o := cfg.Options[h]
		for _, kv := range [][2]string{{"ca_file", o.CAFile}, {"cert_file", o.CertFile}, {"key_file", o.KeyFile}} {
			if kv[1] != "" && !slices.Contains(trusted[kv[0]], kv[1]) {
				errs = append(errs, pathError(SyslogFile, fmt.Sprintf("loghost_options.%q.%s", h, kv[0]), kv[1], consoleOnly))
			}
		}
		// A log bus's secrets are read from files as root and sent to the
		// bus: a file of the user's choosing would go anywhere, and so
		// would a secret in force moved to another loghost, or left with
		// its loghost but with the verification of the server changed.
		// Over the network one stays only with its loghost, every option
		// unchanged.
		if !busSecretKept(old, h, o) {
			for _, kv := range [][2]string{{"password_file", o.PasswordFile}, {"credentials_file", o.CredentialsFile}, {"nkey_file", o.NKeyFile}} {
				if kv[1] != "" {
					errs = append(errs, pathError(SyslogFile, fmt.Sprintf("loghost_options.%q.%s", h, kv[0]), kv[1],
						"a log bus's secret goes to the bus: it may stay with the loghost and options it is in force with; "+consoleOnly))
				}
			}
		}
	}
	// A link in a log root may lead anywhere once followed: turning this
	// on is a path privilege too.
	if cfg.FollowSymlinks && !old.FollowSymlinks && !def.FollowSymlinks {
		errs = append(errs, pathError(SyslogFile, "follow_symlinks", "true", "lets links in the log roots lead to any file; "+consoleOnly))
	}
	return errors.Join(errs...)
}

// busSecretKept says whether the options o of loghost key name no secret
// file, or are exactly those in force (old) for the same loghost.
func busSecretKept(old syslogd.Config, key string, o syslogd.LoghostOptions) bool {
	if o.PasswordFile == "" && o.CredentialsFile == "" && o.NKeyFile == "" {
		return true
	}
	h, err := syslogd.ParseLoghost(key)
	if err != nil {
		return false
	}
	for oldKey, oldOpts := range old.Options {
		if k, err := syslogd.ParseLoghost(oldKey); err == nil && k == h && reflect.DeepEqual(oldOpts, o) {
			return true
		}
	}
	return false
}

// checkSNMPPaths refuses, over the network, MIB directories neither in
// force nor among the defaults (every file in one is parsed as root), and
// an AgentX socket other than those (the daemon would connect to it as
// root and serve it the host's objects).
func checkSNMPPaths(ctx context.Context, old, cfg, def snmpconfig.Config) error {
	if !fromNetwork(ctx) {
		return nil
	}
	var errs []error
	for i, dir := range cfg.MIBDirs {
		if !slices.Contains(old.MIBDirs, dir) && !slices.Contains(def.MIBDirs, dir) {
			errs = append(errs, pathError(SNMPFile, fmt.Sprintf("mib_dirs[%d]", i), dir, consoleOnly))
		}
	}
	if cfg.AgentXSocket != old.AgentXSocket && cfg.AgentXSocket != def.AgentXSocket {
		errs = append(errs, pathError(SNMPFile, "agentx_socket", cfg.AgentXSocket, consoleOnly))
	}
	return errors.Join(errs...)
}

// checkCollectorsPaths refuses, over the network, every path or URI of
// collectors.toml neither in force nor the default. The daemon names no
// source, so the settings are found by walking the sections: a string
// holding a '/' (an absolute path, a libvirt URI) is path-bearing.
func checkCollectorsPaths(ctx context.Context, old, cfg, def CollectorsConfig) error {
	if !fromNetwork(ctx) {
		return nil
	}
	trusted := map[string][]string{}
	for _, c := range []CollectorsConfig{old, def} {
		walkPaths(reflect.ValueOf(c.Ptr()), "", func(setting, generic, v string) {
			trusted[generic] = append(trusted[generic], v)
		})
	}
	var errs []error
	walkPaths(reflect.ValueOf(cfg.Ptr()), "", func(setting, generic, v string) {
		if !slices.Contains(trusted[generic], v) {
			errs = append(errs, pathError(CollectorsFile, setting, v, consoleOnly))
		}
	})
	return errors.Join(errs...)
}

// walkPaths calls found for every string in v holding a '/', with its
// setting's name as the file writes it (vms.socket, resources.rules[2].mount)
// and the same name without list indexes, by which values are compared so
// that reordering a list changes nothing.
func walkPaths(v reflect.Value, name string, found func(setting, generic, value string)) {
	var walk func(v reflect.Value, name, generic string)
	walk = func(v reflect.Value, name, generic string) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem(), name, generic)
			}
		case reflect.Struct:
			for i := range v.NumField() {
				f := v.Type().Field(i)
				if !f.IsExported() {
					continue
				}
				key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
				if key == "-" {
					continue
				}
				if key == "" {
					key = f.Name
				}
				walk(v.Field(i), join(name, key), join(generic, key))
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", name, i), generic+"[]")
			}
		case reflect.Map:
			iter := v.MapRange()
			for iter.Next() {
				k := fmt.Sprint(iter.Key().Interface())
				walk(iter.Value(), join(name, k), join(generic, k))
			}
		case reflect.String:
			if s := v.String(); strings.Contains(s, "/") {
				found(name, generic, s)
			}
		}
	}
	walk(v, name, name)
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// globOutsideRoots says why glob may not be set over the network, or ""
// when it may: its fixed part (the directories before the first
// wildcard), symbolic links resolved, must lie under a log root, and the
// glob must not reach into the state or config directory or the TLS key.
func (d *Daemon) globOutsideRoots(glob string) string {
	allowed := fmt.Sprintf("over the network a log file glob may only name files under the log roots (%s, --log-root), outside the state directory %s and the config directory %s; set it from the console (the local socket) or by editing the file",
		strings.Join(d.logRoots(), ", "), d.opts.StateDir, d.opts.ConfigDir)
	if !filepath.IsAbs(glob) {
		return allowed
	}
	parts := strings.Split(strings.TrimPrefix(filepath.Clean(glob), "/"), "/")
	n := slices.IndexFunc(parts, hasWildcard)
	if n < 0 {
		n = len(parts)
	}
	fixed := resolveLinks("/" + filepath.Join(parts[:n]...))
	if !slices.ContainsFunc(d.logRoots(), func(r string) bool { return within(fixed, resolveLinks(r)) }) {
		return allowed
	}
	// The pattern with its fixed part resolved: what it can match.
	pattern := append(splitPath(fixed), parts[n:]...)
	for _, dir := range []string{d.opts.StateDir, d.opts.ConfigDir} {
		if dir != "" && reaches(pattern, splitPath(resolveLinks(dir)), true) {
			return allowed
		}
	}
	for _, file := range []string{d.opts.TLSKey, d.opts.TLSCert} {
		if file != "" && reaches(pattern, splitPath(resolveLinks(file)), false) {
			return allowed
		}
	}
	return ""
}

// reaches says whether the path pattern (components) can match target or,
// for a directory, something inside it.
func reaches(pattern, target []string, dir bool) bool {
	// A directory is reached by a pattern as deep or deeper (itself, or
	// what lies in it); a file by a pattern exactly as deep.
	if len(pattern) < len(target) || (!dir && len(pattern) != len(target)) {
		return false
	}
	for i, t := range target {
		if ok, err := filepath.Match(pattern[i], t); err != nil || !ok {
			return err != nil // a bad pattern is refused, not allowed
		}
	}
	return true
}

func hasWildcard(part string) bool { return strings.ContainsAny(part, `*?[\`) }

func splitPath(p string) []string {
	p = strings.Trim(filepath.Clean(p), "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// resolveLinks is p cleaned, with the symbolic links of its longest existing
// prefix resolved: a link in a log root to /etc cannot hide where a glob
// leads.
func resolveLinks(p string) string {
	p = filepath.Clean(p)
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(r, rest)
		} else if !errors.Is(err, os.ErrNotExist) {
			return filepath.Join(p, rest) // unreadable: compared as written
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(p, rest)
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within says whether p is dir or lies inside it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// checkRestoredPaths compares the path-bearing settings of the staged
// configuration files with those in force and refuses, over the network,
// a changed path outside the bounds, before anything is put in place (and
// before checkStaged reads the MIB directories). A file that does not
// parse is left to checkStaged, which names its error; a file the backup
// does not hold goes back to its defaults, which pass. Called with d.mu
// held.
func (d *Daemon) checkRestoredPaths(ctx context.Context, stage string) error {
	if !fromNetwork(ctx) {
		return nil
	}
	var errs []error
	snmp := d.opts.Defaults.SNMP()
	if _, err := configstore.Load(filepath.Join(stage, SNMPFile), &snmp); err == nil {
		snmp.Normalize()
		errs = append(errs, checkSNMPPaths(ctx, d.agent.Config(), snmp, d.opts.Defaults.SNMP()))
	}
	col := d.opts.Defaults.Collectors()
	if _, err := configstore.Load(filepath.Join(stage, CollectorsFile), col.Ptr()); err == nil {
		errs = append(errs, checkCollectorsPaths(ctx, d.collectors.cfg, col, d.opts.Defaults.Collectors()))
	}
	syslog := d.opts.Defaults.Syslog()
	if _, err := configstore.Load(filepath.Join(stage, SyslogFile), &syslog); err == nil {
		errs = append(errs, d.checkSyslogPaths(ctx, d.syslog.Config(), syslog, d.opts.Defaults.Syslog()))
	}
	if err := errors.Join(errs...); err != nil {
		return apiserver.Forbidden(fmt.Errorf("backup refused, nothing changed: %w", err))
	}
	return nil
}
