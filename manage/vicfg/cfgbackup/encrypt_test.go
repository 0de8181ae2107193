package cfgbackup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"hostagent/manage/api"
	"hostagent/manage/vicfg"
	"hostagent/manage/vicfg/vicfgtest"
)

// fastScrypt lowers the scrypt work factors for the test: 2^18 takes
// seconds under the race detector; what is tested does not depend on it.
func fastScrypt(t testing.TB, work, max int) {
	t.Helper()
	oldWork, oldMax := scryptWorkFactor, scryptMaxWorkFactor
	t.Cleanup(func() { scryptWorkFactor, scryptMaxWorkFactor = oldWork, oldMax })
	scryptWorkFactor, scryptMaxWorkFactor = work, max
}

// runTerm runs the command against server with its prompts answered by term.
func runTerm(server string, term vicfg.Terminal, args ...string) (code int, stdout, stderr string) {
	return vicfgtest.Run(context.Background(), Command, "vicfg-cfgbackup", term, append([]string{"--server", server}, args...)...)
}

// secretFile writes content in a new file of mode perm.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(f, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, perm); err != nil { // past the umask
		t.Fatal(err)
	}
	return f
}

// ageDecrypt decrypts data with age itself, not this package's reader: the
// file is a standard age file, as age -d reads it.
func ageDecrypt(t *testing.T, data []byte, passphrase string) api.Backup {
	t.Helper()
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		t.Fatal(err)
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(data)), id)
	if err != nil {
		t.Fatalf("age cannot decrypt the file: %v", err)
	}
	var b api.Backup
	if err := json.NewDecoder(r).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEncryptedRoundTrip: --save --encrypt asks for the passphrase twice,
// before the daemon is reached, and writes an armored age file of mode
// 0600 holding no secret in clear; --load recognizes it, asks for the
// passphrase once and sends the same backup.
func TestEncryptedRoundTrip(t *testing.T) {
	fastScrypt(t, 10, 20)
	d := &daemon{backup: sample}
	server := start(t, d)
	dir := t.TempDir()
	file := filepath.Join(dir, "esx1.age")
	os.WriteFile(file, []byte("old"), 0o644) // replaced, and made private
	const pass = "correct horse battery staple"

	term := &vicfgtest.Terminal{Secrets: []string{pass, pass}}
	code, stdout, stderr := runTerm(server, term, "--save", file, "--encrypt")
	if code != 0 || stderr != "" || stdout != "Saving configuration to "+file+", encrypted with the passphrase...\nComplete.\n" {
		t.Fatalf("save: %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if p := term.Prompts(); !slices.Equal(p, []string{"Enter passphrase for " + file + ": ", "Re-enter passphrase: "}) {
		t.Errorf("prompts %q", p)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v, %v", fi, err)
	}
	data, _ := os.ReadFile(file)
	if !bytes.HasPrefix(data, []byte(armor.Header+"\n")) || !bytes.HasSuffix(data, []byte("-----END AGE ENCRYPTED FILE-----\n")) {
		t.Errorf("not an armored age file:\n%s", data)
	}
	for _, clear := range []string{"argon2id", "PRIVATE KEY", "hostagent-config-backup", pass} {
		if bytes.Contains(data, []byte(clear)) {
			t.Errorf("%q in clear in the encrypted file", clear)
		}
	}
	if got := ageDecrypt(t, data, pass); !reflect.DeepEqual(got, sample) {
		t.Errorf("age decrypts %+v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}

	term = &vicfgtest.Terminal{Secrets: []string{pass}}
	code, stdout, stderr = runTerm(server, term, "-l", file)
	if code != 0 || stderr != "" || stdout != "Restoring configuration from "+file+", decrypted with its passphrase...\nComplete.\n" {
		t.Fatalf("load: %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if p := term.Prompts(); !slices.Equal(p, []string{"Enter passphrase for " + file + ": "}) {
		t.Errorf("load prompts %q", p)
	}
	if len(d.loads) != 1 || !reflect.DeepEqual(d.loads[0], sample) {
		t.Errorf("sent %+v", d.loads)
	}

	// The same with --passphrase-file: first line, its newline removed;
	// nothing asked.
	pf := secretFile(t, pass+"\r\nignored second line\n", 0o600)
	term = &vicfgtest.Terminal{}
	if code, _, stderr := runTerm(server, term, "-s", file, "--encrypt", "--passphrase-file", pf, "--exclude-certificates"); code != 0 || stderr != "" {
		t.Fatalf("save --passphrase-file: %d, %q", code, stderr)
	}
	data, _ = os.ReadFile(file)
	if got := ageDecrypt(t, data, pass); got.Files["state/server.key"] != "" || got.Files["config/snmp.toml"] == "" {
		t.Errorf("saved with --exclude-certificates: %v", got.Files)
	}
	if code, _, stderr := runTerm(server, term, "-l", file, "--passphrase-file", pf); code != 0 || stderr != "" || len(d.loads) != 2 {
		t.Fatalf("load --passphrase-file: %d, %q", code, stderr)
	}
	if len(term.Prompts()) != 0 {
		t.Errorf("asked %q with --passphrase-file", term.Prompts())
	}

	// A plain backup loads as before, --passphrase-file or not.
	plain := filepath.Join(dir, "plain.json")
	if code, _, stderr := runTerm(server, nil, "-s", plain); code != 0 || stderr != "" {
		t.Fatalf("plain save: %d, %q", code, stderr)
	}
	if code, stdout, stderr := runTerm(server, nil, "-l", plain, "--passphrase-file", pf); code != 0 || stderr != "" || stdout != "Restoring configuration from "+plain+"...\nComplete.\n" {
		t.Errorf("plain load: %d, %q, %q", code, stdout, stderr)
	}
}

// TestEncryptedRefusals: whatever goes wrong with a passphrase or an
// encrypted file, the message names the file and why, the exit code is 1
// and nothing is sent to the daemon (nothing saved, nothing restored).
func TestEncryptedRefusals(t *testing.T) {
	fastScrypt(t, 10, 12)
	d := &daemon{backup: sample}
	server := start(t, d)
	dir := t.TempDir()
	const pass = "s3cret passphrase"
	good := filepath.Join(dir, "good.age")
	if err := writeBackup(good, sample, pass); err != nil {
		t.Fatal(err)
	}
	goodData, _ := os.ReadFile(good)
	write := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	encryptWith := func(plain []byte, r age.Recipient, armored bool) []byte {
		var out bytes.Buffer
		dst := io.Writer(&out)
		var a io.WriteCloser
		if armored {
			a = armor.NewWriter(&out)
			dst = a
		}
		w, err := age.Encrypt(dst, r)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(plain)
		w.Close()
		if a != nil {
			a.Close()
		}
		return out.Bytes()
	}
	scrypt := func(work int) age.Recipient {
		r, _ := age.NewScryptRecipient(pass)
		r.SetWorkFactor(work)
		return r
	}
	key, _ := age.GenerateX25519Identity()
	plain, _ := json.Marshal(sample)
	// A byte of the payload changed: the armored text is decoded, one
	// byte flipped, encoded again.
	flipped := func() []byte {
		var bin bytes.Buffer
		io.Copy(&bin, armor.NewReader(bytes.NewReader(goodData)))
		b := bin.Bytes()
		b[len(b)-20] ^= 1
		var out bytes.Buffer
		a := armor.NewWriter(&out)
		a.Write(b)
		a.Close()
		return out.Bytes()
	}()
	binary := write("binary.age", encryptWith(plain, scrypt(10), false))
	pf := secretFile(t, pass+"\n", 0o600)

	// A binary age file of the right passphrase loads (age -p makes those).
	if code, _, stderr := runTerm(server, nil, "-l", binary, "--passphrase-file", pf); code != 0 || stderr != "" || len(d.loads) != 1 {
		t.Fatalf("binary age file: %d, %q", code, stderr)
	}

	for _, tt := range []struct {
		name    string
		args    []string
		secrets []string
		want    string
	}{
		// --load
		{"wrong passphrase", []string{"-l", good}, []string{"not it"}, "--load " + good + ": wrong passphrase, or not the file as it was saved (changed or damaged); nothing was restored"},
		{"wrong passphrase file", []string{"-l", good, "--passphrase-file", secretFile(t, "not it\n", 0o600)}, nil, "--load " + good + ": wrong passphrase"},
		{"empty passphrase", []string{"-l", good}, []string{""}, "--load " + good + ": the passphrase is empty"},
		{"no terminal", []string{"-l", good}, nil, "--load " + good + ": reading the passphrase: EOF"},
		{"changed", []string{"-l", write("flipped.age", flipped)}, []string{pass}, "damaged or cut short after its header"},
		{"truncated", []string{"-l", write("cut.age", goodData[:len(goodData)/2])}, []string{pass}, "damaged or cut short after its header"},
		{"armor only", []string{"-l", write("armor.age", []byte(armor.Header+"\n"))}, []string{pass}, "an encrypted file whose header is damaged"},
		{"intro only", []string{"-l", write("intro.age", []byte("age-encryption.org/v1\n"))}, []string{pass}, "an encrypted file whose header is damaged"},
		{"other version", []string{"-l", write("v2.age", []byte("age-encryption.org/v2\n-> x\n"))}, []string{pass}, "header is damaged"},
		{"to a key", []string{"-l", write("key.age", encryptWith(plain, key.Recipient(), true))}, []string{pass}, "encrypted to a key, not with a passphrase"},
		{"too much work", []string{"-l", write("slow.age", encryptWith(plain, scrypt(13), true))}, []string{pass}, "a scrypt work factor of 2^13, more than the 2^12 this command allows"},
		{"not json", []string{"-l", write("text.age", encryptWith([]byte("enable = true\n"), scrypt(10), true))}, []string{pass}, "not a configuration backup: corrupt or not JSON: line 1: invalid character 'e'"},
		{"foreign", []string{"-l", write("foreign.age", encryptWith([]byte(`{"format":"esx-firmware","version":1}`), scrypt(10), true))}, []string{pass}, `its format is "esx-firmware"`},
		{"open passphrase file", []string{"-l", good, "--passphrase-file", secretFile(t, pass, 0o644)}, nil, "--passphrase-file "},
		// --save --encrypt
		{"mismatch", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt"}, []string{pass, pass + "x"}, "--save " + filepath.Join(dir, "new.age") + " --encrypt: the passphrases given do not match; nothing was saved"},
		{"empty", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt"}, []string{"", ""}, "--encrypt: the passphrase is empty: an encrypted backup needs one; nothing was saved"},
		{"no second", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt"}, []string{pass}, "reading the passphrase: EOF"},
		{"empty file", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt", "--passphrase-file", secretFile(t, "\nsecond\n", 0o600)}, nil, "the first line is empty"},
		{"group file", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt", "--passphrase-file", secretFile(t, pass, 0o640)}, nil, "mode 0640 lets users other than its owner read or change it"},
		{"no file", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt", "--passphrase-file", filepath.Join(dir, "missing")}, nil, "--passphrase-file: stat "},
		{"dir file", []string{"-s", filepath.Join(dir, "new.age"), "--encrypt", "--passphrase-file", dir}, nil, "a directory, not a file"},
	} {
		before := d.requests()
		term := &vicfgtest.Terminal{Secrets: tt.secrets}
		code, stdout, stderr := runTerm(server, term, tt.args...)
		if code != 1 || stdout != "" || !strings.HasPrefix(stderr, "vicfg-cfgbackup: ") || !strings.Contains(stderr, tt.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: %d, stdout %q, stderr %q, want %q", tt.name, code, stdout, stderr, tt.want)
		}
		if strings.Contains(stderr, pass) {
			t.Errorf("%s: the passphrase shows: %q", tt.name, stderr)
		}
		if d.requests() != before {
			t.Errorf("%s: a request was sent", tt.name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "new.age")); !os.IsNotExist(err) {
		t.Errorf("a refused save wrote its file: %v", err)
	}

	// No terminal at all (stdin a pipe): told how to give the passphrase.
	for _, args := range [][]string{{"-l", good}, {"-s", filepath.Join(dir, "new.age"), "--encrypt"}} {
		code, _, stderr := run(server, "", args...)
		if code != 1 || !strings.Contains(stderr, "no passphrase: give --passphrase-file FILE, or run on a terminal to be asked for it") {
			t.Errorf("%q without a terminal: %d, %q", args, code, stderr)
		}
	}
	if d.requests() != 1 {
		t.Errorf("%d requests, want the binary file's load alone", d.requests())
	}
}

func TestEncryptUsage(t *testing.T) {
	d := &daemon{backup: sample}
	server := start(t, d)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-l", "a", "--encrypt"}, "vicfg-cfgbackup: --encrypt goes with --save only (--load recognizes an encrypted file by itself)\nsee vicfg-cfgbackup --help\n"},
		{[]string{"-r", "--encrypt"}, "--encrypt goes with --save only"},
		{[]string{"-s", "a", "--passphrase-file", "p"}, "vicfg-cfgbackup: --passphrase-file goes with --save --encrypt or with --load\n"},
		{[]string{"-r", "-q", "--passphrase-file", "p"}, "--passphrase-file goes with --save --encrypt or with --load"},
		{[]string{"-s", "a", "--encrypt", "--passphrase-file", ""}, "--passphrase-file: no file given"},
		{[]string{"-l", "a", "--passphrase-file", ""}, "--passphrase-file: no file given"},
		{[]string{"-s", "a", "--encrypt=maybe"}, "invalid argument"},
	} {
		term := &vicfgtest.Terminal{Secrets: []string{"x", "x"}}
		code, stdout, stderr := runTerm(server, term, tt.args...)
		if code != 1 || stdout != "" || !strings.Contains(stderr, tt.want) || len(term.Prompts()) != 0 {
			t.Errorf("%q: %d, stdout %q, stderr %q, prompts %q, want %q", tt.args, code, stdout, stderr, term.Prompts(), tt.want)
		}
	}
	if d.requests() != 0 {
		t.Errorf("%d requests sent", d.requests())
	}
	_, stdout, _ := run(server, "", "--help")
	for _, want := range []string{"--encrypt", "--passphrase-file FILE", "holds every user's password hash", "and the TLS private key", "age -d"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("--help lacks %q:\n%s", want, stdout)
		}
	}
}

// TestEncryptedOverHTTPS: end to end against a daemon over https behind
// a login, the password and the passphrase both from files: an encrypted
// save, then its load, send the daemon what it served.
func TestEncryptedOverHTTPS(t *testing.T) {
	fastScrypt(t, 10, 20)
	for _, env := range []string{"VI_SERVER", "VI_USERNAME", "VI_PASSWORD", "VI_PASSWORDFILE", "VI_SESSIONFILE", "VI_SAVESESSIONFILE"} {
		t.Setenv(env, "")
	}
	d := &daemon{backup: sample}
	remote := vicfgtest.ServeHTTPS(t, d.handler(), "root", "s3cret!")
	conn := []string{"--server", remote.Server, "--thumbprint", remote.Thumbprint, "--username", "root",
		"--password-file", secretFile(t, "s3cret!\n", 0o600)}
	file := filepath.Join(t.TempDir(), "esx1.age")
	pf := secretFile(t, "a passphrase of the backups\n", 0o600)
	ctx := context.Background()

	code, stdout, stderr := vicfgtest.Run(ctx, Command, "vicfg-cfgbackup", nil, append(conn, "-s", file, "--encrypt", "--passphrase-file", pf)...)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "encrypted with the passphrase") {
		t.Fatalf("save: %d, %q, %q", code, stdout, stderr)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file: %v, %v", fi, err)
	}
	term := &vicfgtest.Terminal{Secrets: []string{"a passphrase of the backups"}}
	code, stdout, stderr = vicfgtest.Run(ctx, Command, "vicfg-cfgbackup", term, append(conn, "-l", file)...)
	if code != 0 || stderr != "" || !strings.Contains(stdout, "decrypted with its passphrase") {
		t.Fatalf("load: %d, %q, %q", code, stdout, stderr)
	}
	if len(d.loads) != 1 || !reflect.DeepEqual(d.loads[0], sample) {
		t.Errorf("restored %+v", d.loads)
	}
	if l := remote.Logins(); !slices.Equal(l, []string{"root", "root"}) {
		t.Errorf("logins %q", l)
	}
	// A wrong passphrase: refused before the login.
	term = &vicfgtest.Terminal{Secrets: []string{"not it"}}
	code, _, stderr = vicfgtest.Run(ctx, Command, "vicfg-cfgbackup", term, append(conn, "-l", file)...)
	if code != 1 || !strings.Contains(stderr, "--load "+file+": wrong passphrase") || len(remote.Logins()) != 2 {
		t.Errorf("wrong passphrase: %d, %q, logins %q", code, stderr, remote.Logins())
	}
}

// TestWorkFactor: files are written at age's default work factor (one
// scrypt of 2^18 would take seconds under the race detector: the stanza
// is checked at another factor, which encrypt writes as it is given),
// which the reader accepts.
func TestWorkFactor(t *testing.T) {
	if scryptWorkFactor != 18 || scryptMaxWorkFactor != 20 {
		t.Fatalf("work factors %d, max %d", scryptWorkFactor, scryptMaxWorkFactor)
	}
	fastScrypt(t, 11, 20)
	data, err := encrypt([]byte("{}"), "p")
	if err != nil {
		t.Fatal(err)
	}
	var bin bytes.Buffer
	io.Copy(&bin, armor.NewReader(bytes.NewReader(data)))
	sc := bufio.NewScanner(&bin)
	sc.Scan()
	sc.Scan()
	if f := strings.Fields(sc.Text()); len(f) != 4 || f[0] != "->" || f[1] != "scrypt" || f[3] != "11" {
		t.Errorf("stanza %q", sc.Text())
	}
}

// TestSavedFileLoads: an encrypted backup saved by this version (in
// testdata, passphrase "correct horse battery staple", work factor 2^10)
// loads in later ones.
func TestSavedFileLoads(t *testing.T) {
	file := filepath.Join("testdata", "backup-v2.age")
	b, enc, err := readBackup(file, func() (string, error) { return "correct horse battery staple", nil })
	if err != nil || !enc || b.Format != api.BackupFormat || b.Version != 2 || b.Host != "esx1" || b.Files["config/snmp.toml"] == "" {
		t.Errorf("%s: %+v, %v, %v", file, b, enc, err)
	}
}
