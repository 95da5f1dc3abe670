package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/internal/testbin"
)

// proc is a wirelab process of a test.
type proc struct {
	cmd    *exec.Cmd
	stdout testbin.Buffer
	stderr *bufio.Reader
	errs   testbin.Buffer // stderr after the first line
	done   chan struct{}
}

// startListen starts wirelab listen with args and returns it with the
// address from its "listening on ADDR" line.
func startListen(t *testing.T, stdin io.Reader, args ...string) (*proc, string) {
	t.Helper()
	return startCommand(t, stdin, append([]string{"listen"}, args...)...)
}

// startCommand starts wirelab with args (listen, proxy) and returns it
// with the address from its "listening on ADDR" line.
func startCommand(t *testing.T, stdin io.Reader, args ...string) (*proc, string) {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), done: make(chan struct{})}
	p.cmd.Stdin = stdin
	p.cmd.Stdout = &p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stderr = bufio.NewReader(pipe)
	line, err := p.stderr.ReadString('\n')
	for strings.HasPrefix(line, "wirelab: warning") {
		p.errs.WriteString(line)
		line, err = p.stderr.ReadString('\n')
	}
	if !strings.HasPrefix(line, "listening on ") {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("listen said %q %v", line, err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
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
				testbin.SkipWine(t, testbin.WineUnix)
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
				want := "T >> sent 18 bytes to 127.0.0.1:" + portOf(addr) + " at offset 0\n" +
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
		{[]string{"127.0.0.1", port, "--tls"}, 1, "--fingerprint sha256:"},
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
	// the insecure way works, when asked for, and says so in one line
	code, out, errs := runWirelab(t, nil, "connect", "127.0.0.1", port, "--tls", "--insecure")
	want := insecureWarning("127.0.0.1:" + port)
	if code != 0 || out != "" || errs != want {
		t.Fatalf("--insecure: exit %d, stdout %q, stderr %q; want stderr %q", code, out, errs, want)
	}
}

// TestListenExec serves a command per connection with --keep-open, warns
// when not on loopback, and refuses --exec with --udp.
func TestListenExec(t *testing.T) {
	command := "tr a-z A-Z"
	if runtime.GOOS == "windows" {
		// cmd.exe has no tr: wirelab itself upper-cases its input.
		command = `"` + binary + `" -e "io.write(io.read('*a'):upper())"`
	}
	lp, addr := startListen(t, nil, "0", "--keep-open", "--exec", command)
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

// TestListenExecUsage: an --exec that would run something else than meant
// is a usage error: a flag taken as the command, an empty command (it
// listened as if there were no --exec), and --max-running without --exec
// or below 1.
func TestListenExecUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--exec", "--keep-open"}, "wirelab: --exec takes the command to run, and got the flag --keep-open: put the command, quoted, right after --exec"},
		{[]string{"--keep-open", "--exec", "-x"}, "got the flag -x"},
		{[]string{"--exec", ""}, "wirelab: --exec needs a command: --exec 'CMD' runs sh -c CMD for every connection\n"},
		{[]string{"--exec=  "}, "--exec needs a command"},
		{[]string{"--max-running", "3"}, "wirelab: --max-running goes with --exec\n"},
		{[]string{"--exec", "cat", "--max-running", "0"}, "wirelab: --max-running 0: at least 1 command must be let run\n"},
	} {
		code, out, errs := runWirelab(t, nil, append([]string{"listen", "0"}, c.args...)...)
		if code != 2 || out != "" || !strings.HasPrefix(errs, "wirelab: ") || !strings.Contains(errs, c.want) || !strings.Contains(errs, "usage:") {
			t.Errorf("listen 0 %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

// TestUDPConnectListen sends datagrams through wirelab connect --udp to
// wirelab listen --udp, which answers from its stdin.
func TestUDPConnectListen(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	pr, pw := io.Pipe()
	defer pw.Close() // before the cleanup that waits for listen
	lp, addr := startListen(t, pr, "0", "--udp")
	cmd := exec.Command(binary, "connect", "127.0.0.1", portOf(addr), "--udp")
	in, _ := cmd.StdinPipe()
	var got testbin.Buffer
	cmd.Stdout = &got
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "ping\n")
	// listen learns the sender from the datagram, then answers it
	testbin.WaitFor(t, 10*time.Second, "listen to print the datagram", func() bool {
		return strings.Contains(lp.stdoutString(), "ping")
	})
	io.WriteString(pw, "pong\n")
	testbin.WaitFor(t, 10*time.Second, "connect to print the answer", func() bool {
		return strings.Contains(got.String(), "pong")
	})
	in.Close()
	if err := cmd.Wait(); err != nil || got.String() != "pong\n" {
		t.Fatalf("connect: %v, got %q", err, got.String())
	}
}

func (p *proc) stdoutString() string { return p.stdout.String() }

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
	// Windows keeps no Unix modes: the key is as private as its directory.
	if err != nil || (runtime.GOOS != "windows" && st.Mode().Perm() != 0o600) {
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
		opensslServer(t, cert, key, func(port string) {
			cmd := exec.Command(binary, "connect", "127.0.0.1", port, "--tls", "--fingerprint", fp)
			cmd.Stdin = strings.NewReader("hello wirelab\n")
			got, err := cmd.Output()
			if err != nil || string(got) != "baleriw olleh\n" {
				t.Fatalf("%v, got %q", err, got)
			}
		}, "-rev")
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
	command := "head -n 2 | tr a-z A-Z; printf '\\001'"
	if runtime.GOOS == "windows" {
		// The same without head, tr and printf: wirelab itself.
		command = `"` + binary + `" -e "for i = 1, 2 do io.write(io.read('*l'):upper(), '\n') end io.write('\1')"`
	}
	_, addr := startListen(t, nil, "0", "--exec", command)
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

// runWirelab runs the binary with args and stdin, and returns its exit
// status and output.
func runWirelab(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	done := make(chan struct{})
	go func() { cmd.Run(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after 20 s; stderr %q", args, errs.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errs.String()
}

// clientHello returns the first record a crypto/tls client sends: its
// ClientHello, bytes that a TLS server answers.
func clientHello(t *testing.T) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	go func() {
		tls.Client(a, &tls.Config{InsecureSkipVerify: true}).Handshake()
		a.Close()
	}()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, int(hdr[3])<<8|int(hdr[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// tcpServer listens on 127.0.0.1 and serves every connection with serve
// until the test ends; it returns the port.
func tcpServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	return portOf(testbin.Serve(t, serve).Addr().String())
}

// TestConnectWrongTransport: connect without --tls to a TLS server, and
// with --tls to a plain-text server or to one that never answers, ends 1
// saying what to do, and writes no binary to stdout.
func TestConnectWrongTransport(t *testing.T) {
	dir := t.TempDir()
	if err := exec.Command(binary, "cert", dir).Run(); err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	hello := clientHello(t)
	check := func(t *testing.T, code int, stdout, stderr string, want string) {
		t.Helper()
		if code != 1 || stdout != "" || stderr != want {
			t.Fatalf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", code, stdout, stderr, want)
		}
	}

	t.Run("plain to wirelab listen --tls", func(t *testing.T) {
		// Go's TLS server closes on "hi\n" without a word; wirelab's
		// answers with an alert record, which connect recognises.
		_, addr := startListen(t, nil, "0", "--tls", "--cert", cert, "--key", key)
		code, out, errs := runWirelab(t, []byte("hi\n"), "connect", "127.0.0.1", portOf(addr))
		check(t, code, out, errs, "wirelab: "+addr+": the peer speaks TLS: try --tls\n")
	})

	t.Run("plain to crypto/tls", func(t *testing.T) {
		certs, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			t.Fatal(err)
		}
		port := tcpServer(t, func(c net.Conn) {
			tls.Server(c, &tls.Config{Certificates: []tls.Certificate{certs}}).Handshake()
		})
		// A ClientHello sent as plain bytes: the server answers with its
		// ServerHello, a handshake record (0x16 0x03 0x03).
		code, out, errs := runWirelab(t, hello, "connect", "127.0.0.1", port)
		check(t, code, out, errs, "wirelab: 127.0.0.1:"+port+": the peer speaks TLS: try --tls\n")
	})

	for name, stdin := range map[string][]byte{"hi": []byte("hi\n"), "ClientHello": hello} {
		t.Run("plain to openssl s_server, "+name, func(t *testing.T) {
			opensslServer(t, cert, key, func(port string) {
				// OpenSSL answers "hi\n" with an alert record, a
				// ClientHello with its ServerHello.
				code, out, errs := runWirelab(t, stdin, "connect", "127.0.0.1", port)
				check(t, code, out, errs, "wirelab: 127.0.0.1:"+port+": the peer speaks TLS: try --tls\n")
			})
		})
	}

	badRequest := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
	plainPort := tcpServer(t, func(c net.Conn) {
		c.Write([]byte(badRequest))
		io.Copy(io.Discard, c) // until the client closes: no reset to race the answer
	})

	t.Run("tls to plain text", func(t *testing.T) {
		code, out, errs := runWirelab(t, nil, "connect", "127.0.0.1", plainPort, "--tls", "--insecure")
		check(t, code, out, errs, insecureWarning("127.0.0.1:"+plainPort)+`wirelab: connect 127.0.0.1:`+plainPort+`: the peer answered in plain text ("HTTP/1.1 400 Bad Request\r\nContent-Type: ..."): drop --tls`+"\n")
	})

	t.Run("lua tls to plain text", func(t *testing.T) {
		// socket.connect gets the same reason, in its own words.
		code, out, errs := runWirelab(t, nil, "-e", `print(socket.connect("127.0.0.1", tonumber(arg[1]), {tls = {verify = false}}))`, plainPort)
		want := `nil	the peer answered in plain text ("HTTP/1.1 400 Bad Request\r\nContent-Type: ..."): connect without tls` + "\n"
		if code != 0 || out != want {
			t.Fatalf("exit %d, stdout %q, stderr %q; want %q", code, out, errs, want)
		}
	})

	t.Run("tls to a silent peer", func(t *testing.T) {
		silent := tcpServer(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		code, out, errs := runWirelab(t, nil, "connect", "127.0.0.1", silent, "--tls", "--insecure", "--timeout", "1")
		check(t, code, out, errs, insecureWarning("127.0.0.1:"+silent)+"wirelab: connect 127.0.0.1:"+silent+": timeout (no TLS handshake within 1s: does the peer speak TLS?)\n")
	})
}

// insecureWarning is the line connect --insecure writes first.
func insecureWarning(addr string) string {
	return "wirelab: warning: --insecure: the certificate of " + addr + " is not checked, so anyone on the way can pose as the server\n"
}

// TestDialLimits: without --timeout the handshake gets the default limit
// (which connect --help names), with it the whole connect gets its value.
func TestDialLimits(t *testing.T) {
	if engine.DefaultHandshakeTimeout != 10*time.Second {
		t.Fatalf("DefaultHandshakeTimeout is %v, the issue says 10 s", engine.DefaultHandshakeTimeout)
	}
	cases := []struct {
		timeout          string
		whole, handshake time.Duration
		err              string
	}{
		{"", connectTimeout, engine.DefaultHandshakeTimeout, ""},
		{"1", time.Second, 0, ""},
		{"0.25", 250 * time.Millisecond, 0, ""},
		{"0", 0, 0, `bad --timeout "0": seconds above 0 expected`},
		{"x", 0, 0, `bad --timeout "x": seconds above 0 expected`},
	}
	for _, c := range cases {
		whole, hs, err := dialLimits(c.timeout)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("--timeout %q: %v, want %s", c.timeout, err, c.err)
			}
			continue
		}
		if err != nil || whole != c.whole || hs != c.handshake {
			t.Errorf("--timeout %q: %v %v %v, want %v %v", c.timeout, whole, hs, err, c.whole, c.handshake)
		}
	}
	code, out, _ := runWirelab(t, nil, "connect", "--help")
	if code != 0 || !strings.Contains(out, "then 10s for the\n      handshake") {
		t.Fatalf("connect --help does not name the default limit:\n%s", out)
	}
}

// TestAddressForms: connect takes HOST:PORT and [::1]:PORT besides HOST
// PORT; listen takes HOST PORT and HOST:PORT besides PORT --host HOST.
func TestAddressForms(t *testing.T) {
	cases := []struct {
		name   string
		listen []string
		dial   func(addr string) []string
	}{
		{"listen HOST PORT, connect HOST:PORT", []string{"127.0.0.1", "0"}, func(a string) []string { return []string{a} }},
		{"listen IPv6 PORT, connect [::1]:PORT", []string{"::1", "0"}, func(a string) []string { return []string{a} }},
		{"listen [::1]:PORT, connect IPv6 PORT", []string{"[::1]:0"}, func(a string) []string { return []string{"::1", portOf(a)} }},
		{"listen PORT --host, connect HOST PORT", []string{"0", "--host", "127.0.0.1"}, func(a string) []string { return []string{"127.0.0.1", portOf(a)} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lp, addr := startListen(t, strings.NewReader("pong\n"), c.listen...)
			if strings.Contains(c.name, "::1") && !strings.HasPrefix(addr, "[::1]:") || !strings.Contains(c.name, "::1") && !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Fatalf("listening on %s", addr)
			}
			code, out, errs := runWirelab(t, []byte("ping\n"), append([]string{"connect"}, c.dial(addr)...)...)
			if code != 0 || out != "pong\n" {
				t.Fatalf("connect: exit %d, %q %q", code, out, errs)
			}
			if code := lp.wait(t); code != 0 || lp.stdoutString() != "ping\n" {
				t.Fatalf("listen: exit %d, got %q, %s", code, lp.stdoutString(), lp.errs.String())
			}
		})
	}
	bad := []struct {
		args []string
		err  string
	}{
		{[]string{"listen", "127.0.0.1", "0", "--host", "::1"}, "wirelab: two hosts: 127.0.0.1 and --host ::1\n"},
		{[]string{"connect", ":80"}, `wirelab: bad address ":80": give the host (0.0.0.0 or [::] for every interface)` + "\n"},
		{[]string{"connect", "::1"}, `wirelab: bad address "::1": HOST PORT, HOST:PORT or [IPv6]:PORT expected` + "\n"},
		{[]string{"connect", "127.0.0.1:x"}, `wirelab: bad port "x"` + "\n"},
	}
	for _, b := range bad {
		code, _, errs := runWirelab(t, nil, b.args...)
		if code != 2 || !strings.HasPrefix(errs, b.err+"usage:") {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q and the usage", b.args, code, errs, b.err)
		}
	}
}

// TestConnectRefusedNamesAddress: a refusal names the address and what it
// means, in each form of the address.
func TestConnectRefusedNamesAddress(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := portOf(ln.Addr().String())
	ln.Close()
	for _, args := range [][]string{{"127.0.0.1:" + dead}, {"127.0.0.1", dead}, {"127.0.0.1", dead, "--tls"}} {
		code, _, errs := runWirelab(t, nil, append([]string{"connect"}, args...)...)
		if want := "wirelab: connect 127.0.0.1:" + dead + ": refused (nothing listens there)\n"; code != 1 || errs != want {
			t.Errorf("%v: exit %d, stderr %q; want 1, %q", args, code, errs, want)
		}
	}
}

// TestConnectCertErrorsSpeakFlags: the command line's certificate errors
// name its flags, not a script's tls options.
func TestConnectCertErrorsSpeakFlags(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command(binary, "cert", dir).Output()
	if err != nil {
		t.Fatal(err)
	}
	fp := strings.TrimSpace(string(out))
	_, addr := startListen(t, nil, "0", "--keep-open", "--tls", "--cert", dir+"/cert.pem", "--key", dir+"/key.pem")
	port := portOf(addr)
	code, _, errs := runWirelab(t, nil, "connect", "127.0.0.1", port, "--tls")
	want := "; give its CA with --ca FILE, pin it with --fingerprint " + fp + ", or skip the check with --insecure\n"
	if code != 1 || !strings.HasPrefix(errs, "wirelab: connect 127.0.0.1:"+port+": certificate not trusted: ") || !strings.HasSuffix(errs, want) {
		t.Fatalf("exit %d, stderr %q; want 1, ...%q", code, errs, want)
	}
	missing := filepath.Join(dir, "nope.pem")
	code, _, errs = runWirelab(t, nil, "connect", "127.0.0.1", port, "--tls", "--ca", missing)
	if want := "wirelab: connect 127.0.0.1:" + port + ": --ca: open " + missing + ": no such file or directory\n"; code != 1 || errs != want {
		t.Fatalf("exit %d, stderr %q; want 1, %q", code, errs, want)
	}
}

// TestConnectCRLF: --crlf sends every "\n" of stdin not already after a
// "\r" as "\r\n".
func TestConnectCRLF(t *testing.T) {
	lp, addr := startListen(t, nil, "0")
	code, _, errs := runWirelab(t, []byte("a\nb\r\nc\n\nd\re\n"), "connect", addr, "--crlf")
	if code != 0 {
		t.Fatalf("connect: exit %d, %s", code, errs)
	}
	if code := lp.wait(t); code != 0 || lp.stdoutString() != "a\r\nb\r\nc\r\n\r\nd\re\r\n" {
		t.Fatalf("listen: exit %d, got %q", code, lp.stdoutString())
	}
}

// TestCRLFReader converts across reads of every size: a "\r" at the end
// of one read and the "\n" at the start of the next stay "\r\n".
func TestCRLFReader(t *testing.T) {
	in := "x\r\ny\n\n\r\rz\n"
	want := "x\r\ny\r\n\r\n\r\rz\r\n"
	for name, r := range map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	} {
		got, err := io.ReadAll(iotest.OneByteReader(&crlfReader{r: r(strings.NewReader(in))}))
		if err != nil || string(got) != want {
			t.Errorf("%s: %q %v, want %q", name, got, err, want)
		}
		got, err = io.ReadAll(&crlfReader{r: r(strings.NewReader(in))})
		if err != nil || string(got) != want {
			t.Errorf("%s, whole reads: %q %v, want %q", name, got, err, want)
		}
	}
}

// opensslServer runs openssl s_server with cert and key (and the extra
// arguments) for one connection and calls f with its port; the test is
// skipped without openssl.
func opensslServer(t *testing.T, cert, key string, f func(port string), extra ...string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not on PATH: the s_server case is not tested")
	}
	srv := exec.Command("openssl", append([]string{"s_server", "-accept", "127.0.0.1:0", "-cert", cert, "-key", key, "-naccept", "1"}, extra...)...)
	// s_server ends at the end of its own stdin: keep it open.
	in, _ := srv.StdinPipe()
	pipe, _ := srv.StdoutPipe()
	srv.Stderr = io.Discard
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	defer srv.Process.Kill()
	defer in.Close()
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
	f(port)
}
