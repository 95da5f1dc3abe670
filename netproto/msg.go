package netproto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// DefaultMaxHeader is the limit on a message's JSON header when the caller
// sets none.
const DefaultMaxHeader = 64 << 10

// SizeKey is the header field that carries the body's length in the
// tutorials' messages.
const SizeKey = "total_size"

// A Msg describes one message of the tutorials' "header dict" format:
// struct.pack(Length, len(h)), then h, a UTF-8 JSON object whose field
// SizeKey gives the length of the body, then the body.
type Msg struct {
	Length    *Format // packs the header's length; the tutorials use "i"
	SizeKey   string  // header field holding the body's length; "" for none
	MaxHeader int64   // limit on the JSON header
	MaxBody   int64   // limit on the body length the header may announce
}

// WriteHeader writes the length prefix and the JSON header h. It does not
// check h: the caller encodes it and places the size field.
func (m *Msg) WriteHeader(w io.Writer, h []byte) error {
	buf, err := AppendFrame(make([]byte, 0, m.Length.size+len(h)), m.Length, h)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}

// DecodeLength returns the header length that the prefix bytes b hold,
// with ReadLength's checks against MaxHeader; a length above it is
// ErrHeaderTooLarge (a *LengthError, with the other byte order's reading
// where that one fits).
func (m *Msg) DecodeLength(b []byte) (int64, error) {
	n, err := DecodeLength(m.Length, b, m.MaxHeader)
	var le *LengthError
	if errors.As(err, &le) && le.Err == ErrFrameTooLarge {
		c := *le
		c.Err = ErrHeaderTooLarge
		return 0, &c
	}
	return n, err
}

// ReadHeader reads the length prefix and the JSON header and checks it: an
// object (ErrBadHeader otherwise) no longer than MaxHeader
// (ErrHeaderTooLarge), whose SizeKey field, when SizeKey is set, is an
// integer from 0 to MaxBody. It returns the raw JSON and that size. Nothing
// of the body is read.
func (m *Msg) ReadHeader(r io.Reader) (raw []byte, size int64, err error) {
	var buf [8]byte
	head := buf[:m.Length.Size()]
	if _, err := io.ReadFull(r, head); err != nil {
		return nil, 0, err
	}
	n, err := m.DecodeLength(head)
	if err != nil {
		return nil, 0, err
	}
	raw, err = ReadPayload(r, n)
	if err != nil {
		return raw, 0, err
	}
	size, err = ParseSize(raw, m.SizeKey, m.MaxBody)
	return raw, size, err
}

// ParseSize checks that raw is one JSON object and returns its field key as
// a length: present, an integer, not negative and at most max. With key ""
// it only checks the object and returns 0.
func ParseSize(raw []byte, key string, max int64) (int64, error) {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&fields); err != nil || fields == nil || dec.More() {
		return 0, fmt.Errorf("%w: not a JSON object", ErrBadHeader)
	}
	if key == "" {
		return 0, nil
	}
	v, ok := fields[key]
	if !ok {
		return 0, fmt.Errorf("%w: no %s", ErrBadHeader, key)
	}
	var num json.Number
	// json.Number also takes a quoted number; the size must be a bare one.
	if err := json.Unmarshal(v, &num); err != nil || v[0] == '"' {
		return 0, fmt.Errorf("%w: %s is not a number", ErrBadHeader, key)
	}
	n, err := strconv.ParseInt(num.String(), 10, 64)
	if err != nil {
		// 1e3, 2.0, 2.5 or an integer beyond int64: judge the float, whose
		// parse is bounded even for an exponent of a billion digits.
		f, ferr := strconv.ParseFloat(num.String(), 64)
		switch {
		case ferr != nil && !errors.Is(ferr, strconv.ErrRange):
			return 0, fmt.Errorf("%w: %s is not a number", ErrBadHeader, key)
		case f != math.Trunc(f) && !math.IsInf(f, 0):
			return 0, fmt.Errorf("%w: %s is not an integer", ErrBadHeader, key)
		case f < 0:
			return 0, fmt.Errorf("%w: %s is negative", ErrBadHeader, key)
		case f > float64(max):
			return 0, fmt.Errorf("%w: %s %s is over the limit of %d", ErrBadHeader, key, num, max)
		}
		n = int64(f)
	}
	switch {
	case n < 0:
		return 0, fmt.Errorf("%w: %s is negative", ErrBadHeader, key)
	case n > max:
		return 0, fmt.Errorf("%w: %s %s is over the limit of %d", ErrBadHeader, key, num, max)
	}
	return n, nil
}
