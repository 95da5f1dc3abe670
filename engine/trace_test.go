package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/wirelab/wirelab/engine/capture"

	"github.com/wirelab/wirelab/internal/testbin"
)

// TestHexdumpMatchesHexdumpC compares AppendHexdump with hexdump -C -v
// itself, for lengths around the line and group boundaries and every
// byte value.
func TestHexdumpMatchesHexdumpC(t *testing.T) {
	if _, err := exec.LookPath("hexdump"); err != nil {
		t.Skip("hexdump not on PATH")
	}
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 256} {
		data := all[:n]
		cmd := exec.Command("hexdump", "-C", "-v")
		cmd.Stdin = bytes.NewReader(data)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		// hexdump ends with the total length as an offset line.
		lines := strings.SplitAfter(string(out), "\n")
		want := strings.Join(lines[:len(lines)-2], "")
		if got := string(AppendHexdump(nil, data)); got != want {
			t.Fatalf("%d bytes:\ngot\n%s\nwant\n%s", n, got, want)
		}
	}
}

// TestTraceExchange checks the exact trace of a known exchange: what a
// buffered read takes ahead and the delimiter RecvUntil consumes are
// shown, each byte once, in the order the socket saw them.
func TestTraceExchange(t *testing.T) {
	a, b := tcpPair(t)
	var out bytes.Buffer
	tr := NewTracer(&out)
	tr.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC) }
	a.SetTracer(tr)
	ctx := context.Background()
	if _, err := a.Send(ctx, []byte("GET / HTTP/1.0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	req, err := b.RecvExact(ctx, 18)
	if err != nil || string(req) != "GET / HTTP/1.0\r\n\r\n" {
		t.Fatalf("%q %v", req, err)
	}
	if _, err := b.Send(ctx, []byte("HTTP/1.0 200 OK\r\n\x00\xff")); err != nil {
		t.Fatal(err)
	}
	line, err := a.RecvUntil(ctx, []byte("\r\n"), 100)
	if err != nil || string(line) != "HTTP/1.0 200 OK" {
		t.Fatalf("%q %v", line, err)
	}
	rest, err := a.RecvExact(ctx, 2)
	if err != nil || string(rest) != "\x00\xff" {
		t.Fatalf("%q %v", rest, err)
	}
	peer, local := b.LocalAddr().String(), a.LocalAddr().String()
	want := "03:04:05.678901 -- connected to " + peer + " from " + local + "\n" +
		"03:04:05.678901 >> sent 18 bytes to " + peer + " at offset 0\n" +
		"00000000  47 45 54 20 2f 20 48 54  54 50 2f 31 2e 30 0d 0a  |GET / HTTP/1.0..|\n" +
		"00000010  0d 0a                                             |..|\n" +
		"03:04:05.678901 << received 19 bytes from " + peer + " at offset 0\n" +
		"00000000  48 54 54 50 2f 31 2e 30  20 32 30 30 20 4f 4b 0d  |HTTP/1.0 200 OK.|\n" +
		"00000010  0a 00 ff                                          |...|\n"
	if out.String() != want {
		t.Fatalf("trace\n%s\nwant\n%s", out.String(), want)
	}
}

// TestTraceConcurrent checks that dumps from many connections to one
// Tracer never interleave.
func TestTraceConcurrent(t *testing.T) {
	var out testbin.Buffer
	tr := NewTracer(&out)
	var wg sync.WaitGroup
	for i := range 8 {
		a, b := tcpPair(t)
		a.SetTracer(tr)
		wg.Add(2)
		payload := bytes.Repeat([]byte{byte('a' + i)}, 1000)
		go func() {
			defer wg.Done()
			for range 50 {
				a.Send(context.Background(), payload)
			}
		}()
		go func() {
			defer wg.Done()
			b.RecvExact(context.Background(), 50*1000)
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var letter byte
	for i, l := range lines {
		if strings.Contains(l, " -- connected to ") {
			continue
		}
		if strings.Contains(l, ">> sent") {
			letter = 0
			continue
		}
		// every hex line of one dump shows one letter
		ascii := l[strings.IndexByte(l, '|')+1 : len(l)-1]
		if letter == 0 {
			letter = ascii[0]
		}
		if strings.Trim(ascii, string(letter)) != "" {
			t.Fatalf("line %d mixes dumps: %q", i, l)
		}
	}
	if len(lines) != 8+8*50*(1+63) {
		t.Fatalf("%d lines, want %d", len(lines), 8+8*50*64)
	}
}

// TestTraceOrdersAnswerAfterRequest sends from one goroutine and receives
// the echo in another, as wirelab connect does: the dump of what was
// sent must come before the dump of the answer to it, every round. (When
// a send was dumped after its write returned, the reader could dump the
// answer first.)
func TestTraceOrdersAnswerAfterRequest(t *testing.T) {
	a, b := tcpPair(t)
	var out testbin.Buffer
	a.SetTracer(NewTracer(&out))
	ctx := context.Background()
	const rounds = 300
	go func() { // the peer echoes every byte at once
		for {
			p, err := b.Recv(ctx, 64)
			if err != nil {
				return
			}
			b.Send(ctx, p)
		}
	}()
	got := make(chan struct{})
	go func() {
		for range rounds {
			if _, err := a.RecvExact(ctx, 1); err != nil {
				break
			}
			got <- struct{}{}
		}
		close(got)
	}()
	for range rounds {
		if _, err := a.Send(ctx, []byte{'x'}); err != nil {
			t.Fatal(err)
		}
		<-got
	}
	sent, received := 0, 0
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.Contains(line, ">> sent"):
			sent++
		case strings.Contains(line, "<< received"):
			received++
			if received > sent {
				t.Fatalf("answer %d dumped before the send it answers:\n%s", received, out.String())
			}
		}
	}
	if sent != rounds || received != rounds {
		t.Fatalf("%d sends and %d receives dumped, want %d each", sent, received, rounds)
	}
}

// TestTraceSaysWhenSendFails: a send dumped before its write says so when
// the write then fails, so the trace never shows as sent what did not go.
func TestTraceSaysWhenSendFails(t *testing.T) {
	a, b := tcpPair(t)
	var out testbin.Buffer
	a.SetTracer(NewTracer(&out))
	b.Close()
	ctx := context.Background()
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 200 && err == nil; i++ { // the peer's reset stops a send within a few
		_, err = a.Send(ctx, chunk)
	}
	if err == nil {
		t.Fatal("sends to a closed peer never failed")
	}
	if !strings.Contains(out.String(), " bytes above: ") || !strings.Contains(out.String(), "failed after ") {
		t.Fatalf("a failed send is not noted; the trace ends\n%s", out.String()[max(0, len(out.String())-400):])
	}
}

// TestTraceLife: the trace tells how a connection lives and ends, in the
// dumps' layout, with the offsets of every chunk: accepted, the chunks
// (the second's offset after the first), a receive that timed out, the
// peer's FIN, our FIN, close; and, on another connection, a reset.
func TestTraceLife(t *testing.T) {
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	srv, err := ln.Accept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out testbin.Buffer
	tr := NewTracer(&out)
	tr.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	srv.SetTracer(tr)
	ctx := context.Background()
	client.Write([]byte("hello"))
	if got, err := srv.RecvExact(ctx, 5); err != nil || string(got) != "hello" {
		t.Fatalf("%q %v", got, err)
	}
	srv.SetTimeout(20 * time.Millisecond)
	if _, err := srv.Recv(ctx, 10); !errors.Is(err, ErrTimeout) {
		t.Fatalf("recv: %v, want a timeout", err)
	}
	srv.SetTimeout(0)
	client.Write([]byte("world"))
	client.(*net.TCPConn).CloseWrite()
	if got, err := srv.RecvExact(ctx, 5); err != nil || string(got) != "world" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := srv.Recv(ctx, 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("recv at the end: %v", err)
	}
	srv.Send(ctx, []byte("bye"))
	srv.CloseWrite()
	srv.Close()
	peer, local := client.LocalAddr().String(), client.RemoteAddr().String()
	at := "03:04:05.000000 "
	want := at + "-- accepted " + peer + " on " + local + "\n" +
		at + "<< received 5 bytes from " + peer + " at offset 0\n" +
		"00000000  68 65 6c 6c 6f                                    |hello|\n" +
		at + "<< receive from " + peer + " timed out after 20ms, 5 bytes received so far\n" +
		at + "<< received 5 bytes from " + peer + " at offset 5\n" +
		"00000000  77 6f 72 6c 64                                    |world|\n" +
		at + "<< FIN from " + peer + ": end of stream after 10 bytes\n" +
		at + ">> sent 3 bytes to " + peer + " at offset 0\n" +
		"00000000  62 79 65                                          |bye|\n" +
		at + ">> FIN to " + peer + ": shutdown after 3 bytes sent\n" +
		at + "-- closed " + peer + ": 3 bytes sent, 10 received\n"
	if out.String() != want {
		t.Fatalf("trace\n%s\nwant\n%s", out.String(), want)
	}

	// A reset: the peer closes with unread bytes (SO_LINGER 0 sends RST).
	testbin.SkipWine(t, testbin.WineRST)
	a, b := tcpPair(t)
	var rst testbin.Buffer
	a.SetTracer(NewTracer(&rst))
	b.nc.Conn.(*net.TCPConn).SetLinger(0)
	b.Close()
	if _, err := a.Recv(ctx, 10); err == nil {
		t.Fatal("a recv after the peer's reset succeeded")
	}
	if !strings.Contains(rst.String(), "<< RST from "+b.LocalAddr().String()+": connection reset by peer") {
		t.Fatalf("no RST line:\n%s", rst.String())
	}
}

// TestTraceText: the text view escapes what is not printable, keeps a
// line per \n, and shows the same headers.
func TestTraceText(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	got := string(AppendText(nil, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n\x00\xff\\\tz")))
	want := "GET / HTTP/1.1\\r\\n\nHost: x\\r\\n\n\\r\\n\n\\000\\255\\\\\\tz\n"
	if got != want {
		t.Fatalf("text\n%q\nwant\n%q", got, want)
	}
	// Every byte can be read back from its escape, as Lua reads "\ddd".
	back := strings.NewReplacer(`\r`, "\r", `\n`+"\n", "\n", `\t`, "\t", `\\`, `\`, "\n", "")
	text := back.Replace(string(AppendText(nil, all)))
	var dec []byte
	for i := 0; i < len(text); i++ {
		if text[i] == '\\' && i+4 <= len(text) && isDigits(text[i+1:i+4]) {
			n, _ := strconv.Atoi(text[i+1 : i+4])
			dec = append(dec, byte(n))
			i += 3
			continue
		}
		dec = append(dec, text[i])
	}
	if !bytes.Equal(dec, all) {
		t.Fatalf("the text of 0..255 reads back as %q", dec)
	}
	a, b := tcpPair(t)
	var out testbin.Buffer
	a.SetTracer(NewTracer(&out).WithFormat(TraceText))
	a.Send(context.Background(), []byte("PING\r\n"))
	b.RecvExact(context.Background(), 6)
	if !strings.HasSuffix(out.String(), ">> sent 6 bytes to "+b.LocalAddr().String()+" at offset 0\nPING\\r\\n\n") {
		t.Fatalf("text trace:\n%s", out.String())
	}
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(s) == 3
}

// TestTraceFormatKeepsStream: a new Tracer with the same capture keeps
// the connection's stream (one handshake in the file), and the dumps
// change format.
func TestTraceFormatKeepsStream(t *testing.T) {
	a, b := tcpPair(t)
	var out testbin.Buffer
	var file bytes.Buffer
	f, err := capture.New(&file)
	if err != nil {
		t.Fatal(err)
	}
	c := NewFileCapture(f)
	a.SetTracer(NewTracer(&out).WithCapture(c))
	a.Send(context.Background(), []byte("x\n"))
	b.RecvExact(context.Background(), 2)
	a.SetTracer(NewTracer(&out).WithFormat(TraceText).WithCapture(c))
	a.Send(context.Background(), []byte("y\n"))
	b.RecvExact(context.Background(), 2)
	c.Close()
	r, err := pcapgo.NewNgReader(bytes.NewReader(file.Bytes()), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	syns, payload := 0, ""
	for {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break
		}
		p := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
		if tcp, ok := p.TransportLayer().(*layers.TCP); ok {
			if tcp.SYN && !tcp.ACK {
				syns++
			}
			payload += string(tcp.Payload)
		}
	}
	if syns != 1 || payload != "x\ny\n" {
		t.Fatalf("%d SYNs and payload %q in the file; want 1 and \"x\\ny\\n\"", syns, payload)
	}
	if !strings.HasSuffix(out.String(), "at offset 2\ny\\n\n") {
		t.Fatalf("trace:\n%s", out.String())
	}
}
