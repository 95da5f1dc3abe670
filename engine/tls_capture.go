package engine

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
)

// Capturing TLS connections.
//
// A capture file holds a TLS connection as it crossed the wire: its
// records, taken beneath TLS by a tlsTap on the TCP socket, while the
// dumps show the plaintext above. For Wireshark to decrypt them the
// session's secrets go into the file (a Decryption Secrets Block), from
// crypto/tls's KeyLogWriter, and must come before the records they open:
// crypto/tls gives a secret only once it has read the peer's flight, so
// the stream holds the peer's packets from the start of the handshake to
// its end (CaptureStream.Hold). A client's handshake is DialTLS's, whose
// options carry the trace; a server's happens at the connection's first
// read or write, after the accept loop set its trace, and ends the hold
// then. A connection traced after its handshake is captured from there
// on, without the secrets it can no longer give.

// A tlsTap is the TCP socket under a TLS connection, handing what crosses
// it to the connection's capture stream.
type tlsTap struct {
	net.Conn
	stream atomic.Pointer[tapStream]
}

// tapStream boxes a stream for an atomic pointer, with the capture that
// takes its connection's secrets.
type tapStream struct {
	s       CaptureStream
	secrets secretsSink // nil: none
}

// A secretsSink takes TLS key log lines (a FileCapture does).
type secretsSink interface{ AddSecrets(keylog []byte) }

func (t *tlsTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if ts := t.stream.Load(); ts != nil && n > 0 {
		ts.s.Received(p[:n])
	}
	return n, err
}

func (t *tlsTap) Write(p []byte) (int, error) {
	if ts := t.stream.Load(); ts != nil && len(p) > 0 {
		ts.s.Sent(p)
	}
	return t.Conn.Write(p)
}

// CloseWrite shuts down the sending side of the connection beneath.
func (t *tlsTap) CloseWrite() error { return closeWrite(t.Conn) }

// A keyLog is a KeyLogWriter: lines go to the capture and to the key log
// files asked for (tls = {keylog = PATH}, SSLKEYLOGFILE).
type keyLog struct {
	sinks []io.Writer
	cap   secretsSink
}

func (k *keyLog) Write(p []byte) (int, error) {
	if k.cap != nil {
		k.cap.AddSecrets(p)
	}
	for _, w := range k.sinks {
		w.Write(p)
	}
	return len(p), nil
}

// keyLogFiles are the NSS key log files open for appending, by path, for
// the whole process: many connections write to one, a line at a time
// under its lock.
var keyLogFiles struct {
	mu    sync.Mutex
	files map[string]*lockedFile
}

type lockedFile struct {
	mu sync.Mutex
	f  *os.File
}

func (l *lockedFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// KeyLogFile returns a writer appending TLS key log lines to the file at
// path, opened once for the whole process (mode 0600: the secrets decrypt
// the sessions); many connections may write to it.
func KeyLogFile(path string) (io.Writer, error) { return keyLogFile(path) }

// keyLogFile opens path, once, for key log lines.
func keyLogFile(path string) (io.Writer, error) {
	keyLogFiles.mu.Lock()
	defer keyLogFiles.mu.Unlock()
	if f, ok := keyLogFiles.files[path]; ok {
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if keyLogFiles.files == nil {
		keyLogFiles.files = map[string]*lockedFile{}
	}
	lf := &lockedFile{f: f}
	keyLogFiles.files[path] = lf
	return lf, nil
}

// keyLogSinks are the key log files for a connection: path (tls =
// {keylog = PATH}) and the SSLKEYLOGFILE variable's, as curl and browsers
// take it.
func keyLogSinks(path string) ([]io.Writer, error) {
	var sinks []io.Writer
	for _, p := range []string{path, os.Getenv("SSLKEYLOGFILE")} {
		if p == "" || len(sinks) == 1 && p == path {
			continue
		}
		w, err := keyLogFile(p)
		if err != nil {
			return nil, &OptionError{Option: "keylog", Err: err}
		}
		sinks = append(sinks, w)
	}
	return sinks, nil
}

// withKeyLog returns cfg, or a copy whose KeyLogWriter writes to sinks
// and cap, when there is any.
func withKeyLog(cfg *tls.Config, sinks []io.Writer, cap secretsSink) *tls.Config {
	if len(sinks) == 0 && cap == nil {
		return cfg
	}
	c := cfg.Clone()
	c.KeyLogWriter = &keyLog{sinks: sinks, cap: cap}
	return c
}

// serverKeyLog makes a server's config give each connection's secrets to
// that connection's capture and to the key log files: crypto/tls shares a
// server's KeyLogWriter among all its connections, so each handshake
// gets a copy of the config of its own.
//
// A KeyLogWriter the config has already gets the lines too.
func serverKeyLog(cfg *tls.Config) (*tls.Config, error) {
	sinks, err := keyLogSinks("")
	if err != nil {
		return nil, err
	}
	if cfg.KeyLogWriter != nil {
		sinks = append(sinks, cfg.KeyLogWriter)
	}
	c := cfg.Clone()
	next := cfg.GetConfigForClient
	c.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		base := cfg
		if next != nil {
			if b, err := next(hello); err != nil || b != nil {
				if err != nil {
					return nil, err
				}
				base = b
			}
		}
		var cap secretsSink
		if ap, ok := hello.Conn.(*alertPlain); ok {
			if tap, ok := ap.Conn.(*tlsTap); ok {
				if ts := tap.stream.Load(); ts != nil {
					cap = ts.secrets
				}
			}
		}
		if len(sinks) == 0 && cap == nil && base == cfg {
			return nil, nil
		}
		return withKeyLog(base, sinks, cap), nil
	}
	return c, nil
}

// startCapture begins the capture of w, a TLS connection over tap, in t's
// capture: the stream is fed from the tap, and holds the peer's packets
// until the handshake is over.
func (w *wire) startCapture(t *Tracer, local, remote net.Addr) CaptureStream {
	l, r := addrPort(local), addrPort(remote)
	if !l.IsValid() || !r.IsValid() {
		return nil
	}
	s := t.capture.Stream(l, r, !w.accepted)
	sink, _ := t.capture.(secretsSink)
	if tc, ok := w.Conn.(*tls.Conn); ok && !tc.ConnectionState().HandshakeComplete {
		s.Hold()
		w.holding.Store(true)
	}
	w.tap.stream.Store(&tapStream{s: s, secrets: sink})
	return s
}

// shaken ends the hold of a server connection's capture once its
// handshake is over, after each call on it.
func (w *wire) shaken() {
	if !w.holding.Load() {
		return
	}
	if tc, ok := w.Conn.(*tls.Conn); ok && tc.ConnectionState().HandshakeComplete && w.holding.Swap(false) {
		if ts := w.tap.stream.Load(); ts != nil {
			ts.s.Release()
		}
	}
}
