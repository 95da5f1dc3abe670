package engine

import "bytes"

// CRLF turns the line ends of text typed or piped to a peer into "\r\n",
// as ncat -C does for protocols that want them (HTTP, SMTP, Redis' inline
// commands): every "\n" not already after a "\r" goes out as "\r\n". It
// remembers the last byte it saw, so a "\r" at the end of one piece and
// the "\n" that starts the next stay one line end. The zero value is ready.
type CRLF struct{ lastCR bool }

// Convert returns b with its bare "\n" made "\r\n"; b itself when it
// holds no "\n".
func (l *CRLF) Convert(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	prevCR := l.lastCR
	l.lastCR = b[len(b)-1] == '\r'
	if bytes.IndexByte(b, '\n') < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+bytes.Count(b, []byte{'\n'}))
	for _, c := range b {
		if c == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, c)
		prevCR = c == '\r'
	}
	return out
}
