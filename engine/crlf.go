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
	if bytes.IndexByte(b, '\n') < 0 {
		if len(b) > 0 {
			l.lastCR = b[len(b)-1] == '\r'
		}
		return b
	}
	return l.Append(make([]byte, 0, len(b)+bytes.Count(b, []byte{'\n'})), b)
}

// Append appends b to dst with its bare "\n" made "\r\n".
func (l *CRLF) Append(dst, b []byte) []byte {
	for _, c := range b {
		if c == '\n' && !l.lastCR {
			dst = append(dst, '\r')
		}
		dst = append(dst, c)
		l.lastCR = c == '\r'
	}
	return dst
}
