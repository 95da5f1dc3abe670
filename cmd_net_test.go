package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// proc is a wirelab process of a test.
type proc struct {
	cmd    *exec.Cmd
	stdout lockedBuffer
	stderr *bufio.Reader
	errs   lockedBuffer // stderr after the first line
	done   chan struct{}
}

// startListen starts wirelab listen with args and returns it with the
// address from its "listening on ADDR" line.
func startListen(t *testing.T, stdin io.Reader, args ...string) (*proc, string) {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, append([]string{"listen"}, args...)...), done: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	p.stderr = bufio.NewReader(pipe)
	line, err := p.stderr.ReadString('\n')
	for strings.HasPrefix(line, "wirelab: warning") {
		p.errs.WriteString(line)
		line, err = p.stderr.ReadString('\n')
	}
	if !strings.HasPrefix(line, "listening on ") {
		t.Fatalf("listen said %q %v", line, err)
	}
	go func() {
		io.Copy(&p.errs, p.stderr)
		p.cmd.Wait()
		close(p.done)
	}()
	return p, strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
}

// wait waits for p to exit and returns its status.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("still running; stderr %s", p.errs.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

func portOf(addr string) string { return addr[strings.LastIndexByte(addr, ':')+1:] }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// TestConnectListen moves binary data both ways between wirelab listen
// and wirelab connect, over TCP, TLS and a Unix socket: each side's stdin
// ends up, whole, on the other's stdout, and both exit 0.
func TestConnectListen(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "cert", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.TrimSpace(string(out))
	cases := []struct {
		name          string
		listen, dial  []string
		unix          bool
		wantFromTrace bool
	}{
		{"tcp", []string{"0"}, nil, false, false},
		{"tls", []string{"0", "--tls", "--cert", dir + "/cert.pem", "--key", dir + "/key.pem"}, []string{"--tls", "--fingerprint", fp}, false, false},
		{"tls ca", []string{"0", "--tls", "--cert", dir + "/cert.pem", "--key", dir + "/key.pem"}, []string{"--tls", "--ca", dir + "/cert.pem"}, false, false},
		{"unix", nil, nil, true, false},
		{"traced", []string{"0", "--trace"}, []string{"--trace"}, false, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			up := randomBytes(3<<20 + 5)
			down := randomBytes(1<<20 + 3)
			if c.wantFromTrace {
				up, down = []byte("GET / HTTP/1.0\r\n\r\n"), []byte("HTTP/1.0 200 OK\r\n\r\n\x00\xff")
			}
			largs := c.listen
			var target []string
			if c.unix {
				sock := "unix:" + filepath.Join(t.TempDir(), "s.sock")
				largs, target = []string{sock}, []string{sock}
			}
			lp, addr := startListen(t, bytes.NewReader(down), largs...)
			if !c.unix {
				target = []string{"127.0.0.1", portOf(addr)}
			}
			cmd := exec.Command(binary, append(append([]string{"connect"}, target...), c.dial...)...)
			cmd.Stdin = bytes.NewReader(up)
			var got, errs bytes.Buffer
			cmd.Stdout, cmd.Stderr = &got, &errs
			if err := cmd.Run(); err != nil {
				t.Fatalf("connect: %v\n%s", err, errs.String())
			}
			if code := lp.wait(t); code != 0 {
				t.Fatalf("listen exited %d: %s", code, lp.errs.String())
			}
			if md5hex(got.Bytes()) != md5hex(down) || md5hex(lp.stdout.Bytes()) != md5hex(up) {
				t.Fatalf("connect got %d bytes of %d, listen %d of %d", got.Len(), len(down), lp.stdout.Len(), len(up))
			}
			if c.wantFromTrace {
				stamp := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d\.\d{6} `)
				want := "T >> sent 18 bytes to 127.0.0.1:" + portOf(addr) + "\n" +
					"00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|\n" +
					"00000010  0d 0a                                             |..|\n"
				if !strings.Contains(stamp.ReplaceAllString(errs.String(), "T "), want) {
					t.Fatalf("connect's trace\n%s\nlacks\n%s", errs.String(), want)
				}
				if !strings.Contains(lp.errs.String(), "<< received 18 bytes from 127.0.0.1:") ||
					!strings.Contains(lp.errs.String(), "|HTTP/1.0 200 OK.|") {
					t.Fatalf("listen's trace\n%s", lp.errs.String())
				}
			}
		})
	}
}

// TestConnectErrors: refused, untrusted and wrong fingerprint exit 1 with
// a message; bad usage exits 2.
func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	if err := exec.Command(binary, "cert", dir).Run(); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := portOf(ln.Addr().String())
	ln.Close()
	lp, addr := startListen(t, nil, "0", "--keep-open", "--tls", "--cert", dir+"/cert.pem", "--key", dir+"/key.pem")
	_ = lp
	port := portOf(addr)
	cases := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"127.0.0.1", dead}, 1, "refused"},
		{[]string{"127.0.0.1", port, "--tls"}, 1, "certificate not trusted"},
		{[]string{"127.0.0.1", port, "--tls"}, 1, "fingerprint="},
		{[]string{"127.0.0.1", port, "--tls", "--fingerprint", "sha256:" + strings.Repeat("00", 32)}, 1, "fingerprint mismatch"},
		{[]string{"127.0.0.1"}, 2, "usage"},
		{[]string{"127.0.0.1", port, "--fingerprint", "x"}, 2, "need --tls"},
		{[]string{"127.0.0.1", port, "--bogus"}, 2, "unknown flag"},
	}
	for _, c := range cases {
		cmd := exec.Command(binary, append([]string{"connect"}, c.args...)...)
		var errs bytes.Buffer
		cmd.Stderr = &errs
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(errs.String(), c.err) {
			t.Errorf("%v: exit %d, stderr %q; want %d, %q", c.args, code, errs.String(), c.code, c.err)
		}
	}
	// the insecure way works, when asked for
	cmd := exec.Command(binary, "connect", "127.0.0.1", port, "--tls", "--insecure")
	cmd.Stdin = strings.NewReader("")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("--insecure: %v %s", err, out)
	}
}

// TestListenExec serves a command per connection with --keep-open, warns
// when not on loopback, and refuses --exec with --udp.
func TestListenExec(t *testing.T) {
	lp, addr := startListen(t, nil, "0", "--keep-open", "--exec", "tr a-z A-Z")
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		msg := strings.Repeat("hello ", 10000*(i+1))
		go func() {
			io.WriteString(c, msg)
			c.(*net.TCPConn).CloseWrite()
		}()
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(got) != strings.ToUpper(msg) {
			t.Fatalf("connection %d: %d bytes, %v", i, len(got), err)
		}
	}
	_ = lp
	// 0.0.0.0 is beyond loopback: a warning, before listening
	wp, _ := startListen(t, nil, "0", "--host", "0.0.0.0", "--exec", "cat")
	if !strings.Contains(wp.errs.String(), "warning: --exec on 0.0.0.0") {
		t.Fatalf("no warning: %q", wp.errs.String())
	}
	out, _ := exec.Command(binary, "listen", "0", "--udp", "--exec", "cat").CombinedOutput()
	if !strings.Contains(string(out), "usage") {
		t.Fatalf("--udp --exec: %s", out)
	}
}

// TestUDPConnectListen sends datagrams through wirelab connect --udp to
// wirelab listen --udp, which answers from its stdin.
func TestUDPConnectListen(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close() // before the cleanup that waits for listen
	lp, addr := startListen(t, pr, "0", "--udp")
	cmd := exec.Command(binary, "connect", "127.0.0.1", portOf(addr), "--udp")
	in, _ := cmd.StdinPipe()
	var got lockedBuffer
	cmd.Stdout = &got
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "ping\n")
	// listen learns the sender from the datagram, then answers it
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(lp.stdoutString(), "ping") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	io.WriteString(pw, "pong\n")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(got.String(), "pong") {
			break
		}
	}
	in.Close()
	if err := cmd.Wait(); err != nil || got.String() != "pong\n" {
		t.Fatalf("connect: %v, got %q", err, got.String())
	}
}

func (p *proc) stdoutString() string { return p.stdout.String() }

// lockedBuffer is a bytes.Buffer that a process writes while a test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) WriteString(s string) (int, error) { return l.Write([]byte(s)) }

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]byte(nil), l.b.Bytes()...)
}

func (l *lockedBuffer) Len() int { return len(l.Bytes()) }

// TestCertCommand: the key is private, existing files are kept unless
// --force, and the fingerprint printed is the certificate's.
func TestCertCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	out, err := exec.Command(binary, "cert", dir, "--host", "box.test").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).Match(out) {
		t.Fatalf("printed %q", out)
	}
	st, err := os.Stat(filepath.Join(dir, "key.pem"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key.pem %v %v", st.Mode(), err)
	}
	cert, _ := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if msg, err := exec.Command(binary, "cert", dir).CombinedOutput(); err == nil || !strings.Contains(string(msg), "exists") {
		t.Fatalf("overwrote: %v %s", err, msg)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "cert.pem")); !bytes.Equal(again, cert) {
		t.Fatal("cert.pem changed without --force")
	}
	if err := exec.Command(binary, "cert", dir, "--force").Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		text, err := exec.Command("openssl", "x509", "-in", filepath.Join(dir, "cert.pem"), "-noout", "-text").Output()
		if err != nil || !strings.Contains(string(text), "DNS:localhost") || !strings.Contains(string(text), "IP Address:127.0.0.1") {
			t.Fatalf("openssl reads %v\n%s", err, text)
		}
	}
}

// TestOpenSSLInterop talks TLS with openssl's own client and server:
// wirelab connect to openssl s_server -rev, and openssl s_client to
// wirelab listen --tls --exec.
func TestOpenSSLInterop(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH")
	}
	dir := t.TempDir()
	out, err := exec.Command(binary, "cert", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.TrimSpace(string(out))
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")

	t.Run("s_server", func(t *testing.T) {
		srv := exec.Command("openssl", "s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-naccept", "1", "-rev")
		pipe, _ := srv.StdoutPipe()
		srv.Stderr = io.Discard
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Wait()
		defer srv.Process.Kill()
		r := bufio.NewReader(pipe)
		port := ""
		for port == "" {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("s_server: %v", err)
			}
			if strings.HasPrefix(line, "ACCEPT ") {
				port = portOf(strings.TrimSpace(line))
			}
		}
		go io.Copy(io.Discard, r)
		cmd := exec.Command(binary, "connect", "127.0.0.1", port, "--tls", "--fingerprint", fp)
		cmd.Stdin = strings.NewReader("hello wirelab\n")
		got, err := cmd.Output()
		if err != nil || string(got) != "baleriw olleh\n" {
			t.Fatalf("%v, got %q", err, got)
		}
	})

	t.Run("s_client", func(t *testing.T) {
		lp, addr := startListen(t, nil, "0", "--tls", "--cert", cert, "--key", key, "--exec", "head -n 1 | tr a-z A-Z")
		// s_client leaves at the end of its input (-no_ign_eof), so the
		// input stays open until the answer is in.
		cmd := exec.Command("openssl", "s_client", "-connect", addr, "-quiet", "-no_ign_eof", "-verify_return_error", "-CAfile", cert, "-verify_hostname", "localhost")
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		var errs bytes.Buffer
		cmd.Stderr = &errs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		io.WriteString(in, "hello openssl\n")
		got, err := bufio.NewReader(out).ReadString('\n')
		in.Close()
		cmd.Wait()
		if err != nil || got != "HELLO OPENSSL\n" {
			t.Fatalf("%v, got %q\n%s", err, got, errs.String())
		}
		if code := lp.wait(t); code != 0 {
			t.Fatalf("listen exited %d: %s", code, lp.errs.String())
		}
	})
}

// TestInteractiveFromPipe: c:interactive() in wirelab run with stdin from
// a pipe sends the lines, prints the answers escaped, and returns
// "closed" when the peer closes after its answer.
func TestInteractiveFromPipe(t *testing.T) {
	_, addr := startListen(t, nil, "0", "--exec", "head -n 2 | tr a-z A-Z; printf '\\001'")
	cmd := exec.Command(binary, "-e", `local c = assert(socket.connect("127.0.0.1", tonumber(arg[1])))
print(c:interactive())`, portOf(addr))
	cmd.Stdin = strings.NewReader("one\ntwo\n")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "ONE\nTWO\n\\x01closed\n" {
		t.Fatalf("%v, output %q", err, out)
	}
}

// TestRunTrace: wirelab run --trace hexdumps the script's connections on
// stderr and leaves stdout alone.
func TestRunTrace(t *testing.T) {
	script := filepath.Join(t.TempDir(), "x.lua")
	os.WriteFile(script, []byte(`local srv = socket.serve("127.0.0.1", 0, function(c) c:send(c:recv_exact(3)) end)
local c = socket.connect("127.0.0.1", srv:port())
c:send("abc") print(c:recv_exact(3)) srv:close()`), 0o644)
	cmd := exec.Command(binary, "run", "--trace", script)
	var errs bytes.Buffer
	cmd.Stderr = &errs
	out, err := cmd.Output()
	if err != nil || string(out) != "abc\n" {
		t.Fatalf("%v, stdout %q", err, out)
	}
	if n := strings.Count(errs.String(), "00000000  61 62 63                                          |abc|\n"); n != 4 {
		t.Fatalf("%d dumps of abc, want 4 (two ends, both ways):\n%s", n, errs.String())
	}
}
