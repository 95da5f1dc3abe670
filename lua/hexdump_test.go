package lua

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"testing"
)

// TestHexdumpAsHexdumpC compares Hexdump with hexdump -C itself on inputs
// with repeated lines, short tails and every byte value.
func TestHexdumpAsHexdumpC(t *testing.T) {
	if Hexdump(nil) != "" {
		t.Fatal("empty input: hexdump prints nothing")
	}
	if got, want := Hexdump([]byte("hello\n")), "00000000  68 65 6c 6c 6f 0a                                 |hello.|\n00000006\n"; got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	hd, err := exec.LookPath("hexdump")
	if err != nil {
		t.Skip("hexdump not installed: compared on one input only")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := [][]byte{bytes.Repeat([]byte{0}, 100), bytes.Repeat([]byte("0123456789abcdef"), 4), []byte("x")}
	for range 30 {
		var b []byte
		for range rng.IntN(6) {
			chunk := make([]byte, rng.IntN(40))
			for i := range chunk {
				chunk[i] = byte(rng.IntN(256))
			}
			b = append(b, bytes.Repeat(chunk, rng.IntN(4)+1)...)
		}
		inputs = append(inputs, b)
	}
	for _, in := range inputs {
		cmd := exec.Command(hd, "-C")
		cmd.Stdin = bytes.NewReader(in)
		want, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := Hexdump(in); got != string(want) {
			t.Fatalf("input %q\ngot\n%s\nhexdump -C\n%s", in, got, want)
		}
	}
}
