package scripts

import (
	"embed"
	"io/fs"
	"sort"
	"strings"
)

//go:embed *.lua
var files embed.FS

// FS holds the bundled scripts, NAME.lua each, as lua.Options.Scripts
// takes them.
var FS fs.FS = files

// A Script is one bundled script.
type Script struct {
	Name        string // what `wirelab run NAME` takes
	Description string // the first comment line
}

// Source returns the source of the bundled script called name.
func Source(name string) ([]byte, bool) {
	if strings.ContainsAny(name, "/.\\") {
		return nil, false
	}
	b, err := files.ReadFile(name + ".lua")
	return b, err == nil
}

// List returns every bundled script, sorted by name.
func List() []Script {
	entries, _ := fs.ReadDir(files, ".")
	var out []Script
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".lua")
		src, _ := files.ReadFile(e.Name())
		first, _, _ := strings.Cut(string(src), "\n")
		out = append(out, Script{Name: name, Description: strings.TrimSpace(strings.TrimPrefix(first, "--"))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
