package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/errtext"
	"golang.org/x/term"
)

// The nc-style commands: wirelab connect, wirelab listen and wirelab cert.

var netUsage = `usage:
  wirelab connect HOST PORT [--tls] [--udp] [--trace[=text]] [--pcap FILE] [--crlf] [--timeout S]
                  [--insecure | --fingerprint sha256:HEX | --ca FILE] [--sni NAME]
  wirelab connect HOST:PORT ...     (also [::1]:PORT)
  wirelab connect unix:PATH [--tls ...] [--trace]
      stdin goes to the peer, what the peer sends to stdout; at the end of
      stdin the sending side is shut down and output goes on until the peer
      closes. With --udp every chunk of stdin is a datagram, and the command
      ends 1 s after stdin without a new datagram. --crlf sends each line
      end of stdin as "\r\n". --timeout S limits the whole connect, TLS
      handshake included (default: 30 s to connect, then ` + engine.DefaultHandshakeTimeout.String() + ` for the
      handshake). --trace dumps what crosses on stderr, as hexdump -C or,
      with --trace=text, as escaped text; --pcap FILE writes it into a
      pcapng file that Wireshark opens.
  wirelab listen PORT [--host H] [--tls --cert FILE --key FILE] [--keep-open]
                 [--exec CMD [--max-running N]] [--udp] [--trace[=text]] [--pcap FILE]
  wirelab listen HOST PORT [...]    (also HOST:PORT, [::1]:PORT)
  wirelab listen unix:PATH [...]
      binds 127.0.0.1 unless HOST or --host says otherwise, and serves one
      connection (--keep-open: any number, stdin going to all of them).
      --exec runs "sh -c CMD" per connection with its stdin and stdout on
      the socket, at most N at once (default ` + strconv.Itoa(engine.DefaultMaxRunning()) + `, four per core; the
      rest wait in line); once the client's stream ends, a command that
      writes nothing for ` + execGrace.String() + ` is killed with its process group.
  wirelab cert DIR [--host NAME] [--force]
      writes a self-signed cert.pem and key.pem (ECDSA P-256) for NAME,
      localhost, 127.0.0.1 and ::1, and prints the sha256 fingerprint
`

// netCommand runs connect, listen or cert (args[0]).
func netCommand(args []string, stdout, stderr io.Writer) int {
	switch args[0] {
	case "connect":
		return cmdConnect(args[1:], os.Stdin, stdout, stderr)
	case "listen":
		return cmdListen(args[1:], os.Stdin, stdout, stderr)
	default:
		return cmdCert(args[1:], stdout, stderr)
	}
}

// hostPort reads the address of the positional arguments: HOST PORT,
// HOST:PORT, [IPv6]:PORT or unix:PATH, as ncat takes them.
func hostPort(args []string) (string, int, error) {
	switch {
	case len(args) == 1 && strings.HasPrefix(args[0], engine.UnixPrefix):
		return args[0], 0, nil
	case len(args) == 1:
		host, p, err := net.SplitHostPort(args[0])
		if err != nil {
			return "", 0, fmt.Errorf("bad address %q: HOST PORT, HOST:PORT or [IPv6]:PORT expected", args[0])
		}
		if host == "" {
			// Go would take ":8080" for every interface; say it.
			return "", 0, fmt.Errorf("bad address %q: give the host (0.0.0.0 or [::] for every interface)", args[0])
		}
		port, err := parsePort(p)
		return host, port, err
	case len(args) == 2:
		port, err := parsePort(args[1])
		return args[0], port, err
	}
	return "", 0, errors.New("HOST PORT expected")
}

func parsePort(s string) (int, error) {
	port, err := strconv.Atoi(s)
	if err != nil || port < 0 || port > 65535 {
		return 0, fmt.Errorf("bad port %q", s)
	}
	return port, nil
}

// signalContext is cancelled by SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// netFail reports err and returns the exit status: 130 when interrupted.
func netFail(ctx context.Context, stderr io.Writer, err error) int {
	if ctx.Err() != nil {
		return 130
	}
	fmt.Fprintf(stderr, "wirelab: %s\n", errtext.Rewrite(err))
	return 1
}

// errPeerSpeaksTLS ends a plain connect whose peer's first bytes are a
// TLS record: its alert to the bytes we sent, or its own hello.
var errPeerSpeaksTLS = errors.New("the peer speaks TLS: try --tls")

// errResetUnanswered ends a plain connect that the peer reset before
// sending a byte, as TLS servers do to bytes that are no handshake
// (OpenSSL's s_server): the bare "closed" would not say what to try.
var errResetUnanswered = errors.New("the peer reset the connection without answering (if it speaks TLS: try --tls)")

// errClosedUnanswered ends a plain connect whose peer closed without
// sending a byte or taking all of stdin: what a TLS server does to bytes
// that are no handshake when it closes before our end of stdin.
var errClosedUnanswered = errors.New("the peer closed without answering or taking all of stdin (if it speaks TLS: try --tls)")

// copyOut copies c to stdout. With detect, the peer's first bytes are
// looked at before they are written: a TLS record header is no answer to
// show (binary on a terminal), and the command ends with
// errPeerSpeaksTLS. Bytes that cannot start one are written at once, so a
// short prompt is not held back.
// It returns how many bytes the peer sent.
func copyOut(stdout io.Writer, c *engine.Conn, detect bool) (int64, error) {
	var head []byte
	if detect {
		buf := make([]byte, 32<<10)
		for {
			n, err := c.Read(buf)
			head = append(head, buf[:n]...)
			isTLS, more := engine.TLSRecordStart(head)
			if isTLS {
				return int64(len(head)), errPeerSpeaksTLS
			}
			if len(head) == 0 && errors.Is(err, engine.ErrClosed) && !c.Closed() {
				return 0, errResetUnanswered
			}
			if !more || err != nil {
				if len(head) > 0 {
					if _, werr := stdout.Write(head); werr != nil {
						return int64(len(head)), werr
					}
				}
				if err == io.EOF {
					return int64(len(head)), nil
				}
				if err != nil {
					return int64(len(head)), err
				}
				break
			}
		}
	}
	n, err := io.Copy(stdout, c)
	return int64(len(head)) + n, err
}

// bridge copies stdin to c and c to stdout. At the end of stdin it shuts
// down c's sending side and goes on until the peer closes. When the peer
// closes first, a terminal's session ends there; input from a pipe or file
// is still sent to the end, and the peer refusing it is an error, so that
// nothing is dropped silently. It returns nil when both sides ended
// cleanly.
func bridge(ctx context.Context, c *engine.Conn, stdin *os.File, stdout io.Writer) error {
	var in io.Reader
	if stdin != nil {
		in = stdin
	}
	return bridgeFrom(ctx, c, stdin, in, stdout, false)
}

// bridgeFrom is bridge sending in, what stdin gives (converted), rather
// than stdin itself; detect looks at the peer's first bytes (copyOut).
func bridgeFrom(ctx context.Context, c *engine.Conn, stdin *os.File, in io.Reader, stdout io.Writer, detect bool) error {
	defer c.Close()
	stopOnCancel := context.AfterFunc(ctx, func() { c.Close() })
	defer stopOnCancel()
	sendErr := make(chan error, 1)
	if stdin != nil {
		go func() {
			_, err := io.Copy(c, in)
			if err == nil {
				err = c.CloseWrite()
			}
			sendErr <- err
		}()
	}
	got, err := copyOut(stdout, c, detect)
	if err != nil {
		return err
	}
	if stdin == nil || term.IsTerminal(int(stdin.Fd())) {
		return nil
	}
	if err := <-sendErr; err != nil {
		if detect && got == 0 {
			return errClosedUnanswered
		}
		return fmt.Errorf("%w (the peer closed before taking all of stdin)", err)
	}
	return nil
}
