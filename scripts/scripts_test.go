package scripts_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	"github.com/wirelab/wirelab/scripts"
)

// wirelab is the binary under test, built once.
var wirelab string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &wirelab)) }

// server is a bundled server script running in a process of its own.
type server struct {
	cmd    *exec.Cmd
	port   int
	stdout *bufio.Reader
	stderr *testbin.Buffer
}

// waitOutput waits until out holds want: output is copied from a pipe as
// it comes, so a line may not all be there yet. On failure it shows what
// out held by then.
func waitOutput(t *testing.T, out *testbin.Buffer, want string) {
	t.Helper()
	seen := false
	defer func() {
		if !seen { // WaitFor failed t
			t.Logf("the output by then: %q", out.String())
		}
	}()
	testbin.WaitFor(t, 10*time.Second, fmt.Sprintf("%q in the output", want), func() bool {
		return strings.Contains(out.String(), want)
	})
	seen = true
}

// startServer runs `wirelab run NAME --port 0 ARGS...` in dir and waits for
// its "listening on HOST:PORT" line.
func startServer(t *testing.T, dir, name string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(wirelab, append([]string{"run", name, "--port", "0"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stdout: bufio.NewReader(out), stderr: &testbin.Buffer{}}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		testbin.Stop(cmd.Process)
		cmd.Wait()
	})
	line, err := s.stdout.ReadString('\n')
	if !strings.HasPrefix(line, "listening on 127.0.0.1:") {
		t.Fatalf("%s: first line %q (%v), stderr %s", name, line, err, s.stderr.String())
	}
	s.port, _ = strconv.Atoi(strings.TrimSpace(line[strings.LastIndex(line, ":")+1:]))
	return s
}

// runClient runs a client script with stdin, returning its stdout and stderr.
func runClient(t *testing.T, dir, name string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(wirelab, append([]string{"run", name}, args...)...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	// Read on a time-out while the process may still write.
	var out, errb testbin.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not finish; stdout %q stderr %q", name, out.String(), errb.String())
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

func dial(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c
}

// nl ends the lines of the servers' commands: cmd.exe's echo writes
// "\r\n" on Windows.
var nl = map[bool]string{false: "\n", true: "\r\n"}[runtime.GOOS == "windows"]

// seqCmd is the command that prints 1 to n a line each in the servers'
// shell: seq, or on Windows cmd.exe's for /l loop.
func seqCmd(n int) string {
	if runtime.GOOS == "windows" {
		return fmt.Sprintf("for /l %%i in (1,1,%d) do @echo %%i", n)
	}
	return fmt.Sprintf("seq 1 %d", n)
}

// seq is what seqCmd(n) prints.
func seq(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d%s", i, nl)
	}
	return b.String()
}

func TestScriptsListed(t *testing.T) {
	out, err := exec.Command(wirelab, "scripts").Output()
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"exec_broken_server", "exec_broken_client", "exec_fixed_server", "exec_fixed_client",
		"udp_echo_server", "udp_echo_client", "login_server", "login_client", "upload_server", "upload_client", "sticky_demo"}
	for _, name := range names {
		if !regexpLine(string(out), name) {
			t.Errorf("wirelab scripts does not list %s with a description:\n%s", name, out)
		}
	}
	if got := len(scripts.List()); got != len(names) {
		t.Errorf("%d scripts bundled, %d expected", got, len(names))
	}
	for _, name := range names {
		if name == "sticky_demo" {
			continue
		}
		out, err := exec.Command(wirelab, "run", name, "--help").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "-port") || !strings.Contains(string(out), "-host") {
			t.Errorf("%s --help: %v\n%s", name, err, out)
		}
	}
}

func regexpLine(out, name string) bool {
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[0] == name {
			return true
		}
	}
	return false
}

// TestStickyDemo is the README's first command.
func TestStickyDemo(t *testing.T) {
	out, errs, code := runClient(t, t.TempDir(), "sticky_demo", "")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	big, size := seqCmd(400), strconv.Itoa(len(seq(400)))
	hello := strconv.Itoa(len("hello" + nl))
	for _, want := range []string{"the packets stuck", "--- answer to `echo hello`: " + hello + " bytes\n  hello\n", "answer to `" + big + "`: " + size + " bytes",
		"the same bytes: reading the header, then exactly n bytes, survives any split",
		"the broken pair:\n--- answer to `" + big + "`: ", " of the " + size + " bytes: the answer split"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestBrokenPairSticks: the tail of a big answer arrives as the next one.
func TestBrokenPairSticks(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "exec_broken_server")
	out, errs, code := runClient(t, dir, "exec_broken_client", seqCmd(400)+"\necho hello\n", "--port", strconv.Itoa(s.port))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	full := seq(400)
	if !strings.HasPrefix(out, full[:1024]) {
		t.Fatalf("first answer is not the first 1024 bytes of seq: %q", out[:min(len(out), 100)])
	}
	if !strings.HasPrefix(out[1024:], full[1024:]) {
		t.Fatalf("second answer does not begin with the tail of the first: %q", out[1024:min(len(out), 1100)])
	}
	if strings.Contains(out[:len(full)], "hello") {
		t.Fatal("hello arrived in time: the lesson did not happen")
	}
}

// TestFixedPairNeverSticks runs the fixed pair in all three wire modes.
func TestFixedPairNeverSticks(t *testing.T) {
	input := "seq 1 5000\necho hello\n\ntrue\nls /definitely-missing-wirelab\nprintf 'a\\nb'\n"
	last := "a\nb"
	if runtime.GOOS == "windows" {
		// The same in cmd.exe: its own error on stderr, a last line
		// without its end.
		input = seqCmd(5000) + "\necho hello\n\nver >nul\necho definitely-missing-wirelab>&2\necho a& <nul set /p =b\n"
		last = "a\r\nb"
	}
	for _, mode := range [][]string{nil, {"--json"}, {"--framed"}, {"--json", "--framed"}} {
		t.Run(strings.Join(append([]string{"plain"}, mode...), ""), func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, dir, "exec_fixed_server", mode...)
			out, errs, code := runClient(t, dir, "exec_fixed_client", input, append([]string{"--port", strconv.Itoa(s.port)}, mode...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			want := seq(5000) + "hello" + nl
			if !strings.HasPrefix(out, want) {
				t.Fatalf("answers mixed: %q", out[max(0, len(want)-50):min(len(out), len(want)+50)])
			}
			rest := out[len(want):]
			if !strings.Contains(rest, "definitely-missing-wirelab") || !strings.HasSuffix(rest, last) {
				t.Fatalf("stderr and last answer: %q", rest)
			}
		})
	}
}

// docExec is the documents' fixed client, written independently in Go:
// send the command's bytes, read struct.pack('i', n), read n bytes.
func docExec(t *testing.T, c net.Conn, cmd string) string {
	t.Helper()
	if _, err := c.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	return string(readDocFrame(t, c))
}

// TestFixedServerWithDocumentClient checks the server byte for byte
// against a client written from the documents, several at once, and one
// that vanishes mid-command.
func TestFixedServerWithDocumentClient(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	dir := t.TempDir()
	s := startServer(t, dir, "exec_fixed_server")
	gone := dial(t, s.port)
	finished := filepath.Join(dir, "finished")
	gone.Write([]byte("sleep 0.2; seq 1 100000; touch " + finished))
	gone.Close()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := dial(t, s.port)
			for j := 0; j < 5; j++ {
				want := fmt.Sprintf("client %d command %d\n", i, j)
				if got := docExec(t, c, "echo client "+strconv.Itoa(i)+" command "+strconv.Itoa(j)); got != want {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		}(i)
	}
	wg.Wait()
	// The vanished client's command has ended: its answer goes nowhere.
	testbin.WaitFor(t, 10*time.Second, "the vanished client's command to finish", func() bool {
		_, err := os.Stat(finished)
		return err == nil
	})
	if got := docExec(t, dial(t, s.port), "echo still serving"); got != "still serving\n" {
		t.Fatalf("after a vanished client: %q", got)
	}
}

// TestFixedServerJSONWithDocumentClient reads --json answers as the
// documents' client does: 4-byte length, JSON header with total_size.
func TestFixedServerJSONWithDocumentClient(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	s := startServer(t, t.TempDir(), "exec_fixed_server", "--json")
	c := dial(t, s.port)
	c.Write([]byte("printf abc; printf err >&2"))
	header := readDocFrame(t, c)
	if !strings.Contains(string(header), `"total_size": 6`) {
		t.Fatalf("header %s", header)
	}
	body := make([]byte, 6)
	io.ReadFull(c, body)
	if string(body) != "abcerr" {
		t.Fatalf("body %q", body)
	}
}

func readDocFrame(t *testing.T, c net.Conn) []byte {
	t.Helper()
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int32(binary.LittleEndian.Uint32(hdr[:])) // struct.unpack('i', hdr)
	if n < 0 || n > 64<<20 {
		t.Fatalf("bad length %d", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// docFrame is struct.pack('i', len(payload)) + payload.
func docFrame(payload []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

// serveOnce accepts one connection on a free loopback port and hands it
// to peer, a Go server written from the documents; it returns the port.
func serveOnce(t *testing.T, peer func(c net.Conn)) string {
	t.Helper()
	ln := testbin.Listen(t)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		peer(c)
	}()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// TestFixedClientWithDocumentServer serves the client from a Go server
// written from the documents, in plain and JSON modes, GBK included.
func TestFixedClientWithDocumentServer(t *testing.T) {
	gbk := []byte{0xc7, 0xfd, 0xb6, 0xaf, 0xc6, 0xf7, '\n'} // 驱动器, as a Windows server answers
	for _, mode := range []string{"plain", "json"} {
		t.Run(mode, func(t *testing.T) {
			port := serveOnce(t, func(c net.Conn) {
				buf := make([]byte, 1024)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					answer := append([]byte("ran: "), buf[:n]...)
					answer = append(answer, '\n')
					if string(buf[:n]) == "dir" {
						answer = gbk
					}
					if mode == "json" {
						h := fmt.Sprintf(`{"filename": "a.txt", "total_size": %d}`, len(answer))
						c.Write(append(docFrame([]byte(h)), answer...))
					} else {
						c.Write(docFrame(answer))
					}
				}
			})
			args := []string{"--port", port, "--encoding", "gbk"}
			if mode == "json" {
				args = append(args, "--json")
			}
			out, errs, code := runClient(t, t.TempDir(), "exec_fixed_client", "whoami\ndir\n", args...)
			if code != 0 || out != "ran: whoami\n驱动器\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
		})
	}
}

func TestUDPEcho(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	dir := t.TempDir()
	s := startServer(t, dir, "udp_echo_server", "--buffer", "1024")
	u, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(s.port))
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.SetDeadline(time.Now().Add(10 * time.Second))
	// two datagrams, two answers: never stuck together
	u.Write([]byte("hello"))
	u.Write([]byte("world"))
	buf := make([]byte, 65535)
	for _, want := range []string{"hello", "world"} {
		n, err := u.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("got %q %v, want %q", buf[:n], err, want)
		}
	}
	// longer than the buffer: cut, and the server says so
	u.Write(bytes.Repeat([]byte("x"), 3000))
	n, _ := u.Read(buf)
	if n != 1024 {
		t.Fatalf("echo of a cut datagram: %d bytes", n)
	}
	line, _ := s.stdout.ReadString('\n')
	if !strings.Contains(line, "truncated") || !strings.Contains(line, "kept 1024 bytes") {
		t.Fatalf("server report %q", line)
	}
	out, errs, code := runClient(t, dir, "udp_echo_client", "hi\nthere\n", "--port", strconv.Itoa(s.port))
	if code != 0 || !strings.HasPrefix(out, "hi ('127.0.0.1', "+strconv.Itoa(s.port)+")\nthere (") {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
	}
	out, errs, _ = runClient(t, dir, "udp_echo_client", "ab\n", "--port", strconv.Itoa(s.port), "--size", "65508")
	if !strings.Contains(errs, "datagram too large") {
		t.Fatalf("65508 bytes: stdout %q stderr %q", out, errs)
	}
	out, _, _ = runClient(t, dir, "udp_echo_client", "ab\n", "--port", strconv.Itoa(s.port), "--size", "4000")
	if !strings.HasPrefix(out, "1024 bytes from") {
		t.Fatalf("4000-byte datagram through a 1024-byte buffer: %q", out)
	}
}

func TestLogin(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "account.txt")
	os.WriteFile(accounts, []byte("chen:123\nzhang:123\n"), 0o600)
	// wirelab passwd adds a hashed entry, the password read from stdin
	cmd := exec.Command(wirelab, "passwd", accounts, "liu")
	cmd.Stdin = strings.NewReader("s3cret|with|pipes\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passwd: %v %s", err, out)
	}
	data, _ := os.ReadFile(accounts)
	if !strings.Contains(string(data), "liu:$2a$") || strings.Contains(string(data), "s3cret") {
		t.Fatalf("accounts file %s", data)
	}
	s := startServer(t, dir, "login_server", "--accounts", accounts)
	waitOutput(t, s.stderr, "plaintext") // the warning about plaintext passwords
	port := strconv.Itoa(s.port)

	out, errs, code := runClient(t, dir, "login_client", "chen\nwrong\nchen\n123\n", "--port", port)
	if code != 0 || out != "fail\nsuccess\n" {
		t.Fatalf("exit %d stdout %q stderr %q", code, out, errs)
	}
	out, _, _ = runClient(t, dir, "login_client", "liu\ns3cret|with|pipes\n", "--port", port)
	if out != "success\n" {
		t.Fatalf("hashed entry: %q", out)
	}
	// a refused login exits 1 and says so on stderr
	out, errs, code = runClient(t, dir, "login_client", "nobody\n123\n", "--port", port)
	if out != "fail\n" || code != 1 || errs != "login refused: the server answered fail\n" {
		t.Fatalf("unknown user: exit %d stdout %q stderr %q", code, out, errs)
	}
	out, errs, code = runClient(t, dir, "login_client", "", "--port", port)
	if out != "" || code != 1 || !strings.Contains(errs, "no login") {
		t.Fatalf("no input: exit %d stdout %q stderr %q", code, out, errs)
	}
	// an account added while the server runs counts at once
	cmd = exec.Command(wirelab, "passwd", accounts, "nobody")
	cmd.Stdin = strings.NewReader("123\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("passwd: %v %s", err, out)
	}
	out, _, _ = runClient(t, dir, "login_client", "nobody\n123\n", "--port", port)
	if out != "success\n" {
		t.Fatalf("account added while running: %q", out)
	}

	// the documents' client, byte for byte; bad requests get "fail"
	c := dial(t, s.port)
	ask := func(req []byte) string {
		c.Write(req)
		buf := make([]byte, 100)
		n, err := c.Read(buf)
		if err != nil {
			return "closed: " + err.Error()
		}
		return string(buf[:n])
	}
	if got := ask([]byte("zhang|123")); got != "success" {
		t.Fatalf("zhang|123: %q", got)
	}
	for _, bad := range [][]byte{[]byte("no pipe"), []byte("|123"), {0xff, '|', 0xfe}, []byte("chen|")} {
		if got := ask(bad); got != "fail" {
			t.Fatalf("%q: %q", bad, got)
		}
	}
	// that was 4 failures; the 5th closes the connection
	if got := ask([]byte("chen|nope")); got != "fail" {
		t.Fatalf("5th failure: %q", got)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if got := ask([]byte("chen|123")); !strings.HasPrefix(got, "closed") {
		t.Fatalf("after 5 failures the connection should be closed, got %q", got)
	}
	out, errs, code = runClient(t, dir, "login_client", strings.Repeat("chen\nx\n", 6), "--port", port)
	if out != strings.Repeat("fail\n", 5) || code != 1 || errs == "" {
		t.Fatalf("client after lock-out: exit %d stdout %q stderr %q", code, out, errs)
	}
}

// TestLoginTiming: an unknown user costs about what a wrong password does.
func TestLoginTiming(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "account.txt")
	cmd := exec.Command(wirelab, "passwd", accounts, "liu")
	cmd.Stdin = strings.NewReader("pw\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s := startServer(t, dir, "login_server", "--accounts", accounts, "--max-failures", "100")
	c := dial(t, s.port)
	timeOf := func(req string) time.Duration {
		start := time.Now()
		for i := 0; i < 5; i++ {
			c.Write([]byte(req))
			buf := make([]byte, 10)
			n, _ := c.Read(buf)
			if string(buf[:n]) != "fail" {
				t.Fatalf("%s: %q", req, buf[:n])
			}
		}
		return time.Since(start)
	}
	wrong, unknown := timeOf("liu|nope"), timeOf("nobody|nope")
	ratio := float64(unknown) / float64(wrong)
	t.Logf("wrong password %v, unknown user %v for 5 tries", wrong, unknown)
	if ratio < 0.5 || ratio > 2 {
		t.Fatalf("unknown user takes %.2fx the time of a wrong password", ratio)
	}
}

// TestFixedServerSaysWhenCut: an answer over --max-output never arrives as
// if whole: plain answers end with a notice, JSON headers say truncated.
func TestFixedServerSaysWhenCut(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	s := startServer(t, t.TempDir(), "exec_fixed_server", "--max-output", "1000")
	got := docExec(t, dial(t, s.port), "seq 1 10000")
	if !strings.HasPrefix(got, "1\n2\n3\n") || !strings.HasSuffix(got, "\nwirelab: output cut at 1000 bytes per stream (--max-output)\n") {
		t.Fatalf("plain answer %q", got)
	}
	if got := docExec(t, dial(t, s.port), "seq 1 10"); got != seq(10) {
		t.Fatalf("a short answer changed: %q", got)
	}
	j := startServer(t, t.TempDir(), "exec_fixed_server", "--max-output", "1000", "--json")
	c := dial(t, j.port)
	for _, cmd := range []string{"seq 1 10000", "seq 1 10"} {
		c.Write([]byte(cmd))
		var h struct {
			Code      int  `json:"code"`
			TotalSize int  `json:"total_size"`
			Truncated bool `json:"truncated"`
		}
		header := readDocFrame(t, c)
		if err := json.Unmarshal(header, &h); err != nil {
			t.Fatal(err)
		}
		body := make([]byte, h.TotalSize)
		io.ReadFull(c, body)
		long := cmd == "seq 1 10000"
		if h.Truncated != long || (long && len(body) != 1000) || (!long && string(body) != seq(10)) {
			t.Fatalf("%s: header %s, %d bytes", cmd, header, len(body))
		}
		if !long && strings.Contains(string(header), "truncated") {
			t.Fatalf("a whole answer's header names truncated: %s", header)
		}
	}
}

// TestLoginPenalty: a guesser that reconnects after every lock-out is
// blocked after a burst, even for the right password, while another
// address logs in at once.
func TestLoginPenalty(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "account.txt")
	os.WriteFile(accounts, []byte("chen:123\n"), 0o600)
	s := startServer(t, dir, "login_server", "--accounts", accounts)
	ask := func(from, req string) string {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write([]byte(req))
		buf := make([]byte, 16)
		n, _ := c.Read(buf)
		return string(buf[:n])
	}
	guesses := 0
	for ; guesses < 100; guesses++ {
		if got := ask("127.0.0.1", "chen|guess"+strconv.Itoa(guesses)); got != "fail" {
			t.Fatalf("guess %d: %q", guesses, got)
		}
		if strings.Contains(s.stderr.String(), "blocked") {
			break
		}
	}
	if guesses < 25 || guesses > 35 {
		t.Fatalf("blocked after %d guesses, want about 30", guesses)
	}
	if got := ask("127.0.0.1", "chen|123"); got != "fail" {
		t.Fatalf("the right password from a blocked address: %q", got)
	}
	if got := ask("127.0.0.2", "chen|123"); got != "success" {
		t.Fatalf("another address: %q", got)
	}
}

// TestExecServersRefuseHTTP: a web page's POST (text/plain, no preflight)
// reaches the exec servers as a request; it must not run.
func TestExecServersRefuseHTTP(t *testing.T) {
	for _, args := range [][]string{{"exec_fixed_server"}, {"exec_fixed_server", "--json"}, {"exec_broken_server"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			dir := t.TempDir()
			s := startServer(t, dir, args[0], args[1:]...)
			resp, err := http.Post("http://127.0.0.1:"+strconv.Itoa(s.port)+"/", "text/plain", strings.NewReader("touch PWNED\n"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(body), "not HTTP") {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
				t.Fatal("the POST ran a command")
			}
		})
	}
}

// TestExecServerToken: with --token, commands run only after the token.
func TestExecServerToken(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "exec_fixed_server", "--token", "s3cret")
	c := dial(t, s.port)
	if got := docExec(t, c, "touch PWNED"); got != "wirelab: wrong token\n" {
		t.Fatalf("without the token: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "PWNED")); err == nil {
		t.Fatal("a command ran without the token")
	}
	c = dial(t, s.port)
	if got := docExec(t, c, "s3cret"); got != "wirelab: authenticated\n" {
		t.Fatalf("token: %q", got)
	}
	if got := docExec(t, c, "echo hi"); got != "hi"+nl {
		t.Fatalf("after the token: %q", got)
	}
	out, errs, code := runClient(t, dir, "exec_fixed_client", "echo via client\n", "--port", strconv.Itoa(s.port), "--token", "s3cret")
	if code != 0 || out != "via client"+nl {
		t.Fatalf("client: %d %q %q", code, out, errs)
	}
	_, errs, code = runClient(t, dir, "exec_fixed_client", "echo via client\n", "--port", strconv.Itoa(s.port), "--token", "wrong")
	if code == 0 || !strings.Contains(errs, "wrong token") {
		t.Fatalf("client with a wrong token: %d %q", code, errs)
	}
}

// TestExecServerWarnsBeyondLoopback: listening on every address says so.
func TestExecServerWarnsBeyondLoopback(t *testing.T) {
	cmd := exec.Command(wirelab, "run", "exec_fixed_server", "--host", "0.0.0.0", "--port", "0")
	var stderr testbin.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "listening on 0.0.0.0:") {
		t.Fatalf("stdout %q", line)
	}
	waitOutput(t, &stderr, "warning: listening on 0.0.0.0: anyone who can reach it runs commands as this user; set --token\n")
	quiet := startServer(t, t.TempDir(), "exec_fixed_server")
	if quiet.stderr.String() != "" {
		t.Fatalf("loopback: stderr %q", quiet.stderr.String())
	}
}

// TestUDPEchoWithBlockedStdout: the server's stdout is a pipe nobody reads
// once the first line is in; thousands of truncation notices later, every
// datagram still comes back.
func TestUDPEchoWithBlockedStdout(t *testing.T) {
	testbin.SkipWine(t, testbin.WineUDP)
	s := startServer(t, t.TempDir(), "udp_echo_server", "--buffer", "16")
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(s.port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 100)
	for i := 0; i < 3000; i++ {
		msg := fmt.Sprintf("datagram %04d is longer than sixteen bytes", i)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := c.Read(buf)
		if err != nil || string(buf[:n]) != msg[:16] {
			t.Fatalf("datagram %d: %q %v", i, buf[:n], err)
		}
	}
}

// vmHWM returns a process's peak resident memory, in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// TestExecServerMemoryBounded: 60 clients ask for answers over the
// output limit and never read them; the server's memory stays bounded
// (answers wait on disk), and another client is answered within 1 s.
func TestExecServerMemoryBounded(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	n, size := 60, "20000000"
	if testing.Short() {
		n, size = 8, "4000000"
	}
	s := startServer(t, t.TempDir(), "exec_fixed_server")
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := dial(t, s.port)
			c.SetDeadline(time.Now().Add(60 * time.Second))
			c.Write([]byte("head -c " + size + " /dev/zero"))
			var hdr [4]byte
			if _, err := io.ReadFull(c, hdr[:]); err != nil { // the answer has begun; read no more
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	if got := docExec(t, dial(t, s.port), "echo hi"); got != "hi\n" {
		t.Fatalf("echo hi: %q", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("echo hi took %v", d)
	}
	peak := vmHWM(t, s.cmd.Process.Pid)
	t.Logf("%d clients holding %s-byte answers: server peak RSS %d MiB", n, size, peak>>20)
	if peak > 300<<20 {
		t.Fatalf("server peak RSS %d MiB", peak>>20)
	}
}

// TestFixedClientRefusesBadLength: a server announcing a negative or huge
// length gets a clear error, before the client waits for or allocates it.
func TestFixedClientRefusesBadLength(t *testing.T) {
	for name, header := range map[string][]byte{"negative": {0xff, 0xff, 0xff, 0xff}, "huge": {0xff, 0xff, 0xff, 0x7f}} {
		t.Run(name, func(t *testing.T) {
			port := serveOnce(t, func(c net.Conn) {
				c.Read(make([]byte, 1024))
				c.Write(header)
				c.Read(make([]byte, 1)) // hold the connection until the client leaves
			})
			_, errs, code := runClient(t, t.TempDir(), "exec_fixed_client", "ls\n", "--port", port)
			if code != 1 || !strings.Contains(errs, "bad length") {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
		})
	}
}

// peakRunning reads a log of "s" (a command started) and "e" (it ended)
// lines that the commands appended, in the order they happened, and
// returns how many ran at once at most and how many started (none while
// there is no log yet).
func peakRunning(t *testing.T, log string) (peak, started int) {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	running := 0
	for _, line := range strings.Fields(string(b)) {
		switch line {
		case "s":
			running++
			started++
		case "e":
			running--
		}
		peak = max(peak, running)
	}
	return peak, started
}

// TestExecServersCapRunning: under a flood of clients both exec servers
// run at most --max-running commands at once, as the commands themselves
// see it, and answer every client; the rest wait in line. (Before the cap
// 2,000 clients made 4,000 processes.)
func TestExecServersCapRunning(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	for _, name := range []string{"exec_fixed_server", "exec_broken_server"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			log := filepath.Join(dir, "log")
			const limit, clients = 3, 15
			s := startServer(t, dir, name, "--max-running", strconv.Itoa(limit))
			var wg sync.WaitGroup
			for i := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := dial(t, s.port)
					cmd := fmt.Sprintf("echo s >> %s; sleep 0.2; echo e >> %s; echo done %02d", log, log, i)
					want := fmt.Sprintf("done %02d\n", i)
					var got string
					if name == "exec_fixed_server" {
						got = docExec(t, c, cmd)
					} else {
						c.Write([]byte(cmd))
						b := make([]byte, len(want))
						_, err := io.ReadFull(c, b)
						if err != nil {
							t.Error(err)
						}
						got = string(b)
					}
					if got != want {
						t.Errorf("client %d: %q", i, got)
					}
				}()
			}
			wg.Wait()
			peak, started := peakRunning(t, log)
			t.Logf("%d clients, --max-running %d: at most %d commands at once", clients, limit, peak)
			if peak > limit || started != clients {
				t.Fatalf("%d commands at once (--max-running %d), %d of %d started", peak, limit, started, clients)
			}
		})
	}
}

// TestExecServerFreshClientWaits: with every slot taken, a fresh client's
// command waits for the first to free, and for no more: it is answered
// once one of the held commands ends, while the others still hold theirs.
func TestExecServerFreshClientWaits(t *testing.T) {
	testbin.SkipWindows(t, "sh commands for the exec server (sleep, touch, head, printf); TestFixedPairNeverSticks and TestWineDemos run it with cmd.exe's")
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	const limit = 3
	s := startServer(t, dir, "exec_fixed_server", "--max-running", strconv.Itoa(limit))
	held := make([]net.Conn, limit)
	for i := range held {
		held[i] = dial(t, s.port)
		// Each holds its slot until the test creates its file.
		go held[i].Write([]byte(fmt.Sprintf("echo s >> %[1]s; until [ -e %[2]s/go%[3]d ]; do sleep 0.02; done; echo e >> %[1]s; echo held %[3]d", log, dir, i)))
		testbin.WaitFor(t, 20*time.Second, "the held command to start", func() bool {
			_, started := peakRunning(t, log)
			return started == i+1
		})
	}
	fresh := dial(t, s.port)
	fresh.Write([]byte("echo hi"))
	// Answered now, it would have run beside the held ones: look a while.
	fresh.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := fresh.Read(make([]byte, 1)); n > 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a fresh client answered with %d commands running and --max-running %d: %d bytes, %v", limit, limit, n, err)
	}
	fresh.SetReadDeadline(time.Now().Add(20 * time.Second))
	start := time.Now()
	os.WriteFile(filepath.Join(dir, "go0"), nil, 0o600)
	if got := string(readDocFrame(t, held[0])); got != "held 0\n" {
		t.Fatalf("held 0: %q", got)
	}
	if got := string(readDocFrame(t, fresh)); got != "hi\n" {
		t.Fatalf("fresh: %q", got)
	}
	t.Logf("the fresh client was answered %v after the first slot freed", time.Since(start))
	if peak, started := peakRunning(t, log); started != limit || peak != limit {
		t.Fatalf("log: %d started, peak %d", started, peak)
	}
	if b, _ := os.ReadFile(log); strings.Count(string(b), "e") != 1 {
		t.Fatalf("the fresh client waited for more than one slot: log %q", b)
	}
	for i := 1; i < limit; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("go%d", i)), nil, 0o600)
		if got := string(readDocFrame(t, held[i])); got != fmt.Sprintf("held %d\n", i) {
			t.Fatalf("held %d: %q", i, got)
		}
	}
}

// TestExecServerLoopbackParsed: the loopback test parses the address, so
// a name that starts like one (127.example.com) gets the warning too.
func TestExecServerLoopbackParsed(t *testing.T) {
	script := `local fixed = require("exec_fixed_server")
for _, h in ipairs(arg) do io.write(h, "=", tostring(fixed.loopback(h)), " ") end`
	out, err := exec.Command(wirelab, "-e", script, "127.0.0.1", "127.9.9.9", "::1", "localhost", "127.example.com", "0.0.0.0", "10.0.0.1").CombinedOutput()
	want := "127.0.0.1=true 127.9.9.9=true ::1=true localhost=true 127.example.com=false 0.0.0.0=false 10.0.0.1=false "
	if err != nil || string(out) != want {
		t.Fatalf("%v %q, want %q", err, out, want)
	}
}
