// Command engineecho is the middle figure of the echo benchmark: the framed
// echo server of bench/echo.lua with its handler written in Go on
// wirelab's engine (engine.Serve, Conn.RecvFrameInto, Conn.SendFrame) instead
// of Lua. Beside bench/nativeecho it measures what the engine's guarantees
// cost (deadlines, cancellation, slots, the lazy read buffer); beside
// bench/echo.lua, what the Lua handler adds. It prints its port and
// serves until stdin closes.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/wirelab/wirelab/engine"
	"github.com/wirelab/wirelab/netproto"
)

func main() {
	ctx := context.Background()
	ln, err := engine.Listen(ctx, "127.0.0.1", 0, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "engineecho:", err)
		os.Exit(1)
	}
	h, err := netproto.LengthHeader("!I")
	if err != nil {
		panic(err)
	}
	srv := engine.Serve(ctx, ln, engine.ServerOptions{}, func(ctx context.Context, c *engine.Conn) {
		var m []byte // each frame is read into the previous one's buffer
		for {
			var err error
			m, err = c.RecvFrameInto(ctx, h, netproto.DefaultMaxFrame, m)
			if err != nil {
				return
			}
			if c.SendFrame(ctx, h, m) != nil {
				return
			}
		}
	})
	fmt.Println(srv.Port())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}
