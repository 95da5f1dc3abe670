package lua

import (
	"math"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
	glua "github.com/yuin/gopher-lua"
)

// Receiving on a conn: c:recv, c:recv_exact, c:recvline, c:recv_until,
// c:recv_all and c:unrecv.
//
// The conversation methods of conn and process (here and in
// socket_send.go), after pwntools' tubes: lines, delimiters,
// send-after-prompt, everything until the end, and putting bytes back.
// Every receive takes {timeout = s} for that call alone; a receive that
// fails returns nil, the reason and the bytes that did arrive, which also
// stay buffered for the next receive.

func connRecv(L *glua.LState) int {
	c, max, opts := checkConn(L, 1), L.CheckInt(2), optTable(L, 3, "timeout")
	if max < 1 {
		L.ArgError(2, "max must be at least 1")
	}
	b, err := c.Recv(opContext(L, opts), max)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(b))
	return 1
}

func connRecvExact(L *glua.LState) int {
	c, n, opts := checkConn(L, 1), L.CheckInt(2), optTable(L, 3, "timeout")
	if n < 0 {
		L.ArgError(2, "negative length")
	}
	b, err := c.RecvExact(opContext(L, opts), n)
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

// DefaultMaxLine is the default limit of recv_until and recvline: the
// bytes before the delimiter.
const DefaultMaxLine = 64 << 10

var newline = engine.Bytes("\n")

// optLimit reads a byte limit option: a non-negative integer.
func optLimit(L *glua.LState, opts *glua.LTable, def int64) int {
	n := optInt(L, opts, "max", def)
	if n < 0 || n > math.MaxInt32*2 {
		L.RaiseError("option max must be from 0 to %d", int64(math.MaxInt32)*2)
	}
	return int(n)
}

// delimiters reads argument n: a delimiter, or a list of them. list says
// which it was.
func delimiters(L *glua.LState, n int) (delims [][]byte, list bool) {
	switch v := L.Get(n).(type) {
	case glua.LString:
		if v == "" {
			L.ArgError(n, "empty delimiter")
		}
		return [][]byte{[]byte(string(v))}, false
	case *glua.LTable:
		for i := 1; i <= v.Len(); i++ {
			d, ok := v.RawGetInt(i).(glua.LString)
			if !ok || d == "" {
				L.ArgError(n, "delimiters must be non-empty strings")
			}
			delims = append(delims, []byte(string(d)))
		}
		if len(delims) == 0 {
			L.ArgError(n, "empty list of delimiters")
		}
		return delims, true
	}
	L.ArgError(n, "string or list of strings expected, got "+L.Get(n).Type().String())
	return nil, false
}

func connRecvUntil(L *glua.LState) int {
	c := checkConn(L, 1)
	delims, list := delimiters(L, 2)
	limit, keep, ctx := DefaultMaxLine, false, ctxOf(L)
	if n, ok := L.Get(3).(glua.LNumber); ok {
		// The older form: recv_until(delim, max).
		if n < 0 || float64(n) != math.Trunc(float64(n)) {
			L.ArgError(3, "max must be a non-negative integer")
		}
		limit = int(n)
	} else {
		opts := optTable(L, 3, "keep", "max", "timeout")
		limit, keep, ctx = optLimit(L, opts, DefaultMaxLine), optBool(L, opts, "keep", false), opContext(L, opts)
	}
	b, which, err := c.RecvUntilAny(ctx, delims, limit, keep)
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	if list {
		L.Push(glua.LString(delims[which]))
		return 2
	}
	return 1
}

func connRecvLine(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "keep", "max", "timeout")
	keep := optBool(L, opts, "keep", false)
	b, _, err := c.RecvUntilAny(opContext(L, opts), [][]byte{newline}, optLimit(L, opts, DefaultMaxLine), keep)
	if err != nil {
		return failPartial(L, err, b)
	}
	if !keep && len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	L.Push(lstring(b))
	return 1
}

func connRecvAll(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "max", "timeout")
	b, err := c.RecvAll(opContext(L, opts), optLimit(L, opts, netproto.DefaultMaxFrame))
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

func connUnrecv(L *glua.LState) int {
	c, data := checkConn(L, 1), L.CheckString(2)
	c.Unrecv(sbytes(data))
	return 0
}
