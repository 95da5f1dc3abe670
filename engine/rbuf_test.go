package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wirelab/wirelab/netproto"
)

// socketPair returns the two ends of a loopback TCP connection.
func socketPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// TestReadBufMatchesTheStream reads a stream sent in random pieces with
// random Peek, Discard and Read calls, and checks every byte against what
// was sent, through a socket and through a plain reader.
func TestReadBufMatchesTheStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(rng.IntN(256))
	}
	for _, kind := range []string{"socket", "pipe"} {
		t.Run(kind, func(t *testing.T) {
			var w io.WriteCloser
			var src io.Reader
			if kind == "socket" {
				c, s := socketPair(t)
				w, src = c, s
			} else {
				pr, pw := io.Pipe()
				w, src = pw, pr
			}
			go func() {
				rng := rand.New(rand.NewPCG(3, 4))
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 1+rng.IntN(9000))
					w.Write(rest[:n])
					rest = rest[n:]
				}
				w.Close()
			}()
			b := newReadBuf(src)
			if (b.raw != nil) != (kind == "socket" && rawReads) {
				t.Fatalf("raw reads: %v", b.raw != nil)
			}
			var got []byte
			for {
				switch rng.IntN(3) {
				case 0:
					p, err := b.Peek(1 + rng.IntN(readBufSize))
					k := rng.IntN(len(p) + 1)
					got = append(got, p[:k]...)
					b.Discard(k)
					if err == io.EOF && b.Buffered() == 0 {
						goto done
					}
				case 1, 2:
					p := make([]byte, 1+rng.IntN(2*readBufSize))
					n, err := b.Read(p)
					got = append(got, p[:n]...)
					if err == io.EOF {
						goto done
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
		done:
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, not the %d sent (or different ones)", len(got), len(data))
			}
		})
	}
}

// TestReadBufWaitsWithoutStorage: a read that has to wait gives its
// storage back, and the buffer reports a timeout, a close and the peer's
// end of stream as the socket does.
func TestReadBufWaitsWithoutStorage(t *testing.T) {
	if !rawReads {
		t.Skip("sockets are read with plain reads here")
	}
	c, s := socketPair(t)
	b := newReadBuf(s)
	c.Write([]byte("hello"))
	if p, err := b.Peek(5); err != nil || string(p) != "hello" {
		t.Fatalf("Peek: %q, %v", p, err)
	}
	b.Discard(5)
	s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := b.Peek(1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a read past its deadline: %v", err)
	}
	if b.buf != nil {
		t.Fatal("the buffer kept its storage while waiting")
	}
	s.SetReadDeadline(time.Time{})
	c.Write([]byte("again"))
	p := make([]byte, 10)
	if n, err := b.Read(p); err != nil || string(p[:n]) != "again" {
		t.Fatalf("Read after the timeout: %q, %v", p[:n], err)
	}
	c.Close()
	if n, err := b.Read(p); n != 0 || err != io.EOF {
		t.Fatalf("the peer's end of stream: %d, %v", n, err)
	}
	c2, s2 := socketPair(t)
	defer c2.Close()
	b2 := newReadBuf(s2)
	done := make(chan error, 1)
	go func() {
		_, err := b2.Peek(1)
		done <- err
	}()
	s2.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a read on a closed socket: %v", err)
	}
}

// countingConn counts the reads of the connection it wraps; it hides the
// socket's RawConn, so the buffer reads through it.
type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// TestLargeFramesTakeOneReadEach streams 16 KiB frames, all sent before
// the first is read, and counts the reads that receiving them takes:
// once a read fills the small buffer, the large one takes a frame or
// more per read, where a 4 KiB buffer took two or more per frame. Every
// frame must still come back whole and in order.
func TestLargeFramesTakeOneReadEach(t *testing.T) {
	client, server := socketPair(t)
	const frames, size = 64, 16 << 10
	h, _ := netproto.LengthHeader("!I")
	var stream []byte
	for i := range frames {
		stream, _ = netproto.AppendFrame(stream, h, bytes.Repeat([]byte{byte(i)}, size))
	}
	go client.Write(stream)
	cc := &countingConn{Conn: server}
	c := NewConn(cc)
	var buf []byte
	for i := range frames {
		var err error
		if buf, err = c.RecvFrameInto(context.Background(), h, 1<<20, buf); err != nil {
			t.Fatal(err)
		}
		if len(buf) != size || buf[0] != byte(i) || buf[size-1] != byte(i) {
			t.Fatalf("frame %d came back wrong: %d bytes", i, len(buf))
		}
	}
	// The loopback socket may hand over less than a whole frame at a
	// time; a 4 KiB buffer needs at least 2 reads a frame, 128 here.
	if cc.reads > frames*5/4 {
		t.Errorf("%d reads for %d frames of %d bytes, want at most %d", cc.reads, frames, size, frames*5/4)
	}
	t.Logf("%d reads for %d frames of %d bytes", cc.reads, frames, size)
}

// TestDelimitedReadsAfterLargeReads mixes exact reads of large blocks with
// line reads, as the capture tests' exchange does: a large buffer may then
// hold more than a small one's worth, and a delimited read must still see
// all of it (it once spun forever on a Peek the small size refused).
func TestDelimitedReadsAfterLargeReads(t *testing.T) {
	a, b := tcpPair(t)
	sizes := []int{1, 100, 1500, 65535, 65536, 200000}
	var stream []byte
	for _, n := range sizes {
		stream = append(stream, strconv.Itoa(n)+"\n"...)
		stream = append(stream, bytes.Repeat([]byte{byte(n % 251)}, n)...)
	}
	go a.Send(context.Background(), stream)
	done := make(chan error, 1)
	go func() {
		for _, n := range sizes {
			line, err := b.RecvUntil(context.Background(), []byte("\n"), 64)
			if err != nil || string(line) != strconv.Itoa(n) {
				done <- fmt.Errorf("line %q, %v; want %d", line, err, n)
				return
			}
			data, err := b.RecvExact(context.Background(), n)
			if err != nil || !bytes.Equal(data, bytes.Repeat([]byte{byte(n % 251)}, n)) {
				done <- fmt.Errorf("block of %d: %d bytes, %v", n, len(data), err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute): // a failsafe: the reads take milliseconds
		t.Fatal("the reads did not finish")
	}
}
