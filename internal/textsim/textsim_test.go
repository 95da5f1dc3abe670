package textsim

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	names := []string{"recv", "recv_exact", "recv_until", "recvline", "send", "sendline", "connect", "timeout"}
	cases := []struct{ in, want string }{
		{"recv_untill", "recv_until"},
		{"recv_utnil", "recv_until"}, // swapped neighbours
		{"sendlien", "sendline"},
		{"RECV", "recv"},
		{"conect", "connect"},
		{"timout", "timeout"},
		{"tiemout", "timeout"},
		{"x", ""},
		{"frobnicate", ""},
		{"recv", ""}, // the name itself is no suggestion
	}
	for _, tc := range cases {
		if got := Suggest(tc.in, names); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Of two equally close candidates, the first in byte order.
	if got := Suggest("sen", []string{"sent", "send"}); got != "send" {
		t.Errorf("tie: %q, want send", got)
	}
}

func TestEditDistance(t *testing.T) {
	long := strings.Repeat("a", 65)
	cases := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"", "abc", 3},
		{"abc", "abd", 1},   // substitution
		{"abc", "abcd", 1},  // insertion
		{"abcd", "acd", 1},  // deletion
		{"abcd", "acbd", 1}, // swap of neighbours: 1, not 2
		{"ca", "abc", 3},    // optimal string alignment, not Damerau: 3, not 2
		{long, long, 0},
		{long, long + "b", 66},
	}
	for _, c := range cases {
		if got := EditDistance(c.a, c.b); got != c.want {
			t.Errorf("EditDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
