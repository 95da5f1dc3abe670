module github.com/wirelab/wirelab

go 1.26.8

require (
	github.com/creack/pty v1.1.24
	github.com/gopacket/gopacket v1.7.7
	github.com/peterh/liner v1.2.3
	github.com/yuin/gopher-lua v1.1.2
	github.com/zeebo/blake3 v0.2.4
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/term v0.47.0
	golang.org/x/text v0.43.0
)

require (
	github.com/clipperhouse/uax29/v2 v2.7.0 // indirect
	github.com/klauspost/cpuid/v2 v2.0.12 // indirect
	github.com/mattn/go-runewidth v0.0.31 // indirect
	golang.org/x/net v0.60.0 // indirect
)
