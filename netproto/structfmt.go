package netproto

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
)

// A Format is a compiled Python struct format string ("!I", "<hhl", "@i2s").
// Pack and Unpack follow the semantics of Python's struct module on a 64-bit
// little-endian Linux machine: the same byte order, size and alignment rules,
// the same range checks. A Format is immutable and safe for concurrent use.
type Format struct {
	src   string
	order byteOrder
	items []item
	size  int
	nvals int
}

// byteOrder is what binary.LittleEndian and binary.BigEndian both are.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// An item is one code of a format with its repeat count.
type item struct {
	code  byte
	count int // repeat count; for 's' and 'p' the byte length
	size  int // size of one element
	pad   int // alignment padding placed before the item
}

// StructError reports a format that does not compile or values that do not
// fit it. Its message matches the wording of Python's struct.error where one
// exists.
type StructError struct {
	Msg string
}

// Error implements error.
func (e *StructError) Error() string { return e.Msg }

func structErr(format string, args ...any) error {
	return &StructError{Msg: fmt.Sprintf(format, args...)}
}

// nativeSizes are the sizes of C types on linux/amd64, which Python uses for
// the "@" mode; standardSizes are those of "=", "<", ">" and "!".
var (
	nativeSizes = map[byte]int{
		'x': 1, 'c': 1, 'b': 1, 'B': 1, '?': 1, 'h': 2, 'H': 2, 'i': 4, 'I': 4,
		'l': 8, 'L': 8, 'q': 8, 'Q': 8, 'n': 8, 'N': 8, 'e': 2, 'f': 4, 'd': 8,
		's': 1, 'p': 1, 'P': 8,
	}
	standardSizes = map[byte]int{
		'x': 1, 'c': 1, 'b': 1, 'B': 1, '?': 1, 'h': 2, 'H': 2, 'i': 4, 'I': 4,
		'l': 4, 'L': 4, 'q': 8, 'Q': 8, 'e': 2, 'f': 4, 'd': 8, 's': 1, 'p': 1,
	}
)

// CompileFormat parses a Python struct format string. The first character
// may choose byte order, size and alignment (@ = < > !); the default is @.
// White space between codes is ignored, as Python does.
func CompileFormat(format string) (*Format, error) {
	f := &Format{src: format, order: binary.LittleEndian}
	sizes, native := nativeSizes, true
	s := format
	if len(s) > 0 {
		switch s[0] {
		case '@':
			s = s[1:]
		case '=', '<':
			sizes, native, s = standardSizes, false, s[1:]
		case '>', '!':
			sizes, native, s = standardSizes, false, s[1:]
			f.order = binary.BigEndian
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
			i++
			continue
		}
		count := 1
		if c >= '0' && c <= '9' {
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i:j])
			if err != nil || n > 1<<30 {
				return nil, structErr("total struct size too long")
			}
			if j == len(s) {
				return nil, structErr("repeat count given without format specifier")
			}
			count, i = n, j
			c = s[i]
		}
		size, ok := sizes[c]
		if !ok {
			return nil, structErr("bad char in struct format")
		}
		pad := 0
		if native && c != 's' && c != 'p' && c != 'x' && c != 'c' && size > 1 {
			if r := f.size % size; r != 0 {
				pad = size - r
			}
		}
		f.size += pad
		switch c {
		case 's', 'p':
			f.items = append(f.items, item{code: c, count: count, size: 1, pad: pad})
			f.size += count
			f.nvals++
		default:
			f.items = append(f.items, item{code: c, count: count, size: size, pad: pad})
			f.size += count * size
			if c != 'x' {
				f.nvals += count
			}
		}
		if f.size > math.MaxInt32 {
			return nil, structErr("total struct size too long")
		}
		i++
	}
	return f, nil
}

// String returns the source of the format.
func (f *Format) String() string { return f.src }

// Size returns the number of bytes the format packs to, as Python's
// struct.calcsize does.
func (f *Format) Size() int { return f.size }

// NumValues returns how many values Pack takes and Unpack returns.
func (f *Format) NumValues() int { return f.nvals }

// Pack encodes values by the format. Integers may be given as int, int64,
// uint64 or integral float64; 'f', 'd' and 'e' take any number; '?' takes a
// bool; 's', 'p' and 'c' take string or []byte. A value out of the code's
// range, a non-integral number for an integer code or a wrong count of
// values is a *StructError.
func (f *Format) Pack(values ...any) ([]byte, error) {
	return f.AppendPack(make([]byte, 0, f.size), values...)
}

// AppendPack is Pack appending to dst.
func (f *Format) AppendPack(dst []byte, values ...any) ([]byte, error) {
	if len(values) != f.nvals {
		return nil, structErr("pack expected %d items for packing (got %d)", f.nvals, len(values))
	}
	out := dst
	vi := 0
	for _, it := range f.items {
		out = append(out, make([]byte, it.pad)...)
		switch it.code {
		case 'x':
			out = append(out, make([]byte, it.count)...)
			continue
		case 's', 'p':
			b, ok := asBytes(values[vi])
			if !ok {
				return nil, structErr("argument for '%c' must be a bytes object", it.code)
			}
			vi++
			out = appendString(out, it.code, it.count, b)
			continue
		}
		for k := 0; k < it.count; k++ {
			var err error
			out, err = f.packOne(out, it, values[vi])
			if err != nil {
				return nil, err
			}
			vi++
		}
	}
	return out, nil
}

func appendString(out []byte, code byte, count int, b []byte) []byte {
	if code == 's' {
		n := min(len(b), count)
		out = append(out, b[:n]...)
		return append(out, make([]byte, count-n)...)
	}
	if count == 0 {
		return out
	}
	n := min(len(b), count-1)
	out = append(out, byte(min(n, 255)))
	out = append(out, b[:n]...)
	return append(out, make([]byte, count-1-n)...)
}

func asBytes(v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return []byte(v), true
	case []byte:
		return v, true
	}
	return nil, false
}

// intRange returns the bounds of a signed or unsigned integer code.
func intRange(code byte, size int) (lo int64, hi uint64, signed bool) {
	switch code {
	case 'b', 'h', 'i', 'l', 'q', 'n':
		bits := uint(size * 8)
		return -1 << (bits - 1), 1<<(bits-1) - 1, true
	}
	if size == 8 {
		return 0, math.MaxUint64, false
	}
	return 0, 1<<uint(size*8) - 1, false
}

func (f *Format) packOne(out []byte, it item, v any) ([]byte, error) {
	switch it.code {
	case '?':
		// Python packs the truth value of any object.
		b := true
		switch v := v.(type) {
		case bool:
			b = v
		case nil:
			b = false
		case float64:
			b = v != 0
		case int:
			b = v != 0
		case int64:
			b = v != 0
		case uint64:
			b = v != 0
		}
		if b {
			return append(out, 1), nil
		}
		return append(out, 0), nil
	case 'c':
		b, ok := asBytes(v)
		if !ok || len(b) != 1 {
			return nil, structErr("char format requires a bytes object of length 1")
		}
		return append(out, b[0]), nil
	case 'e', 'f', 'd':
		x, ok := asFloat(v)
		if !ok {
			return nil, structErr("required argument is not a float")
		}
		return f.appendFloat(out, it.code, x)
	}
	neg, mag, err := asInteger(v)
	if err != nil {
		return nil, err
	}
	lo, hi, signed := intRange(it.code, it.size)
	if neg && !signed && it.code != 'B' && it.code != 'H' {
		return nil, structErr("argument out of range")
	}
	if neg {
		if !signed || mag > uint64(-(lo+1))+1 {
			return nil, rangeError(it.code, it.size, lo, hi, signed)
		}
	} else if mag > hi {
		return nil, rangeError(it.code, it.size, lo, hi, signed)
	}
	u := mag
	if neg {
		u = -mag
	}
	switch it.size {
	case 1:
		return append(out, byte(u)), nil
	case 2:
		return f.order.AppendUint16(out, uint16(u)), nil
	case 4:
		return f.order.AppendUint32(out, uint32(u)), nil
	default:
		return f.order.AppendUint64(out, u), nil
	}
}

func rangeError(code byte, size int, lo int64, hi uint64, signed bool) error {
	switch code {
	case 'b':
		return structErr("byte format requires -128 <= number <= 127")
	case 'B':
		return structErr("ubyte format requires 0 <= number <= 255")
	case 'h':
		return structErr("short format requires -32768 <= number <= 32767")
	case 'H':
		return structErr("ushort format requires 0 <= number <= 65535")
	}
	if signed {
		return structErr("'%c' format requires %d <= number <= %d", code, lo, hi)
	}
	return structErr("'%c' format requires 0 <= number <= %d", code, hi)
}

// asInteger splits an integer value into sign and magnitude.
func asInteger(v any) (neg bool, mag uint64, err error) {
	switch v := v.(type) {
	case int:
		return asInteger(int64(v))
	case int64:
		if v < 0 {
			return true, uint64(-v), nil
		}
		return false, uint64(v), nil
	case uint64:
		return false, v, nil
	case float64:
		if v != math.Trunc(v) || math.IsInf(v, 0) || math.IsNaN(v) {
			return false, 0, structErr("required argument is not an integer")
		}
		if v < 0 {
			if v < -(1 << 63) {
				return true, math.MaxUint64, nil
			}
			return true, uint64(-v), nil
		}
		if v >= 1<<64 {
			return false, math.MaxUint64, structErr("argument out of range")
		}
		return false, uint64(v), nil
	}
	return false, 0, structErr("required argument is not an integer")
}

func asFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

func (f *Format) appendFloat(out []byte, code byte, x float64) ([]byte, error) {
	switch code {
	case 'd':
		return f.order.AppendUint64(out, math.Float64bits(x)), nil
	case 'f':
		// Python 3 packs a finite value beyond float32's range as infinity.
		return f.order.AppendUint32(out, math.Float32bits(float32(x))), nil
	}
	h, ok := float16bits(x)
	if !ok {
		return nil, structErr("float too large to pack with e format")
	}
	return f.order.AppendUint16(out, h), nil
}

// Unpack decodes data by the format, starting at data[0]. data must hold at
// least Size bytes; bytes past Size are ignored. Signed integers come back as
// int64, unsigned as uint64, floats as float64, '?' as bool and 's', 'p', 'c'
// as []byte (copies, never aliasing data).
func (f *Format) Unpack(data []byte) ([]any, error) {
	if len(data) < f.size {
		return nil, structErr("unpack requires a buffer of %d bytes", f.size)
	}
	vals := make([]any, 0, f.nvals)
	p := 0
	for _, it := range f.items {
		p += it.pad
		switch it.code {
		case 'x':
			p += it.count
			continue
		case 's':
			vals = append(vals, append([]byte(nil), data[p:p+it.count]...))
			p += it.count
			continue
		case 'p':
			if it.count == 0 {
				vals = append(vals, []byte{})
				continue
			}
			n := min(int(data[p]), it.count-1)
			vals = append(vals, append([]byte(nil), data[p+1:p+1+n]...))
			p += it.count
			continue
		}
		for k := 0; k < it.count; k++ {
			vals = append(vals, f.unpackOne(it, data[p:p+it.size]))
			p += it.size
		}
	}
	return vals, nil
}

func (f *Format) unpackOne(it item, b []byte) any {
	switch it.code {
	case 'c':
		return []byte{b[0]}
	case '?':
		return b[0] != 0
	case 'e':
		return float16value(f.order.Uint16(b))
	case 'f':
		return float64(math.Float32frombits(f.order.Uint32(b)))
	case 'd':
		return math.Float64frombits(f.order.Uint64(b))
	}
	u, v, signed := f.integer(it, b)
	if signed {
		return v
	}
	return u
}

// integer reads the integer item it from b, unboxed: u as unsigned, and
// when the code is signed, v as the signed value (signed true).
func (f *Format) integer(it item, b []byte) (u uint64, v int64, signed bool) {
	switch it.size {
	case 1:
		u = uint64(b[0])
	case 2:
		u = uint64(f.order.Uint16(b))
	case 4:
		u = uint64(f.order.Uint32(b))
	default:
		u = f.order.Uint64(b)
	}
	if _, _, signed = intRange(it.code, it.size); signed {
		shift := uint(64 - 8*it.size)
		return u, int64(u<<shift) >> shift, true
	}
	return u, 0, false
}

// IntegerFormat reports whether the format packs exactly one integer, as a
// length header must.
func (f *Format) IntegerFormat() bool {
	if f.nvals != 1 || len(f.items) != 1 || f.items[0].count != 1 {
		return false
	}
	switch f.items[0].code {
	case 'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'q', 'Q', 'n', 'N':
		return true
	}
	return false
}

// float16bits converts x to IEEE 754 binary16 with round-half-even, as
// Python's PyFloat_Pack2 does. It reports false when x is finite but too
// large for binary16.
func float16bits(x float64) (uint16, bool) {
	bits := math.Float64bits(x)
	sign := uint16(bits>>48) & 0x8000
	switch {
	case math.IsNaN(x):
		return sign | 0x7e00, true
	case math.IsInf(x, 0):
		return sign | 0x7c00, true
	case x == 0:
		return sign, true
	}
	a := math.Abs(x)
	frac, exp := math.Frexp(a) // a = frac * 2^exp, 0.5 <= frac < 1
	// binary16: value = m * 2^(e-25) with m < 2^11 for normals.
	e := exp - 1 // a = (2*frac) * 2^e, 1 <= 2*frac < 2
	if e < -14 {
		// subnormal: units of 2^-24
		m := roundHalfEven(a * (1 << 24))
		// m may round up to 1<<10, which is exactly the smallest normal.
		return sign | uint16(m), true
	}
	m := roundHalfEven(frac * 2 * (1 << 10)) // 1024 <= m <= 2048
	if m == 2048 {
		m = 1024
		e++
	}
	if e > 15 {
		return 0, false
	}
	return sign | uint16(e+15)<<10 | uint16(m-1024), true
}

func roundHalfEven(x float64) uint64 {
	return uint64(math.RoundToEven(x))
}

func float16value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * math.Ldexp(m, -24)
	case 0x1f:
		if m == 0 {
			return math.Inf(int(sign))
		}
		return math.NaN()
	}
	return sign * math.Ldexp(m+1024, e-25)
}
