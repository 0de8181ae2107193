package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// hashParams are the argon2id costs for new password hashes. Stored hashes
// carry their own parameters and are verified with those, so the defaults can
// be raised later without invalidating anyone's password.
type hashParams struct {
	time    uint32 // passes over memory
	memory  uint32 // KiB
	threads uint8
	keyLen  uint32 // bytes
	saltLen uint32 // bytes
}

// defaultParams are the production costs: 64 MiB, one pass, two lanes, a
// 16-byte salt and a 32-byte hash. Memory is what makes offline guessing on
// GPUs expensive; one pass keeps a login cheap enough for a small host.
var defaultParams = hashParams{time: 1, memory: 64 * 1024, threads: 2, keyLen: 32, saltLen: 16}

// Bounds on stored parameters. A hand-edited or corrupted file must not make
// every login allocate gigabytes or spin for minutes, and argon2 panics on
// zero time or threads.
const (
	maxTime    = 64
	maxMemory  = 2 * 1024 * 1024 // KiB, 2 GiB
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64
)

// kdf is argon2.IDKey's signature; Store holds one so tests can count calls.
type kdf func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte

// phc is a parsed "$argon2id$v=19$m=...,t=...,p=...$salt$hash" string.
type phc struct {
	time    uint32
	memory  uint32
	threads uint8
	salt    []byte
	key     []byte
}

// b64 is PHC's base64: standard alphabet, no padding. Strict, so that each
// hash has exactly one spelling and parse∘String is the identity.
var b64 = base64.RawStdEncoding.Strict()

func (h phc) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.memory, h.time, h.threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// newHash hashes password under p with a fresh random salt.
func newHash(f kdf, p hashParams, password string) (phc, error) {
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return phc{}, err
	}
	return phc{
		time: p.time, memory: p.memory, threads: p.threads, salt: salt,
		key: f([]byte(password), salt, p.time, p.memory, p.threads, p.keyLen),
	}, nil
}

// dummyHash has the cost of a real hash under p but matches no password; an
// unknown user's login is checked against it so that it takes as long as a
// known user's.
func dummyHash(p hashParams) (phc, error) {
	h := phc{time: p.time, memory: p.memory, threads: p.threads, salt: make([]byte, p.saltLen), key: make([]byte, p.keyLen)}
	if _, err := rand.Read(h.salt); err != nil {
		return phc{}, err
	}
	if _, err := rand.Read(h.key); err != nil {
		return phc{}, err
	}
	return h, nil
}

// verify hashes password with h's own parameters and salt and compares in
// constant time.
func (h phc) verify(f kdf, password string) bool {
	got := f([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

var errHashFormat = errors.New(`password hash: want "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>"`)

// parseHash reads a PHC string strictly (fixed parameter order, no leading
// zeros, canonical base64) and checks that its costs are within bounds.
func parseHash(s string) (phc, error) {
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" {
		return phc{}, errHashFormat
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, fmt.Errorf("password hash: unsupported argon2 version %q", f[2])
	}
	ps := strings.Split(f[3], ",")
	if len(ps) != 3 {
		return phc{}, errHashFormat
	}
	var v [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(ps[i], name)
		if !ok {
			return phc{}, errHashFormat
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || strconv.FormatUint(n, 10) != num {
			return phc{}, errHashFormat
		}
		v[i] = n
	}
	m, t, p := v[0], v[1], v[2]
	if t < 1 || t > maxTime || p < 1 || p > 255 || m < 8*p || m > maxMemory {
		return phc{}, fmt.Errorf("password hash: parameters m=%d,t=%d,p=%d out of range (t 1-%d, p 1-255, m %d-%d KiB)", m, t, p, maxTime, 8*p, maxMemory)
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return phc{}, fmt.Errorf("password hash: salt must be %d to %d bytes of unpadded base64", minSaltLen, maxSaltLen)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return phc{}, fmt.Errorf("password hash: hash must be %d to %d bytes of unpadded base64", minKeyLen, maxKeyLen)
	}
	return phc{time: uint32(t), memory: uint32(m), threads: uint8(p), salt: salt, key: key}, nil
}
