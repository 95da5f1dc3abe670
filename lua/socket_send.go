package lua

import (
	"github.com/wirelab/wirelab/engine"
	glua "github.com/yuin/gopher-lua"
)

// Sending on a conn: c:send, c:sendline, c:sendafter, c:sendlineafter.

func connSend(L *glua.LState) int {
	c := checkConn(L, 1)
	if data, ok := L.Get(2).(glua.LString); ok {
		n, err := c.Send(ctxOf(L), sbytes(string(data)))
		if err != nil {
			return fail(L, err)
		}
		L.Push(glua.LNumber(n))
		return 1
	}
	parts, size := payload(L, 2)
	if err := c.SendParts(ctxOf(L), nil, parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

// sendData sends argument n (a string, a blob or a list of them, as send
// takes), followed by a newline when line is set.
func sendData(L *glua.LState, c *engine.Conn, n int, line bool) (int64, error) {
	ctx := ctxOf(L)
	var tail []engine.Part
	if line {
		tail = []engine.Part{newline}
	}
	if data, ok := L.Get(n).(glua.LString); ok {
		if !line {
			k, err := c.Send(ctx, sbytes(string(data)))
			return int64(k), err
		}
		// One write, so that a short line leaves in one segment.
		if err := c.SendParts(ctx, sbytes(string(data)), tail); err != nil {
			return 0, err
		}
		return int64(len(data)) + 1, nil
	}
	parts, size := payload(L, n)
	if err := c.SendParts(ctx, nil, append(parts, tail...)); err != nil {
		return 0, err
	}
	return size + int64(len(tail)), nil
}

func connSendLine(L *glua.LState) int {
	n, err := sendData(L, checkConn(L, 1), 2, true)
	if err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(n))
	return 1
}

// sendAfter waits for the delimiter at argument 2, then sends argument 3.
func sendAfter(L *glua.LState, line bool) int {
	c := checkConn(L, 1)
	delims, _ := delimiters(L, 2)
	if L.Get(3) == glua.LNil {
		L.ArgError(3, "data expected, got nil")
	}
	opts := optTable(L, 4, "max", "timeout")
	got, _, err := c.RecvUntilAny(opContext(L, opts), delims, optLimit(L, opts, DefaultMaxLine), true)
	if err != nil {
		return failPartial(L, err, got)
	}
	if _, err := sendData(L, c, 3, line); err != nil {
		return failPartial(L, err, got)
	}
	L.Push(lstring(got))
	return 1
}

func connSendAfter(L *glua.LState) int { return sendAfter(L, false) }

func connSendLineAfter(L *glua.LState) int { return sendAfter(L, true) }
