module github.com/wirelab/wirelab

go 1.26.8

require (
	github.com/yuin/gopher-lua v1.1.2
	golang.org/x/text v0.43.0
)

require (
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/term v0.47.0 // indirect
)
