package lua

import (
	"encoding/hex"
	"fmt"
	"hash"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

func init() {
	register(&module{
		name: "hash",
		doc:  "digests: md5, sha1, sha256, streaming or whole files",
		funcs: []fn{
			{"md5", hashMD5, "hash.md5(s) -> hex -- MD5 of s, lowercase hex"},
			{"sha256", hashSHA256, "hash.sha256(s) -> hex -- SHA-256 of s, lowercase hex"},
			{"new", hashNew, "hash.new(\"md5\"|\"sha1\"|\"sha256\") -> h -- a streaming digest: h:update(s), h:hexdigest()"},
			{"file", hashFile, "hash.file(algo, path) -> hex | nil, err -- digest of a file, streamed"},
		},
	})
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

func hashNew(L *glua.LState) int {
	algo := L.CheckString(1)
	h, err := engine.NewHash(algo)
	if err != nil || h == nil {
		L.ArgError(1, fmt.Sprintf("unknown hash %q (md5, sha1, sha256)", algo))
	}
	L.Push(newObject(L, &hasher{algo: algo, h: h}))
	return 1
}

func hashFile(L *glua.LState) int {
	algo, path := L.CheckString(1), L.CheckString(2)
	if h, err := engine.NewHash(algo); err != nil || h == nil {
		L.ArgError(1, fmt.Sprintf("unknown hash %q (md5, sha1, sha256)", algo))
	}
	sum, err := engine.HashFile(algo, path)
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LString(sum))
	return 1
}

var hasherClass = &class{
	name: "hasher",
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
