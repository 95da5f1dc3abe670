package lua

import (
	"crypto/rand"
	"encoding/hex"
	"strings"

	"github.com/wirelab/wirelab/lua/internal/lua51"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
)

// Concatenation bounded by MaxString.
//
// gopher-lua's OP_CONCAT joins its operands with no limit and offers no
// hook, so `s = s .. s` doubles a string past MaxString until Go's heap
// gives out, which no pcall catches. The loader therefore compiles every
// chain a .. b .. c as a call concat(a, b, c) of the Go function below:
// the operands are evaluated as they were, left to right into consecutive
// registers, and concat adds their lengths before it builds anything. The
// function reaches the code as a constant, not a global, so that setfenv
// and a sandbox's environment cannot take it away: the chain's call loads
// a placeholder string constant, which compile replaces with the function
// in every prototype (an unguessable string, so no literal of a script's
// is ever replaced).

// concatKey is the placeholder constant.
var concatKey = func() glua.LString {
	b := make([]byte, 16)
	rand.Read(b)
	return glua.LString("\x00wirelab.concat." + hex.EncodeToString(b))
}()

// concatFn is concat51 as a value; its environment is an empty table of
// its own, since a Go function's environment serves only getfenv. (Made
// in init: concat51 reaches the loader, which reaches concatFn.)
var concatFn *glua.LFunction

func init() {
	L := glua.NewState(glua.Options{SkipOpenLibs: true})
	defer L.Close()
	concatFn = &glua.LFunction{IsG: true, GFunction: concat51, Env: L.NewTable()}
}

// concatCall returns the call that stands for the chain e (e.Lhs .. e.Rhs,
// e.Rhs maybe a chain itself, as gopher-lua's compiler flattens it).
func concatCall(e *ast.StringConcatOpExpr) *ast.FuncCallExpr {
	var args []ast.Expr
	for {
		args = append(args, e.Lhs)
		next, ok := e.Rhs.(*ast.StringConcatOpExpr)
		if !ok {
			args = append(args, e.Rhs)
			break
		}
		e = next
	}
	for _, a := range args {
		adjustExpr(a)
		// An operand is one value, as in CONCAT; the last argument of a
		// call would otherwise pass all of f()'s or ...'s values.
		switch a := a.(type) {
		case *ast.FuncCallExpr:
			a.AdjustRet = true
		case *ast.Comma3Expr:
			a.AdjustRet = true
		}
	}
	fn := &ast.StringExpr{Value: string(concatKey)}
	fn.SetLine(e.Line())
	fn.SetLastLine(e.LastLine())
	// Not AdjustRet, which would make gopher-lua compile p = p .. x, p
	// the last parameter, into p's register before reading p (it does so
	// with p = (f(p)) too); concat51 returns one value anyway. A return
	// makes it AdjustRet (concatReturn).
	call := &ast.FuncCallExpr{Func: fn, Args: args}
	call.SetLine(e.Line())
	call.SetLastLine(e.LastLine())
	return call
}

// concatReturn makes return a .. b no tail call, which would leave no
// frame to name an operand in an error.
func concatReturn(s *ast.ReturnStmt) {
	if len(s.Exprs) != 1 {
		return
	}
	if c, ok := s.Exprs[0].(*ast.FuncCallExpr); ok {
		if k, ok := c.Func.(*ast.StringExpr); ok && k.Value == string(concatKey) {
			c.AdjustRet = true
		}
	}
}

// placeConcat replaces the placeholder constant with concatFn in p and the
// prototypes nested in it.
func placeConcat(p *glua.FunctionProto) {
	for i, c := range p.Constants {
		if s, ok := c.(glua.LString); ok && s == concatKey {
			p.Constants[i] = concatFn
		}
	}
	for _, sub := range p.FunctionPrototypes {
		placeConcat(sub)
	}
}

// concat51 is Lua 5.1's concatenation of its arguments: from the right,
// each run of strings and numbers joined at once (numbers written as
// tostring writes them), any other pair through its __concat metamethod.
// A result longer than MaxString raises "string length overflow" (Lua
// 5.1's words for a concatenation too long) before it is built.
func concat51(L *glua.LState) int {
	n := L.GetTop()
	if s, ok := concatPlain(L, n); ok {
		L.Push(s)
		return 1
	}
	vals := make([]glua.LValue, n)
	for i := range vals {
		vals[i] = L.Get(i + 1)
	}
	limit := maxString(L)
	for top := n - 1; top > 0; {
		p1, p2 := vals[top-1], vals[top]
		if !isStrNum(p1) || !isStrNum(p2) {
			vals[top-1] = concatMeta(L, p1, p2, top-1)
			top--
			continue
		}
		// As many strings and numbers as there are, joined at once.
		i, size := top, int64(0)
		for ; i >= 0 && isStrNum(vals[i]); i-- {
			if vals[i].Type() == glua.LTNumber {
				vals[i] = glua.LString(lua51.NumberText(float64(vals[i].(glua.LNumber))))
			}
			if size += int64(len(vals[i].(glua.LString))); size > limit {
				L.RaiseError("string length overflow")
			}
		}
		i++
		var b strings.Builder
		b.Grow(int(size))
		for _, v := range vals[i : top+1] {
			b.WriteString(string(v.(glua.LString)))
		}
		vals[i] = glua.LString(b.String())
		top = i
	}
	if n == 0 {
		return 0
	}
	L.Push(vals[0])
	return 1
}

// concatPlain is concat51's common case, every operand a string: their
// join, without the general case's allocations; ok is false otherwise.
func concatPlain(L *glua.LState, n int) (s glua.LString, ok bool) {
	size := 0
	for i := 1; i <= n; i++ {
		v, ok := L.Get(i).(glua.LString)
		if !ok {
			return "", false
		}
		size += len(v)
	}
	if int64(size) > maxString(L) {
		L.RaiseError("string length overflow")
	}
	var b strings.Builder
	b.Grow(size)
	for i := 1; i <= n; i++ {
		b.WriteString(string(L.Get(i).(glua.LString)))
	}
	return glua.LString(b.String()), true
}

// concatMeta concatenates the pair p1 .. p2, operands k and k+1 of the
// chain, through the __concat of p1 or else p2, or raises Lua 5.1's error
// naming the operand that is no string or number.
func concatMeta(L *glua.LState, p1, p2 glua.LValue, k int) glua.LValue {
	mm := L.GetMetaField(p1, "__concat")
	if mm == glua.LNil {
		mm = L.GetMetaField(p2, "__concat")
	}
	if mm == glua.LNil {
		blame, v := k, p1
		if isStrNum(p1) {
			blame, v = k+1, p2
		}
		what := "a " + v.Type().String() + " value"
		// The chain's call is the calling frame's current instruction; its
		// arguments, loaded into the registers after the function's, are
		// named as CONCAT's operands would be.
		if f, ok := luaFrameAt(L, 1); ok && opOf(f.proto.Code[f.pc]) == glua.OP_CALL {
			what = f.describe(argA(f.proto.Code[f.pc])+1+blame, v)
		}
		L.RaiseError("attempt to concatenate %s", what)
	}
	L.Push(mm)
	L.Push(p1)
	L.Push(p2)
	L.Call(2, 1)
	r := L.Get(-1)
	L.Pop(1)
	return r
}
