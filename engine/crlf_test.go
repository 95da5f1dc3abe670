package engine

import (
	"bytes"
	"strings"
	"testing"
)

func TestCRLF(t *testing.T) {
	cases := []struct {
		pieces []string
		want   string
	}{
		{[]string{"GET / HTTP/1.0\n\n"}, "GET / HTTP/1.0\r\n\r\n"},
		{[]string{"a\r\nb\n"}, "a\r\nb\r\n"},
		{[]string{"a\r", "\nb"}, "a\r\nb"},       // a "\r" ending one piece, "\n" starting the next
		{[]string{"a\r", "x\n"}, "a\rx\r\n"},     // a lone "\r" is left alone
		{[]string{"no line end"}, "no line end"}, // unchanged
		{[]string{"\n", "\n", "", "\n"}, "\r\n\r\n\r\n"},
	}
	for _, c := range cases {
		var l CRLF
		var got bytes.Buffer
		for _, p := range c.pieces {
			got.Write(l.Convert([]byte(p)))
		}
		if got.String() != c.want {
			t.Errorf("%q: got %q, want %q", strings.Join(c.pieces, "|"), got.String(), c.want)
		}
	}
}
