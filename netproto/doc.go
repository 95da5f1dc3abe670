// Package netproto holds wirelab's wire formats as pure functions over
// io.Reader and io.Writer: Python-compatible struct formats, length-prefixed
// frames and the tutorials' JSON-header messages. It never opens a socket.
package netproto
