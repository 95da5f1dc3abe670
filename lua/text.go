package lua

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// textModule is the text module.
var textModule = &module{
	name: "text",
	doc:  "text encodings (golang.org/x/text): Windows peers answer in GBK",
	funcs: []fn{
		{"decode", textDecode, "text.decode(bytes, enc) -> utf8 | nil, err -- from gbk, gb18030, big5, shift_jis, utf-16le, latin1, ... to UTF-8"},
		{"encode", textEncode, "text.encode(s, enc) -> bytes | nil, err -- from UTF-8 to enc"},
		{"quote", textQuote, "text.quote(s) -> string -- s in double quotes on one line, for a log: quotes, backslashes, control and format characters and invalid UTF-8 escaped (\\n, \\u202e, \\xff), printable UTF-8 kept"},
		{"valid", textValid, "text.valid(s) -> bool -- whether s is valid UTF-8"},
		{"console_encoding", textConsoleEncoding, "text.console_encoding() -> name -- the encoding commands write here: on Windows the console's code page (936: gbk), elsewhere utf-8"},
		{"hexdump", textHexdump, "text.hexdump(s) -> string -- s in the layout of hexdump -C: offset, 16 bytes in hex, the printable ones as text, * for repeated lines"},
	},
}

// lookupEncoding finds an encoding by its WHATWG or IANA name.
func lookupEncoding(name string) (encoding.Encoding, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "utf-8" || n == "utf8" {
		return unicode.UTF8, nil
	}
	if e, err := htmlindex.Get(n); err == nil {
		return e, nil
	}
	if e, err := ianaindex.IANA.Encoding(n); err == nil && e != nil {
		return e, nil
	}
	return nil, fmt.Errorf("unknown encoding %q", name)
}

func textConsoleEncoding(L *glua.LState) int {
	L.Push(glua.LString(consoleEncoding()))
	return 1
}

func textDecode(L *glua.LState) int {
	data, name := L.CheckString(1), L.CheckString(2)
	enc, err := lookupEncoding(name)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	out, err := enc.NewDecoder().Bytes(sbytes(data))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(out))
	return 1
}

// textQuote quotes as strconv.Quote does: every byte a peer may send comes
// out as printable text, so that a name with a newline in it cannot write
// a second line into a log, nor U+202E turn the rest of one around.
func textQuote(L *glua.LState) int {
	L.Push(glua.LString(strconv.Quote(L.CheckString(1))))
	return 1
}

func textEncode(L *glua.LState) int {
	s, name := L.CheckString(1), L.CheckString(2)
	enc, err := lookupEncoding(name)
	if err != nil {
		L.ArgError(2, err.Error())
	}
	out, err := encoding.HTMLEscapeUnsupported(enc.NewEncoder()).Bytes(sbytes(s))
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(out))
	return 1
}

func textValid(L *glua.LState) int {
	L.Push(glua.LBool(utf8.ValidString(L.CheckString(1))))
	return 1
}

func textHexdump(L *glua.LState) int {
	L.Push(glua.LString(Hexdump(sbytes(L.CheckString(1)))))
	return 1
}

// Hexdump returns b in the layout of hexdump -C: encoding/hex's Dump
// lines, a line equal to the one before shown once as "*", as hexdump
// squeezes them, and the total length on a line of its own. Empty input
// gives "", as hexdump prints nothing.
func Hexdump(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	var out strings.Builder
	squeezed := false
	for off := 0; off < len(b); off += 16 {
		row := b[off:min(off+16, len(b))]
		if off > 0 && len(row) == 16 && bytes.Equal(row, b[off-16:off]) {
			if !squeezed {
				out.WriteString("*\n")
			}
			squeezed = true
			continue
		}
		squeezed = false
		line := hex.Dump(row) // offset 0: put the real one in its place
		fmt.Fprintf(&out, "%08x%s", off, line[8:])
	}
	fmt.Fprintf(&out, "%08x\n", len(b))
	return out.String()
}
