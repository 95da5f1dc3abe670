package repl

import (
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// TestQuoteReadsBack checks that what the prompt prints is a Lua 5.1
// literal of the same bytes: read back by wirelab's Lua and, where it is
// installed, by lua5.1 itself, which has no \x escape.
func TestQuoteReadsBack(t *testing.T) {
	cases := []string{"", "\x03", "\x00\x01" + "2", "a\"b\\c\n\r\t", "\x7f\xff\xfe", "héllo ☃", "\x1b[0m", strings.Repeat("\x00", 3) + "999"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(20))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	if got := quote("\x03\x00\x001"); got != `"\003\000\0001"` {
		t.Fatalf("Quote = %s", got)
	}
	L := glua.NewState()
	defer L.Close()
	for _, s := range cases {
		q := quote(s)
		if strings.Contains(q, `\x`) {
			t.Fatalf("quote(%q) = %s: Lua 5.1 has no \\x", s, q)
		}
		if err := L.DoString("return " + q); err != nil {
			t.Fatalf("quote(%q) = %s: %v", s, q, err)
		}
		if got := L.ToString(-1); got != s {
			t.Fatalf("quote(%q) = %s reads back as %q", s, q, got)
		}
		L.Pop(1)
	}
	lua51, err := exec.LookPath("lua5.1")
	if err != nil {
		t.Skip("lua5.1 not installed: checked with wirelab's Lua only")
	}
	var src strings.Builder
	for _, s := range cases {
		src.WriteString("io.write(" + quote(s) + ")\n")
	}
	out, err := exec.Command(lua51, "-e", src.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(cases, ""); string(out) != want {
		t.Fatalf("lua5.1 read the literals as other bytes")
	}
}
