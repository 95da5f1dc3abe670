package lua

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
)

// Argument and result helpers shared by the modules: checking arguments,
// reading options tables, and returning failures by the convention
// (nil and a short reason).

// check returns argument n as a T, or raises "bad argument #n".
func check[T any](L *glua.LState, n int, name string) T {
	ud, ok := L.Get(n).(*glua.LUserData)
	if ok {
		if v, ok := ud.Value.(T); ok {
			return v
		}
	}
	L.ArgError(n, name+" expected, got "+L.Get(n).Type().String())
	var zero T
	return zero
}

// fail returns nil and the short reason of err: the convention for
// failures of the world.
func fail(L *glua.LState, err error) int {
	L.Push(glua.LNil)
	L.Push(glua.LString(engine.Reason(err)))
	return 2
}

// failPartial is fail with the bytes received before the failure.
func failPartial(L *glua.LState, err error, partial []byte) int {
	L.Push(glua.LNil)
	L.Push(glua.LString(engine.Reason(err)))
	L.Push(glua.LString(partial))
	return 3
}

// seconds reads an optional duration in seconds; nil or absent is 0.
func seconds(L *glua.LState, v glua.LValue, what string) time.Duration {
	switch v := v.(type) {
	case *glua.LNilType:
		return 0
	case glua.LNumber:
		f := float64(v)
		if f < 0 || math.IsNaN(f) || f > 1e9 {
			L.RaiseError("bad %s: %v seconds", what, f)
		}
		return time.Duration(f * float64(time.Second))
	}
	L.RaiseError("bad %s: number of seconds expected, got %s", what, v.Type())
	return 0
}

// optTable returns argument n as an options table, or nil when absent. A
// key that is not one of known raises "bad argument #n to 'f' (unknown
// option 'timout'; did you mean 'timeout'?)": a misspelt option is never
// silently ignored.
func optTable(L *glua.LState, n int, known ...string) *glua.LTable {
	switch v := L.Get(n).(type) {
	case *glua.LNilType:
		return nil
	case *glua.LTable:
		checkOptions(L, n, v, known)
		return v
	}
	L.ArgError(n, "options table expected, got "+L.Get(n).Type().String())
	return nil
}

// checkOptions raises an argument error for the first key of t, argument
// n, that is not one of known.
func checkOptions(L *glua.LState, n int, t *glua.LTable, known []string) {
	for k, _ := t.Next(glua.LNil); k != glua.LNil; k, _ = t.Next(k) {
		key, ok := k.(glua.LString)
		if !ok {
			L.ArgError(n, fmt.Sprintf("unknown option [%s]; options are name = value", glua.LVAsString(k)))
		}
		if !slices.Contains(known, string(key)) {
			msg := fmt.Sprintf("unknown option '%s'", string(key))
			if s := suggest(string(key), known); s != "" {
				msg += fmt.Sprintf("; did you mean '%s'?", s)
			}
			L.ArgError(n, msg)
		}
	}
}

// opContext returns the context of one operation: L's, limited by the
// options' timeout when there is one (0: no limit for this call), or by
// the connection's own timeout otherwise.
func opContext(L *glua.LState, opts *glua.LTable) context.Context {
	v := optField(opts, "timeout")
	if v == glua.LNil {
		return ctxOf(L)
	}
	return engine.WithOpTimeout(ctxOf(L), seconds(L, v, "timeout"))
}

// optField returns field name of an options table (nil-safe).
func optField(t *glua.LTable, name string) glua.LValue {
	if t == nil {
		return glua.LNil
	}
	return t.RawGetString(name)
}

// optSeconds is option name of t in seconds, 0 when absent.
func optSeconds(L *glua.LState, t *glua.LTable, name string) time.Duration {
	return seconds(L, optField(t, name), name)
}

// optInt reads an integer option with a default.
func optInt(L *glua.LState, t *glua.LTable, name string, def int64) int64 {
	switch v := optField(t, name).(type) {
	case *glua.LNilType:
		return def
	case glua.LNumber:
		if float64(v) != math.Trunc(float64(v)) {
			L.RaiseError("option %s: integer expected, got %v", name, v)
		}
		return int64(v)
	default:
		L.RaiseError("option %s: number expected, got %s", name, v.Type())
	}
	return def
}

// optString reads a string option with a default.
func optString(L *glua.LState, t *glua.LTable, name, def string) string {
	switch v := optField(t, name).(type) {
	case *glua.LNilType:
		return def
	case glua.LString:
		return string(v)
	default:
		L.RaiseError("option %s: string expected, got %s", name, v.Type())
	}
	return def
}

// optBool reads a boolean option with a default.
func optBool(L *glua.LState, t *glua.LTable, name string, def bool) bool {
	switch v := optField(t, name).(type) {
	case *glua.LNilType:
		return def
	case glua.LBool:
		return bool(v)
	default:
		L.RaiseError("option %s: boolean expected, got %s", name, v.Type())
	}
	return def
}

// formats caches compiled struct formats: scripts name the same few.
var formats sync.Map // string -> *netproto.Format

// defaultFrameHeader is send_frame's and recv_frame's "!I", kept at hand
// for the common call without options.
var defaultFrameHeader, _ = netproto.LengthHeader("!I")

// lengthFormat returns the compiled length header fmt, raising on a bad one.
func lengthFormat(L *glua.LState, format string) *netproto.Format {
	if format == "!I" {
		return defaultFrameHeader
	}
	if f, ok := formats.Load(format); ok {
		return f.(*netproto.Format)
	}
	f, err := netproto.LengthHeader(format)
	if err != nil {
		L.RaiseError("bad header format: %v", err)
	}
	formats.Store(format, f)
	return f
}
