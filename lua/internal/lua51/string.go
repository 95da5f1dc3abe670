package lua51

// Lua 5.1's string library, numbers as text and tonumber, where gopher-lua
// differs: byte-wise case mapping, C printf formatting, "%.14g" numbers,
// strtod/strtoul parsing and a size limit on the strings a script builds.
// The patterns are in pattern.go.
//
// The VM's own number-to-string conversions (the .. operator, and library
// functions not patched here, such as table.concat and string.sub on a
// number) still use gopher-lua's formatting: they cannot be changed from
// outside the VM.

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// NumberText formats f as Lua 5.1 does, with C's "%.14g".
func NumberText(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e14 && (f != 0 || !math.Signbit(f)) {
		return strconv.FormatInt(int64(f), 10)
	}
	switch {
	case math.IsNaN(f) && math.Signbit(f):
		return "-nan"
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

// TostringValue returns v as print shows it: its __tostring's result, or
// its text, numbers as NumberText.
func TostringValue(L *glua.LState, v glua.LValue) string {
	switch r := tostringMeta(L, v).(type) {
	case glua.LString:
		return string(r)
	case glua.LNumber:
		return NumberText(float64(r))
	}
	luaError(L, "'tostring' must return a string to 'print'")
	return ""
}

// tostringMeta is Lua 5.1's tostring: the result of v's __tostring, which
// may be of any type, or v's text.
func tostringMeta(L *glua.LState, v glua.LValue) glua.LValue {
	if mm := L.GetMetaField(v, "__tostring"); mm != glua.LNil {
		L.Push(mm)
		L.Push(v)
		L.Call(1, 1)
		r := L.Get(-1)
		L.Pop(1)
		return r
	}
	switch v := v.(type) {
	case glua.LString:
		return v
	case glua.LNumber:
		return glua.LString(NumberText(float64(v)))
	}
	return glua.LString(v.String())
}

// Tostring is tostring.
func Tostring(L *glua.LState) int {
	if L.GetTop() < 1 {
		argError(L, 1, "value expected")
	}
	L.Push(tostringMeta(L, L.Get(1)))
	return 1
}

// Tonumber is tonumber: lua_tonumber's rules in base 10, strtoul's
// in the others.
func Tonumber(L *glua.LState) int {
	base := optInteger(L, 2, 10)
	if base == 10 {
		if L.GetTop() < 1 {
			argError(L, 1, "value expected")
		}
		switch v := L.Get(1).(type) {
		case glua.LNumber:
			L.Push(v)
			return 1
		case glua.LString:
			if f, ok := ParseNumber(string(v)); ok {
				L.Push(glua.LNumber(f))
				return 1
			}
		}
	} else {
		s := cString(checkLString(L, 1))
		if base < 2 || base > 36 {
			argError(L, 2, "base out of range")
		}
		if n, end := strtoul(s, int(base)); end > 0 && isBlank(s[end:]) {
			L.Push(glua.LNumber(n))
			return 1
		}
	}
	L.Push(glua.LNil)
	return 1
}

// writeNumbers wraps io.write or a file's write method so that numbers are
// written as NumberText; first is the first argument to write.
func writeNumbers(L *glua.LState, write glua.LValue, first int) *glua.LFunction {
	return L.NewFunction(func(L *glua.LState) int {
		top := L.GetTop()
		for i := first; i <= top; i++ {
			switch v := L.Get(i).(type) {
			case glua.LNumber:
				L.Replace(i, glua.LString(NumberText(float64(v))))
			case glua.LString:
			default:
				// Numbered as the stack has them, self included: a method
				// call's numbering (self not counted, as in Lua 5.1) is
				// made where the error is named (errargs.go).
				typeError(L, i, i, "string")
			}
		}
		L.Insert(write, 1)
		L.Call(top, glua.MultRet)
		return L.GetTop()
	})
}

// luaError raises an error as Lua 5.1's luaL_error does: the message
// follows the position of the calling Lua code, or stands alone when a Go
// function such as pcall made the call.
func luaError(L *glua.LState, format string, args ...any) {
	level := 1
	if dbg, ok := L.GetStack(1); ok {
		if f, _ := L.GetInfo("f", dbg, glua.LNil); f.Type() == glua.LTFunction && f.(*glua.LFunction).IsG {
			level = 0
		}
	}
	L.Error(glua.LString(fmt.Sprintf(format, args...)), level)
}

// argError raises Lua 5.1's "bad argument #n to 'name' (msg)".
func argError(L *glua.LState, n int, msg string) {
	name := "?"
	if dbg, ok := L.GetStack(0); ok {
		// A Go function called by pcall sits at the bottom of a thread
		// (pcall.go), where gopher-lua names it "main chunk".
		if _, err := L.GetInfo("n", dbg, glua.LNil); err == nil && dbg.Name != "" && dbg.Name[0] != '(' && dbg.Name[0] != '<' && dbg.Name != "main chunk" {
			name = dbg.Name
		}
	}
	luaError(L, "bad argument #%d to '%s' (%s)", n, name, msg)
}

// typeError raises "want expected, got ..." for argument i, shown as
// argument n.
func typeError(L *glua.LState, i, n int, want string) {
	got := "no value"
	if i <= L.GetTop() {
		got = L.Get(i).Type().String()
	}
	argError(L, n, want+" expected, got "+got)
}

// checkLString returns argument n, a string or a number as NumberText.
func checkLString(L *glua.LState, n int) string {
	switch v := L.Get(n).(type) {
	case glua.LString:
		return string(v)
	case glua.LNumber:
		return NumberText(float64(v))
	}
	typeError(L, n, n, "string")
	return ""
}

// checkNumber returns argument n, a number or a string that converts.
func checkNumber(L *glua.LState, n int) float64 {
	switch v := L.Get(n).(type) {
	case glua.LNumber:
		return float64(v)
	case glua.LString:
		if f, ok := ParseNumber(string(v)); ok {
			return f
		}
	}
	typeError(L, n, n, "number")
	return 0
}

// optInteger returns argument n as an integer, or def when it is nil.
func optInteger(L *glua.LState, n int, def int64) int64 {
	if L.Get(n) == glua.LNil {
		return def
	}
	return toInt64(checkNumber(L, n))
}

// toInt64 converts f as C's cast does on x86-64: truncated, and the
// "integer indefinite" for NaN and values out of range.
func toInt64(f float64) int64 {
	if f != f || f >= 1<<63 || f < -(1<<63) {
		return math.MinInt64
	}
	return int64(f)
}

// checkSize raises once a string being built grows past the limit.
func checkSize(L *glua.LState, n int) {
	if int64(n) > host.MaxString(L) {
		luaError(L, "resulting string too large")
	}
}

// strUpper is string.upper.
func strUpper(L *glua.LState) int {
	L.Push(glua.LString(flipCase(checkLString(L, 1), 'a', 'z')))
	return 1
}

// strLower is string.lower.
func strLower(L *glua.LState) int {
	L.Push(glua.LString(flipCase(checkLString(L, 1), 'A', 'Z')))
	return 1
}

// flipCase changes the case of the ASCII letters of s within lo..hi; other
// bytes, those of UTF-8 sequences among them, stay as they are.
func flipCase(s string, lo, hi byte) string {
	i := 0
	for i < len(s) && (s[i] < lo || s[i] > hi) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if lo <= b[i] && b[i] <= hi {
			b[i] ^= 0x20
		}
	}
	return string(b)
}

// strRep is string.rep(s, n), refusing results past the size limit.
func strRep(L *glua.LState) int {
	s := checkLString(L, 1)
	n := toInt64(checkNumber(L, 2))
	if n <= 0 || s == "" {
		L.Push(glua.LString(""))
		return 1
	}
	if int64(len(s)) > host.MaxString(L)/n {
		luaError(L, "resulting string too large")
	}
	L.Push(glua.LString(strings.Repeat(s, int(n))))
	return 1
}

// isSpace is C's isspace in the C locale.
func isSpace(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isBlank reports whether s holds only spaces.
func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// cString cuts s at its first NUL, as C functions see a Lua string.
func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// ParseNumber converts s as Lua 5.1's lua_tonumber does: C's strtod, hex
// integers, and surrounding spaces allowed.
func ParseNumber(s string) (float64, bool) {
	s = cString(s)
	f, end := strtod(s)
	if end == 0 {
		return 0, false
	}
	if end < len(s) && s[end]|0x20 == 'x' {
		var n uint64
		n, end = strtoul(s, 16)
		f = float64(n)
	}
	return f, isBlank(s[end:])
}

// strtod parses a number at the start of s as glibc's strtod does:
// leading spaces, a sign, then inf, infinity, nan, nan(chars), a hex
// float or a decimal one. It returns the value and the bytes used, 0 for
// none.
func strtod(s string) (float64, int) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	sign := 1.0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		if s[i] == '-' {
			sign = -1
		}
		i++
	}
	rest := s[i:]
	switch {
	case hasPrefixFold(rest, "infinity"):
		return math.Inf(int(sign)), i + 8
	case hasPrefixFold(rest, "inf"):
		return math.Inf(int(sign)), i + 3
	case hasPrefixFold(rest, "nan"):
		n := 3
		if j := strings.IndexByte(rest, ')'); len(rest) > 3 && rest[3] == '(' && j > 0 && isWord(rest[4:j]) {
			n = j + 1
		}
		return math.Copysign(math.NaN(), sign), i + n
	}
	hex := len(rest) > 2 && rest[0] == '0' && rest[1]|0x20 == 'x'
	digit, base, exp := isDigit, 10, byte('e')
	if hex {
		digit, base, exp = isHexDigit, 16, 'p'
		if !digit(rest[2]) && !(rest[2] == '.' && len(rest) > 3 && digit(rest[3])) {
			digit, base, exp = isDigit, 10, 'e' // "0x" with no digits: just the 0
		} else {
			rest = rest[2:]
			i += 2
		}
	}
	j, nd := 0, 0
	for j < len(rest) && digit(rest[j]) {
		j, nd = j+1, nd+1
	}
	if j < len(rest) && rest[j] == '.' {
		j++
		for j < len(rest) && digit(rest[j]) {
			j, nd = j+1, nd+1
		}
	}
	if nd == 0 {
		return 0, 0
	}
	mant := rest[:j]
	e := ""
	if j < len(rest) && rest[j]|0x20 == exp {
		k := j + 1
		if k < len(rest) && (rest[k] == '+' || rest[k] == '-') {
			k++
		}
		if k < len(rest) && isDigit(rest[k]) {
			for k < len(rest) && isDigit(rest[k]) {
				k++
			}
			e, j = rest[j+1:k], k
		}
	}
	text := mant
	if e != "" {
		text += "e" + e
	}
	if base == 16 {
		if e == "" {
			e = "0"
		}
		text = "0x" + mant + "p" + e
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil && !isRangeError(err) {
		return 0, 0
	}
	return sign * f, i + j
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// strtoul parses an unsigned integer in base at the start of s as C's
// strtoul does: leading spaces, a sign (a minus negates modulo 2^64), "0x"
// in base 16, and the largest value on overflow. It returns the value and
// the bytes used, 0 for none.
func strtoul(s string, base int) (uint64, int) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	if base == 16 && i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' && isHexDigit(s[i+2]) {
		i += 2
	}
	var n uint64
	start, over := i, false
	for ; i < len(s); i++ {
		d := digitValue(s[i])
		if d >= base {
			break
		}
		hi, lo := bits.Mul64(n, uint64(base))
		lo, carry := bits.Add64(lo, uint64(d), 0)
		over = over || hi != 0 || carry != 0
		n = lo
	}
	switch {
	case i == start:
		return 0, 0
	case over:
		return math.MaxUint64, i
	case neg:
		return -n, i
	}
	return n, i
}

// digitValue is c's value as a digit in bases up to 36, or 99.
func digitValue(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case 'a' <= c|0x20 && c|0x20 <= 'z':
		return int(c|0x20-'a') + 10
	}
	return 99
}

func isHexDigit(c byte) bool { return digitValue(c) < 16 }

// isWord reports whether s holds only letters, digits and underscores.
func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if digitValue(s[i]) == 99 && s[i] != '_' {
			return false
		}
	}
	return true
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// A fmtSpec is one conversion of string.format: flags, width, precision.
type fmtSpec struct {
	minus, plus, space, alt, zero bool
	width, prec                   int // prec -1: none
}

// strFormat is string.format, with C's printf conversions.
func strFormat(L *glua.LState) int {
	f := checkLString(L, 1)
	top, arg := L.GetTop(), 1
	b := make([]byte, 0, len(f)+16)
	for i := 0; i < len(f); i++ {
		j := strings.IndexByte(f[i:], '%')
		if j < 0 {
			b = append(b, f[i:]...)
			break
		}
		b = append(b, f[i:i+j]...)
		i += j + 1
		if i < len(f) && f[i] == '%' {
			b = append(b, '%')
			continue
		}
		if arg++; arg > top {
			argError(L, arg, "no value")
		}
		var sp fmtSpec
		sp, i = scanFormat(L, f, i)
		var conv byte // the C string's terminator past the end
		if i < len(f) {
			conv = f[i]
		}
		switch conv {
		case 'c':
			// C's sprintf ends the item at a NUL: %c of 0 adds nothing.
			c := []byte{byte(toInt64(checkNumber(L, arg)))}
			b = append(b, cString(string(pad(nil, sp, "", "", string(c), false)))...)
		case 'd', 'i':
			b = formatInt(b, sp, toInt64(checkNumber(L, arg)))
		case 'o', 'u', 'x', 'X':
			b = formatUnsigned(b, sp, conv, uint64(toInt64(checkNumber(L, arg))))
		case 'e', 'E', 'f', 'g', 'G':
			b = formatFloat(b, sp, conv, checkNumber(L, arg))
		case 'q':
			b = appendQuoted(b, checkLString(L, arg))
		case 's':
			s := checkLString(L, arg)
			if sp.prec < 0 && len(s) >= 100 {
				b = append(b, s...) // as Lua 5.1: kept whole, NULs and all
				break
			}
			s = cString(s)
			if sp.prec >= 0 && len(s) > sp.prec {
				s = s[:sp.prec]
			}
			b = pad(b, sp, "", "", s, false)
		default:
			luaError(L, "invalid option '%%%s' to 'format'", cString(string([]byte{conv})))
		}
		checkSize(L, len(b))
	}
	L.Push(glua.LString(b))
	return 1
}

// scanFormat reads the flags, width and precision of a conversion that
// starts at f[i], as Lua 5.1 allows them (at most two digits each), and
// returns them with the index of the conversion letter.
func scanFormat(L *glua.LState, f string, i int) (fmtSpec, int) {
	sp := fmtSpec{prec: -1}
	start := i
	for ; i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0; i++ {
		switch f[i] {
		case '-':
			sp.minus = true
		case '+':
			sp.plus = true
		case ' ':
			sp.space = true
		case '#':
			sp.alt = true
		case '0':
			sp.zero = true
		}
	}
	if i-start > 5 {
		luaError(L, "invalid format (repeated flags)")
	}
	number := func() int {
		n := 0
		for k := 0; k < 2 && i < len(f) && isDigit(f[i]); k++ {
			n = n*10 + int(f[i]-'0')
			i++
		}
		return n
	}
	sp.width = number()
	if i < len(f) && f[i] == '.' {
		i++
		sp.prec = number()
	}
	if i < len(f) && isDigit(f[i]) {
		luaError(L, "invalid format (width or precision too long)")
	}
	return sp, i
}

// pad appends sign, prefix and body to b, padded to the spec's width with
// spaces, or with zeros after the prefix when zeros is allowed.
func pad(b []byte, sp fmtSpec, sign, prefix, body string, zeros bool) []byte {
	fill := sp.width - len(sign) - len(prefix) - len(body)
	switch {
	case fill <= 0:
		return append(append(append(b, sign...), prefix...), body...)
	case sp.minus:
		b = append(append(append(b, sign...), prefix...), body...)
		return append(b, strings.Repeat(" ", fill)...)
	case sp.zero && zeros:
		b = append(append(b, sign...), prefix...)
		return append(append(b, strings.Repeat("0", fill)...), body...)
	}
	b = append(b, strings.Repeat(" ", fill)...)
	return append(append(append(b, sign...), prefix...), body...)
}

// intDigits applies a printf precision to digits: at least prec of them,
// and none for a zero of precision 0.
func intDigits(digits string, prec int) string {
	if prec == 0 && digits == "0" {
		return ""
	}
	if len(digits) < prec {
		return strings.Repeat("0", prec-len(digits)) + digits
	}
	return digits
}

// formatInt appends v as C's %d.
func formatInt(b []byte, sp fmtSpec, v int64) []byte {
	u, sign := uint64(v), ""
	switch {
	case v < 0:
		u, sign = -u, "-"
	case sp.plus:
		sign = "+"
	case sp.space:
		sign = " "
	}
	return pad(b, sp, sign, "", intDigits(strconv.FormatUint(u, 10), sp.prec), sp.prec < 0)
}

// formatUnsigned appends u as C's %o, %u, %x or %X.
func formatUnsigned(b []byte, sp fmtSpec, conv byte, u uint64) []byte {
	base := 16
	switch conv {
	case 'o':
		base = 8
	case 'u':
		base = 10
	}
	digits := intDigits(strconv.FormatUint(u, base), sp.prec)
	prefix := ""
	switch {
	case sp.alt && conv == 'o' && !strings.HasPrefix(digits, "0"):
		digits = "0" + digits
	case sp.alt && conv == 'x' && u != 0:
		prefix = "0x"
	case sp.alt && conv == 'X' && u != 0:
		prefix = "0X"
	}
	if conv == 'X' {
		digits = strings.ToUpper(digits)
	}
	return pad(b, sp, "", prefix, digits, sp.prec < 0)
}

// formatFloat appends f as C's %e, %E, %f, %g or %G, with glibc's inf and
// nan (signed as the value's sign bit is).
func formatFloat(b []byte, sp fmtSpec, conv byte, f float64) []byte {
	sign := ""
	switch {
	case math.Signbit(f):
		sign = "-"
	case sp.plus:
		sign = "+"
	case sp.space:
		sign = " "
	}
	f = math.Abs(f)
	prec := sp.prec
	if prec < 0 {
		prec = 6
	}
	var body string
	switch {
	case math.IsInf(f, 0):
		body = "inf"
	case f != f:
		body = "nan"
	case conv == 'f':
		body = strconv.FormatFloat(f, 'f', prec, 64)
		if sp.alt && prec == 0 {
			body += "."
		}
	case conv|0x20 == 'e':
		body = strconv.FormatFloat(f, 'e', prec, 64)
		if sp.alt && prec == 0 {
			body = body[:1] + "." + body[1:]
		}
	default:
		body = formatG(f, prec, sp.alt)
	}
	if conv == 'E' || conv == 'G' {
		body = strings.ToUpper(body)
	}
	return pad(b, sp, sign, "", body, !math.IsInf(f, 0) && f == f)
}

// formatG formats f >= 0 as C's %g: %e when the exponent is below -4 or
// at least the precision, else %f, trailing zeros removed unless alt.
func formatG(f float64, prec int, alt bool) string {
	if prec == 0 {
		prec = 1
	}
	s := strconv.FormatFloat(f, 'e', prec-1, 64)
	x, _ := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:])
	if -4 <= x && x < prec {
		s = strconv.FormatFloat(f, 'f', prec-1-x, 64)
	}
	mant, exp := s, ""
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp = s[:i], s[i:]
	}
	switch {
	case alt && !strings.Contains(mant, "."):
		mant += "."
	case !alt && strings.Contains(mant, "."):
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	return mant + exp
}

// appendQuoted appends s as Lua 5.1's %q: in double quotes, with ", \ and
// newline escaped by a backslash, \r as \r, NUL as \000, other bytes raw.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '\n':
			b = append(b, '\\', c)
		case '\r':
			b = append(b, `\r`...)
		case 0:
			b = append(b, `\000`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// StringFuncs are Lua 5.1's string functions where gopher-lua's differ
// (the patterns are pattern.go's).
var StringFuncs = map[string]glua.LGFunction{
	"upper": strUpper, "lower": strLower, "rep": strRep, "format": strFormat,
	"find": strFind, "match": strMatch, "gmatch": strGmatch, "gsub": strGsub,
}

// PatchString keeps Lua 5.0's gfind as gmatch.
func PatchString(L *glua.LState, lib *glua.LTable) {
	lib.RawSetString("gfind", lib.RawGetString("gmatch"))
}
