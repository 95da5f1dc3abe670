package netproto

import "errors"

var (
	// ErrFrameTooLarge is returned when a length header announces more bytes
	// than the caller's limit. Nothing past the header has been read.
	ErrFrameTooLarge = errors.New("frame too large")

	// ErrBadLength is returned when a length header is negative (signed
	// formats such as Python's "i") or otherwise unusable as a length.
	ErrBadLength = errors.New("bad length")

	// ErrHeaderTooLarge is returned when a JSON header is longer than the
	// caller's header limit. Nothing past the length prefix has been read.
	ErrHeaderTooLarge = errors.New("header too large")

	// ErrBadHeader is returned when a JSON header is not a JSON object, or
	// its size field is missing, negative, fractional or beyond the limit.
	ErrBadHeader = errors.New("bad header")
)
