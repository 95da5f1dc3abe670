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
	"strings"
	"time"
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
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca: no PEM certificate in %s", o.CAFile)
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

// DialTLS connects to host:port (or a Unix socket, host "unix:PATH") and
// makes the TLS handshake, both within timeout (0: no limit of ours);
// cancelling ctx interrupts either. A certificate that does not verify
// fails with ErrUntrusted, naming the peer's fingerprint; a pin that does
// not match, with ErrFingerprint.
func DialTLS(ctx context.Context, host string, port int, timeout time.Duration, o TLSOptions) (*Conn, error) {
	cfg, err := o.ClientConfig(host)
	if err != nil {
		return nil, &OpError{Op: "connect", Err: err}
	}
	dctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	nc, err := dialNet(dctx, host, port, 0)
	if err != nil {
		return nil, classify(ctx, "connect", err)
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(dctx); err != nil {
		nc.Close()
		return nil, handshakeError(ctx, err)
	}
	return NewConn(tc), nil
}

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
		return &OpError{Op: "connect", Err: fmt.Errorf("%w: %v; give its CA with ca=FILE, or pin it with fingerprint=%q", ErrUntrusted, ve.Err, fp)}
	}
	return classify(ctx, "connect", err)
}

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
