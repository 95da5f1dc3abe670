module github.com/wirelab/wirelab

go 1.26.8

require (
	github.com/yuin/gopher-lua v1.1.2
	golang.org/x/text v0.43.0
)
