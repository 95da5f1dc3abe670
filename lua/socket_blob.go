package lua

import (
	"fmt"
	"reflect"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// Blobs are bytes held in Go, in memory or in an unlinked temporary file
// (engine.Blob): exec.run's output with the spool option. A script passes
// them to send, send_frame and send_msg as they are, or in a table with
// strings, and the bytes never become a Lua string.

var blobClass = &class{
	name:   "blob",
	goType: reflect.TypeFor[*engine.Blob](),
	// Read-only once made.
	pass: passRef,
	doc:  "bytes held outside Lua (in memory, or on disk when large)",
	tostring: func(v any) string {
		b := v.(*engine.Blob)
		where := "in memory"
		if b.Spooled() {
			where = "on disk"
		}
		return fmt.Sprintf("<blob %d bytes %s>", b.Size(), where)
	},
	methods: []fn{
		{"size", blobSize, "b:size() -> n -- the number of bytes held"},
		{"string", blobString, "b:string() -> s | nil, err -- the bytes as a Lua string (refused over the string limit)"},
		{"close", blobClose, "b:close() -- free the bytes now (the file's disk space at once)"},
	},
}

func checkBlob(L *glua.LState) *engine.Blob { return check[*engine.Blob](L, 1, "blob") }

func blobSize(L *glua.LState) int {
	L.Push(glua.LNumber(checkBlob(L).Size()))
	return 1
}

func blobString(L *glua.LState) int {
	b, err := checkBlob(L).Bytes(maxString(L))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(b))
	return 1
}

func blobClose(L *glua.LState) int {
	checkBlob(L).Close()
	return 0
}

// payload reads argument n of a send: a string, a blob, or a table of
// strings and blobs sent one after the other. It returns the pieces and
// their total size.
func payload(L *glua.LState, n int) ([]engine.Part, int64) {
	var parts []engine.Part
	var size int64
	add := func(v glua.LValue) bool {
		switch v := v.(type) {
		case glua.LString:
			parts = append(parts, engine.Bytes(sbytes(string(v))))
			size += int64(len(v))
		case *glua.LUserData:
			b, ok := v.Value.(*engine.Blob)
			if !ok {
				return false
			}
			parts = append(parts, b)
			size += b.Size()
		default:
			return false
		}
		return true
	}
	v := L.Get(n)
	if t, ok := v.(*glua.LTable); ok {
		for i := 1; i <= t.Len(); i++ {
			if !add(t.RawGetInt(i)) {
				L.ArgError(n, fmt.Sprintf("piece %d is not a string or blob", i))
			}
		}
	} else if !add(v) {
		L.ArgError(n, "string, blob or table of them expected, got "+v.Type().String())
	}
	return parts, size
}
