package repl_test

import (
	"bufio"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestInteractive hands the terminal to a connection from the prompt:
// typed lines go to a real loopback server, what it sends is printed with
// control bytes escaped, and Ctrl-C, Ctrl-D and the peer closing each end
// it with the prompt and its globals intact.
func TestInteractive(t *testing.T) {
	port, got := lineServer(t, "hello\x01\r\n", func(line string) (string, bool) {
		return strings.ToUpper(line), line != "bye\n" // then the peer closes
	})
	next := func() string {
		select {
		case l := <-got:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("the server received nothing")
			return ""
		}
	}
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`c = socket.connect("127.0.0.1", ` + port + `)`)
	s.line(`c:interactive()`)
	s.expect(`hello\x01\r` + "\r\n")
	s.send("abc\r")
	if l := next(); l != "abc\n" {
		t.Fatalf("server got %q", l)
	}
	s.expect("ABC")
	s.send("\x03") // Ctrl-C ends the handover, not wirelab
	s.expect(`"interrupted"`)
	s.line(`c:send("still here\n")`)
	if l := next(); l != "still here\n" {
		t.Fatalf("server got %q", l)
	}
	s.line(`c:recv_until("\n")`)
	s.expect(`"STILL HERE"`)

	s.line(`c:interactive()`)
	s.send("\x04") // Ctrl-D on an empty line: the end of input
	s.expect(`"eof"`)

	// crlf: each typed line goes out ending in "\r\n", as HTTP wants
	s.line(`c:interactive({crlf = true})`)
	s.send("xyz\r")
	if l := next(); l != "xyz\r\n" {
		t.Fatalf("with crlf the server got %q", l)
	}
	s.expect("XYZ")
	s.send("\x03")
	s.expect(`"interrupted"`)

	s.line(`c:interactive()`)
	s.send("bye\r")
	if l := next(); l != "bye\n" {
		t.Fatalf("server got %q", l)
	}
	s.expect(`"closed"`)
	s.line(`c:close()`)
	s.line(`1 + 1`)
	s.expect("2")
}

// TestPasteAfterHandover pastes, in one write, a line that hands the
// terminal over and the lines meant for what it handed it to: they go to
// the peer and to term.readline, not to the next prompt as Lua.
func TestPasteAfterHandover(t *testing.T) {
	port, got := lineServer(t, "", func(line string) (string, bool) {
		if line == "\r\n" {
			return "HTTP/1.0 200 OK\r\n\r\n", false
		}
		return "", true
	})
	s := start(t, filepath.Join(t.TempDir(), "h"))
	s.line(`c = socket.connect("127.0.0.1", ` + port + `)`)
	s.send("c:interactive({crlf = true})\rGET / HTTP/1.0\r\r")
	for _, want := range []string{"GET / HTTP/1.0\r\n", "\r\n"} {
		select {
		case l := <-got:
			if l != want {
				t.Fatalf("the server got %q, want %q", l, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the server did not get %q", want)
		}
	}
	s.expect(`HTTP/1.0 200 OK\r`)
	s.expect(`"closed"`)

	s.send("x, y = term.readline(), term.readline()\rfirst\rsecond\r")
	s.expect("second")
	s.line(`x .. "+" .. y`)
	s.expect(`"first+second"`)
	if out := s.out.String(); strings.Contains(out, "attempt to") || strings.Contains(out, "'GET'") {
		t.Fatalf("pasted lines ran as Lua:\n%s", out)
	}
}

// lineServer serves loopback connections: each gets greeting, then the
// answer to each line it sends, until reply says no more and the server
// closes it. It returns the port and the lines received.
func lineServer(t *testing.T, greeting string, reply func(line string) (answer string, more bool)) (string, <-chan string) {
	got := make(chan string, 100)
	ln := testbin.Serve(t, func(c net.Conn) {
		c.Write([]byte(greeting))
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			got <- line
			answer, more := reply(line)
			c.Write([]byte(answer))
			if !more {
				return
			}
		}
	})
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), got
}
