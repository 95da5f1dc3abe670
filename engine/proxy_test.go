package engine

import (
	"context"
	"crypto/md5"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestProxySetLive: faults set on a live connection, whose direction was
// being spliced by the system, apply from the next bytes; taken off
// again, the connection goes back to plain forwarding. Nothing is lost.
func TestProxySetLive(t *testing.T) {
	far, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	reads := make(chan int, 100)
	go func() {
		c, err := far.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1000)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				reads <- n
			}
			if err != nil {
				close(reads)
				return
			}
		}
	}()
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(context.Background(), ln, ProxyOptions{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", far.Addr().String())
	}})
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(make([]byte, 100))
	got := 0
	for got < 100 {
		got += <-reads
	}
	p.Set(Faults{Slice: 10, SliceDelay: 100 * time.Millisecond}, Faults{})
	c.Write(make([]byte, 50))
	var sliced []int
	for sum := 0; sum < 50; {
		n := <-reads
		sliced = append(sliced, n)
		sum += n
	}
	if fmt.Sprint(sliced) != "[10 10 10 10 10]" {
		t.Fatalf("after Set on the live connection, the far side read %v", sliced)
	}
	p.Set(Faults{}, Faults{})
	c.Write(make([]byte, 300))
	c.(*net.TCPConn).CloseWrite()
	rest := 0
	for n := range reads {
		rest += n
	}
	if rest != 300 {
		t.Fatalf("after the faults were taken off, %d of 300 bytes arrived", rest)
	}
	if conns, up, _ := p.Stats(); conns != 1 || up != 450 {
		t.Fatalf("stats: %d connections, %d bytes up", conns, up)
	}
	io.Copy(io.Discard, c)
}

// TestProxySetStorm: faults set and taken off 200 times while 8 MiB
// flow; every byte arrives, in order, and the connection lives (an
// interruption that met a read at the wrong moment used to close it).
func TestProxySetStorm(t *testing.T) {
	far, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer far.Close()
	sum := make(chan [16]byte, 1)
	go func() {
		c, err := far.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h := md5.New()
		io.Copy(h, c)
		var s [16]byte
		copy(s[:], h.Sum(nil))
		sum <- s
	}()
	ln, err := Listen(context.Background(), "127.0.0.1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(context.Background(), ln, ProxyOptions{Dial: func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", far.Addr().String())
	}})
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 31 / 7)
	}
	sent := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		c.(*net.TCPConn).CloseWrite()
		sent <- err
	}()
	for i := range 200 {
		if i%2 == 0 {
			p.Set(Faults{Slice: 4096}, Faults{})
		} else {
			p.Set(Faults{}, Faults{})
		}
		time.Sleep(time.Millisecond)
	}
	if err := <-sent; err != nil {
		t.Fatalf("the client's write: %v", err)
	}
	if got := <-sum; got != md5.Sum(data) {
		t.Fatal("the bytes arrived changed")
	}
}
