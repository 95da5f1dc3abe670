package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/wirelab/wirelab/internal/errtext"
	"github.com/wirelab/wirelab/netproto"
)

// The failures of the world. Each error the engine returns wraps one of
// these or a netproto error, so that callers can tell them apart with
// errors.Is and show them with Reason.
var (
	// ErrClosed means the peer closed the stream, or this end was closed.
	ErrClosed = errors.New("closed")
	// ErrTimeout means the operation's deadline passed.
	ErrTimeout = errors.New("timeout")
	// ErrInterrupted means the operation's context was cancelled.
	ErrInterrupted = errors.New("interrupted")
	// ErrRefused means nothing listens at the address dialled.
	ErrRefused = errors.New("refused")
	// ErrTooLong means a delimiter did not come within the byte limit.
	ErrTooLong = errors.New("too long")
	// ErrDatagramTooLarge means a UDP payload exceeds 65507 bytes.
	ErrDatagramTooLarge = errors.New("datagram too large")
	// ErrChecksum means a received file's digest differs from the one expected.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrExists means a received file would replace an existing one.
	ErrExists = errors.New("file exists")
	// ErrBadName means a file name from the network is not a plain name.
	ErrBadName = errors.New("bad file name")
	// ErrShortFile means a file ended before the size it was sent with.
	ErrShortFile = errors.New("file shorter than size")
	// ErrNotRegular means a file to read is a directory, FIFO, device or
	// the like.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooSlow means a file's bytes came slower than FileOptions.MinRate.
	ErrTooSlow = errors.New("too slow")
	// ErrNoSpace means the file system has less room free than the size a
	// file to receive was declared with.
	ErrNoSpace = errors.New("not enough space")
	// ErrStoreFull means a file to receive would take its directory past
	// FileOptions.MaxStore.
	ErrStoreFull = errors.New("store full")
)

// NameError is the error of a name CheckName refuses: the name and the
// rule it breaks. It wraps ErrBadName.
type NameError struct {
	Name string
	// Rule says which rule the name breaks: "" for the path-like names
	// (empty, ".", "..", a slash or backslash), else a few words such as
	// "reserved on Windows" or "control or format character U+202E".
	Rule string
}

// Error implements error: `bad file name "CON" (reserved on Windows)`,
// the name quoted as strconv.Quote does, so it stays on one line.
func (e *NameError) Error() string {
	s := ErrBadName.Error() + " " + strconv.Quote(e.Name)
	if e.Rule != "" {
		s += " (" + e.Rule + ")"
	}
	return s
}

// Unwrap returns ErrBadName.
func (e *NameError) Unwrap() error { return ErrBadName }

// OpError is the error of a failed operation, as net.OpError is: the
// operation's name, the address it was about where that helps (the one
// dialled), and the reason, which wraps one of the errors above where one
// applies.
type OpError struct {
	Op   string // "recv", "send", "connect", "accept", ...
	Addr string // "127.0.0.1:1", "[::1]:8443", "unix:/tmp/s"; "" when none is named
	Err  error
}

// Error implements error: "connect 127.0.0.1:1: refused (nothing listens
// there)", "recv: closed".
func (e *OpError) Error() string {
	if e.Addr != "" {
		return e.Op + " " + e.Addr + ": " + e.Err.Error()
	}
	return e.Op + ": " + e.Err.Error()
}

// Unwrap returns the reason.
func (e *OpError) Unwrap() error { return e.Err }

// Timeout reports whether the operation's deadline passed.
func (e *OpError) Timeout() bool { return errors.Is(e.Err, ErrTimeout) }

// Reason returns the short, stable text of err that scripts compare
// against: "closed", "timeout", "interrupted", "refused", "frame too large"
// (followed by a byte-order hint where one applies: see
// netproto.LengthError),
// and so on; for other errors, the error's own text.
func Reason(err error) string {
	var op *OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	// A refused length that the other byte order would have accepted keeps
	// its hint: "frame too large (length 83886080 as big-endian ...)".
	if le := (*netproto.LengthError)(nil); errors.As(err, &le) && le.SwapFits {
		return le.Error()
	}
	// A refused name keeps the rule it broke, never the name itself,
	// which may be anything a peer sent: "bad file name (reserved on
	// Windows)".
	if ne := (*NameError)(nil); errors.As(err, &ne) && ne.Rule != "" {
		return ErrBadName.Error() + " (" + ne.Rule + ")"
	}
	for _, known := range []error{ErrClosed, ErrTimeout, ErrInterrupted, ErrRefused, ErrTooLong,
		ErrDatagramTooLarge, ErrChecksum, ErrExists, ErrBadName, ErrShortFile, ErrTooSlow, ErrNotRegular, ErrInUse, ErrNoSpace, ErrStoreFull,
		netproto.ErrFrameTooLarge, netproto.ErrBadLength, netproto.ErrHeaderTooLarge} {
		if errors.Is(err, known) {
			return known.Error()
		}
	}
	return errtext.Rewrite(err) // the C runtime's words on Windows too: "no such file or directory"
}

// classify maps the errors of the net and os packages onto the engine's,
// keeping those it does not know. ctx tells an interruption, which is made
// with a past deadline, from a timeout.
func classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case ctx.Err() != nil && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		err = ErrInterrupted
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed),
		errors.Is(err, errReset), errors.Is(err, errPipe), errors.Is(err, errAborted):
		err = ErrClosed
	case errors.Is(err, errRefused):
		err = ErrRefused
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = ErrTimeout
		}
	}
	return &OpError{Op: op, Err: err}
}

// errNothingListens is the reason of a refused connect: the bare
// "refused" leaves a newcomer guessing which side refused what.
var errNothingListens = fmt.Errorf("%w (nothing listens there)", ErrRefused)

// dialError is classify for a failed connect to addr: the error names the
// address, and a refusal says what it means.
func dialError(ctx context.Context, addr string, err error) error {
	e := classify(ctx, "connect", err).(*OpError)
	e.Addr = addr
	if e.Err == ErrRefused {
		e.Err = errNothingListens
	}
	return e
}

// DialAddr is how errors and warnings name the address host, port dialled: host:port
// as net.JoinHostPort writes it, or "unix:PATH".
func DialAddr(host string, port int) string {
	if _, ok := unixPath(host); ok {
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}
