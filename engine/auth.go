package engine

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Accounts is an accounts file as the tutorials keep it, one "user:secret"
// a line, where the secret is a plaintext password (the tutorials' way) or
// a bcrypt ($2a$, $2b$, $2y$) or argon2id ($argon2id$) hash, as
// HashPassword and SetPassword write. Blank lines and lines starting with
// # are skipped.
type Accounts struct {
	secrets   map[string]string
	plaintext int
	hashed    int
	// dummy is a hash of the same algorithm and parameters as most of the
	// file's hashes: unknown users are checked against it, so that they
	// take as long as known ones.
	dummy string
}

// hashSlots bounds the password hashes computed at once to the number of
// CPUs: each argon2id check may take 64 MiB, and more at once than there
// are CPUs only queue for them anyway.
var hashSlots = make(chan struct{}, runtime.NumCPU())

// hashing counts the hashes being computed; hashingPeak is the most seen.
var hashing, hashingPeak atomic.Int32

// dummies caches a dummy hash per algorithm and parameters ("bcrypt 10",
// "argon2id m=65536,t=1,p=4 16 32"): made once per process, when a file
// first needs it, not at start-up.
var dummies sync.Map // string -> func() string

// hashParams returns what a hash's cost depends on, as a map key, or "".
func hashParams(h string) string {
	if strings.HasPrefix(h, "$argon2id$") {
		parts := strings.Split(h, "$")
		if len(parts) != 6 {
			return ""
		}
		salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
		key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
		if err1 != nil || err2 != nil {
			return ""
		}
		return fmt.Sprintf("argon2id %s %d %d", parts[3], len(salt), len(key))
	}
	cost, err := bcrypt.Cost([]byte(h))
	if err != nil {
		return ""
	}
	return fmt.Sprintf("bcrypt %d", cost)
}

// dummyFor returns a hash of a random password with the given parameters.
func dummyFor(params string) string {
	f, _ := dummies.LoadOrStore(params, sync.OnceValue(func() string {
		pw := make([]byte, 16)
		rand.Read(pw)
		var cost int
		if _, err := fmt.Sscanf(params, "bcrypt %d", &cost); err == nil {
			h, err := bcrypt.GenerateFromPassword(pw, cost)
			if err == nil {
				return string(h)
			}
		}
		var m, t uint32
		var p uint8
		var saltLen, keyLen int
		if _, err := fmt.Sscanf(params, "argon2id m=%d,t=%d,p=%d %d %d", &m, &t, &p, &saltLen, &keyLen); err == nil {
			salt := make([]byte, saltLen)
			rand.Read(salt)
			key := argon2.IDKey(pw, salt, t, m, p, uint32(keyLen))
			return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p,
				base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
		}
		h, _ := bcrypt.GenerateFromPassword(pw, bcrypt.DefaultCost)
		return string(h)
	}))
	return f.(func() string)()
}

// LoadAccounts reads an accounts file.
func LoadAccounts(path string) (*Accounts, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a := &Accounts{secrets: map[string]string{}}
	params := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, secret, ok := strings.Cut(line, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%s:%d: want user:password", path, n)
		}
		a.secrets[user] = secret
		if isHash(secret) {
			a.hashed++
			params[hashParams(secret)]++
		} else {
			a.plaintext++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if a.hashed > 0 {
		common, n := "", 0
		for p, c := range params {
			if c > n || (c == n && p < common) {
				common, n = p, c
			}
		}
		a.dummy = dummyFor(common)
	}
	return a, nil
}

func isHash(secret string) bool {
	for _, p := range []string{"$2a$", "$2b$", "$2y$", "$argon2id$"} {
		if strings.HasPrefix(secret, p) {
			return true
		}
	}
	return false
}

// Plaintext returns how many accounts hold a plaintext password.
func (a *Accounts) Plaintext() int { return a.plaintext }

// Len returns the number of accounts.
func (a *Accounts) Len() int { return len(a.secrets) }

// Check reports whether password is user's. It answers an unknown user
// and a wrong password alike and in about the same time: plaintext
// passwords are compared in constant time, and when the file holds hashes
// every check costs one hash comparison.
func (a *Accounts) Check(user, password string) bool {
	secret, known := a.secrets[user]
	switch {
	case known && isHash(secret):
		return verifyHash(secret, password)
	case a.hashed > 0:
		verifyHash(a.dummy, password)
	}
	if !known {
		secret = "\x00unknown user"
	}
	x, y := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(password))
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1 && known
}

// verifyHash checks password against a bcrypt or argon2id hash, waiting
// for one of hashSlots.
func verifyHash(hash, password string) bool {
	hashSlots <- struct{}{}
	n := hashing.Add(1)
	defer func() { hashing.Add(-1); <-hashSlots }()
	for p := hashingPeak.Load(); n > p && !hashingPeak.CompareAndSwap(p, n); p = hashingPeak.Load() {
	}
	if !strings.HasPrefix(hash, "$argon2id$") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	// $argon2id$v=19$m=65536,t=1,p=4$salt$key (PHC string format)
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m > 1<<22 || t > 100 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(key) == 0 || len(key) > 1024 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1
}

// HashPassword returns a bcrypt hash of password for an accounts file.
func HashPassword(password string) (string, error) {
	if strings.ContainsAny(password, "\n\r") {
		return "", errors.New("a password cannot hold a line break")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}

// SetPassword stores user's password, hashed, in the accounts file at
// path: the user's line is replaced, or appended; the file is created
// (mode 0600) if missing. The new file replaces the old one in one rename.
func SetPassword(path, user, password string) error {
	if user == "" || strings.ContainsAny(user, ":\n\r") || strings.TrimSpace(user) != user {
		return fmt.Errorf("bad user name %q", user)
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var out bytes.Buffer
	replaced := false
	for _, line := range strings.SplitAfter(string(old), "\n") {
		if u, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && u == user {
			if !replaced {
				fmt.Fprintf(&out, "%s:%s\n", user, hash)
			}
			replaced = true
			continue
		}
		out.WriteString(line)
	}
	if !replaced {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteByte('\n')
		}
		fmt.Fprintf(&out, "%s:%s\n", user, hash)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".accounts-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
