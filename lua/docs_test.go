package lua

import (
	"os"
	"strings"
	"testing"
)

// TestEveryFunctionDocumented checks that each function and method has a
// doc string, for help(), and appears in the README's API reference.
func TestEveryFunctionDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		if m.doc == "" {
			t.Errorf("module %s has no doc", m.name)
		}
		for _, f := range m.funcs {
			if !strings.HasPrefix(f.doc, m.name+"."+f.name+"(") {
				t.Errorf("%s.%s: doc %q does not start with its signature", m.name, f.name, f.doc)
			}
			if !strings.Contains(string(readme), m.name+"."+f.name+"(") {
				t.Errorf("README does not mention %s.%s", m.name, f.name)
			}
		}
	}
	for name, c := range classes {
		for _, f := range c.methods {
			if !strings.Contains(f.doc, ":"+f.name+"(") || !strings.Contains(f.doc, " -- ") {
				t.Errorf("%s:%s: doc %q is not \"signature -- what\"", name, f.name, f.doc)
			}
			if !strings.Contains(string(readme), ":"+f.name+"(") {
				t.Errorf("README does not mention %s:%s", name, f.name)
			}
		}
	}
}
