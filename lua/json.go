package lua

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"unicode/utf8"

	glua "github.com/yuin/gopher-lua"
)

// jsonModule is the json module. Its encoder is wirelab's own rather
// than encoding/json's: the tutorials' peers compare headers made by
// Python's json.dumps, whose spacing (", " and ": ") and ASCII-only
// escaping encoding/json does not write, and Lua tables need their own
// rules (an array or an object, sorted keys, json.null).
var jsonModule = &module{
	name: "json",
	doc:  "JSON: encode, decode, null",
	funcs: []fn{
		{"encode", jsonEncode, "json.encode(v [, {python=true}]) -> string | nil, err -- compact JSON, or spaced and ASCII-only as Python's json.dumps writes it"},
		{"decode", jsonDecode, "json.decode(s) -> value | nil, err -- JSON null becomes json.null"},
	},
	setup: func(L *glua.LState, mod *glua.LTable) {
		ud := L.NewUserData()
		ud.Value = jsonNull{}
		ud.Metatable = classMeta(L, nullClass)
		mod.RawSetString("null", ud)
	},
}

// jsonNull is the value of json.null: JSON's null where Lua's nil would
// vanish (in arrays, as a present key).
type jsonNull struct{}

var nullClass = &class{
	name:   "json.null",
	goType: reflect.TypeFor[jsonNull](),
	// Read-only once made.
	pass:     passRef,
	doc:      "JSON null",
	tostring: func(any) string { return "null" },
}

// jsonStyle chooses separators and escaping.
type jsonStyle int

const (
	jsonCompact jsonStyle = iota // {"a":1,"b":[1,2]}
	jsonPython                   // {"a": 1, "b": [1, 2]}, non-ASCII escaped
)

// maxJSONDepth bounds nesting, so a deep table cannot exhaust the stack.
const maxJSONDepth = 200

type jsonEncoder struct {
	buf   bytes.Buffer
	style jsonStyle
	seen  map[*glua.LTable]bool
}

// encodeJSON encodes v; extra fields, when given, are set on the top-level
// object over those of v (send_msg's total_size).
func encodeJSON(v glua.LValue, style jsonStyle, extra map[string]any) ([]byte, error) {
	e := &jsonEncoder{style: style, seen: map[*glua.LTable]bool{}}
	if extra != nil {
		t, ok := v.(*glua.LTable)
		if !ok {
			return nil, errors.New("header must be a table")
		}
		if err := e.object(t, extra, 0); err != nil {
			return nil, err
		}
		return e.buf.Bytes(), nil
	}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

func (e *jsonEncoder) sep(s string) {
	e.buf.WriteString(s)
	if e.style == jsonPython {
		e.buf.WriteByte(' ')
	}
}

func (e *jsonEncoder) value(v glua.LValue, depth int) error {
	switch v := v.(type) {
	case *glua.LNilType:
		e.buf.WriteString("null")
	case glua.LBool:
		e.buf.WriteString(strconv.FormatBool(bool(v)))
	case glua.LNumber:
		return e.number(float64(v))
	case glua.LString:
		return e.str(string(v))
	case *glua.LUserData:
		if _, ok := v.Value.(jsonNull); ok {
			e.buf.WriteString("null")
			return nil
		}
		return errors.New("cannot encode a userdata")
	case *glua.LTable:
		if depth > maxJSONDepth {
			return errors.New("nested too deeply")
		}
		if e.seen[v] {
			return errors.New("cannot encode a table that contains itself")
		}
		e.seen[v] = true
		defer delete(e.seen, v)
		if n := arrayLen(v); n > 0 {
			e.buf.WriteByte('[')
			for i := 1; i <= n; i++ {
				if i > 1 {
					e.sep(",")
				}
				if err := e.value(v.RawGetInt(i), depth+1); err != nil {
					return err
				}
			}
			e.buf.WriteByte(']')
			return nil
		}
		return e.object(v, nil, depth)
	default:
		return fmt.Errorf("cannot encode a %s", v.Type())
	}
	return nil
}

func (e *jsonEncoder) number(f float64) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("cannot encode %v", f)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e17 {
		e.buf.WriteString(strconv.FormatFloat(f, 'f', 0, 64))
		return nil
	}
	e.buf.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	return nil
}

// arrayLen returns n when t's keys are exactly 1..n, else 0.
func arrayLen(t *glua.LTable) int {
	n := t.Len()
	if n == 0 {
		return 0
	}
	count := 0
	array := true
	t.ForEach(func(k, _ glua.LValue) {
		count++
		if num, ok := k.(glua.LNumber); !ok || float64(num) != math.Trunc(float64(num)) || num < 1 || int(num) > n {
			array = false
		}
	})
	if !array || count != n {
		return 0
	}
	return n
}

func (e *jsonEncoder) object(t *glua.LTable, extra map[string]any, depth int) error {
	fields := map[string]glua.LValue{}
	var err error
	t.ForEach(func(k, v glua.LValue) {
		switch k := k.(type) {
		case glua.LString:
			fields[string(k)] = v
		case glua.LNumber:
			fields[k.String()] = v
		default:
			err = fmt.Errorf("cannot encode a %s key", k.Type())
		}
	})
	if err != nil {
		return err
	}
	for k, v := range extra {
		fields[k] = glua.LNumber(v.(float64))
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.buf.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			e.sep(",")
		}
		if err := e.str(k); err != nil {
			return err
		}
		e.sep(":")
		if err := e.value(fields[k], depth+1); err != nil {
			return err
		}
	}
	e.buf.WriteByte('}')
	return nil
}

const hexDigits = "0123456789abcdef"

func (e *jsonEncoder) str(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("cannot encode a string that is not UTF-8")
	}
	e.buf.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			e.buf.WriteString(`\"`)
		case r == '\\':
			e.buf.WriteString(`\\`)
		case r == '\n':
			e.buf.WriteString(`\n`)
		case r == '\r':
			e.buf.WriteString(`\r`)
		case r == '\t':
			e.buf.WriteString(`\t`)
		case r == '\b':
			e.buf.WriteString(`\b`)
		case r == '\f':
			e.buf.WriteString(`\f`)
		case r < 0x20 || (e.style == jsonPython && r >= 0x7f):
			if r > 0xffff {
				r -= 0x10000
				e.u16(0xd800 + (r>>10)&0x3ff)
				e.u16(0xdc00 + r&0x3ff)
			} else {
				e.u16(r)
			}
		default:
			e.buf.WriteRune(r)
		}
	}
	e.buf.WriteByte('"')
	return nil
}

func (e *jsonEncoder) u16(r rune) {
	e.buf.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		e.buf.WriteByte(hexDigits[(r>>shift)&0xf])
	}
}

func jsonEncode(L *glua.LState) int {
	style := jsonCompact
	if optBool(L, optTable(L, 2, "python"), "python", false) {
		style = jsonPython
	}
	b, err := encodeJSON(L.CheckAny(1), style, nil)
	if err != nil {
		return fail(L, err)
	}
	L.Push(lstring(b))
	return 1
}

// decodeJSON parses raw into a Lua value of L.
func decodeJSON(L *glua.LState, raw []byte) (glua.LValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("bad JSON: data after the value")
	}
	null := lookupPath(L, "json.null")
	var conv func(v any) glua.LValue
	conv = func(v any) glua.LValue {
		switch v := v.(type) {
		case nil:
			return null
		case bool:
			return glua.LBool(v)
		case json.Number:
			f, _ := strconv.ParseFloat(v.String(), 64)
			return glua.LNumber(f)
		case string:
			return glua.LString(v)
		case []any:
			t := L.CreateTable(len(v), 0)
			for _, x := range v {
				t.Append(conv(x))
			}
			return t
		case map[string]any:
			t := L.CreateTable(0, len(v))
			for k, x := range v {
				t.RawSetString(k, conv(x))
			}
			return t
		}
		return glua.LNil
	}
	return conv(v), nil
}

func jsonDecode(L *glua.LState) int {
	v, err := decodeJSON(L, sbytes(L.CheckString(1)))
	if err != nil {
		return fail(L, err)
	}
	L.Push(v)
	return 1
}
