package netproto_test

import (
	"bytes"
	"fmt"

	"github.com/wirelab/wirelab/netproto"
)

// Python's struct.pack('i', 3) and struct.unpack, byte for byte.
func ExampleFormat_Pack() {
	f, _ := netproto.CompileFormat("i")
	b, _ := f.Pack(3)
	vals, _ := f.Unpack(b)
	fmt.Printf("%q %v\n", b, vals)
	// Output:
	// "\x03\x00\x00\x00" [3]
}

// Frames keep message boundaries on a stream: two frames written back to
// back read back as two, and a length over the limit is refused before
// anything is allocated.
func ExampleReadFrame() {
	h, _ := netproto.LengthHeader("!I")
	var stream bytes.Buffer
	netproto.WriteFrame(&stream, h, []byte("echo hi"))
	netproto.WriteFrame(&stream, h, []byte("ls"))
	for i := 0; i < 2; i++ {
		b, _ := netproto.ReadFrame(&stream, h, 1024)
		fmt.Printf("%q\n", b)
	}
	_, err := netproto.ReadFrame(bytes.NewReader([]byte{0x7f, 0xff, 0xff, 0xff}), h, 1024)
	fmt.Println(err)
	// Output:
	// "echo hi"
	// "ls"
	// frame too large
}
