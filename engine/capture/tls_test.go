package capture

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// capturedConn is a net.Conn that feeds the bytes each of its calls moved
// into a Stream, as wirelab's connections will: what Write sent is Sent,
// what Read got is Received, the end of stream is FinReceived, and Close is
// the Stream's Close.
type capturedConn struct {
	net.Conn
	s *Stream
}

func (c capturedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.s.Received(p[:n])
	if err == io.EOF {
		c.s.FinReceived()
	}
	return n, err
}

func (c capturedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.s.Sent(p[:n])
	return n, err
}

func (c capturedConn) Close() error {
	c.s.Close()
	return c.Conn.Close()
}

// writerFunc is an io.Writer of a function: Config.KeyLogWriter into
// AddSecrets.
type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) {
	w(p)
	return len(p), nil
}

// selfSigned is a certificate for 127.0.0.1 and ::1 and a pool that trusts
// it.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "wirelab test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

const (
	httpRequest  = "GET /wirelab-secret-path HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wirelab-test\r\n\r\n"
	httpResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nthe plaintext answer\n"
)

// tlsExchange runs a real crypto/tls client against a real server over
// loopback on network (tcp4 or tcp6), one side's connection (the server's
// when server, else the client's) fed into a Stream of f, and that side's
// key log into f's secrets when keys: one HTTP request, its answer,
// close_notify and the ends of stream. The stream holds the peer's bytes
// during the handshake (Stream.Hold).
func tlsExchange(t *testing.T, f *File, network string, version uint16, server, keys bool) {
	t.Helper()
	cert, pool := selfSigned(t)
	addr := "127.0.0.1"
	if network == "tcp6" {
		addr = "::1"
	}
	ln, err := net.Listen(network, net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var keyLog io.Writer
	if keys {
		keyLog = writerFunc(f.AddSecrets)
	}
	served := make(chan error, 1)
	go func() {
		served <- func() error {
			raw, err := ln.Accept()
			if err != nil {
				return err
			}
			cfg := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
			var s *Stream
			if server {
				s = f.TCP(raw.LocalAddr().(*net.TCPAddr).AddrPort(), raw.RemoteAddr().(*net.TCPAddr).AddrPort(), false)
				raw = capturedConn{raw, s}
				cfg.KeyLogWriter = keyLog
			}
			c := tls.Server(raw, cfg)
			if s != nil {
				s.Hold()
			}
			err = c.Handshake()
			if s != nil {
				s.Release()
			}
			if err != nil {
				c.Close()
				return err
			}
			r := bufio.NewReader(c)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					c.Close()
					return err
				}
				if line == "\r\n" {
					break
				}
			}
			if _, err = io.WriteString(c, httpResponse); err != nil {
				c.Close()
				return err
			}
			return c.Close() // close_notify, then the FIN
		}()
	}()

	raw, err := net.Dial(network, ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{
		RootCAs: pool, ServerName: addr,
		NextProtos: []string{"http/1.1"}, MinVersion: version, MaxVersion: version,
	}
	var s *Stream
	if !server {
		s = f.TCP(raw.LocalAddr().(*net.TCPAddr).AddrPort(), raw.RemoteAddr().(*net.TCPAddr).AddrPort(), true)
		raw = capturedConn{raw, s}
		cfg.KeyLogWriter = keyLog
	}
	c := tls.Client(raw, cfg)
	if s != nil {
		s.Hold()
	}
	err = c.Handshake()
	if s != nil {
		s.Release()
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, httpRequest); err != nil {
		t.Fatal(err)
	}
	if s != nil {
		s.Mark("request written")
	}
	answer, err := io.ReadAll(c) // to the server's close_notify
	if err != nil {
		t.Fatal(err)
	}
	if string(answer) != httpResponse {
		t.Fatalf("answer %q", answer)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	// The server's FIN follows its close_notify: read it, as a reader of
	// the raw connection would, before closing.
	var b [1]byte
	if n, err := raw.Read(b[:]); n != 0 || err != io.EOF {
		t.Fatalf("after close_notify: %d bytes, %v", n, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTsharkTLS: a real TLS session fed into a stream, the client's or the
// server's, with that side's key log as the file's secrets: tshark decrypts it from the file alone (no
// key options), showing the HTTP request and answer; without the secrets
// it shows neither, so it is the file's secrets that decrypt.
func TestTsharkTLS(t *testing.T) {
	for _, c := range []struct {
		name    string
		network string
		version uint16
		server  bool
	}{
		{"TLS 1.3 client IPv4", "tcp4", tls.VersionTLS13, false},
		{"TLS 1.2 client IPv6", "tcp6", tls.VersionTLS12, false},
		{"TLS 1.3 server IPv4", "tcp4", tls.VersionTLS13, true},
		{"TLS 1.2 server IPv4", "tcp4", tls.VersionTLS12, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := writeFile(t, "tls.pcapng", func(f *File) { tlsExchange(t, f, c.network, c.version, c.server, true) })
			out := tshark(t, "-r", file, "-Y", "http", "-T", "fields", "-e", "http.request.uri", "-e", "http.response.code")
			if got := strings.Fields(out); strings.Join(got, " ") != "/wirelab-secret-path 200" {
				t.Errorf("tshark -Y http: %q, want the request's path and 200", out)
			}
			follow := tshark(t, "-r", file, "-q", "-z", "follow,tls,ascii,0")
			for _, want := range []string{"GET /wirelab-secret-path HTTP/1.1", "the plaintext answer"} {
				if !strings.Contains(follow, want) {
					t.Errorf("tshark follow,tls lacks %q:\n%s", want, follow)
				}
			}
			report := tshark(t, append([]string{"-r", file, "-q", "-z", "expert"}, checksums...)...)
			bad, _ := expertLines(report)
			if len(bad) > 0 {
				t.Errorf("tshark -z expert: %q\n%s", bad, report)
			}
			t.Logf("tshark -z expert on the TLS file:\n%s", report)

			plain := writeFile(t, "nokeys.pcapng", func(f *File) { tlsExchange(t, f, c.network, c.version, c.server, false) })
			if out := tshark(t, "-r", plain, "-Y", "http"); strings.TrimSpace(out) != "" {
				t.Errorf("without secrets, tshark -Y http shows %q", out)
			}
		})
	}
}
