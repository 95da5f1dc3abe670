package lua

import (
	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Repairing the locals' debug information of a compiled chunk, so that
// errors name locals (and, through them, globals and fields) everywhere.
//
// gopher-lua v1.1.2 records each local in DbgLocals in declaration order
// with a right StartPc, but its compiler ends a block's locals by writing
// EndPc into the entries numbered by their registers (compile.go,
// EndScope). Once a block with locals has ended and another local is
// declared, registers and entries no longer line up: ends land in the
// wrong entries and the last entries get none. cleanLocals then trusts
// nothing in that function.
//
// repairLocals gives every entry its real end, at compile time:
//
//   - It walks the syntax tree of each function in the order gopher-lua's
//     compiler does and lists the locals as the compiler registers them
//     (parameters, "self", "arg", the control variables of the fors, local
//     and local function names), each with the block it belongs to. The
//     functions of the tree are matched with the prototypes, which the
//     compiler appends in the same order. Unless the names are exactly the
//     prototype's DbgLocals names, and the ends the buggy EndScope wrote
//     are exactly what the walk predicts, the prototype is left alone
//     (cleanLocals keeps distrusting it): a mismatch must never give a
//     wrong name.
//
//   - A block's end is the last instruction emitted inside it. A numeric
//     for's is read off its FORPREP (which jumps to the instruction after
//     the body), a generic for's off the JMP to its TFORLOOP. A block that
//     was the last to write some entry has it in that entry: the values
//     EndScope wrote are right, only their slots are wrong. For the other
//     blocks (do, while, repeat, then and else), the chunk is compiled a
//     second time with a marker statement placed where the block's code
//     ends. gopher-lua's compiler emits each statement's code in order and
//     never rewrites what it emitted before (the only instructions it takes
//     back are the last ones of the expression it compiles), so the code
//     before a marker is the same as in the real compile, and each marker
//     adds one instruction; the marker's pc, less the markers before it,
//     is the block's end plus what its statement emits after the block
//     (nothing, a then-block's JMP over the else, a repeat's three closing
//     instructions when it closes upvalues). A marker is a local statement
//     with no names whose value is true: one LOADBOOL, which no optimisation
//     merges or takes back, found by its line (negative, so unique). The
//     second compile runs only for chunks with such blocks, and its result
//     is thrown away.
//
//     Source lines would be cheaper but are not exact: "do local a end
//     a.b = 1" has the block's last instruction and the next statement's
//     first on one line.
//
// The repaired EndPc is the last pc where the local is live, as
// localName reads it; a local that is never live (declared last in its
// block) gets -1. Nothing of this runs after compile time.

// repairLocals repairs the DbgLocals of proto, compiled from chunk (after
// adjust) under name, and of the functions inside it.
func repairLocals(chunk []ast.Stmt, proto *glua.FunctionProto, name string) {
	defer func() {
		// A tree the walk or the second compile did not foresee leaves
		// the chunk as gopher-lua compiled it (nothing is written before
		// repair, which cannot fail).
		_ = recover()
	}()
	w := &localsWalker{}
	main := &ast.FunctionExpr{ParList: &ast.ParList{HasVargs: true}, Stmts: chunk}
	top := w.function(main, false, true, &chunk)
	var marked []*blockEnd
	if !top.match(proto, &marked) {
		return
	}
	if len(marked) > 0 && !w.markEnds(&chunk, name, top, marked) {
		// Those blocks' ends are unknown: their functions stay untrusted.
		for _, b := range marked {
			b.fn.bad = true
		}
	}
	top.repair()
}

// A blockEnd is one block of the compiler (codeBlock) as the walk sees it.
type blockEnd struct {
	fn     *funcLocals
	kind   int
	reg    int // register of its first local: the locals live when it began
	first  int // its first local's entry in DbgLocals
	n      int // how many locals it declares
	end    int // the last pc of its code, once known (-2 before)
	loopAt int // a for's entry of its loop variable (its first name)

	// Where its marker goes, for the second compile, and what lies
	// between its end and the marker.
	list  *[]ast.Stmt
	at    int
	after int
	id    int
}

const (
	blockRoot = iota
	blockPlain
	blockRepeat
	blockNumFor
	blockGenFor
)

// funcLocals is one function as the walk sees it.
type funcLocals struct {
	names    []string
	owner    []*blockEnd // the block of each entry
	left     []*blockEnd // the blocks in the order the compiler left them
	root     *blockEnd
	cur      *blockEnd
	live     int
	children []*funcLocals
	proto    *glua.FunctionProto
	bad      bool
}

type localsWalker struct {
	fn *funcLocals
}

// function walks a function as compileFunctionExpr compiles it. list is
// the statement list its body is (for markers after its statements).
func (w *localsWalker) function(f *ast.FunctionExpr, method, main bool, list *[]ast.Stmt) *funcLocals {
	outer := w.fn
	fn := &funcLocals{}
	fn.root = &blockEnd{fn: fn, kind: blockRoot, end: -2}
	fn.cur = fn.root
	w.fn = fn
	if method {
		w.declare("self")
	}
	for _, n := range f.ParList.Names {
		w.declare(n)
	}
	if f.ParList.HasVargs && glua.CompatVarArg && !main {
		w.declare("arg")
	}
	w.stmts(list)
	w.fn = outer
	if outer != nil {
		outer.children = append(outer.children, fn)
	}
	return fn
}

func (w *localsWalker) declare(name string) {
	fn := w.fn
	fn.names = append(fn.names, name)
	fn.owner = append(fn.owner, fn.cur)
	fn.cur.n++
	fn.live++
}

// enter begins a block whose marker, if it needs one, goes at list[at],
// after instructions emitted between the block's end and there.
func (w *localsWalker) enter(kind int, list *[]ast.Stmt, at, after int) *blockEnd {
	fn := w.fn
	b := &blockEnd{fn: fn, kind: kind, reg: fn.live, first: len(fn.names), end: -2, list: list, at: at, after: after}
	fn.cur = b
	return b
}

func (w *localsWalker) leave(b *blockEnd, parent *blockEnd) {
	fn := w.fn
	fn.left = append(fn.left, b)
	fn.live = b.reg
	fn.cur = parent
}

func (w *localsWalker) stmts(list *[]ast.Stmt) {
	for i, s := range *list {
		w.stmt(s, list, i)
	}
}

func (w *localsWalker) stmt(s ast.Stmt, list *[]ast.Stmt, i int) {
	parent := w.fn.cur
	switch s := s.(type) {
	case *ast.AssignStmt:
		w.exprs(s.Lhs)
		w.exprs(s.Rhs)
	case *ast.LocalAssignStmt:
		if len(s.Names) == 1 && len(s.Exprs) == 1 {
			if _, ok := s.Exprs[0].(*ast.FunctionExpr); ok {
				// compileLocalAssignStmt declares it first, so that the
				// function sees itself.
				w.declare(s.Names[0])
				w.expr(s.Exprs[0])
				return
			}
		}
		w.exprs(s.Exprs)
		for _, n := range s.Names {
			w.declare(n)
		}
	case *ast.FuncCallStmt:
		w.expr(s.Expr)
	case *ast.DoBlockStmt:
		b := w.enter(blockPlain, list, i+1, 0)
		w.stmts(&s.Stmts)
		w.leave(b, parent)
	case *ast.WhileStmt:
		w.expr(s.Condition)
		b := w.enter(blockPlain, list, i+1, 0)
		w.stmts(&s.Stmts)
		w.leave(b, parent)
	case *ast.RepeatStmt:
		b := w.enter(blockRepeat, list, i+1, 0)
		w.stmts(&s.Stmts)
		w.expr(s.Condition)
		w.leave(b, parent)
	case *ast.IfStmt:
		w.expr(s.Condition)
		if len(s.Then) > 0 { // compileBlock makes no block of nothing
			var b *blockEnd
			if len(s.Else) > 0 {
				b = w.enter(blockPlain, &s.Else, 0, 1) // after the JMP over the else
			} else {
				b = w.enter(blockPlain, list, i+1, 0)
			}
			w.stmts(&s.Then)
			w.leave(b, parent)
		}
		if len(s.Else) > 0 {
			b := w.enter(blockPlain, list, i+1, 0)
			w.stmts(&s.Else)
			w.leave(b, parent)
		}
	case *ast.NumberForStmt:
		b := w.enter(blockNumFor, list, i+1, 1) // after the FORLOOP
		w.declare("(for index)")
		w.expr(s.Init)
		w.declare("(for limit)")
		w.expr(s.Limit)
		w.declare("(for step)")
		if s.Step != nil {
			w.expr(s.Step)
		}
		b.loopAt = len(w.fn.names)
		w.declare(s.Name)
		w.stmts(&s.Stmts)
		w.leave(b, parent)
	case *ast.GenericForStmt:
		b := w.enter(blockGenFor, list, i+1, 2) // after TFORLOOP, JMP
		w.declare("(for generator)")
		w.declare("(for state)")
		w.declare("(for control)")
		w.exprs(s.Exprs)
		b.loopAt = len(w.fn.names)
		for _, n := range s.Names {
			w.declare(n)
		}
		w.stmts(&s.Stmts)
		w.leave(b, parent)
	case *ast.FuncDefStmt:
		if s.Name.Func == nil {
			w.expr(s.Name.Receiver)
			w.function(s.Func, true, false, &s.Func.Stmts)
		} else {
			w.expr(s.Name.Func)
			w.function(s.Func, false, false, &s.Func.Stmts)
		}
	case *ast.ReturnStmt:
		w.exprs(s.Exprs)
	}
}

func (w *localsWalker) exprs(es []ast.Expr) {
	for _, e := range es {
		w.expr(e)
	}
}

// expr finds the functions inside an expression, in the order the
// compiler compiles them.
func (w *localsWalker) expr(e ast.Expr) {
	switch e := e.(type) {
	case *ast.FunctionExpr:
		w.function(e, false, false, &e.Stmts)
	case *ast.AttrGetExpr:
		w.expr(e.Object)
		w.expr(e.Key)
	case *ast.TableExpr:
		for _, f := range e.Fields {
			if f.Key != nil {
				w.expr(f.Key)
			}
			w.expr(f.Value)
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			w.expr(e.Func)
		} else {
			w.expr(e.Receiver)
		}
		w.exprs(e.Args)
	case *ast.LogicalOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *ast.RelationalOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *ast.StringConcatOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *ast.ArithmeticOpExpr:
		w.expr(e.Lhs)
		w.expr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		w.expr(e.Expr)
	case *ast.UnaryNotOpExpr:
		w.expr(e.Expr)
	case *ast.UnaryLenOpExpr:
		w.expr(e.Expr)
	}
}

// match pairs fn and its functions with p and its prototypes, finds the
// ends it can without a second compile, and collects the blocks that need
// one. A function that does not match is marked bad, and so is everything
// inside it.
func (fn *funcLocals) match(p *glua.FunctionProto, marked *[]*blockEnd) bool {
	fn.proto = p
	if len(fn.names) != len(p.DbgLocals) || len(fn.children) != len(p.FunctionPrototypes) || len(p.Code) == 0 {
		fn.bad = true
		return false
	}
	for i, l := range p.DbgLocals {
		if l.Name != fn.names[i] {
			fn.bad = true
			return false
		}
	}
	if !fn.findEnds(marked) {
		fn.bad = true
		return false
	}
	for i, c := range fn.children {
		// A child that does not match leaves only itself untrusted.
		c.match(p.FunctionPrototypes[i], marked)
	}
	return true
}

// findEnds sets the ends it can read off the code and off what EndScope
// wrote, and checks the latter against the walk.
func (fn *funcLocals) findEnds(marked *[]*blockEnd) bool {
	p := fn.proto
	code := p.Code
	fn.root.end = len(code) - 1 // the final RETURN, after which EndScope ran
	// Replay EndScope's writes: the entry numbered by each register gets
	// the end of the last block that had a local in that register.
	writer := make([]*blockEnd, len(p.DbgLocals))
	for _, b := range fn.left {
		for k := 0; k < b.n; k++ {
			writer[b.reg+k] = b
		}
	}
	for k := 0; k < fn.root.n; k++ {
		writer[k] = fn.root
	}
	for _, b := range fn.left {
		if b.n == 0 {
			continue
		}
		switch b.kind {
		case blockNumFor:
			// FORPREP A sBx jumps to the FORLOOP right after the body.
			pc := p.DbgLocals[b.loopAt].StartPc - 1
			if pc < 0 || pc >= len(code) || opOf(code[pc]) != glua.OP_FORPREP || argA(code[pc]) != b.reg {
				return false
			}
			b.end = pc + argSBx(code[pc])
			if b.end+1 >= len(code) || opOf(code[b.end+1]) != glua.OP_FORLOOP {
				return false
			}
		case blockGenFor:
			// The JMP before the body goes to the TFORLOOP right after
			// it; patchCode made it a NOP when the body is empty.
			pc := p.DbgLocals[b.loopAt].StartPc - 1
			if pc < 0 || pc >= len(code) {
				return false
			}
			switch opOf(code[pc]) {
			case glua.OP_JMP:
				b.end = pc + argSBx(code[pc])
			case glua.OP_NOP:
				b.end = pc
			default:
				return false
			}
			if b.end+1 >= len(code) || opOf(code[b.end+1]) != glua.OP_TFORLOOP || argA(code[b.end+1]) != b.reg {
				return false
			}
		}
	}
	for k, b := range writer {
		got := p.DbgLocals[k].EndPc
		switch {
		case b == nil:
			if got != 0 {
				return false
			}
		case b.end >= 0:
			if got != b.end {
				return false
			}
		default:
			b.end = got
		}
	}
	for _, b := range fn.left {
		if b.n > 0 && b.end < 0 {
			*marked = append(*marked, b)
		}
	}
	return true
}

// markEnds compiles chunk again with a marker after each block of marked
// and sets their ends from where the markers land. It reports whether
// every one was found and makes sense.
func (w *localsWalker) markEnds(chunk *[]ast.Stmt, name string, top *funcLocals, marked []*blockEnd) bool {
	at := map[*[]ast.Stmt][]*blockEnd{}
	for i, b := range marked {
		b.id = i
		at[b.list] = append(at[b.list], b)
	}
	saved := map[*[]ast.Stmt][]ast.Stmt{}
	for list, bs := range at {
		orig := *list
		out := make([]ast.Stmt, 0, len(orig)+len(bs))
		for i := 0; i <= len(orig); i++ {
			for _, b := range bs {
				if b.at == i {
					out = append(out, marker(b.id))
				}
			}
			if i < len(orig) {
				out = append(out, orig[i])
			}
		}
		saved[list] = orig
		*list = out
	}
	// The main chunk's list is *chunk (the walk saw it as that).
	proto, err := glua.Compile(*chunk, name)
	for list, orig := range saved {
		*list = orig
	}
	if err != nil {
		return false
	}
	pcs := make([]int, len(marked))
	for i := range pcs {
		pcs[i] = -1
	}
	if !findMarkers(top, proto, pcs) {
		return false
	}
	for _, b := range marked {
		m := pcs[b.id]
		if m < 0 {
			return false
		}
		code := b.fn.proto.Code
		b.end = m - 1 - b.after
		if b.kind == blockRepeat && m >= 4 && isClose(code[m-2], b.reg) && isClose(code[m-4], b.reg) &&
			opOf(code[m-1]) == glua.OP_JMP && opOf(code[m-3]) == glua.OP_JMP {
			// The repeat closes its upvalues after the condition:
			// CLOSE, JMP over, CLOSE, JMP back (compileRepeatStmt).
			b.end = m - 4
		}
		if !b.fn.sane(b) {
			return false
		}
	}
	return true
}

func isClose(inst uint32, a int) bool { return opOf(inst) == glua.OP_CLOSE && argA(inst) == a }

// marker is the statement whose one instruction marks a place in the code:
// LOADBOOL r 1 0 on the line -(id+1).
func marker(id int) ast.Stmt {
	t := &ast.TrueExpr{}
	t.SetLine(-(id + 1))
	// (The statement's own line stays 0: compileBlock gives a block's
	// CLOSE the line of its last statement, which the marker may be.)
	return &ast.LocalAssignStmt{Exprs: []ast.Expr{t}}
}

// findMarkers records, for each marker in p (compiled with markers) and
// its prototypes, the pc it stands at in the code compiled without them.
func findMarkers(fn *funcLocals, p *glua.FunctionProto, pcs []int) bool {
	if fn.proto == nil || fn.bad {
		return true // no markers in it: no block of its was marked
	}
	if len(fn.children) != len(p.FunctionPrototypes) {
		return false
	}
	seen := 0
	for pc, line := range p.DbgSourcePositions {
		if line >= 0 {
			continue
		}
		id := -line - 1
		if id >= len(pcs) || pcs[id] >= 0 || opOf(p.Code[pc]) != glua.OP_LOADBOOL {
			return false
		}
		pcs[id] = pc - seen
		seen++
	}
	if len(p.Code)-seen != len(fn.proto.Code) {
		return false // not the same code once the markers are left out
	}
	for i, c := range fn.children {
		if !findMarkers(c, p.FunctionPrototypes[i], pcs) {
			return false
		}
	}
	return true
}

// sane checks a block's end against what is sure: inside the code, and
// not before its last local began (the instruction before a local begins
// is its declaration's, inside the block).
func (fn *funcLocals) sane(b *blockEnd) bool {
	if b.end < 0 || b.end >= len(fn.proto.Code)-1 {
		return false
	}
	last := b.first
	for i := b.first; i < len(fn.owner); i++ {
		if fn.owner[i] == b {
			last = i
		}
	}
	return b.end >= fn.proto.DbgLocals[last].StartPc-1
}

// repair writes the ends into the prototypes that matched.
func (fn *funcLocals) repair() {
	if fn.bad {
		return
	}
	for _, b := range fn.left {
		if b.n > 0 && !fn.sane(b) {
			return
		}
	}
	for i, l := range fn.proto.DbgLocals {
		end := fn.owner[i].end
		if end < l.StartPc {
			end = -1 // never live
		}
		l.EndPc = end
	}
	for _, c := range fn.children {
		c.repair()
	}
}
