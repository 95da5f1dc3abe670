package netproto

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// DefaultMaxFrame is the payload limit of a frame when the caller sets none.
const DefaultMaxFrame = 16 << 20

// growStep bounds the first allocation for a frame's payload: a header may
// announce megabytes and then send nothing, so memory is committed as bytes
// arrive, not as they are promised.
const growStep = 1 << 20

// LengthHeader compiles a struct format that must hold exactly one integer,
// such as "!I" (the default of frames) or "i" (the tutorials' choice).
func LengthHeader(format string) (*Format, error) {
	f, err := CompileFormat(format)
	if err != nil {
		return nil, err
	}
	if !f.IntegerFormat() {
		return nil, structErr("length header %q must be one integer code", format)
	}
	return f, nil
}

// AppendLength appends n packed by the length header h.
func AppendLength(dst []byte, h *Format, n int) ([]byte, error) {
	if err := CheckLength(h, n); err != nil {
		return nil, err
	}
	it := h.items[0]
	dst = append(dst, make([]byte, it.pad)...)
	switch it.size {
	case 1:
		return append(dst, byte(n)), nil
	case 2:
		return h.order.AppendUint16(dst, uint16(n)), nil
	case 4:
		return h.order.AppendUint32(dst, uint32(n)), nil
	}
	return h.order.AppendUint64(dst, uint64(n)), nil
}

// CheckLength returns the error AppendLength would give for n, without
// packing anything: ErrFrameTooLarge (errors.Is) when h cannot hold n.
func CheckLength(h *Format, n int) error {
	if !h.IntegerFormat() {
		return structErr("length header %q must be one integer code", h.src)
	}
	it := h.items[0]
	if _, hi, _ := intRange(it.code, it.size); n < 0 || uint64(n) > hi {
		return fmt.Errorf("%w: %d does not fit %q", ErrFrameTooLarge, n, h.src)
	}
	return nil
}

// ReadLength reads a length header h from r and returns the length it
// holds. A negative length is ErrBadLength and a length above max is
// ErrFrameTooLarge (errors.Is; the error is a *LengthError, which names
// the other byte order's reading when that one fits); in both cases
// nothing past the header has been read.
// A stream that ends before the first header byte gives io.EOF, one that
// ends inside the header io.ErrUnexpectedEOF.
func ReadLength(r io.Reader, h *Format, max int64) (int64, error) {
	var buf [8]byte
	if _, err := io.ReadFull(r, buf[:h.size]); err != nil {
		return 0, err
	}
	return decodeLength(h, buf[:h.size], max)
}

// DecodeLength returns the length that the header bytes b, packed by h,
// hold, with ReadLength's checks: ErrBadLength for a negative length,
// ErrFrameTooLarge above max.
func DecodeLength(h *Format, b []byte, max int64) (int64, error) { return decodeLength(h, b, max) }

func decodeLength(h *Format, b []byte, max int64) (int64, error) {
	if !h.IntegerFormat() || len(b) < h.size {
		return 0, structErr("length header %q must be one integer code", h.src)
	}
	it := h.items[0]
	if n, ok := lengthValue(h, it, b[it.pad:], max); ok {
		return n, nil
	}
	return 0, newLengthError(h, b[it.pad:it.pad+it.size], max)
}

// lengthValue reads the integer item it of h from b as a length, and
// reports whether it is one from 0 to max. The integer stays unboxed: a
// frame's length costs no allocation.
func lengthValue(h *Format, it item, b []byte, max int64) (int64, bool) {
	u, v, signed := h.integer(it, b)
	if signed {
		return v, v >= 0 && v <= max
	}
	return int64(u), u <= uint64(max)
}

// A LengthError is a refused length header. It wraps ErrBadLength (a
// negative length) or ErrFrameTooLarge (one above the limit), and
// errors.Is tells which. When the same bytes read in the other byte order
// give a length that would have been accepted, the peer most likely packs
// the other order (Python's struct.pack('i', n) is little-endian on the
// tutorials' machines, frames default to big-endian "!I"), and the message
// says so:
//
//	frame too large (length 83886080 as big-endian "!I"; read as
//	little-endian it is 5: does the peer use "<I" or "i"?)
//
// Without such a reading the message is the bare reason ("frame too
// large"), which scripts compare against.
type LengthError struct {
	Err    error  // ErrBadLength or ErrFrameTooLarge
	Header string // the length header's format, as given
	Length string // the length as read, in decimal
	// Swapped is the length in the other byte order; SwapFits reports
	// whether it is one from 0 to the limit, and so worth a hint.
	Swapped  int64
	SwapFits bool
	swap     *Format // the header in the other byte order
	other    string  // a native format of that order, "i", or ""
}

// Error implements error.
func (e *LengthError) Error() string {
	if !e.SwapFits {
		return e.Err.Error()
	}
	order, swapped := "big-endian", "little-endian"
	if e.swap.order == binary.BigEndian {
		order, swapped = swapped, order
	}
	alt := fmt.Sprintf("%q", e.swap.src)
	if e.other != "" {
		alt += fmt.Sprintf(" or %q", e.other)
	}
	return fmt.Sprintf("%v (length %s as %s %q; read as %s it is %d: does the peer use %s?)",
		e.Err, e.Length, order, e.Header, swapped, e.Swapped, alt)
}

// Unwrap returns ErrBadLength or ErrFrameTooLarge.
func (e *LengthError) Unwrap() error { return e.Err }

// newLengthError explains why the integer bytes b, packed by the
// one-integer header h, are refused as a length.
func newLengthError(h *Format, b []byte, max int64) *LengthError {
	it := h.items[0]
	v := h.unpackOne(it, b)
	e := &LengthError{Err: ErrFrameTooLarge, Header: h.src, Length: fmt.Sprint(v)}
	if n, ok := v.(int64); ok && n < 0 {
		e.Err = ErrBadLength
	}
	if it.size == 1 {
		return e
	}
	// The same code in the other order: "!I" <-> "<I". Native codes ("i",
	// "@i", "=i") are little-endian here, as on the tutorials' machines,
	// whose struct.pack('i', n) is the likeliest other writer.
	code := string(it.code)
	if h.order == binary.BigEndian {
		e.swap, e.other = mustFormat("<"+code), strings.ToLower(code)
	} else {
		e.swap = mustFormat("!" + code)
		e.other = ">" + code
	}
	e.Swapped, e.SwapFits = lengthValue(e.swap, e.swap.items[0], b, max)
	return e
}

// mustFormat compiles a format known to be valid.
func mustFormat(src string) *Format {
	f, err := CompileFormat(src)
	if err != nil {
		panic(err)
	}
	return f
}

// ReadFrame reads one frame, a length header h then that many bytes, and
// returns the payload. Errors are those of ReadLength; when the stream ends
// inside the payload, ReadFrame returns the bytes it got and
// io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, h *Format, max int64) ([]byte, error) {
	n, err := ReadLength(r, h, max)
	if err != nil {
		return nil, err
	}
	return ReadPayload(r, n)
}

// ReadPayload reads exactly n bytes. Memory grows with the bytes that
// arrive, so a peer that promises much and sends little costs little. It
// returns the bytes it got and io.ErrUnexpectedEOF on a short stream.
func ReadPayload(r io.Reader, n int64) ([]byte, error) { return AppendPayload(nil, r, n) }

// AppendPayload is ReadPayload appending to dst: the bytes go into dst's
// spare capacity when it is enough, so a loop that hands back the same
// buffer reads frames without allocating. It returns dst extended by the
// bytes it got.
func AppendPayload(dst []byte, r io.Reader, n int64) ([]byte, error) {
	start := len(dst)
	if n <= int64(cap(dst)-start) || n <= growStep {
		dst = slices.Grow(dst, int(n))
		got, err := io.ReadFull(r, dst[start:start+int(n)])
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return dst[:start+got], err
	}
	dst = slices.Grow(dst, growStep)
	end := int64(start) + n
	for int64(len(dst)) < end {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		stop := min(int64(cap(dst)), end)
		got, err := io.ReadFull(r, dst[len(dst):stop])
		dst = dst[:len(dst)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}

// AppendFrame appends a frame holding payload: its length packed by h,
// then payload.
func AppendFrame(dst []byte, h *Format, payload []byte) ([]byte, error) {
	dst, err := AppendLength(dst, h, len(payload))
	if err != nil {
		return nil, err
	}
	return append(dst, payload...), nil
}

// WriteFrame writes a frame holding payload to w in one Write call.
func WriteFrame(w io.Writer, h *Format, payload []byte) error {
	buf, err := AppendFrame(make([]byte, 0, h.size+len(payload)), h, payload)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}
