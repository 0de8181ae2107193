package cfgbackup

// The encrypted form of a backup file: its JSON, encrypted by age
// (filippo.io/age) to a passphrase. A backup saved by an Administrator
// holds every password hash and the TLS private key; encrypted, the file
// can be kept where others may read it. The passphrase stays on the
// client: the daemon sends and receives the JSON form only.
//
// The file is armored (PEM-like text, "-----BEGIN AGE ENCRYPTED FILE-----"):
// a backup is kept and moved as the text file the JSON one was (pasted in
// a ticket, mailed, stored in a repository of host configurations), where
// binary data is mangled by line-ending conversions; it is a third larger,
// which a backup of a few hundred KiB can afford. The age command
// (age -d) reads it as it is. Binary age files, from the age command,
// load too.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"filippo.io/age"
	"filippo.io/age/armor"
)

// The scrypt work factors (log2 of N): age's own default to encrypt
// (about a second and 256 MiB of memory), and a bound on what a file may
// ask of the reader, whose header chooses it (2^20: 1 GiB, a few seconds):
// a file asking more is refused before any work. Variables so that tests
// run at a work factor of a few milliseconds.
var (
	scryptWorkFactor    = 18
	scryptMaxWorkFactor = 20
)

// maxEncrypted bounds an encrypted backup file: armor adds a third, age a
// header and 16 bytes per 64 KiB, to the maxBackup of the JSON.
const maxEncrypted = maxBackup / 2 * 3

// binaryIntro begins a binary age file, of any version.
const binaryIntro = "age-encryption.org/"

// encrypted reports whether data is an age file, armored (after blank
// space, as age's armor reader allows) or binary.
func encrypted(data []byte) bool {
	return bytes.HasPrefix(data, []byte(binaryIntro)) ||
		bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte(armor.Header))
}

// encrypt returns plain encrypted to passphrase, armored.
func encrypt(plain []byte, passphrase string) ([]byte, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(scryptWorkFactor)
	var out bytes.Buffer
	a := armor.NewWriter(&out)
	w, err := age.Encrypt(a, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plain); err != nil {
		return nil, err
	}
	// Close the encryption before the armor: each writes its last block.
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := a.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// errNotPassphrase: the file is encrypted to keys (age recipients), not
// to a passphrase.
var errNotPassphrase = errors.New("encrypted to a key, not with a passphrase: only a passphrase-encrypted backup (--save --encrypt) can be loaded")

// workFactorError: the file asks more scrypt work than the reader allows.
type workFactorError int

func (n workFactorError) Error() string {
	return fmt.Sprintf("its passphrase is stretched with a scrypt work factor of 2^%d, more than the 2^%d this command allows", int(n), scryptMaxWorkFactor)
}

// passphraseIdentity is age's scrypt identity, refusing first, with errors
// of their own, a file not encrypted to a passphrase and one asking too
// much work: age would say both as "incorrect identity" or in words only.
type passphraseIdentity struct{ id *age.ScryptIdentity }

func (p passphraseIdentity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		if s.Type != "scrypt" {
			continue
		}
		if len(s.Args) == 2 {
			if n, err := strconv.Atoi(s.Args[1]); err == nil && n > scryptMaxWorkFactor {
				return nil, workFactorError(n)
			}
		}
		return p.id.Unwrap(stanzas) // checks the stanza itself
	}
	return nil, errNotPassphrase
}

// decrypt returns the plaintext of the age file data, encrypted to
// passphrase; its errors say why in words for a user, without the file's
// name, which the caller adds.
func decrypt(data []byte, passphrase string) ([]byte, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	id.SetMaxWorkFactor(scryptMaxWorkFactor)
	var src io.Reader = bytes.NewReader(data)
	if !bytes.HasPrefix(data, []byte(binaryIntro)) {
		src = armor.NewReader(src)
	}
	r, err := age.Decrypt(src, passphraseIdentity{id})
	var wf workFactorError
	switch {
	case err == nil:
	case errors.Is(err, age.ErrIncorrectIdentity):
		return nil, errors.New("wrong passphrase, or not the file as it was saved (changed or damaged)")
	case errors.Is(err, errNotPassphrase), errors.As(err, &wf):
		return nil, err
	default:
		return nil, fmt.Errorf("an encrypted file whose header is damaged (%v)", err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxBackup+1))
	if err != nil {
		return nil, fmt.Errorf("an encrypted file damaged or cut short after its header (%v)", err)
	}
	if len(plain) > maxBackup {
		return nil, fmt.Errorf("decrypted, larger than %d MiB", maxBackup>>20)
	}
	return plain, nil
}
