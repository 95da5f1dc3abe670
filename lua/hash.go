package lua

import (
	"encoding/hex"
	"fmt"
	"hash"
	"reflect"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// hashModule is the hash module.
var hashModule = &module{
	name: "hash",
	doc:  "digests: md5, sha1, sha256, blake3, streaming or whole files",
	funcs: []fn{
		{"md5", hashMD5, "hash.md5(s) -> hex -- MD5 of s, lowercase hex"},
		{"sha256", hashSHA256, "hash.sha256(s) -> hex -- SHA-256 of s, lowercase hex"},
		{"blake3", hashBLAKE3, "hash.blake3(s) -> hex -- BLAKE3 (256 bits) of s, lowercase hex"},
		{"new", hashNew, "hash.new(\"md5\"|\"sha1\"|\"sha256\"|\"blake3\") -> h -- a streaming digest: h:update(s), h:hexdigest()"},
		{"file", hashFile, "hash.file(algo, path [, {dir=d}]) -> hex, size | nil, err -- digest and size of a file, streamed"},
		{"password", hashPassword, "hash.password(pw) -> hash -- a bcrypt hash for an accounts file"},
		{"accounts", hashAccounts, "hash.accounts(path) -> accounts | nil, err -- read a user:password file (plaintext, bcrypt or argon2id entries)"},
	},
}

// hasher is a streaming digest.
type hasher struct {
	algo string
	h    hash.Hash
}

func hexOf(algo, s string) string {
	h, _ := engine.NewHash(algo)
	h.Write(sbytes(s))
	return hex.EncodeToString(h.Sum(nil))
}

func hashMD5(L *glua.LState) int {
	L.Push(glua.LString(hexOf("md5", L.CheckString(1))))
	return 1
}

func hashSHA256(L *glua.LState) int {
	L.Push(glua.LString(hexOf("sha256", L.CheckString(1))))
	return 1
}

func hashBLAKE3(L *glua.LState) int {
	L.Push(glua.LString(hexOf("blake3", L.CheckString(1))))
	return 1
}

func hashNew(L *glua.LState) int {
	algo := L.CheckString(1)
	h, err := engine.NewHash(algo)
	if err != nil || h == nil {
		L.ArgError(1, fmt.Sprintf("unknown hash %q (%s)", algo, engine.HashNames))
	}
	L.Push(newObject(L, &hasher{algo: algo, h: h}))
	return 1
}

func hashFile(L *glua.LState) int {
	algo, path := L.CheckString(1), L.CheckString(2)
	if h, err := engine.NewHash(algo); err != nil || h == nil {
		L.ArgError(1, fmt.Sprintf("unknown hash %q (%s)", algo, engine.HashNames))
	}
	sum, size, err := engine.HashFile(ctxOf(L), algo, path, optString(L, optTable(L, 3, "dir"), "dir", ""))
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LString(sum))
	L.Push(glua.LNumber(size))
	return 2
}

var hasherClass = &class{
	name:   "hasher",
	goType: reflect.TypeFor[*hasher](),
	// A running digest is not safe from two goroutines: the receiver goes
	// on from a copy of its state, as Python's h.copy().
	pass: passCopy,
	copy: copyHasher,
	doc:  "a streaming digest",
	tostring: func(v any) string {
		return fmt.Sprintf("<hasher %s>", v.(*hasher).algo)
	},
	methods: []fn{
		{"update", hasherUpdate, "h:update(s) -> h -- add bytes"},
		{"hexdigest", hasherHexdigest, "h:hexdigest() -> hex -- digest of the bytes so far"},
	},
}

func hasherUpdate(L *glua.LState) int {
	h := check[*hasher](L, 1, "hasher")
	h.h.Write(sbytes(L.CheckString(2)))
	L.Push(L.Get(1))
	return 1
}

func hasherHexdigest(L *glua.LState) int {
	h := check[*hasher](L, 1, "hasher")
	L.Push(glua.LString(hex.EncodeToString(h.h.Sum(nil))))
	return 1
}

func hashPassword(L *glua.LState) int {
	h, err := engine.HashPassword(L.CheckString(1))
	if err != nil {
		L.ArgError(1, err.Error())
	}
	L.Push(glua.LString(h))
	return 1
}

func hashAccounts(L *glua.LState) int {
	a, err := engine.LoadAccounts(L.CheckString(1))
	if err != nil {
		return fail(L, err)
	}
	L.Push(newObject(L, a))
	return 1
}

var accountsClass = &class{
	name:   "accounts",
	goType: reflect.TypeFor[*engine.Accounts](),
	// Read-only once made.
	pass: passRef,
	doc:  "an accounts file",
	tostring: func(v any) string {
		a := v.(*engine.Accounts)
		return fmt.Sprintf("<accounts %d users, %d plaintext>", a.Len(), a.Plaintext())
	},
	methods: []fn{
		{"check", accountsCheck, "a:check(user, password) -> bool -- same answer and about the same time for an unknown user and a wrong password"},
		{"plaintext", accountsPlaintext, "a:plaintext() -> n -- how many entries hold a plaintext password"},
	},
}

func accountsCheck(L *glua.LState) int {
	a := check[*engine.Accounts](L, 1, "accounts")
	L.Push(glua.LBool(a.Check(L.CheckString(2), L.CheckString(3))))
	return 1
}

func accountsPlaintext(L *glua.LState) int {
	L.Push(glua.LNumber(check[*engine.Accounts](L, 1, "accounts").Plaintext()))
	return 1
}
