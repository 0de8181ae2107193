package daemon_test

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"hostagent/internal/configstore"
	"hostagent/internal/daemon"
	"hostagent/manage/api"
	"hostagent/snmpagent/snmpconfig"
	"hostagent/snmpagent/usm"
)

// remoteEngine is an inform receiver's engine ID (a net-snmp one, format 4
// text "nms1").
const remoteEngine = "80001f88046e6d7331"

// snmpSecrets sets, from the console, an SNMP configuration holding every
// kind of secret: communities, a target's community, a user's keys made
// for the engine ID in force, a remote user's keys. It returns the
// configuration as snmp.toml then holds it.
func snmpSecrets(t *testing.T, r running) snmpconfig.Config {
	t.Helper()
	engine, err := usm.ParseEngineID(r.daemon.SNMPState().EngineID)
	if err != nil {
		t.Fatal(err)
	}
	auth, priv, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("alice-auth-secret"), []byte("alice-priv-secret"), engine)
	if err != nil {
		t.Fatal(err)
	}
	remote, _ := hex.DecodeString(remoteEngine)
	rauth, rpriv, err := usm.LocalizedKeys(usm.AuthSHA256, []byte("nms-auth-secret"), []byte("nms-priv-secret"), remote)
	if err != nil {
		t.Fatal(err)
	}
	h := hex.EncodeToString
	if code, out, errOut := r.cli(t, "--communities", "public,sesame-community", "-t", "192.0.2.10@162/target-community",
		"--authentication", "SHA256", "--privacy", "AES128",
		"--users", "alice/"+h(auth)+"/"+h(priv)+"/priv",
		"--remoteusers", "nms/"+h(rauth)+"/"+h(rpriv)+"/priv/"+remoteEngine,
		"--v3targets", "192.0.2.11@162/nms/priv/inform"); code != 0 {
		t.Fatalf("vicfg-snmp: %d %s %s", code, out, errOut)
	}
	return snmpOnDisk(t, r)
}

func snmpOnDisk(t *testing.T, r running) snmpconfig.Config {
	t.Helper()
	cfg := daemon.FactoryDefaults().SNMP()
	if _, err := configstore.Load(r.file(), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Normalize()
	return cfg
}

func sameSecrets(a, b snmpconfig.Config) bool {
	return slices.Equal(a.Communities, b.Communities) && slices.Equal(a.Targets, b.Targets) &&
		slices.Equal(a.Users, b.Users) && slices.Equal(a.RemoteUsers, b.RemoteUsers)
}

// TestBackupHidesSNMPSecrets: a Host.Config.Backup holder's download of
// snmp.toml holds no community and no SNMPv3 key (placeholders, listed as
// hidden), yet restores: each secret is taken from the same entry on the
// host. An entry the host does not have cannot get its secret: the whole
// restore is refused, naming it, and nothing changes. An Administrator's
// backup holds the secrets and the generated engine ID they were made
// for, so that restored on a rebuilt host (another generated engine ID)
// the keys stay valid.
func TestBackupHidesSNMPSecrets(t *testing.T) {
	e := startPrivileges(t)
	before := snmpSecrets(t, e.r)

	code, raw, _ := e.as("boris", "boris-passw0rd").do("GET", api.PathBackup, nil)
	if code != http.StatusOK {
		t.Fatalf("boris's backup: %d %s", code, raw)
	}
	var mine api.Backup
	if err := json.Unmarshal([]byte(raw), &mine); err != nil {
		t.Fatal(err)
	}
	secrets := append(append(append([]string{"sesame-community", "target-community"}, keysOf(before.Users)...), keysOf(before.RemoteUsers)...), "public")
	for _, s := range secrets {
		if strings.Contains(raw, s) {
			t.Errorf("boris's backup holds the secret %q", s)
		}
	}
	if !slices.Equal(mine.Hidden, []string{"config/snmp.toml"}) || mine.Version != 3 {
		t.Errorf("hidden = %q, version %d; want config/snmp.toml, 3", mine.Hidden, mine.Version)
	}
	for _, want := range []string{`"****"`, "alice/<set>/<set>/priv", "nms/<set>/<set>/priv/" + remoteEngine, "192.0.2.10@162/****"} {
		if !strings.Contains(mine.Files["config/snmp.toml"], want) {
			t.Errorf("boris's snmp.toml lacks %s:\n%s", want, mine.Files["config/snmp.toml"])
		}
	}

	// Restored, it changes no secret: each is the host's own.
	b := e.as("boris", "boris-passw0rd")
	if code, body, _ := b.do("PUT", api.PathBackup, mine); code != http.StatusOK {
		t.Fatalf("boris restoring his own backup: %d %s", code, body)
	}
	if after := snmpOnDisk(t, e.r); !sameSecrets(after, before) {
		t.Errorf("a restore of hidden secrets changed them:\n%+v\nwant\n%+v", after, before)
	}

	// A hidden secret the host cannot supply: refused, named, nothing changed.
	onDisk, _ := os.ReadFile(e.r.file())
	crafted := mine
	crafted.Files = map[string]string{}
	for k, v := range mine.Files {
		crafted.Files[k] = v
	}
	crafted.Files["config/snmp.toml"] = strings.Replace(mine.Files["config/snmp.toml"], "alice/<set>", "mallory/<set>", 1)
	code, body, _ := b.do("PUT", api.PathBackup, crafted)
	var refusal struct{ Error string }
	_ = json.Unmarshal([]byte(body), &refusal)
	if code != http.StatusBadRequest || !strings.Contains(refusal.Error, `users: "mallory/<set>/<set>/priv": its secret is hidden in this backup`) {
		t.Errorf("a hidden key of a user the host lacks: %d %s", code, body)
	}
	if now, _ := os.ReadFile(e.r.file()); string(now) != string(onDisk) {
		t.Error("a refused restore changed snmp.toml")
	}
	// A check's message may quote a target or key the restore filled in
	// (here a hidden target listed twice, a receiver's name that does not
	// resolve once the agent is enabled): neither the reply nor the audit
	// log shows it.
	dup := strings.Replace(mine.Files["config/snmp.toml"], `"192.0.2.10@162/****"`, `"192.0.2.10@162/****", "192.0.2.10@162/****"`, 1)
	if code, body := restoreSNMP(b, mine, dup); code != http.StatusBadRequest || !strings.Contains(body, `targets: \"192.0.2.10@162/****\" is listed twice`) {
		t.Errorf("a hidden target listed twice: %d %s", code, body)
	}
	e.r.cli(t, "-t", "192.0.2.10@162/target-community,noc.invalid@162/nx-community")
	code, raw, _ = b.do("GET", api.PathBackup, nil)
	var again api.Backup
	if err := json.Unmarshal([]byte(raw), &again); code != http.StatusOK || err != nil {
		t.Fatalf("boris's second backup: %d %v", code, err)
	}
	enabled := strings.Replace(again.Files["config/snmp.toml"], "enabled = false", "enabled = true", 1)
	if code, body := restoreSNMP(b, again, enabled); code != http.StatusBadRequest || !strings.Contains(body, `noc.invalid@162/****`) {
		t.Errorf("an unresolvable hidden target enabled: %d %s", code, body)
	}
	for _, s := range []string{"target-community", "nx-community", "sesame-community"} {
		if trail := e.stateFile("audit.log"); strings.Contains(trail, s) {
			t.Errorf("the audit log shows the hidden secret %q", s)
		}
	}
	e.r.cli(t, "-t", "192.0.2.10@162/target-community")

	// Placeholders in a backup that does not list them as hidden are
	// values, and refused as keys.
	crafted.Hidden = nil
	if code, body, _ := b.do("PUT", api.PathBackup, crafted); code != http.StatusBadRequest {
		t.Errorf("placeholders not listed as hidden: %d %s", code, body)
	}

	// The Administrator's backup holds them, and the engine ID.
	var full api.Backup
	if err := json.Unmarshal(e.consoleOK("GET", api.PathBackup, nil), &full); err != nil {
		t.Fatal(err)
	}
	engine := e.r.daemon.SNMPState().EngineID
	if len(full.Hidden) != 0 || !strings.Contains(full.Files["config/snmp.toml"], "sesame-community") ||
		!strings.Contains(full.Files["config/snmp.toml"], keysOf(before.Users)[0]) ||
		!strings.Contains(full.Files["config/snmp.toml"], `engineid = "`+engine+`"`) {
		t.Errorf("the Administrator's backup lacks secrets or the engine ID %s:\n%s", engine, full.Files["config/snmp.toml"])
	}
	// A rebuilt host: a new state directory, another generated engine ID.
	rebuilt := start(t, t.TempDir())
	if rebuilt.daemon.SNMPState().EngineID == engine {
		t.Fatal("two daemons generated the same engine ID")
	}
	if code, out := call(t, consoleClient(rebuilt.sock), "PUT", api.PathBackup, full); code != http.StatusOK {
		t.Fatalf("restore on the rebuilt host: %d %s", code, out)
	}
	if got := rebuilt.daemon.SNMPState().EngineID; got != engine {
		t.Errorf("engine ID on the rebuilt host %s, want %s (the keys were made for it)", got, engine)
	}
	if after := snmpOnDisk(t, rebuilt); !sameSecrets(after, before) {
		t.Errorf("the rebuilt host's secrets:\n%+v\nwant\n%+v", after, before)
	}
	// Its engineBoots went above the backup's: receivers that heard the
	// engine ID from the old host would drop messages whose boots went down.
	boots, _ := os.ReadFile(filepath.Join(rebuilt.dir, "state", daemon.EngineBootsFile))
	if want := fmt.Sprintf("engine_boots = %d", full.EngineBoots+1); full.EngineBoots == 0 || !strings.Contains(string(boots), want) {
		t.Errorf("the rebuilt host's boots file %q, want %s (the backup had %d)", boots, want, full.EngineBoots)
	}
}

// restoreSNMP restores b with its snmp.toml replaced by text, as c.
func restoreSNMP(c *httpsClient, b api.Backup, text string) (int, string) {
	files := map[string]string{}
	for k, v := range b.Files {
		files[k] = v
	}
	files["config/snmp.toml"] = text
	b.Files = files
	code, body, _ := c.do("PUT", api.PathBackup, b)
	return code, body
}

// TestBackupOfARefusedEdit: a hand edit of snmp.toml the daemon refused
// stays on disk; a backup then holds the configuration in force (what a
// restore must give back), says so, and quotes nothing of the broken file
// to anyone.
func TestBackupOfARefusedEdit(t *testing.T) {
	e := startPrivileges(t)
	snmpSecrets(t, e.r)
	inForce := snmpOnDisk(t, e.r)
	writeConfig(t, e.r.dir, "enabled = false\ncommunities = [typed-unquoted]\n") // the quotes forgotten
	waitFor(t, "the edit refused", func() bool { return strings.Contains(e.r.log.String(), "configuration change refused") })
	for name, get := range map[string]func() (int, string){
		"console": func() (int, string) {
			code, body := call(t, e.console, "GET", api.PathBackup, nil)
			return code, string(body)
		},
		"boris": func() (int, string) {
			code, body, _ := e.as("boris", "boris-passw0rd").do("GET", api.PathBackup, nil)
			return code, body
		},
	} {
		code, body := get()
		var bk api.Backup
		if err := json.Unmarshal([]byte(body), &bk); code != http.StatusOK || err != nil {
			t.Errorf("%s's backup: %d %s", name, code, body)
			continue
		}
		if strings.Contains(body, "typed-unquoted") {
			t.Errorf("%s's backup quotes the refused edit", name)
		}
		cfg := daemon.FactoryDefaults().SNMP()
		if err := configstore.Decode("backup", []byte(bk.Files["config/snmp.toml"]), &cfg); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(cfg.V3Targets, inForce.V3Targets) || cfg.Authentication != inForce.Authentication {
			t.Errorf("%s's backup is not the configuration in force: %+v", name, cfg)
		}
	}
	if trail := e.stateFile("audit.log"); !strings.Contains(trail, "snmp.toml on disk differs from the configuration in force") {
		t.Errorf("the audit log does not say which snmp.toml was backed up:\n%s", trail)
	}
}

// keysOf are the hex keys of users or remote users entries.
func keysOf[L ~[]string](list L) []string {
	var out []string
	for _, u := range list {
		f := strings.Split(u, "/")
		for _, k := range f[1:3] {
			if k != "-" {
				out = append(out, k)
			}
		}
	}
	return out
}

// TestEngineChangedWhileStoppedKeepsKeys: users' keys are made for the
// engine ID in force. When it changes while the daemon is stopped (the
// generated engine ID's file lost, or engineid edited by hand) the start
// does not run the keys against another engine ID, which every receiver
// would refuse: it runs the last good configuration, with the engine ID
// the keys were made for, and says so at ERROR.
func TestEngineChangedWhileStoppedKeepsKeys(t *testing.T) {
	for name, change := range map[string]func(t *testing.T, dir string){
		"generated engine ID lost": func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "state", daemon.EngineIDFile)); err != nil {
				t.Fatal(err)
			}
		},
		"engineid edited": func(t *testing.T, dir string) {
			cfg := daemon.FactoryDefaults().SNMP()
			path := filepath.Join(dir, "etc", daemon.SNMPFile)
			if _, err := configstore.Load(path, &cfg); err != nil {
				t.Fatal(err)
			}
			cfg.EngineID = "80007ed9040102030405"
			if err := configstore.Save(path, &cfg, 0o640, ""); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			r := start(t, dir)
			engine := r.daemon.SNMPState().EngineID
			before := snmpSecrets(t, r)
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			change(t, dir)
			r = start(t, dir)
			if got := r.daemon.SNMPState().EngineID; got != engine {
				t.Errorf("engine ID in force %s, want %s, the keys' own", got, engine)
			}
			st := r.daemon.SNMPState().Config
			if !slices.Equal(st.Users, before.Users) {
				t.Errorf("users %v, want %v", st.Users, before.Users)
			}
			log := r.log.String()
			if !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "invalidates the keys of user(s) alice") ||
				!strings.Contains(log, "changed while hostagentd was stopped") {
				t.Errorf("no ERROR naming the change in:\n%s", log)
			}
		})
	}
}
