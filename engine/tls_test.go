package engine

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

func init() {
	pairs = append(pairs,
		struct {
			name string
			make func(t testing.TB) (*Conn, *Conn)
		}{"tls", tlsPair},
		struct {
			name string
			make func(t testing.TB) (*Conn, *Conn)
		}{"unix", unixPair},
		struct {
			name string
			make func(t testing.TB) (*Conn, *Conn)
		}{"traced", tracedPair},
	)
}

// testCert writes a self-signed pair into a fresh directory.
func testCert(t testing.TB) (dir, fingerprint string) {
	t.Helper()
	dir = t.TempDir()
	fp, err := WriteCert(dir, "", false)
	if err != nil {
		t.Fatal(err)
	}
	return dir, fp
}

// acceptPair listens with listen, dials with dial and returns both ends.
func acceptPair(t testing.TB, ln *Listener, dial func() (*Conn, error)) (*Conn, *Conn) {
	t.Helper()
	return acceptPairThen(t, ln, dial, nil)
}

// acceptPairThen is acceptPair running then on the accepted end first.
func acceptPairThen(t testing.TB, ln *Listener, dial func() (*Conn, error), then func(*Conn)) (*Conn, *Conn) {
	t.Helper()
	defer ln.Close()
	accepted := make(chan *Conn, 1)
	go func() {
		c, _ := ln.Accept(context.Background())
		if c != nil && then != nil {
			then(c)
		}
		accepted <- c
	}()
	c, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	s := <-accepted
	if s == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c, s
}

// tlsListener listens for TLS on a free loopback port with the
// certificate and key in dir.
func tlsListener(t testing.TB, dir string) *Listener {
	t.Helper()
	cfg, err := ServerConfig(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenTLS(context.Background(), "127.0.0.1", 0, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func tlsPair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	dir, fp := testCert(t)
	ln := tlsListener(t, dir)
	// The server shakes hands at its first read; do it at once, so that
	// the pair is like the others.
	return acceptPairThen(t, ln, func() (*Conn, error) {
		return DialTLS(context.Background(), "127.0.0.1", ln.Port(), 5*time.Second, TLSOptions{Fingerprint: fp})
	}, func(s *Conn) { s.TLS(context.Background()) })
}

func unixPair(t testing.TB) (*Conn, *Conn) {
	t.Helper()
	path := "unix:" + filepath.Join(t.TempDir(), "s.sock")
	ln, err := Listen(context.Background(), path, 0, 0)
	if errors.Is(err, ErrNoUnixSockets) && testbin.Wine() {
		// The error says what is missing and what to do.
		if !strings.Contains(err.Error(), "no Unix-domain sockets") || !strings.Contains(err.Error(), "use TCP") {
			t.Fatalf("unclear error: %v", err)
		}
		t.Skip("skipped under Wine: " + testbin.WineUnix)
	}
	if err != nil {
		t.Fatal(err)
	}
	return acceptPair(t, ln, func() (*Conn, error) {
		return DialAny(context.Background(), path, 0, time.Second, nil)
	})
}

func tracedPair(t testing.TB) (*Conn, *Conn) {
	c, s := tcpPair(t)
	tr := NewTracer(io.Discard)
	c.SetTracer(tr)
	s.SetTracer(tr)
	return c, s
}

func TestTLSVerification(t *testing.T) {
	dir, fp := testCert(t)
	ln := tlsListener(t, dir)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if b, err := c.RecvUntil(context.Background(), []byte("\n"), 100); err == nil {
					c.Send(context.Background(), append(b, '\n'))
				}
			}()
		}
	}()
	other := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		host string
		o    TLSOptions
		want string // "" for success, else in the error
	}{
		{"self-signed refused", "127.0.0.1", TLSOptions{}, "certificate not trusted"},
		{"pinned", "127.0.0.1", TLSOptions{Fingerprint: fp}, ""},
		{"pinned with colons", "127.0.0.1", TLSOptions{Fingerprint: colons(fp)}, ""},
		{"pinned upper-case bare hex", "127.0.0.1", TLSOptions{Fingerprint: strings.ToUpper(strings.TrimPrefix(fp, "sha256:"))}, ""},
		{"wrong pin", "127.0.0.1", TLSOptions{Fingerprint: "sha256:" + other}, "fingerprint mismatch"},
		{"ca", "127.0.0.1", TLSOptions{CAFile: filepath.Join(dir, "cert.pem")}, ""},
		{"ca by name", "localhost", TLSOptions{CAFile: filepath.Join(dir, "cert.pem")}, ""},
		{"ca wrong name", "127.0.0.1", TLSOptions{CAFile: filepath.Join(dir, "cert.pem"), ServerName: "example.com"}, "certificate not trusted"},
		{"insecure", "127.0.0.1", TLSOptions{Insecure: true}, ""},
		{"bad pin", "127.0.0.1", TLSOptions{Fingerprint: "sha256:abc"}, "bad fingerprint"},
		{"missing ca", "127.0.0.1", TLSOptions{CAFile: filepath.Join(dir, "nope.pem")}, "no such file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := DialTLS(context.Background(), c.host, ln.Port(), 5*time.Second, c.o)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("err %v, want %q", err, c.want)
				}
				if c.want == "certificate not trusted" && (!strings.Contains(err.Error(), fp) || !strings.Contains(err.Error(), "ca=")) {
					t.Fatalf("the error %q does not suggest ca= or the fingerprint", err)
				}
				if c.want == "fingerprint mismatch" && !strings.Contains(err.Error(), fp) {
					t.Fatalf("the error %q does not name the peer's fingerprint", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			ctx := context.Background()
			if _, err := conn.Send(ctx, []byte("ping\n")); err != nil {
				t.Fatal(err)
			}
			got, err := conn.RecvUntil(ctx, []byte("\n"), 100)
			if err != nil || string(got) != "ping" {
				t.Fatalf("got %q, %v", got, err)
			}
			st, ok, err := conn.TLS(ctx)
			if !ok || err != nil || st.Fingerprint != fp || !strings.HasPrefix(st.Version, "TLS 1.") || st.Cipher == "" {
				t.Fatalf("state %+v %v %v", st, ok, err)
			}
		})
	}
}

func colons(fp string) string {
	h := strings.TrimPrefix(fp, "sha256:")
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return "sha256:" + strings.Join(parts, ":")
}

// TestTLSHandshakeTimeout checks that a server that accepts and says
// nothing cannot hold a TLS connect past its timeout, and that cancelling
// interrupts it.
func TestTLSHandshakeTimeout(t *testing.T) {
	ln := silentListener(t)
	start := time.Now()
	_, err := DialTLS(context.Background(), "127.0.0.1", ln.Port(), 200*time.Millisecond, TLSOptions{Insecure: true})
	if !errors.Is(err, ErrTimeout) || time.Since(start) > 2*time.Second {
		t.Fatalf("err %v after %v, want timeout", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = DialTLS(ctx, "127.0.0.1", ln.Port(), 0, TLSOptions{Insecure: true})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("err %v, want interrupted", err)
	}
}

// TestTLSCloseWriteAndFile sends a file over TLS, half-closes, and checks
// the md5 on both ends and that the reply still arrives.
func TestFileAndCloseWriteOverEveryConn(t *testing.T) {
	src := filepath.Join(t.TempDir(), "blob")
	data := make([]byte, 3<<20+17)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	want := hex.EncodeToString(sum[:])
	for _, p := range pairs {
		if p.name == "pipe" {
			continue // net.Pipe has no half-close
		}
		for _, bare := range []bool{false, true} {
			name := p.name
			if bare {
				name += "/sendfile" // no hash, no timeout: the sendfile(2) path where there is one
			}
			t.Run(name, func(t *testing.T) {
				a, b := p.make(t)
				so := FileOptions{Hash: "md5", Size: -1}
				if bare {
					so.Hash = ""
				} else {
					a.SetTimeout(10 * time.Second)
				}
				b.SetTimeout(10 * time.Second)
				ctx := context.Background()
				dst := filepath.Join(t.TempDir(), "got")
				var wg sync.WaitGroup
				var res FileResult
				var rerr error
				wg.Add(1)
				go func() {
					defer wg.Done()
					res, rerr = b.RecvFile(ctx, dst, int64(len(data)), FileOptions{Hash: "md5"})
					if rerr == nil {
						// The sender's half-close reads as end of stream here.
						if _, err := b.Recv(ctx, 10); !errors.Is(err, ErrClosed) {
							rerr = errors.New("no end of stream after CloseWrite: " + Reason(err))
							return
						}
						_, rerr = b.Send(ctx, []byte("ok "+res.Sum))
					}
				}()
				sres, err := a.SendFile(ctx, src, so)
				if err != nil {
					t.Fatal(err)
				}
				if err := a.CloseWrite(); err != nil {
					t.Fatal(err)
				}
				reply, err := a.RecvExact(ctx, 3+32)
				wg.Wait()
				if rerr != nil {
					t.Fatal(rerr)
				}
				if err != nil || string(reply) != "ok "+want || (!bare && sres.Sum != want) || res.Sum != want {
					t.Fatalf("reply %q %v, sent %s, received %s, want %s", reply, err, sres.Sum, res.Sum, want)
				}
				got, _ := os.ReadFile(dst)
				if !bytes.Equal(got, data) {
					t.Fatal("the file differs")
				}
			})
		}
	}
}

func TestWriteCert(t *testing.T) {
	dir := t.TempDir()
	fp, err := WriteCert(dir, "box.example", false)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, "key.pem"))
	// Windows keeps no Unix modes: the key is as private as its directory.
	if err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
		t.Fatalf("key mode %v %v", st.Mode(), err)
	}
	if _, err := WriteCert(dir, "", false); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("overwrote without force: %v", err)
	}
	fp2, err := WriteCert(dir, "", true)
	if err != nil || fp2 == fp {
		t.Fatalf("force: %v", err)
	}
	if _, err := ParseFingerprint(fp2); err != nil {
		t.Fatal(err)
	}
}

// silentListener accepts connections and never answers them.
func silentListener(t *testing.T) *Listener {
	t.Helper()
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return ln
}

// TestHandshakeLimit: with no limit given, the handshake gets
// DefaultHandshakeTimeout (10 s); a connect timeout bounds it instead; a
// limit of its own wins over both.
func TestHandshakeLimit(t *testing.T) {
	if DefaultHandshakeTimeout != 10*time.Second {
		t.Fatalf("DefaultHandshakeTimeout = %v", DefaultHandshakeTimeout)
	}
	cases := []struct {
		timeout, own, want time.Duration
	}{
		{0, 0, DefaultHandshakeTimeout},
		{5 * time.Second, 0, 0},
		{0, time.Second, time.Second},
		{5 * time.Second, time.Second, time.Second},
	}
	for _, c := range cases {
		if got := handshakeLimit(c.timeout, TLSOptions{HandshakeTimeout: c.own}); got != c.want {
			t.Errorf("handshakeLimit(%v, %v) = %v, want %v", c.timeout, c.own, got, c.want)
		}
	}
}

// TestHandshakeTimeoutNamesLimit: a peer that accepts and never answers
// fails the handshake with the limit that ran out in the error.
func TestHandshakeTimeoutNamesLimit(t *testing.T) {
	ln := silentListener(t)
	for _, c := range []struct {
		timeout time.Duration
		o       TLSOptions
		limit   string
	}{
		{0, TLSOptions{Insecure: true, HandshakeTimeout: 150 * time.Millisecond}, "150ms"},
		{200 * time.Millisecond, TLSOptions{Insecure: true}, "200ms"},
	} {
		_, err := DialTLS(context.Background(), "127.0.0.1", ln.Port(), c.timeout, c.o)
		var hs *HandshakeTimeoutError
		want := "connect 127.0.0.1:" + strconv.Itoa(ln.Port()) + ": timeout (no TLS handshake within " + c.limit + ": does the peer speak TLS?)"
		if !errors.As(err, &hs) || !errors.Is(err, ErrTimeout) || Reason(err) != "timeout" || err.Error() != want {
			t.Errorf("err %v, want %s", err, want)
		}
	}
}

// TestDialTLSPlainText: a peer that answers the ClientHello in plain text
// fails with a NotTLSError that quotes its first bytes, escaped and cut.
func TestDialTLSPlainText(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("220 mail.example ESMTP ready\r\n\x00 and more text past forty bytes\r\n"))
		io.Copy(io.Discard, c)
	}()
	_, err = DialTLS(context.Background(), "127.0.0.1", ln.Port(), 5*time.Second, TLSOptions{Insecure: true})
	var nt *NotTLSError
	if !errors.As(err, &nt) {
		t.Fatalf("err %v, want a NotTLSError", err)
	}
	if want := `"220 mail.example ESMTP ready\r\n\x00 and more..."`; nt.Quoted() != want {
		t.Fatalf("quoted %s, want %s", nt.Quoted(), want)
	}
	if want := "connect 127.0.0.1:" + strconv.Itoa(ln.Port()) + ": the peer answered in plain text (" + nt.Quoted() + "): connect without tls"; err.Error() != want {
		t.Fatalf("%v, want %s", err, want)
	}
}

// TestTLSRecordStart tells the first bytes of TLS records from text.
func TestTLSRecordStart(t *testing.T) {
	cases := []struct {
		in          string
		isTLS, more bool
	}{
		{"", false, true},
		{"\x15", false, true},
		{"\x15\x03", false, true},
		{"\x15\x03\x01", true, false},     // an alert
		{"\x16\x03\x03\x00", true, false}, // a handshake
		{"\x17\x03\x04", true, false},
		{"\x14\x03\x00", true, false},
		{"\x18\x03\x01", false, false},
		{"\x16\x03\x05", false, false},
		{"\x16\x02", false, false},
		{"HTTP/1.1", false, false},
		{"h", false, false},
	}
	for _, c := range cases {
		if isTLS, more := TLSRecordStart([]byte(c.in)); isTLS != c.isTLS || more != c.more {
			t.Errorf("%q: %v %v, want %v %v", c.in, isTLS, more, c.isTLS, c.more)
		}
	}
}

// TestTLSListenerAlertsPlainClient: a TLS listener answers a client whose
// first bytes are no handshake with a TLS alert record instead of
// closing without a word.
func TestTLSListenerAlertsPlainClient(t *testing.T) {
	dir, _ := testCert(t)
	ln := tlsListener(t, dir)
	defer ln.Close()
	go func() {
		c, err := ln.Accept(context.Background())
		if err == nil {
			c.Recv(context.Background(), 10) // the handshake, which fails
			c.Close()
		}
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte("hi\n"))
	nc.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(nc)
	if !bytes.Equal(got, plainAlert) {
		t.Fatalf("got % x, want the alert % x", got, plainAlert)
	}
}

// TestRefusedNamesAddress: a refused connect names the address and says
// what the refusal means; scripts still read "refused".
func TestRefusedNamesAddress(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dials := map[string]func() error{
		"Dial":    func() error { _, err := Dial(context.Background(), "127.0.0.1", port, time.Second); return err },
		"DialAny": func() error { _, err := DialAny(context.Background(), "127.0.0.1", port, time.Second, nil); return err },
		"DialTLS": func() error {
			_, err := DialTLS(context.Background(), "127.0.0.1", port, time.Second, TLSOptions{})
			return err
		},
	}
	for name, dial := range dials {
		err := dial()
		want := "connect 127.0.0.1:" + strconv.Itoa(port) + ": refused (nothing listens there)"
		if err == nil || err.Error() != want || Reason(err) != "refused" || !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v (reason %q), want %s", name, err, Reason(err), want)
		}
	}
}
