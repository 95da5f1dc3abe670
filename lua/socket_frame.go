package lua

import (
	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
	glua "github.com/yuin/gopher-lua"
)

// Framed messages on a conn: c:send_frame, c:recv_frame (a length header,
// then the bytes), c:send_msg and c:recv_msg (the tutorials' JSON header).

func connSendFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 3, "header", "timeout")
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	ctx := opContext(L, opts)
	if data, ok := L.Get(2).(glua.LString); ok {
		if err := c.SendFrame(ctx, h, sbytes(string(data))); err != nil {
			return fail(L, err)
		}
		L.Push(glua.LNumber(len(data)))
		return 1
	}
	parts, size := payload(L, 2)
	head, err := netproto.AppendLength(nil, h, int(size))
	if err != nil {
		return fail(L, err)
	}
	if err := c.SendParts(ctx, head, parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvFrame(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "header", "max", "timeout")
	h := lengthFormat(L, optString(L, opts, "header", "!I"))
	b, err := c.RecvFrame(opContext(L, opts), h, optInt(L, opts, "max", netproto.DefaultMaxFrame))
	if err != nil {
		return failPartial(L, err, b)
	}
	L.Push(lstring(b))
	return 1
}

// msgFormat reads the options of send_msg and recv_msg.
func msgFormat(L *glua.LState, opts *glua.LTable) *netproto.Msg {
	return &netproto.Msg{
		Length:    lengthFormat(L, optString(L, opts, "header", "i")),
		SizeKey:   optString(L, opts, "size_key", netproto.SizeKey),
		MaxHeader: optInt(L, opts, "max_header", netproto.DefaultMaxHeader),
		MaxBody:   optInt(L, opts, "max", netproto.DefaultMaxFrame),
	}
}

func connSendMsg(L *glua.LState) int {
	c, hdr, opts := checkConn(L, 1), L.CheckTable(2), optTable(L, 4, "header", "size_key", "timeout")
	var parts []engine.Part
	var size int64
	if L.Get(3) != glua.LNil {
		parts, size = payload(L, 3)
	}
	m := msgFormat(L, opts)
	var extra map[string]any
	// size_key = "" sends the header as given, as the upload protocol's
	// replies do.
	if m.SizeKey != "" {
		extra = map[string]any{m.SizeKey: float64(size)}
	}
	h, err := encodeJSON(hdr, jsonPython, extra)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	head, err := netproto.AppendLength(nil, m.Length, len(h))
	if err != nil {
		return fail(L, err)
	}
	if err := c.SendParts(opContext(L, opts), append(head, h...), parts); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LNumber(size))
	return 1
}

func connRecvMsg(L *glua.LState) int {
	c, opts := checkConn(L, 1), optTable(L, 2, "header", "max", "max_header", "size_key", "body", "timeout")
	m := msgFormat(L, opts)
	withBody := optBool(L, opts, "body", true)
	raw, _, body, err := c.RecvMsg(opContext(L, opts), m, withBody)
	if err != nil {
		if withBody && body != nil {
			return failPartial(L, err, body)
		}
		return fail(L, err)
	}
	hdr, err := decodeJSON(L, raw)
	if err != nil {
		return fail(L, err)
	}
	L.Push(hdr)
	if !withBody {
		return 1
	}
	L.Push(lstring(body))
	return 2
}
