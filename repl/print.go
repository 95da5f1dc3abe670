package repl

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/lua"
)

// maxDepth bounds how deep nested tables are shown.
const maxDepth = 6

// lineWidth is the width under which a table is shown on one line.
const lineWidth = 72

// format renders a Lua value for a person: strings quoted with their
// non-printable bytes escaped ("\004\000\000\000"), tables nested with
// sorted keys and cycles marked, wirelab objects by their state.
func format(L *glua.LState, v glua.LValue) string {
	p := &printer{L: L, seen: map[*glua.LTable]bool{}}
	return p.value(v, 0)
}

type printer struct {
	L    *glua.LState
	seen map[*glua.LTable]bool
}

func (p *printer) value(v glua.LValue, depth int) string {
	switch v := v.(type) {
	case glua.LString:
		return quote(string(v))
	case *glua.LTable:
		return p.table(v, depth)
	case *glua.LFunction:
		if name := lua.FuncName(v); name != "" {
			return "<function " + name + ">"
		}
	}
	return p.L.ToStringMeta(v).String()
}

// quote returns s as a Lua 5.1 string literal a person can read:
// printable text as is, escapes for the rest (\n \r \t \" \\, and \ddd
// with three decimal digits for any other byte). Lua 5.1 reads the result
// back as the same bytes: "\x03", which Lua 5.3 would read as one byte, is
// the four characters x03 to Lua 5.1, so it is never written.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError && size <= 1, r < 0x20, r == 0x7f, r >= 0x80 && !unicode.IsPrint(r):
			for _, c := range []byte(s[i : i+size]) {
				fmt.Fprintf(&b, `\%03d`, c) // Lua 5.1 has no \x: three digits, so a digit after never joins
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

func isIdentifier(s string) bool {
	if s == "" || lua.IsKeyword(s) {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// sortKeys orders keys: numbers by value, then strings, then the rest by
// their text.
func sortKeys(keys []glua.LValue) {
	rank := func(v glua.LValue) int {
		switch v.(type) {
		case glua.LNumber:
			return 0
		case glua.LString:
			return 1
		}
		return 2
	}
	sort.SliceStable(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		if ri == 0 {
			return keys[i].(glua.LNumber) < keys[j].(glua.LNumber)
		}
		return keys[i].String() < keys[j].String()
	})
}

func (p *printer) table(t *glua.LTable, depth int) string {
	if p.seen[t] {
		return fmt.Sprintf("<cycle: %s>", t.String())
	}
	if depth >= maxDepth {
		return "{...}"
	}
	p.seen[t] = true
	defer delete(p.seen, t)

	// The array part is 1..n up to the first nil, whatever # says.
	n := 0
	for t.RawGetInt(n+1) != glua.LNil {
		n++
	}
	var items []string
	for i := 1; i <= n; i++ {
		items = append(items, p.value(t.RawGetInt(i), depth+1))
	}
	var keys []glua.LValue
	lua.EachField(p.L, t, func(k, _ glua.LValue) {
		if num, ok := k.(glua.LNumber); ok && float64(num) == float64(int(num)) && int(num) >= 1 && int(num) <= n {
			return
		}
		keys = append(keys, k)
	})
	sortKeys(keys)
	for _, k := range keys {
		val := p.value(lua.RawField(p.L, t, k), depth+1)
		if s, ok := k.(glua.LString); ok && isIdentifier(string(s)) {
			items = append(items, string(s)+" = "+val)
		} else {
			items = append(items, "["+p.value(k, depth+1)+"] = "+val)
		}
	}
	if len(items) == 0 {
		return "{}"
	}
	one := "{" + strings.Join(items, ", ") + "}"
	if len(one) <= lineWidth && !strings.Contains(one, "\n") {
		return one
	}
	indent := strings.Repeat("  ", depth+1)
	var b strings.Builder
	b.WriteString("{\n")
	for _, it := range items {
		b.WriteString(indent)
		b.WriteString(it)
		b.WriteString(",\n")
	}
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteString("}")
	return b.String()
}
