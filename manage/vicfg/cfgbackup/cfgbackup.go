// Package cfgbackup is the vicfg program's vicfg-cfgbackup command: ESXi's
// configuration backup command — save every setting of the daemon to one
// file, restore it here or on another host, or return to factory
// defaults. The file may be encrypted with a passphrase (encrypt.go), on
// the client: the daemon never sees the passphrase. It holds the
// command's own options, their checks and its output; the frame (flags,
// connection, prompts, errors) is package vicfg's.
package cfgbackup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"hostagent/internal/configstore"
	"hostagent/manage/api"
	"hostagent/manage/vicfg"
)

// resetPrompt is asked before a reset, unless --quiet.
const resetPrompt = "Resetting the configuration to factory defaults. Are you sure? (y/N): "

func init() { vicfg.Register(Command) }

// Command is vicfg-cfgbackup.
var Command = &vicfg.Command{
	Name:     "vicfg-cfgbackup",
	Short:    "save, restore or reset the whole configuration",
	Synopsis: []string{"[--server unix:PATH] -s FILE [--encrypt] [--passphrase-file FILE] | -l FILE [--passphrase-file FILE] | -r [-q]"},
	About:    "Back up, restore or reset hostagentd's configuration, as ESXi's vicfg-cfgbackup does.",
	Notes: "A backup holds the configuration files, the users and roles, the lockdown\n" +
		"mode and, unless --exclude-certificates, the TLS key and certificate.\n" +
		"It may be restored on this host or on another one: the daemon checks\n" +
		"the whole file first and applies all of it or nothing.\n" +
		"\n" +
		"Saved by an Administrator, a backup holds every user's password hash\n" +
		"and the TLS private key: keep it private, or save it with --encrypt.\n" +
		"--encrypt asks for a passphrase twice, without echo (or reads it from\n" +
		"--passphrase-file), and writes the file encrypted with it (age, scrypt,\n" +
		"armored text): the passphrase never leaves this command, and without it\n" +
		"the file cannot be restored. --load recognizes an encrypted file and\n" +
		"asks for its passphrase; age -d decrypts it too.\n",
	Flags: newFlags,
}

// options are the command line's values.
type options struct {
	save, load            string
	reset, quiet, noCerts bool
	encrypt               bool
	passphraseFile        string

	passphrase string     // of --save --encrypt, once Prepare has asked for it
	backup     api.Backup // the file of --load, once Prepare has read it
	encrypted  bool       // the file of --load was encrypted
}

func newFlags(fs *pflag.FlagSet) vicfg.Runner {
	o := &options{}
	fs.StringVarP(&o.save, "save", "s", "", "save every setting of the daemon to `FILE` (mode 0600: it holds password hashes and the TLS key)")
	fs.StringVarP(&o.load, "load", "l", "", "restore the settings saved in `FILE`, all of them or none")
	fs.BoolVarP(&o.reset, "reset", "r", false, "return the configuration to the factory defaults")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "with --reset, do not ask for confirmation")
	fs.BoolVar(&o.noCerts, "exclude-certificates", false, "with --save, leave the TLS key and certificate out of the file")
	fs.BoolVar(&o.encrypt, "encrypt", false, "with --save, encrypt the file with a passphrase, asked for twice without echo")
	fs.StringVar(&o.passphraseFile, "passphrase-file", "", "with --save --encrypt or --load, read the passphrase from the first line of `FILE` (mode 0600) instead of asking")
	return o
}

// Prepare refuses a command line that is not one operation, reads the
// file of --load and asks to confirm --reset: a file refused or a reset
// canceled sends nothing.
func (o *options) Prepare(ctx context.Context, env *vicfg.Env) error {
	var ops []string
	for _, name := range []string{"save", "load", "reset"} {
		if env.Changed(name) {
			ops = append(ops, "--"+name)
		}
	}
	switch {
	case len(ops) == 0:
		return vicfg.UsageError(errors.New("give one of --save FILE, --load FILE or --reset"))
	case len(ops) > 1:
		return vicfg.UsageError(fmt.Errorf("%s cannot be given together: one operation at a time", strings.Join(ops, " and ")))
	case env.Changed("save") && o.save == "":
		return vicfg.UsageError(errors.New("--save: no file given"))
	case env.Changed("load") && o.load == "":
		return vicfg.UsageError(errors.New("--load: no file given"))
	case o.noCerts && !env.Changed("save"):
		return vicfg.UsageError(errors.New("--exclude-certificates goes with --save only"))
	case o.encrypt && !env.Changed("save"):
		return vicfg.UsageError(errors.New("--encrypt goes with --save only (--load recognizes an encrypted file by itself)"))
	case env.Changed("passphrase-file") && !o.encrypt && !env.Changed("load"):
		return vicfg.UsageError(errors.New("--passphrase-file goes with --save --encrypt or with --load"))
	case env.Changed("passphrase-file") && o.passphraseFile == "":
		return vicfg.UsageError(errors.New("--passphrase-file: no file given"))
	}
	if o.encrypt {
		// Before the daemon is asked: passphrases that differ send nothing.
		var err error
		if o.passphrase, err = o.askPassphrase(env, o.save, true); err != nil {
			return fmt.Errorf("--save %s --encrypt: %w; nothing was saved", o.save, err)
		}
	}
	if env.Changed("load") {
		var err error
		ask := func() (string, error) { return o.askPassphrase(env, o.load, false) }
		if o.backup, o.encrypted, err = readBackup(o.load, ask); err != nil {
			return err
		}
	}
	if o.reset && !o.quiet {
		fmt.Fprint(env.Stdout, resetPrompt)
		if !confirmed(ctx, env.Terminal) {
			if ctx.Err() != nil {
				fmt.Fprintln(env.Stdout)
			}
			fmt.Fprintln(env.Stdout, "Canceled.")
			return vicfg.ErrReported
		}
	}
	return nil
}

// Run saves, restores or resets.
func (o *options) Run(ctx context.Context, env *vicfg.Env) error {
	c, stdout := env.Client, env.Stdout
	switch {
	case env.Changed("save"):
		if o.encrypt {
			fmt.Fprintf(stdout, "Saving configuration to %s, encrypted with the passphrase...\n", o.save)
		} else {
			fmt.Fprintf(stdout, "Saving configuration to %s...\n", o.save)
		}
		b, err := c.SaveBackup(ctx, o.noCerts)
		if err != nil {
			return err
		}
		if b.Format != api.BackupFormat {
			return fmt.Errorf("hostagentd at %s answered with no configuration backup (format %q): nothing written to %s", c.Server(), b.Format, o.save)
		}
		if err := writeBackup(o.save, b, o.passphrase); err != nil {
			return err
		}
		if len(b.Omitted) > 0 {
			fmt.Fprintf(stdout, "Left out, for Administrators only (a restore keeps the host's own): %s\n", strings.Join(b.Omitted, ", "))
		}
		if len(b.Hidden) > 0 {
			fmt.Fprintf(stdout, "Secrets hidden, for Administrators only (a restore takes the host's own): %s\n", strings.Join(b.Hidden, ", "))
		}
	case env.Changed("load"):
		if o.encrypted {
			fmt.Fprintf(stdout, "Restoring configuration from %s, decrypted with its passphrase...\n", o.load)
		} else {
			fmt.Fprintf(stdout, "Restoring configuration from %s...\n", o.load)
		}
		// The daemon's validation is the one that counts: its message
		// names the file of the backup and the setting, printed as is.
		if err := c.LoadBackup(ctx, o.backup); err != nil {
			return err
		}
	case o.reset:
		fmt.Fprintln(stdout, "Resetting configuration to factory defaults...")
		if err := c.ResetConfig(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "Complete.")
	return nil
}

// askPassphrase returns the passphrase of file: the first line of
// --passphrase-file, or asked for on the terminal without echo, twice when
// confirm (a typo would make the saved file unreadable).
func (o *options) askPassphrase(env *vicfg.Env, file string, confirm bool) (string, error) {
	if o.passphraseFile != "" {
		return vicfg.ReadSecretFile("--passphrase-file", o.passphraseFile)
	}
	p, err := env.Terminal.ReadSecret(fmt.Sprintf("Enter passphrase for %s: ", file))
	switch {
	case errors.Is(err, vicfg.ErrNoTerminal):
		return "", errors.New("no passphrase: give --passphrase-file FILE, or run on a terminal to be asked for it")
	case err != nil:
		return "", fmt.Errorf("reading the passphrase: %w", err)
	case p == "":
		return "", errors.New("the passphrase is empty: an encrypted backup needs one")
	case !confirm:
		return p, nil
	}
	again, err := env.Terminal.ReadSecret("Re-enter passphrase: ")
	if err != nil {
		return "", fmt.Errorf("reading the passphrase: %w", err)
	}
	if again != p {
		return "", errors.New("the passphrases given do not match")
	}
	return p, nil
}

// confirmed reads one answer, terminal or not (a script may pipe "y"): y
// or yes, in any case, confirms; anything else, end of input or ctx done
// (Ctrl-C) included, does not.
func confirmed(ctx context.Context, t vicfg.Terminal) bool {
	line, err := t.ReadLine(ctx)
	if err != nil {
		return false
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true
	}
	return false
}

// maxBackup bounds the JSON of a backup read by --load; a backup is a few
// hundred KiB at most, and the daemon takes no more than that either.
const maxBackup = 16 << 20

// readBackup reads file and checks that it is a backup this command knows:
// JSON, of BackupFormat, of BackupVersion or older, or that JSON encrypted
// by --save --encrypt (then passphrase is asked for its passphrase; nil
// when there is none). Its content is the daemon's to check.
func readBackup(file string, passphrase func() (string, error)) (b api.Backup, wasEncrypted bool, err error) {
	f, err := os.Open(file)
	if err != nil {
		return b, false, fmt.Errorf("--load: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxEncrypted+1))
	if err != nil {
		return b, false, fmt.Errorf("--load %s: %w", file, err)
	}
	if !encrypted(data) {
		b, err = decodeBackup(file, data)
		return b, false, err
	}
	fail := func(err error) (api.Backup, bool, error) {
		return api.Backup{}, true, fmt.Errorf("--load %s: %w; nothing was restored", file, err)
	}
	if len(data) > maxEncrypted {
		return fail(fmt.Errorf("not a configuration backup: encrypted, larger than %d MiB", maxEncrypted>>20))
	}
	if passphrase == nil {
		return fail(errors.New("encrypted, and no passphrase to decrypt it"))
	}
	p, err := passphrase()
	if err != nil {
		return fail(err)
	}
	if data, err = decrypt(data, p); err != nil {
		return fail(err)
	}
	b, err = decodeBackup(file, data)
	return b, true, err
}

// decodeBackup checks that data, the JSON of file, is a backup this
// command knows, as readBackup says.
func decodeBackup(file string, data []byte) (api.Backup, error) {
	var b api.Backup
	refuse := func(why string) (api.Backup, error) {
		return api.Backup{}, fmt.Errorf("--load %s: not a configuration backup: %s; nothing was restored", file, why)
	}
	if len(data) > maxBackup {
		return refuse(fmt.Sprintf("larger than %d MiB", maxBackup>>20))
	}
	// The format and version first, alone, so that a file of another
	// format or a newer version is named as such even if the rest of it
	// would not decode.
	var head struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return refuse("corrupt or not JSON: " + jsonError(data, err))
	}
	switch {
	case head.Format == nil:
		return refuse(fmt.Sprintf("no \"format\" field (a backup's is %q)", api.BackupFormat))
	case *head.Format != api.BackupFormat:
		return refuse(fmt.Sprintf("its format is %q, not %q", *head.Format, api.BackupFormat))
	case head.Version == nil:
		return refuse("no \"version\" field")
	case *head.Version > api.BackupVersion:
		return api.Backup{}, fmt.Errorf("--load %s: backup version %d is newer than this command reads (up to %d): it was saved by a newer hostagentd; nothing was restored",
			file, *head.Version, api.BackupVersion)
	case *head.Version < 1:
		return refuse(fmt.Sprintf("version %d is not a version (they start at 1)", *head.Version))
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return refuse("corrupt: " + jsonError(data, err))
	}
	return b, nil
}

// jsonError says where in data err occurred, as a line number.
func jsonError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err.Error()
	}
	line := 1 + strings.Count(string(data[:off]), "\n")
	return fmt.Sprintf("line %d: %v", line, err)
}

// writeBackup saves b in file as indented JSON, encrypted with passphrase
// unless it is "", mode 0600 (it holds password hashes and maybe the TLS
// key), atomically: a temporary file in the same directory, synced,
// renamed over file. An existing file is only replaced once the new one
// is complete.
func writeBackup(file string, b api.Backup, passphrase string) (err error) {
	defer func() {
		if err != nil {
			err = fmt.Errorf("--save %s: %w; nothing was written", file, err)
		}
	}()
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if passphrase != "" {
		if data, err = encrypt(data, passphrase); err != nil {
			return fmt.Errorf("encrypting: %w", err)
		}
	}
	return configstore.WriteFile(file, data, 0o600)
}
