package netproto

import (
	"fmt"
	"io"
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
	if !h.IntegerFormat() {
		return nil, structErr("length header %q must be one integer code", h.src)
	}
	it := h.items[0]
	_, hi, _ := intRange(it.code, it.size)
	if n < 0 || uint64(n) > hi {
		return nil, fmt.Errorf("%w: %d does not fit %q", ErrFrameTooLarge, n, h.src)
	}
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

// ReadLength reads a length header h from r and returns the length it
// holds. A negative length is ErrBadLength and a length above max is
// ErrFrameTooLarge; in both cases nothing past the header has been read.
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
	var n int64
	switch v := h.unpackOne(h.items[0], b[h.items[0].pad:]).(type) {
	case int64:
		n = v
	case uint64:
		if v > uint64(max) {
			return 0, ErrFrameTooLarge
		}
		n = int64(v)
	}
	if n < 0 {
		return 0, ErrBadLength
	}
	if n > max {
		return 0, ErrFrameTooLarge
	}
	return n, nil
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
func ReadPayload(r io.Reader, n int64) ([]byte, error) {
	if n <= growStep {
		buf := make([]byte, n)
		got, err := io.ReadFull(r, buf)
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return buf[:got], err
	}
	buf := make([]byte, 0, growStep)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(int64(cap(buf)), n)
		got, err := io.ReadFull(r, buf[len(buf):end])
		buf = buf[:len(buf)+got]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return buf, err
		}
	}
	return buf, nil
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
