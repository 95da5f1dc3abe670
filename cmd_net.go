package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/wirelab/wirelab/engine"
)

// The nc-style commands: wirelab connect, wirelab listen and wirelab cert.

var netUsage = `usage:
  wirelab connect HOST PORT [--tls] [--udp] [--trace] [--crlf] [--timeout S]
                  [--insecure | --fingerprint sha256:HEX | --ca FILE] [--sni NAME]
  wirelab connect HOST:PORT ...     (also [::1]:PORT)
  wirelab connect unix:PATH [--tls ...] [--trace]
      stdin goes to the peer, what the peer sends to stdout; at the end of
      stdin the sending side is shut down and output goes on until the peer
      closes. With --udp every chunk of stdin is a datagram, and the command
      ends 1 s after stdin without a new datagram. --crlf sends each line
      end of stdin as "\r\n". --timeout S limits the whole connect, TLS
      handshake included (default: 30 s to connect, then ` + engine.DefaultHandshakeTimeout.String() + ` for the
      handshake).
  wirelab listen PORT [--host H] [--tls --cert FILE --key FILE] [--keep-open]
                 [--exec CMD] [--udp] [--trace]
  wirelab listen HOST PORT [...]    (also HOST:PORT, [::1]:PORT)
  wirelab listen unix:PATH [...]
      binds 127.0.0.1 unless HOST or --host says otherwise, and serves one
      connection (--keep-open: any number, stdin going to all of them).
      --exec runs "sh -c CMD" per connection with its stdin and stdout on
      the socket.
  wirelab cert DIR [--host NAME] [--force]
      writes a self-signed cert.pem and key.pem (ECDSA P-256) for NAME,
      localhost, 127.0.0.1 and ::1, and prints the sha256 fingerprint
`

// netCommand runs connect, listen or cert (args[0]); -h or --help among
// the arguments prints their usage.
func netCommand(args []string, stdout, stderr io.Writer) int {
	if slices.Contains(args[1:], "-h") || slices.Contains(args[1:], "--help") {
		fmt.Fprint(stdout, netUsage)
		return 0
	}
	switch args[0] {
	case "connect":
		return cmdConnect(args[1:], os.Stdin, stdout, stderr)
	case "listen":
		return cmdListen(args[1:], os.Stdin, stdout, stderr)
	default:
		return cmdCert(args[1:], stdout, stderr)
	}
}

// netFlags are the options of connect and listen.
type netFlags struct {
	args                 []string // positional
	tls, udp, trace      bool
	insecure, keepOpen   bool
	force, crlf          bool
	fingerprint, ca, sni string
	cert, key, host      string
	exec, timeout        string
}

// parseNetFlags reads flags anywhere among the arguments; allowed lists
// the flags the command takes.
func parseNetFlags(args []string, allowed ...string) (*netFlags, error) {
	f := &netFlags{}
	bools := map[string]*bool{"tls": &f.tls, "udp": &f.udp, "trace": &f.trace, "insecure": &f.insecure, "keep-open": &f.keepOpen, "force": &f.force, "crlf": &f.crlf}
	strs := map[string]*string{"fingerprint": &f.fingerprint, "ca": &f.ca, "sni": &f.sni, "cert": &f.cert, "key": &f.key, "host": &f.host, "exec": &f.exec, "timeout": &f.timeout}
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			f.args = append(f.args, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			f.args = append(f.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !ok[name] {
			return nil, fmt.Errorf("unknown flag %s", a)
		}
		if b, isBool := bools[name]; isBool {
			if hasVal {
				return nil, fmt.Errorf("flag --%s takes no value", name)
			}
			*b = true
			continue
		}
		if !hasVal {
			if i+1 >= len(args) {
				return nil, fmt.Errorf("flag --%s needs a value", name)
			}
			i++
			val = args[i]
		}
		*strs[name] = val
	}
	return f, nil
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

// parseSeconds reads the value of a flag in seconds, "1" or "0.5".
func parseSeconds(flag, s string) (time.Duration, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) || v > 1e6 {
		return 0, fmt.Errorf("bad %s %q: seconds above 0 expected", flag, s)
	}
	return time.Duration(v * float64(time.Second)), nil
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
	fmt.Fprintf(stderr, "wirelab: %v\n", err)
	return 1
}

func cmdCert(args []string, stdout, stderr io.Writer) int {
	f, err := parseNetFlags(args, "host", "force")
	if err != nil || len(f.args) != 1 {
		if err != nil {
			fmt.Fprintf(stderr, "wirelab: %v\n", err)
		}
		fmt.Fprint(stderr, netUsage)
		return 2
	}
	dir := f.args[0]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	fp, err := engine.WriteCert(dir, f.host, f.force)
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "wrote %s/cert.pem and %s/key.pem\n", dir, dir)
	fmt.Fprintln(stdout, fp)
	return 0
}

// connectTimeout is how long connect waits for the TCP connection
// without --timeout; a TLS handshake then gets
// engine.DefaultHandshakeTimeout.
const connectTimeout = 30 * time.Second

// dialLimits returns the limits of connect's TCP connect and of its TLS
// handshake (see engine.DialTLS): without --timeout, connectTimeout and
// engine.DefaultHandshakeTimeout; with it, its value for the whole, the
// handshake getting what the TCP connect left (0).
func dialLimits(f *netFlags) (timeout, handshake time.Duration, err error) {
	if f.timeout == "" {
		return connectTimeout, engine.DefaultHandshakeTimeout, nil
	}
	timeout, err = parseSeconds("--timeout", f.timeout)
	return timeout, 0, err
}

func cmdConnect(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	f, err := parseNetFlags(args, "tls", "udp", "trace", "insecure", "fingerprint", "ca", "sni", "crlf", "timeout")
	var host string
	var port int
	if err == nil {
		host, port, err = hostPort(f.args)
	}
	var timeout, handshake time.Duration
	if err == nil {
		timeout, handshake, err = dialLimits(f)
	}
	if err == nil && f.udp && (f.tls || f.timeout != "" || strings.HasPrefix(host, engine.UnixPrefix)) {
		err = errors.New("--udp goes with none of --tls, --timeout and unix:")
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
	var in io.Reader = stdin
	if f.crlf {
		in = &crlfReader{r: stdin}
	}
	if f.udp {
		return connectUDP(ctx, host, port, f.trace, in, stdout, stderr)
	}
	var o *engine.TLSOptions
	if f.tls {
		o = &engine.TLSOptions{Insecure: f.insecure, Fingerprint: f.fingerprint, CAFile: f.ca, ServerName: f.sni, HandshakeTimeout: handshake}
	}
	c, err := engine.DialAny(ctx, host, port, timeout, o)
	if err != nil {
		return netFail(ctx, stderr, cliError(err))
	}
	if f.trace {
		c.SetTracer(engine.NewTracer(stderr))
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
		why = "--ca: " + opt.Err.Error()
	default:
		return err
	}
	if op.Addr != "" {
		return fmt.Errorf("%s %s: %s", op.Op, op.Addr, why)
	}
	return fmt.Errorf("%s: %s", op.Op, why)
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

// connectUDP sends each chunk of stdin as a datagram and prints the
// datagrams that come back, until 1 s after stdin ends.
func connectUDP(ctx context.Context, host string, port int, trace bool, stdin io.Reader, stdout, stderr io.Writer) int {
	var d net.Dialer
	pc, err := d.DialContext(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer pc.Close()
	var tr *engine.Tracer
	if trace {
		tr = engine.NewTracer(stderr)
	}
	context.AfterFunc(ctx, func() { pc.Close() })
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		buf := make([]byte, engine.MaxDatagram)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if _, err := pc.Write(buf[:n]); err != nil {
					fmt.Fprintf(stderr, "wirelab: %v\n", err)
					return
				}
				if tr != nil {
					tr.Dump(true, pc.RemoteAddr(), buf[:n])
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
				tr.Dump(false, pc.RemoteAddr(), buf[:n])
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

// isLoopback reports whether host binds only the loopback interface.
func isLoopback(host string) bool {
	if strings.HasPrefix(host, engine.UnixPrefix) || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func cmdListen(args []string, stdin *os.File, stdout, stderr io.Writer) int {
	f, err := parseNetFlags(args, "host", "tls", "cert", "key", "keep-open", "exec", "udp", "trace")
	host, port := "127.0.0.1", 0
	if err == nil {
		// PORT alone, or an address as connect takes it (ncat -l takes
		// both too); --host is the older way to give HOST.
		var named string
		switch {
		case len(f.args) == 1 && !strings.ContainsAny(f.args[0], ":[]"):
			port, err = parsePort(f.args[0])
		case len(f.args) == 1 || len(f.args) == 2:
			named, port, err = hostPort(f.args)
			if err == nil && f.host != "" && f.host != named {
				err = fmt.Errorf("two hosts: %s and --host %s", named, f.host)
			}
		default:
			err = errors.New("PORT, HOST PORT or HOST:PORT expected")
		}
		switch {
		case named != "":
			host = named
		case f.host != "":
			host = f.host
		}
	}
	if err == nil && (f.tls != (f.cert != "" || f.key != "") || f.tls && (f.cert == "" || f.key == "")) {
		err = errors.New("--tls needs --cert FILE and --key FILE (wirelab cert DIR makes a pair)")
	}
	if err == nil && f.udp && (f.tls || f.exec != "" || f.keepOpen || strings.HasPrefix(host, engine.UnixPrefix)) {
		err = errors.New("--udp goes with none of --tls, --exec, --keep-open and unix:")
	}
	if err != nil {
		fmt.Fprintf(stderr, "wirelab: %v\n%s", err, netUsage)
		return 2
	}
	ctx, stop := signalContext()
	defer stop()
	if f.exec != "" && !isLoopback(host) {
		fmt.Fprintf(stderr, "wirelab: warning: --exec on %s runs %q for anyone who can reach it\n", host, f.exec)
	}
	if f.udp {
		return listenUDP(ctx, host, port, f.trace, stdin, stdout, stderr)
	}
	var ln *engine.Listener
	if f.tls {
		var cfg *tls.Config
		cfg, err = engine.ServerConfig(f.cert, f.key)
		if err == nil {
			ln, err = engine.ListenTLS(ctx, host, port, 0, cfg)
		}
	} else {
		ln, err = engine.Listen(ctx, host, port, 0)
	}
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer ln.Close()
	fmt.Fprintf(stderr, "listening on %s\n", ln.Addr())
	var tr *engine.Tracer
	if f.trace {
		tr = engine.NewTracer(stderr)
	}
	accept := func() (*engine.Conn, error) {
		c, err := ln.Accept(ctx)
		if err == nil && tr != nil {
			c.SetTracer(tr)
		}
		return c, err
	}
	if !f.keepOpen {
		c, err := accept()
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		ln.Close()
		if f.exec != "" {
			err = execOn(ctx, c, f.exec, stderr)
		} else {
			err = bridge(ctx, c, stdin, stdout)
		}
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		return 0
	}
	// --keep-open: every connection served at once; without --exec what
	// they send goes to stdout and stdin goes to all of them.
	var mu sync.Mutex
	live := map[*engine.Conn]bool{}
	if f.exec == "" {
		go broadcast(stdin, &mu, live)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := accept()
		if err != nil {
			if ctx.Err() != nil {
				return 130
			}
			fmt.Fprintf(stderr, "wirelab: %v\n", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if f.exec != "" {
				if err := execOn(ctx, c, f.exec, stderr); err != nil && ctx.Err() == nil {
					fmt.Fprintf(stderr, "wirelab: %s: %v\n", c.RemoteAddr(), err)
				}
				return
			}
			mu.Lock()
			live[c] = true
			mu.Unlock()
			buf := make([]byte, 32<<10)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					mu.Lock()
					stdout.Write(buf[:n])
					mu.Unlock()
				}
				if err != nil {
					break
				}
			}
			mu.Lock()
			delete(live, c)
			mu.Unlock()
		}()
	}
}

// broadcast sends what stdin gives to every live connection.
func broadcast(stdin io.Reader, mu *sync.Mutex, live map[*engine.Conn]bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := stdin.Read(buf)
		if n > 0 {
			mu.Lock()
			for c := range live {
				c.SetTimeout(5 * time.Second) // one stalled client does not stop the rest for long
				c.Write(buf[:n])
			}
			mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// execOn runs "sh -c cmd" with its stdin and stdout on c, as ncat --exec
// does; its stderr is wirelab's. The command leads its own process group,
// which is killed when it exits or wirelab is interrupted.
func execOn(ctx context.Context, c *engine.Conn, cmd string, stderr io.Writer) error {
	defer c.Close()
	p := exec.CommandContext(ctx, "/bin/sh", "-c", cmd)
	// stdin through a pipe of our own: exec's copy from the socket would
	// hold Wait until the peer sends or closes.
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	defer pw.Close()
	p.Stdin, p.Stdout, p.Stderr = pr, c, stderr
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.Cancel = func() error { return syscall.Kill(-p.Process.Pid, syscall.SIGKILL) }
	// A background child that keeps stdout open does not hold the
	// connection for long once the command is gone.
	p.WaitDelay = 200 * time.Millisecond
	err = p.Start()
	pr.Close()
	if err != nil {
		return err
	}
	go func() {
		io.Copy(pw, c)
		pw.Close() // the peer's end of stream is the command's
	}()
	err = p.Wait()
	pw.Close()
	syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
	// Half-close and drain what the peer still sends, briefly: closing
	// with unread bytes would reset the connection and could lose the
	// command's last output on the way.
	c.CloseWrite()
	c.SetTimeout(time.Second)
	io.Copy(io.Discard, c)
	var exit *exec.ExitError
	if errors.As(err, &exit) || errors.Is(err, exec.ErrWaitDelay) {
		return nil // the command's own status is the command's business
	}
	return err
}

// listenUDP prints the datagrams that arrive and sends each chunk of
// stdin to the latest sender.
func listenUDP(ctx context.Context, host string, port int, trace bool, stdin io.Reader, stdout, stderr io.Writer) int {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return netFail(ctx, stderr, err)
	}
	defer pc.Close()
	context.AfterFunc(ctx, func() { pc.Close() })
	fmt.Fprintf(stderr, "listening on %s\n", pc.LocalAddr())
	var tr *engine.Tracer
	if trace {
		tr = engine.NewTracer(stderr)
	}
	var mu sync.Mutex
	var last net.Addr
	go func() {
		buf := make([]byte, engine.MaxDatagram)
		for {
			n, err := stdin.Read(buf)
			mu.Lock()
			to := last
			mu.Unlock()
			if n > 0 && to != nil {
				pc.WriteTo(buf[:n], to)
				if tr != nil {
					tr.Dump(true, to, buf[:n])
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return netFail(ctx, stderr, err)
		}
		mu.Lock()
		last = from
		mu.Unlock()
		if tr != nil {
			tr.Dump(false, from, buf[:n])
		}
		stdout.Write(buf[:n])
	}
}
