package engine_test

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
)

// A framed echo server and a client, on loopback: Serve runs the handler
// for every connection; frames keep message boundaries however TCP
// splits the bytes.
func ExampleServe() {
	ctx := context.Background()
	ln, err := engine.Listen(ctx, "127.0.0.1", 0, 0)
	if err != nil {
		panic(err)
	}
	h, _ := netproto.CompileFormat("!I")
	srv := engine.Serve(ctx, ln, engine.ServerOptions{}, func(ctx context.Context, c *engine.Conn) {
		for {
			msg, err := c.RecvFrame(ctx, h, 1<<20)
			if err != nil {
				return
			}
			c.SendFrame(ctx, h, []byte(strings.ToUpper(string(msg))))
		}
	})
	defer srv.Close()

	c, err := engine.Dial(ctx, "127.0.0.1", srv.Port(), 0)
	if err != nil {
		panic(err)
	}
	defer c.Close()
	for _, m := range []string{"hello", "sticky packets"} {
		c.SendFrame(ctx, h, []byte(m))
		reply, _ := c.RecvFrame(ctx, h, 1<<20)
		fmt.Println(string(reply))
	}
	// Output:
	// HELLO
	// STICKY PACKETS
}

// A Conn is an io.Reader and an io.Writer: after a header read with
// RecvUntil, the body goes through io.Copy.
func ExampleConn_Read() {
	ctx := context.Background()
	ln, _ := engine.Listen(ctx, "127.0.0.1", 0, 0)
	defer ln.Close()
	go func() {
		c, _ := engine.Dial(ctx, "127.0.0.1", ln.Port(), 0)
		io.WriteString(c, "Length: 5\r\n\r\nhello")
		c.Close()
	}()
	c, _ := ln.Accept(ctx)
	defer c.Close()
	header, _ := c.RecvUntil(ctx, []byte("\r\n\r\n"), 1024)
	var body strings.Builder
	n, err := io.Copy(&body, c)
	fmt.Printf("%s | %q %d %v\n", header, body.String(), n, err)
	// Output:
	// Length: 5 | "hello" 5 <nil>
}
