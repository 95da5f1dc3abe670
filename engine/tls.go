package engine

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wirelab/wirelab/internal/errtext"
)

// TLSOptions configure the client side of a TLS connection.
type TLSOptions struct {
	// Insecure turns verification off: any certificate is accepted.
	Insecure bool
	// ServerName is the name sent in SNI and checked against the
	// certificate; default the host dialled.
	ServerName string
	// CAFile is a PEM file of the certificates to trust instead of the
	// system's roots.
	CAFile string
	// Fingerprint pins the peer's certificate by the SHA-256 of its DER
	// bytes ("sha256:hex", hex with or without colons): that certificate
	// is accepted and no other, whoever signed it.
	Fingerprint string
	// HandshakeTimeout limits the handshake alone (see DialTLS); 0: the
	// rest of the connect's timeout, or DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// KeyLog is a file to append the session's secrets to, in the NSS key
	// log format that Wireshark, curl and browsers use; the SSLKEYLOGFILE
	// variable names one too.
	KeyLog string
	// Trace, when set, traces the connection from its handshake on: with
	// a capture, the handshake's records and the secrets to decrypt them
	// go into the capture file.
	Trace *Tracer
}

// ErrUntrusted means the peer's certificate did not verify.
var ErrUntrusted = errors.New("certificate not trusted")

// ErrFingerprint means the peer's certificate is not the pinned one.
var ErrFingerprint = errors.New("certificate fingerprint mismatch")

// Fingerprint returns the "sha256:hex" fingerprint of a DER certificate.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ParseFingerprint reads a SHA-256 fingerprint given as "sha256:hex" or
// bare hex, with or without colons between the bytes, in either case.
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.TrimSpace(s)
	if i := strings.IndexByte(h, ':'); i >= 0 && strings.EqualFold(h[:i], "sha256") {
		h = h[i+1:]
	} else if strings.Contains(h, "/") || (i >= 0 && i != 2) {
		return nil, fmt.Errorf("bad fingerprint %q: sha256:HEX expected", s)
	}
	h = strings.ReplaceAll(h, ":", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("bad fingerprint %q: 64 hex digits of SHA-256 expected", s)
	}
	return b, nil
}

// ClientConfig returns the tls.Config that o describes for dialling host.
func (o TLSOptions) ClientConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: o.ServerName, MinVersion: tls.VersionTLS12}
	if cfg.ServerName == "" && !strings.HasPrefix(host, "unix:") {
		cfg.ServerName = host
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, &OptionError{Option: "ca", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &OptionError{Option: "ca", Err: fmt.Errorf("no PEM certificate in %s", o.CAFile)}
		}
		cfg.RootCAs = pool
	}
	switch {
	case o.Fingerprint != "":
		want, err := ParseFingerprint(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pin replaces the chain check; the handshake still proves
		// that the peer holds the pinned certificate's key.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrFingerprint
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if string(got[:]) != string(want) {
				return fmt.Errorf("%w: the peer's is %s, the pinned one sha256:%s", ErrFingerprint,
					Fingerprint(cs.PeerCertificates[0].Raw), hex.EncodeToString(want))
			}
			return nil
		}
	case o.Insecure:
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// ServerConfig loads a PEM certificate (chain) and key for a TLS server.
func ServerConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// DefaultHandshakeTimeout is how long a client's TLS handshake may take
// when nothing else limits it: a peer that accepts and never answers (a
// plain-text server waiting for its client to speak) fails within it
// rather than hanging.
const DefaultHandshakeTimeout = 10 * time.Second

// handshakeLimit is how long DialTLS gives the handshake: o's own limit,
// else none of its own (0) when the connect has a timeout, whose rest
// then bounds it, else DefaultHandshakeTimeout.
func handshakeLimit(timeout time.Duration, o TLSOptions) time.Duration {
	switch {
	case o.HandshakeTimeout > 0:
		return o.HandshakeTimeout
	case timeout > 0:
		return 0
	}
	return DefaultHandshakeTimeout
}

// DialTLS connects to host:port (or a Unix socket, host "unix:PATH") and
// makes the TLS handshake, both within timeout (0: no limit of ours);
// the handshake also within o.HandshakeTimeout, or when neither is set
// within DefaultHandshakeTimeout (a *HandshakeTimeoutError names the
// limit). Cancelling ctx interrupts either. A certificate that does not
// verify fails with an *UntrustedError (ErrUntrusted), naming the peer's
// fingerprint; a pin that does not match, with ErrFingerprint; a peer
// that answers in plain text, with a *NotTLSError quoting what it sent.
func DialTLS(ctx context.Context, host string, port int, timeout time.Duration, o TLSOptions) (*Conn, error) {
	addr := DialAddr(host, port)
	cfg, err := o.ClientConfig(host)
	if err != nil {
		return nil, &OpError{Op: "connect", Addr: addr, Err: err}
	}
	dctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := dialNet(dctx, host, port, 0)
	if err != nil {
		return nil, dialError(ctx, addr, err)
	}
	hctx, limit := dctx, handshakeLimit(timeout, o)
	if limit > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(dctx, limit)
		defer cancel()
	}
	tap := &tlsTap{Conn: nc}
	sinks, err := keyLogSinks(o.KeyLog)
	if err != nil {
		nc.Close()
		return nil, &OpError{Op: "connect", Addr: addr, Err: err}
	}
	var stream CaptureStream
	var secrets secretsSink
	if o.Trace != nil && o.Trace.capture != nil {
		if l, r := addrPort(nc.LocalAddr()), addrPort(nc.RemoteAddr()); l.IsValid() && r.IsValid() {
			stream = o.Trace.capture.Stream(l, r, true)
			secrets, _ = o.Trace.capture.(secretsSink)
			stream.Hold()
			tap.stream.Store(&tapStream{s: stream, secrets: secrets})
		}
	}
	rec := &firstBytes{Conn: tap}
	tc := tls.Client(rec, withKeyLog(cfg, sinks, secrets))
	err = tc.HandshakeContext(hctx)
	if stream != nil {
		stream.Release()
	}
	if err != nil {
		if stream != nil {
			stream.Close()
		}
		nc.Close()
		if ctx.Err() == nil && hctx.Err() != nil {
			if limit == 0 || dctx.Err() != nil && timeout < limit {
				limit = timeout
			}
			return nil, &OpError{Op: "connect", Addr: addr, Err: &HandshakeTimeoutError{Limit: limit}}
		}
		if got := rec.bytes(); len(got) > 0 {
			if isTLS, more := TLSRecordStart(got); !isTLS && !more {
				return nil, &OpError{Op: "connect", Addr: addr, Err: &NotTLSError{Got: got}}
			}
		}
		e := handshakeError(ctx, err).(*OpError)
		e.Addr = addr
		return nil, e
	}
	c := NewConn(tc)
	c.nc.tap = tap
	if o.Trace != nil {
		c.SetTracer(o.Trace)
	}
	return c, nil
}

// HandshakeTimeoutError is the reason of a connect whose TLS handshake did
// not finish within Limit. It wraps ErrTimeout.
type HandshakeTimeoutError struct{ Limit time.Duration }

// Error implements error: "timeout (no TLS handshake within 10s: does the
// peer speak TLS?)".
func (e *HandshakeTimeoutError) Error() string {
	return fmt.Sprintf("%v (no TLS handshake within %v: does the peer speak TLS?)", ErrTimeout, e.Limit)
}

// Unwrap returns ErrTimeout.
func (e *HandshakeTimeoutError) Unwrap() error { return ErrTimeout }

// NotTLSError is the reason of a TLS connect whose peer answered with
// bytes that are no TLS record: a plain-text server (an HTTP server's
// "400 Bad Request", an SMTP banner).
type NotTLSError struct {
	Got []byte // the first bytes the peer sent, as many as the handshake read
}

// Error implements error: `the peer answered in plain text ("HTTP/1.1 400
// Bad Request\r\n..."): connect without tls`.
func (e *NotTLSError) Error() string {
	return "the peer answered in plain text (" + e.Quoted() + "): connect without tls"
}

// Quoted returns the peer's first bytes as a Go string literal, escaped,
// cut after 40 bytes with "..." inside the quotes.
func (e *NotTLSError) Quoted() string {
	const keep = 40
	if len(e.Got) <= keep {
		return strconv.Quote(string(e.Got))
	}
	q := strconv.Quote(string(e.Got[:keep]))
	return q[:len(q)-1] + `..."`
}

// TLSRecordStart reports whether b, the first bytes a peer sent, begins
// as a TLS record does: a content type from change_cipher_spec to
// application_data (0x14-0x17), then version 3.0 to 3.4 (0x03 0x00-0x04).
// more is true when b is too short to tell yet but fits so far.
func TLSRecordStart(b []byte) (isTLS, more bool) {
	if len(b) >= 1 && (b[0] < 0x14 || b[0] > 0x17) {
		return false, false
	}
	if len(b) >= 2 && b[1] != 0x03 {
		return false, false
	}
	if len(b) >= 3 {
		return b[2] <= 0x04, false
	}
	return false, true
}

// firstBytes keeps a copy of the first bytes read through it, so that a
// failed handshake can say what the peer sent instead.
type firstBytes struct {
	net.Conn
	mu  sync.Mutex
	got []byte
}

// Read implements io.Reader, keeping up to 64 bytes of what it reads.
func (f *firstBytes) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	f.mu.Lock()
	if k := min(n, 64-len(f.got)); k > 0 {
		f.got = append(f.got, p[:k]...)
	}
	f.mu.Unlock()
	return n, err
}

// CloseWrite shuts down the sending side of the connection beneath.
func (f *firstBytes) CloseWrite() error { return closeWrite(f.Conn) }

func (f *firstBytes) bytes() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]byte(nil), f.got...)
}

// UntrustedError is the reason of a TLS connect whose peer's certificate
// did not verify. It wraps ErrUntrusted; its text says how to trust the
// certificate in a script's tls options.
type UntrustedError struct {
	Reason      error  // why verification failed (x509's error)
	Fingerprint string // the peer certificate's "sha256:hex"; "" without one
}

// Error implements error.
func (e *UntrustedError) Error() string {
	return fmt.Sprintf("%v: %v; give its CA with ca=FILE, or pin it with fingerprint=%q", ErrUntrusted, e.Reason, e.Fingerprint)
}

// Unwrap returns ErrUntrusted.
func (e *UntrustedError) Unwrap() error { return ErrUntrusted }

// OptionError is a bad TLS option: Option is its name in a script's tls
// table ("ca"), so that a caller with other names for its options (the
// command line's --ca) can say which it means.
type OptionError struct {
	Option string
	Err    error
}

// Error implements error: "ca: open x.pem: no such file or directory".
func (e *OptionError) Error() string { return e.Option + ": " + errtext.Rewrite(e.Err) }

// Unwrap returns the reason.
func (e *OptionError) Unwrap() error { return e.Err }

// handshakeError explains a failed client handshake.
func handshakeError(ctx context.Context, err error) error {
	var ve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, ErrFingerprint):
		var e error = ErrFingerprint
		if i := strings.Index(err.Error(), ErrFingerprint.Error()); i >= 0 {
			e = fmt.Errorf("%w%s", ErrFingerprint, err.Error()[i+len(ErrFingerprint.Error()):])
		}
		return &OpError{Op: "connect", Err: e}
	case errors.As(err, &ve):
		fp := ""
		if len(ve.UnverifiedCertificates) > 0 {
			fp = Fingerprint(ve.UnverifiedCertificates[0].Raw)
		}
		return &OpError{Op: "connect", Err: &UntrustedError{Reason: ve.Err, Fingerprint: fp}}
	}
	return classify(ctx, "connect", err)
}

// plainAlert is the TLS record a server sends to a client whose first
// bytes are no TLS handshake: a fatal protocol_version alert, as OpenSSL
// servers of old sent. Go's server closes without a word, which leaves a
// plain-text client (nc, wirelab connect without --tls) with an empty
// answer it cannot tell from a quiet server's.
var plainAlert = []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 70}

// alertPlain is a server connection's transport under TLS: at the first
// bytes read, if they cannot start a ClientHello, it sends plainAlert
// before the handshake fails, so that the client learns it met TLS.
type alertPlain struct {
	net.Conn
	checked bool // only the handshake's goroutine reads before it ends
}

// Read implements io.Reader.
func (a *alertPlain) Read(p []byte) (int, error) {
	n, err := a.Conn.Read(p)
	if !a.checked && n > 0 {
		a.checked = true
		// 0x16: a handshake record; 0x80: an SSLv2 hello, which Go's
		// server answers with an alert of its own.
		if p[0] != 0x16 && p[0] != 0x80 {
			a.Conn.Write(plainAlert)
		}
	}
	return n, err
}

// CloseWrite shuts down the sending side of the connection beneath.
func (a *alertPlain) CloseWrite() error { return closeWrite(a.Conn) }

// TLSState describes a connection's TLS session.
type TLSState struct {
	Version     string // "TLS 1.3"
	Cipher      string // "TLS_AES_128_GCM_SHA256"
	Fingerprint string // the peer certificate's "sha256:hex", "" without one
	ServerName  string // the SNI name asked for
	ALPN        string // the negotiated protocol, if any
}

// TLS returns c's TLS session, completing the handshake if it has not
// happened yet (a server's connection shakes hands at its first read or
// write); ok is false when c is not a TLS connection.
func (c *Conn) TLS(ctx context.Context) (st TLSState, ok bool, err error) {
	tc, isTLS := c.nc.Conn.(*tls.Conn)
	if !isTLS {
		return st, false, nil
	}
	if !tc.ConnectionState().HandshakeComplete {
		err = c.read(ctx, "tls", func() error { return tc.HandshakeContext(ctx) })
		if err != nil {
			return st, true, err
		}
	}
	cs := tc.ConnectionState()
	st = TLSState{Version: tls.VersionName(cs.Version), Cipher: tls.CipherSuiteName(cs.CipherSuite),
		ServerName: cs.ServerName, ALPN: cs.NegotiatedProtocol}
	if len(cs.PeerCertificates) > 0 {
		st.Fingerprint = Fingerprint(cs.PeerCertificates[0].Raw)
	}
	return st, true, nil
}

// closeTLSWrite sends close_notify, after the handshake if it has not
// happened, and then shuts down the TCP side.
func closeTLSWrite(tc *tls.Conn) error {
	if !tc.ConnectionState().HandshakeComplete {
		if err := tc.Handshake(); err != nil {
			return err
		}
	}
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	return closeWrite(tc.NetConn())
}

// WriteCert writes a self-signed ECDSA P-256 certificate and its key to
// dir/cert.pem and dir/key.pem (mode 0600), valid for a year for host (if
// not empty), localhost, 127.0.0.1 and ::1. Existing files are kept and
// reported unless force is set. It returns the certificate's fingerprint.
func WriteCert(dir, host string, force bool) (string, error) {
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if !force {
		for _, p := range []string{certPath, keyPath} {
			if _, err := os.Lstat(p); err == nil {
				return "", fmt.Errorf("%s exists (--force replaces it)", p)
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return "", err
	}
	cn := host
	if cn == "" {
		cn = "localhost"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"wirelab self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(1, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if host != "" && host != "localhost" {
		tmpl.DNSNames = append([]string{host}, tmpl.DNSNames...)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	write := func(path string, mode os.FileMode, block *pem.Block) error {
		f, err := os.OpenFile(path, flags, mode)
		if err != nil {
			return err
		}
		if err := f.Chmod(mode); err != nil {
			f.Close()
			return err
		}
		if err := pem.Encode(f, block); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(keyPath, 0o600, &pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}); err != nil {
		return "", err
	}
	if err := write(certPath, 0o644, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return "", err
	}
	return Fingerprint(der), nil
}
