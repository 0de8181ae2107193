package daemon_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	// The built-in sources, whose sections collectors.toml holds: imported
	// here too, so that this check does not depend on another file's import.
	_ "hostagent/collectors/all"
	"hostagent/internal/daemon"
	"hostagent/internal/manpage/manpagetest"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/syslogd"
)

// docsDir holds the configuration files' manual pages, in markdown.
const docsDir = "../../docs/man"

// configType is the type a configuration file decodes into, and its name
// for messages.
type configType struct {
	name string
	typ  reflect.Type
}

// configDocs are the configuration files' pages and the types their files
// decode into.
func configDocs() map[string]configType {
	return map[string]configType{
		"hostagent-snmp.toml.5.md":   {"snmpconfig.Config", reflect.TypeFor[snmpconfig.Config]()},
		"hostagent-syslog.toml.5.md": {"syslogd.Config", reflect.TypeFor[syslogd.Config]()},
		// collectors.toml's struct is made of the registered sources'
		// sections, the built-in ones here (collectors/all).
		"hostagent-collectors.toml.5.md": {"daemon.CollectorsConfig", reflect.TypeOf(daemon.DefaultCollectorsConfig().Ptr()).Elem()},
	}
}

// quoted is a quoted key in a table header, [loghost_options."URI"]: any
// key of a map of tables.
var quoted = regexp.MustCompile(`"[^"]*"`)

// tomlKeys lists the keys of t as a file writes them, each as the table
// header it is under ("" for the top level, [sensors.hysteresis],
// [[resources.rules]], [loghost_options."*"]), a NUL, and the key.
func tomlKeys(t reflect.Type, table string, keys map[string]bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		path := name
		if table != "" {
			path = strings.Trim(table, "[]") + "." + name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct:
			keys[table+"\x00"+name] = true
			tomlKeys(ft, "["+path+"]", keys)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			keys[table+"\x00"+name] = true
			tomlKeys(ft.Elem(), "[["+path+"]]", keys)
		case ft.Kind() == reflect.Map && ft.Elem().Kind() == reflect.Struct:
			keys[table+"\x00"+name] = true
			tomlKeys(ft.Elem(), "["+path+`."*"]`, keys)
		default:
			keys[table+"\x00"+name] = true
		}
	}
}

var (
	// docHeading is a heading naming a table: ### `[sensors.hysteresis]`.
	docHeading = regexp.MustCompile("^#+ .*`(\\[[^`]+\\])`")
	// docKey is a key's definition term: `port` (integer, default `161`).
	docKey = regexp.MustCompile("^`([a-z0-9_]+)` \\(")
)

// documentedKeys lists the keys a page defines, as tomlKeys does: a term
// belongs to the table of the last heading naming one, or to the top
// level after a section heading (# SETTINGS). A table is documented by its
// heading.
func documentedKeys(t *testing.T, page []byte) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	table, fenced := "", false
	sc := bufio.NewScanner(bytes.NewReader(page))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		switch m := docHeading.FindStringSubmatch(line); {
		case fenced:
		case m != nil:
			table = quoted.ReplaceAllString(m[1], `"*"`)
			// [a.b] and [[a.b]] document b, a key of [a].
			path := strings.Trim(table, "[]")
			parent, name := "", path
			if i := strings.LastIndex(strings.TrimSuffix(path, `."*"`), "."); i >= 0 {
				parent, name = "["+path[:i]+"]", path[i+1:]
			}
			keys[parent+"\x00"+strings.TrimSuffix(name, `."*"`)] = true
		case strings.HasPrefix(line, "# "):
			table = ""
		default:
			if m := docKey.FindStringSubmatch(line); m != nil {
				keys[table+"\x00"+m[1]] = true
			}
		}
	}
	return keys
}

// describe writes a key as the messages show it: [sensors] interval.
func describe(key string) string {
	table, name, _ := strings.Cut(key, "\x00")
	if table == "" {
		return name
	}
	return table + " " + name
}

// TestConfigManPagesDocumentEveryKey: each key of each configuration file,
// as its type decodes it, has its entry in the file's manual page, and
// the page documents no key the file does not have.
func TestConfigManPagesDocumentEveryKey(t *testing.T) {
	for file, ct := range configDocs() {
		page, err := os.ReadFile(filepath.Join(docsDir, file))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		tomlKeys(ct.typ, "", want)
		got := documentedKeys(t, page)
		if len(want) < 10 {
			t.Fatalf("%s: only %d keys found in %s", file, len(want), ct.name)
		}
		var missing, unknown []string
		for k := range want {
			if !got[k] {
				missing = append(missing, describe(k))
			}
		}
		for k := range got {
			if !want[k] {
				unknown = append(unknown, describe(k))
			}
		}
		slices.Sort(missing)
		slices.Sort(unknown)
		if len(missing) > 0 {
			t.Errorf("%s documents no key %s (write a term `key` (type, default ...) under its table's heading)", file, strings.Join(missing, ", "))
		}
		if len(unknown) > 0 {
			t.Errorf("%s documents %s, which %s does not have", file, strings.Join(unknown, ", "), ct.name)
		}
	}
}

// TestConfigDocsFindWhatIsMissing: the comparison sees a key left out, a
// table's key included, and a key of a map of tables.
func TestConfigDocsFindWhatIsMissing(t *testing.T) {
	page := []byte("# SETTINGS\n\n`loghosts` (list)\n: x\n\n### `[[files]]`\n\n`glob` (string)\n: x\n\n" +
		"### `[loghost_options.\"URI\"]`\n\n`format` (string)\n: x\n\n# EXAMPLE\n\n```\n`socket` (\n```\n")
	got := documentedKeys(t, page)
	for _, k := range []string{"\x00loghosts", "\x00files", "[[files]]\x00glob", "\x00loghost_options", `[loghost_options."*"]` + "\x00format"} {
		if !got[k] {
			t.Errorf("%q not found in the sample page: %v", describe(k), got)
		}
	}
	if got["\x00socket"] || got["[[files]]\x00socket"] {
		t.Errorf("a term inside a code block was taken for a key")
	}
	want := map[string]bool{}
	tomlKeys(reflect.TypeFor[syslogd.Config](), "", want)
	for _, k := range []string{"\x00socket", "[[files]]\x00priority", `[loghost_options."*"]` + "\x00nkey_file"} {
		if !want[k] || got[k] {
			t.Errorf("%q: in the type %v, in the sample page %v", describe(k), want[k], got[k])
		}
	}
}

// TestConfigManPagesFormat converts each page as make man does (go-md2man,
// then hyphenation, justification and breaks after a hyphen off) and has
// man format it: no warning.
func TestConfigManPagesFormat(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool to run go-md2man with")
		}
	}
	for file := range configDocs() {
		out := filepath.Join(t.TempDir(), strings.TrimSuffix(file, ".md"))
		cmd := exec.Command(goTool, "tool", "-modfile=tools.mod", "go-md2man", "-in", filepath.Join("docs/man", file), "-out", out)
		cmd.Dir = "../.."
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go-md2man %s: %v\n%s", file, err, msg)
		}
		roff, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		// The Makefile's sed: four lines after .TH.
		th := regexp.MustCompile(`(?m)^\.TH .*\n`)
		if !th.Match(roff) {
			t.Fatalf("%s: go-md2man wrote no .TH line", file)
		}
		roff = th.ReplaceAllFunc(roff, func(l []byte) []byte { return append(l, ".nr HY 0\n.nh\n.ad l\n.cflags 0 -\n"...) })
		manpagetest.Lint(t, filepath.Base(out), roff)
	}
}
