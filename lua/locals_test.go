package lua

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// realScripts are the Lua files the locals' repair is checked on:
// wirelab's scripts, its test scripts and the official Lua 5.1 suite.
func realScripts(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../scripts/*.lua")
	own, _ := filepath.Glob("testdata/*.lua")
	files = append(files, own...)
	if out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/yuin/gopher-lua").Output(); err == nil {
		suite, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "_lua5.1-tests", "*.lua"))
		files = append(files, suite...)
	}
	if len(files) < 30 {
		t.Fatalf("only %d scripts", len(files))
	}
	return files
}

func readScript(t *testing.T, f string) []byte {
	t.Helper()
	src, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(src) > 0 && src[0] == '#' {
		src = src[bytesIndexNL(src):]
	}
	return src
}

// TestLocalsRepaired compiles real scripts and checks the repaired
// DbgLocals of every function in them: each can be trusted, each local
// lives in one range of the code, the ranges nest as a stack does, and the
// number of live locals is what the compiler's register allocation says
// where an instruction tells it: a FORPREP's A is the locals below the
// loop's three control variables, live with them; a FORLOOP's or
// TFORLOOP's A is the locals left once the loop's block has ended.
func TestLocalsRepaired(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	protos, checked := 0, 0
	for _, f := range realScripts(t) {
		fn, err := LoadString(L, string(readScript(t, f)), "@"+f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		var walk func(p *glua.FunctionProto)
		walk = func(p *glua.FunctionProto) {
			protos++
			checked += checkLocals(t, f, p)
			for _, c := range p.FunctionPrototypes {
				walk(c)
			}
		}
		walk(fn.Proto)
	}
	t.Logf("%d functions, %d register counts checked", protos, checked)
	if checked < 100 {
		t.Errorf("only %d register counts checked", checked)
	}
}

// checkLocals checks p's DbgLocals as TestLocalsRepaired says and returns
// how many register counts it checked.
func checkLocals(t *testing.T, file string, p *glua.FunctionProto) int {
	t.Helper()
	where := fmt.Sprintf("%s:%d", file, p.LineDefined)
	if !cleanLocals(p) {
		t.Errorf("%s: locals not trusted", where)
		return 0
	}
	locs := p.DbgLocals
	for i, l := range locs {
		if l.EndPc != -1 && (l.EndPc < l.StartPc || l.EndPc >= len(p.Code)) {
			t.Errorf("%s: local %d %q lives in [%d, %d] of %d instructions", where, i, l.Name, l.StartPc, l.EndPc, len(p.Code))
		}
		if i > 0 && l.StartPc < locs[i-1].StartPc {
			t.Errorf("%s: local %d %q starts before the one declared before it", where, i, l.Name)
		}
	}
	for i, a := range locs {
		for j := i + 1; j < len(locs); j++ {
			b := locs[j]
			if a.EndPc < 0 || b.EndPc < 0 {
				continue
			}
			if b.StartPc <= a.EndPc && b.EndPc > a.EndPc {
				t.Errorf("%s: %q [%d, %d] and %q [%d, %d] overlap without nesting", where, a.Name, a.StartPc, a.EndPc, b.Name, b.StartPc, b.EndPc)
			}
		}
	}
	live := func(pc int) int {
		n := 0
		for _, l := range locs {
			if l.StartPc <= pc && pc <= l.EndPc {
				n++
			}
		}
		return n
	}
	checked := 0
	for pc, inst := range p.Code {
		want := -1
		switch opOf(inst) {
		case glua.OP_FORPREP:
			want = argA(inst) + 3
		case glua.OP_FORLOOP, glua.OP_TFORLOOP:
			want = argA(inst)
		}
		if want < 0 {
			continue
		}
		checked++
		if n := live(pc); n != want {
			t.Errorf("%s: pc %d (line %d): %d locals live, the instruction says %d", where, pc, p.DbgSourcePositions[pc], n, want)
		}
	}
	return checked
}

// TestLocalsMarkersAgree finds the end of every block of real scripts
// with the second compile's markers and compares them with the ends
// repairLocals reads off the fors' jumps and EndScope's writes: two ways
// of finding the same pc, so a mistake in either shows.
func TestLocalsMarkersAgree(t *testing.T) {
	blocks := 0
	for _, f := range realScripts(t) {
		chunk, err := parse.Parse(bytes.NewReader(readScript(t, f)), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := adjust(chunk, f); err != nil {
			t.Fatal(err)
		}
		proto, err := glua.Compile(chunk, f)
		if err != nil {
			t.Fatal(err)
		}
		w := &localsWalker{}
		main := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: true}, Stmts: chunk}
		top := w.function(main, false, true, &chunk)
		var marked []*blockEnd
		if !top.match(proto, &marked) {
			t.Errorf("%s: the main chunk does not match", f)
			continue
		}
		if !w.markEnds(&chunk, f, top, marked) {
			t.Errorf("%s: markers not found", f)
			continue
		}
		var all []*blockEnd
		var known []int
		var walk func(fn *funcLocals)
		walk = func(fn *funcLocals) {
			if fn.bad {
				t.Errorf("%s:%d: function does not match", f, fn.proto.LineDefined)
				return
			}
			for _, b := range fn.left {
				if b.n > 0 {
					all = append(all, b)
					known = append(known, b.end)
					b.end = -2
				}
			}
			for _, c := range fn.children {
				walk(c)
			}
		}
		walk(top)
		if !w.markEnds(&chunk, f, top, all) {
			t.Errorf("%s: markers for all blocks not found", f)
			continue
		}
		for i, b := range all {
			blocks++
			if b.end != known[i] {
				t.Errorf("%s:%d: block %d (kind %d, locals from %q): end %d by markers, %d before",
					f, b.fn.proto.LineDefined, i, b.kind, b.fn.names[b.first], b.end, known[i])
			}
		}
	}
	t.Logf("%d blocks agree", blocks)
}

// TestLocalsMismatchLeftAlone gives repairLocals the tree of another
// chunk, as a walk that went wrong would see it: the prototype must keep
// gopher-lua's debug information, which cleanLocals distrusts, rather than
// get ends that belong elsewhere.
func TestLocalsMismatchLeftAlone(t *testing.T) {
	compileRaw := func(src string) ([]ast.Stmt, *glua.FunctionProto) {
		chunk, err := parse.Parse(strings.NewReader(src), "c")
		if err != nil {
			t.Fatal(err)
		}
		p, err := glua.Compile(chunk, "c")
		if err != nil {
			t.Fatal(err)
		}
		return chunk, p
	}
	const src = "do local a end\nlocal x\nx.y = 1\n"
	for _, other := range []string{
		"do local b end\nlocal x\nx.y = 1\n",         // another name
		"local x\ndo local a end\nx.y = 1\n",         // other order
		"local a\nlocal x\nx.y = 1\n",                // other blocks
		"do local a end\nlocal x = function() end\n", // a function more
	} {
		_, p := compileRaw(src)
		chunk, _ := compileRaw(other)
		var before []glua.DbgLocalInfo
		for _, l := range p.DbgLocals {
			before = append(before, *l)
		}
		repairLocals(chunk, p, "c")
		for i, l := range p.DbgLocals {
			if *l != before[i] {
				t.Errorf("%q: entry %d changed from %+v to %+v", other, i, before[i], *l)
			}
		}
		if cleanLocals(p) {
			t.Errorf("%q: gopher-lua's locals trusted", other)
		}
	}
	// and its own tree repairs it
	chunk, p := compileRaw(src)
	repairLocals(chunk, p, "c")
	if !cleanLocals(p) || p.DbgLocals[1].EndPc != len(p.Code)-1 {
		t.Errorf("not repaired by its own tree: %+v %+v", *p.DbgLocals[0], *p.DbgLocals[1])
	}
}
