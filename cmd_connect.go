package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/errtext"
)

// wirelab connect: stdin to a peer, the peer to stdout, as nc does.

// connectTimeout is how long connect waits for the TCP connection
// without --timeout; a TLS handshake then gets
// engine.DefaultHandshakeTimeout.
const connectTimeout = 30 * time.Second

// dialLimits returns the limits of connect's TCP connect and of its TLS
// handshake (see engine.DialTLS): without --timeout (""), connectTimeout
// and engine.DefaultHandshakeTimeout; with it, its value for the whole,
// the handshake getting what the TCP connect left (0).
func dialLimits(timeout string) (whole, handshake time.Duration, err error) {
	if timeout == "" {
		return connectTimeout, engine.DefaultHandshakeTimeout, nil
	}
	v, err := strconv.ParseFloat(timeout, 64)
	if err != nil || !(v > 0) || v > 1e6 {
		return 0, 0, fmt.Errorf("bad --timeout %q: seconds above 0 expected", timeout)
	}
	return time.Duration(v * float64(time.Second)), 0, nil
}

// connectFlags are connect's options.
type connectFlags struct {
	tls, udp, insecure, crlf      bool
	fingerprint, ca, sni, timeout string
	traceOptions
}

func cmdConnect(args []string, stdin *os.File, stdout, stderr io.Writer) (code int) {
	var f connectFlags
	fs := newFlags("connect")
	fs.BoolVar(&f.tls, "tls", false, "speak TLS")
	fs.BoolVar(&f.udp, "udp", false, "send datagrams")
	f.traceOptions.add(fs)
	fs.BoolVar(&f.insecure, "insecure", false, "do not verify the certificate")
	fs.BoolVar(&f.crlf, "crlf", false, "send line ends as \\r\\n")
	fs.StringVar(&f.fingerprint, "fingerprint", "", "pin the certificate: sha256:HEX")
	fs.StringVar(&f.ca, "ca", "", "verify with this CA file")
	fs.StringVar(&f.sni, "sni", "", "the server name to ask for")
	fs.StringVar(&f.timeout, "timeout", "", "limit the whole connect, in seconds")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, netUsage)
		return 0
	}
	var host string
	var port int
	if err == nil {
		host, port, err = hostPort(pos)
	}
	var timeout, handshake time.Duration
	if err == nil {
		timeout, handshake, err = dialLimits(f.timeout)
	}
	if err == nil && f.udp && (f.tls || f.timeout != "" || strings.HasPrefix(host, engine.UnixPrefix)) {
		err = errors.New("--udp goes with none of --tls, --timeout and a unix:PATH address")
	}
	if err == nil && !f.tls && (f.insecure || f.fingerprint != "" || f.ca != "" || f.sni != "") {
		err = errors.New("--insecure, --fingerprint, --ca and --sni need --tls")
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n%s", err, netUsage)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	tr, endCapture, err := f.tracer(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	defer endCapture(&code)
	var in io.Reader = stdin
	if f.crlf {
		in = &crlfReader{r: stdin}
	}
	if f.udp {
		return connectUDP(ctx, host, port, tr, in, stdout, stderr)
	}
	if f.insecure {
		fmt.Fprintf(stderr, "wirelab: warning: --insecure: the certificate of %s is not checked, so anyone on the way can pose as the server\n", engine.DialAddr(host, port))
	}
	var o *engine.TLSOptions
	if f.tls {
		o = &engine.TLSOptions{Insecure: f.insecure, Fingerprint: f.fingerprint, CAFile: f.ca, ServerName: f.sni, HandshakeTimeout: handshake, Trace: tr}
	}
	c, err := engine.DialAny(ctx, host, port, timeout, o)
	if err != nil {
		return netFail(ctx, stderr, cliError(err))
	}
	if tr != nil {
		c.SetTracer(tr)
	}
	err = bridgeFrom(ctx, c, stdin, in, stdout, !f.tls)
	if errors.Is(err, errPeerSpeaksTLS) || errors.Is(err, errResetUnanswered) || errors.Is(err, errClosedUnanswered) {
		err = fmt.Errorf("%s: %w", net.JoinHostPort(host, strconv.Itoa(port)), err)
	}
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	return 0
}

// cliError rephrases the engine's connect errors for the command line,
// whose options are flags: --ca FILE rather than a script's ca=FILE.
func cliError(err error) error {
	var op *engine.OpError
	if !errors.As(err, &op) {
		return err
	}
	var untrusted *engine.UntrustedError
	var plain *engine.NotTLSError
	var opt *engine.OptionError
	var why string
	switch {
	case errors.As(err, &untrusted):
		why = fmt.Sprintf("%v: %v; give its CA with --ca FILE, pin it with --fingerprint %s, or skip the check with --insecure",
			engine.ErrUntrusted, untrusted.Reason, untrusted.Fingerprint)
	case errors.As(err, &plain):
		why = "the peer answered in plain text (" + plain.Quoted() + "): drop --tls"
	case errors.As(err, &opt) && opt.Option == "ca":
		why = "--ca: " + errtext.Rewrite(opt.Err)
	default:
		return err
	}
	if op.Addr != "" {
		return fmt.Errorf("%s %s: %s", op.Op, op.Addr, why)
	}
	return fmt.Errorf("%s: %s", op.Op, why)
}

// crlfReader turns every "\n" of r that does not follow a "\r" into
// "\r\n", as ncat -C does, across reads.
type crlfReader struct {
	r    io.Reader
	conv engine.CRLF
	buf  []byte // read from r, not yet returned
	out  []byte // converted, not yet returned
}

// Read implements io.Reader.
func (c *crlfReader) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		if cap(c.buf) == 0 {
			c.buf = make([]byte, 16<<10)
		}
		n, err := c.r.Read(c.buf[:cap(c.buf)])
		c.out = c.conv.Append(c.out[:0], c.buf[:n])
		if len(c.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// connectUDP sends each chunk of stdin as a datagram and prints the
// datagrams that come back, until 1 s after stdin ends.
func connectUDP(ctx context.Context, host string, port int, tr *engine.Tracer, stdin io.Reader, stdout, stderr io.Writer) int {
	var d net.Dialer
	pc, err := d.DialContext(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer pc.Close()
	context.AfterFunc(ctx, func() { pc.Close() })
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		buf := make([]byte, engine.MaxDatagram)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if tr != nil {
					tr.Datagram(true, pc.LocalAddr(), pc.RemoteAddr(), buf[:n])
				}
				if _, err := pc.Write(buf[:n]); err != nil {
					fmt.Fprintf(stderr, "wirelab: %v\n", err)
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		// Wake the read below when stdin ends and no datagram comes.
		<-eof
		pc.SetReadDeadline(time.Now().Add(time.Second))
	}()
	buf := make([]byte, 65536)
	for {
		select {
		case <-eof:
			// 1 s more after every datagram once stdin has ended.
			pc.SetReadDeadline(time.Now().Add(time.Second))
		default:
		}
		n, err := pc.Read(buf)
		if n > 0 {
			if tr != nil {
				tr.Datagram(false, pc.LocalAddr(), pc.RemoteAddr(), buf[:n])
			}
			stdout.Write(buf[:n])
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return 0
			}
			if errors.Is(err, syscall.ECONNREFUSED) {
				// An ICMP port unreachable for an earlier datagram.
				fmt.Fprintf(stderr, "wirelab: %s:%d: nothing listening (port unreachable)\n", host, port)
				return 1
			}
			return netFail(ctx, stderr, err)
		}
	}
}
