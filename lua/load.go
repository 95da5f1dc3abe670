package lua

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"
)

// Every chunk wirelab runs is compiled here: scripts, -e, the prompt's
// lines, and loadstring, load, loadfile and dofile, which the base
// library's versions are replaced with. Between parsing and compiling, the
// syntax tree is adjusted where gopher-lua's compiler differs from Lua 5.1.

// Load compiles src as a chunk called name in L. A first line starting
// with # (a shebang) is skipped, as lua.c skips it, keeping line numbers.
func Load(L *glua.LState, src []byte, name string) (*glua.LFunction, error) {
	if len(src) > 0 && src[0] == '#' {
		if i := bytes.IndexByte(src, '\n'); i >= 0 {
			src = src[i:]
		} else {
			src = nil
		}
	}
	return compile(L, src, name)
}

// LoadString compiles src as a chunk called name in L, as loadstring does
// (the prompt's lines).
func LoadString(L *glua.LState, src, name string) (*glua.LFunction, error) {
	return compile(L, []byte(src), name)
}

// compile parses, adjusts and compiles src; errors are syntax errors.
func compile(L *glua.LState, src []byte, name string) (*glua.LFunction, error) {
	return compileFrom(L, bytes.NewReader(src), name)
}

// compileFrom is compile reading the source as the parser goes.
func compileFrom(L *glua.LState, src io.Reader, name string) (*glua.LFunction, error) {
	var read *bytes.Buffer
	if _, ok := src.(*bytes.Reader); !ok {
		// Kept for wording a syntax error (syntax51.go).
		read = &bytes.Buffer{}
		src = io.TeeReader(src, read)
	}
	text := func() []byte {
		if r, ok := src.(*bytes.Reader); ok {
			b := make([]byte, r.Size())
			r.ReadAt(b, 0)
			return b
		}
		io.Copy(io.Discard, src) // the rest, for the checker
		return read.Bytes()
	}
	chunk, err := parse.Parse(src, name)
	if err != nil {
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(syntaxMessage(err, text(), name)), Cause: err}
	}
	if err := adjust(chunk, name); err != nil {
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(err.Error()), Cause: err}
	}
	proto, err := glua.Compile(chunk, name)
	if err == nil {
		placeConcat(proto)
	}
	if err != nil {
		// gopher-lua's compiler finds some of what Lua 5.1's parser
		// reports (break outside a loop, ... outside a vararg function).
		msg := check51(text(), name)
		if msg == "" {
			msg = err.Error()
		}
		return nil, &glua.ApiError{Type: glua.ApiErrorSyntax, Object: glua.LString(msg), Cause: err}
	}
	// Errors name locals, globals and fields from the locals' debug
	// information, which gopher-lua leaves wrong after a block (locals.go).
	repairLocals(chunk, proto, name)
	// The chunk sees the globals of the thread that loads it, as lua_load
	// gives it (setfenv(0, t) changes them), not its caller's environment.
	fn := L.NewFunctionFromProto(proto)
	fn.Env = L.Env
	return fn, nil
}

// syntaxMessage words the parse error err of src, a chunk called name, as
// Lua 5.1 does: the checker's (syntax51.go) first error, or, should Lua
// 5.1 accept what gopher-lua refused, gopher-lua's error in Lua 5.1's
// layout ("name:line: message near 'token'").
func syntaxMessage(err error, src []byte, name string) string {
	if msg := check51(src, name); msg != "" {
		return msg
	}
	var perr *parse.Error
	if !errors.As(err, &perr) {
		return strings.TrimSpace(err.Error())
	}
	line, tok := perr.Pos.Line, "'"+perr.Token+"'"
	if line == parse.EOF {
		line, tok = 1+bytes.Count(src, []byte("\n")), "'<eof>'"
	}
	return fmt.Sprintf("%s:%d: %s near %s", name, line, perr.Message, tok)
}

// maxListItems is the most positional items gopher-lua's compiler keeps
// in one table constructor (511 SETLIST batches of 50); past it the rest
// are dropped without a word.
const maxListItems = 511 * 50

// tooManyItems stops adjustExpr at a table constructor gopher-lua would
// cut short.
type tooManyItems struct{ line, n int }

// adjust applies adjustStmts to a chunk, turning what cannot be compiled
// faithfully into an error.
func adjust(chunk []ast.Stmt, name string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			t, ok := r.(tooManyItems)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("%s:%d: table constructor with %d positional items: gopher-lua keeps only the first %d (build the table in parts)",
				name, t.line, t.n, maxListItems)
		}
	}()
	adjustStmts(chunk)
	return nil
}

// adjustStmts rewrites what gopher-lua compiles differently from Lua 5.1:
// the bounds of a numeric for are converted to numbers as Lua 5.1's
// OP_FORPREP converts them, so that for i = 1, "3" runs three times
// (gopher-lua accepts numbers only). A bound that is not a literal number
// becomes bound - 0, which turns a numeric string into its number and
// keeps -0; a bound that is not a number at all then fails in that
// subtraction, which errname.go (forBound) words as Lua 5.1's "'for' limit
// must be a number".
func adjustStmts(stmts []ast.Stmt) {
	for _, s := range stmts {
		switch s := s.(type) {
		case *ast.AssignStmt:
			adjustExprs(s.Lhs)
			adjustExprs(s.Rhs)
		case *ast.LocalAssignStmt:
			adjustExprs(s.Exprs)
		case *ast.FuncCallStmt:
			s.Expr = adjustExpr(s.Expr)
		case *ast.DoBlockStmt:
			adjustStmts(s.Stmts)
		case *ast.WhileStmt:
			s.Condition = adjustExpr(s.Condition)
			adjustStmts(s.Stmts)
		case *ast.RepeatStmt:
			s.Condition = adjustExpr(s.Condition)
			adjustStmts(s.Stmts)
		case *ast.IfStmt:
			s.Condition = adjustExpr(s.Condition)
			adjustStmts(s.Then)
			adjustStmts(s.Else)
		case *ast.NumberForStmt:
			s.Init, s.Limit = toNumber(s.Init), toNumber(s.Limit)
			if s.Step != nil {
				s.Step = toNumber(s.Step)
			}
			adjustStmts(s.Stmts)
		case *ast.GenericForStmt:
			adjustExprs(s.Exprs)
			adjustStmts(s.Stmts)
		case *ast.FuncDefStmt:
			s.Func = adjustExpr(s.Func).(*ast.FunctionExpr)
		case *ast.ReturnStmt:
			adjustExprs(s.Exprs)
			concatReturn(s)
		}
	}
}

func adjustExprs(es []ast.Expr) {
	for i, e := range es {
		es[i] = adjustExpr(e)
	}
}

// adjustExpr finds the functions inside an expression, and returns it
// with each concatenation made a call of concat51 (concat.go).
func adjustExpr(e ast.Expr) ast.Expr {
	switch e := e.(type) {
	case *ast.FunctionExpr:
		adjustStmts(e.Stmts)
	case *ast.AttrGetExpr:
		e.Object = adjustExpr(e.Object)
		e.Key = adjustExpr(e.Key)
	case *ast.TableExpr:
		n := 0
		for _, f := range e.Fields {
			if f.Key == nil {
				n++
			} else {
				f.Key = adjustExpr(f.Key)
			}
			f.Value = adjustExpr(f.Value)
		}
		if n > maxListItems {
			panic(tooManyItems{e.Line(), n})
		}
	case *ast.FuncCallExpr:
		if e.Func != nil {
			e.Func = adjustExpr(e.Func)
		}
		if e.Receiver != nil {
			e.Receiver = adjustExpr(e.Receiver)
		}
		adjustExprs(e.Args)
	case *ast.LogicalOpExpr:
		e.Lhs = adjustExpr(e.Lhs)
		e.Rhs = adjustExpr(e.Rhs)
	case *ast.RelationalOpExpr:
		e.Lhs = adjustExpr(e.Lhs)
		e.Rhs = adjustExpr(e.Rhs)
	case *ast.StringConcatOpExpr:
		return concatCall(e)
	case *ast.ArithmeticOpExpr:
		e.Lhs = adjustExpr(e.Lhs)
		e.Rhs = adjustExpr(e.Rhs)
	case *ast.UnaryMinusOpExpr:
		e.Expr = adjustExpr(e.Expr)
	case *ast.UnaryNotOpExpr:
		e.Expr = adjustExpr(e.Expr)
	case *ast.UnaryLenOpExpr:
		e.Expr = adjustExpr(e.Expr)
	}
	return e
}

// toNumber wraps a numeric for's bound as bound - 0, unless it is a
// number literal already.
func toNumber(e ast.Expr) ast.Expr {
	e = adjustExpr(e)
	switch x := e.(type) {
	case *ast.NumberExpr:
		return e
	case *ast.UnaryMinusOpExpr:
		if _, ok := x.Expr.(*ast.NumberExpr); ok {
			return e
		}
	}
	zero := &ast.NumberExpr{Value: "0"}
	zero.SetLine(e.Line())
	zero.SetLastLine(e.LastLine())
	sub := &ast.ArithmeticOpExpr{Operator: "-", Lhs: e, Rhs: zero}
	sub.SetLine(e.Line())
	sub.SetLastLine(e.LastLine())
	return sub
}

// chunkID is Lua 5.1's luaO_chunkid: how a chunk's name appears in
// messages. "=name" is name, "@file" the file (its tail when long), any
// other name the source's first line as [string "..."].
func chunkID(name string) string {
	const idSize = 60
	switch {
	case strings.HasPrefix(name, "="):
		return truncate(name[1:], idSize-1)
	case strings.HasPrefix(name, "@"):
		file, room := name[1:], idSize-len(" '...' ")-1
		if len(file) > room {
			return "..." + file[len(file)-room:]
		}
		return file
	}
	room := idSize - len(` [string "..."] `) - 1
	line := name
	if i := strings.IndexAny(line, "\r\n"); i >= 0 {
		line = line[:i]
	}
	if len(line) > room {
		line = line[:room]
	}
	if len(line) < len(name) {
		return `[string "` + line + `..."]`
	}
	return `[string "` + name + `"]`
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// loadResult pushes a compiled chunk, or nil and the error message.
func loadResult(L *glua.LState, fn *glua.LFunction, err error) int {
	if err != nil {
		L.Push(glua.LNil)
		L.Push(glua.LString(err.Error()))
		return 2
	}
	L.Push(fn)
	return 1
}

// baseLoadstring is loadstring(s [, chunkname]).
func baseLoadstring(L *glua.LState) int {
	s := L.CheckString(1)
	fn, err := compile(L, []byte(s), chunkID(L.OptString(2, s)))
	return loadResult(L, fn, err)
}

// baseLoad is load(reader [, chunkname]): reader returns the chunk's
// pieces until it returns nil or "". As lua_load does, the parser asks for
// pieces as it goes, so a syntax error stops the reading, and an error in
// the reader is returned as load's message.
func baseLoad(L *glua.LState) int {
	r := &chunkReader{L: L, fn: L.CheckFunction(1)}
	fn, err := compileFrom(L, r, chunkID(L.OptString(2, "=(load)")))
	if r.err != nil {
		L.Push(glua.LNil)
		L.Push(r.err)
		return 2
	}
	return loadResult(L, fn, err)
}

// A chunkReader reads a chunk from a Lua reader function, a piece a call.
type chunkReader struct {
	L    *glua.LState
	fn   glua.LValue
	buf  []byte
	size int64
	done bool
	err  glua.LValue // what the reader raised, or why its piece is wrong
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.done {
			return 0, io.EOF
		}
		results, errv := pcallGo(r.L, r.fn)
		var piece glua.LValue = glua.LNil
		if len(results) > 0 {
			piece = results[0]
		}
		switch v := piece.(type) {
		case *glua.LNilType:
			r.done = true
		case glua.LString:
			r.buf, r.done = []byte(v), v == ""
		case glua.LNumber:
			r.buf = []byte(lua51.NumberText(float64(v)))
		default:
			errv = glua.LString("reader function must return a string")
		}
		r.size += int64(len(r.buf))
		if errv == nil && r.size > maxString(r.L) {
			errv = glua.LString("chunk too large")
		}
		if errv != nil {
			r.err, r.done, r.buf = errv, true, nil
		}
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// loadFile compiles the file at path, or stdin when path is "".
func loadFile(L *glua.LState, path string) (*glua.LFunction, error) {
	var src []byte
	var err error
	name := path
	if path == "" {
		name = "stdin"
		src, err = io.ReadAll(stateOf(L).rt.stdin)
	} else {
		src, err = os.ReadFile(path)
	}
	if err != nil {
		what := "read"
		if os.IsNotExist(err) || os.IsPermission(err) {
			what = "open"
		}
		msg := err.Error()
		if pe, ok := err.(*os.PathError); ok {
			msg = pe.Err.Error()
			if errno, ok := pe.Err.(syscall.Errno); ok {
				msg = lua51.Strerror(errno)
			}
		}
		return nil, fmt.Errorf("cannot %s %s: %s", what, name, msg)
	}
	return Load(L, src, name)
}

// baseLoadfile is loadfile([path]).
func baseLoadfile(L *glua.LState) int {
	fn, err := loadFile(L, L.OptString(1, ""))
	return loadResult(L, fn, err)
}

// baseDofile is dofile([path]): runs the file, raising its errors.
func baseDofile(L *glua.LState) int {
	fn, err := loadFile(L, L.OptString(1, ""))
	if err != nil {
		L.Error(glua.LString(err.Error()), 0)
	}
	top := L.GetTop()
	L.Push(fn)
	L.Call(0, glua.MultRet)
	return L.GetTop() - top
}
