package lua51

import (
	"math"
	"math/rand/v2"

	glua "github.com/yuin/gopher-lua"
)

// Corrections to gopher-lua's math library: math.huge is infinity,
// math.random draws from a generator of the state's own that
// math.randomseed makes repeatable (math/rand's global Seed is a no-op
// since Go 1.24), and the functions that differed from C's take and
// return what Lua 5.1's do.

// mathRand is the generator of one state.
type mathRand struct{ r *rand.Rand }

// random is math.random([m [, n]]): a float in [0, 1), or an integer in
// [1, m] or [m, n].
func (r *mathRand) random(L *glua.LState) int {
	f := r.r.Float64()
	switch L.GetTop() {
	case 0:
		L.Push(glua.LNumber(f))
	case 1:
		u := IntArg(L, 1)
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(glua.LNumber(math.Floor(f*float64(u)) + 1))
	case 2:
		l, u := IntArg(L, 1), IntArg(L, 2)
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(glua.LNumber(math.Floor(f*float64(u-l+1)) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

// randomseed is math.randomseed(x): the numbers that follow depend only
// on x (truncated to an integer, as 5.1's srand takes it).
func (r *mathRand) randomseed(L *glua.LState) int {
	seed := uint64(IntArg(L, 1))
	r.r = rand.New(rand.NewPCG(seed, seed))
	return 0
}

// mathFmod is math.fmod(x, y), C's fmod; math.mod is its 5.1 alias.
func mathFmod(L *glua.LState) int {
	L.Push(glua.LNumber(math.Mod(float64(NumArg(L, 1)), float64(NumArg(L, 2)))))
	return 1
}

// mathModf is math.modf(x): the integral and fractional parts, as C's
// modf, whose fraction of an infinity is 0, not NaN.
func mathModf(L *glua.LState) int {
	x := float64(NumArg(L, 1))
	i, frac := math.Modf(x)
	if math.IsInf(x, 0) {
		frac = math.Copysign(0, x)
	}
	L.Push(glua.LNumber(i))
	L.Push(glua.LNumber(frac))
	return 2
}

// mathLdexp is math.ldexp(m, e): m * 2^e, e truncated to an integer.
func mathLdexp(L *glua.LState) int {
	L.Push(glua.LNumber(math.Ldexp(float64(NumArg(L, 1)), IntArg(L, 2))))
	return 1
}

// mathMax is math.max(x, ...); a missing first argument is an argument
// error, as in 5.1.
func mathMax(L *glua.LState) int {
	max := NumArg(L, 1)
	for i := 2; i <= L.GetTop(); i++ {
		if v := L.CheckNumber(i); v > max {
			max = v
		}
	}
	L.Push(max)
	return 1
}

// mathMin is math.min(x, ...).
func mathMin(L *glua.LState) int {
	min := NumArg(L, 1)
	for i := 2; i <= L.GetTop(); i++ {
		if v := L.CheckNumber(i); v < min {
			min = v
		}
	}
	L.Push(min)
	return 1
}

// PatchMath sets Lua 5.1's math functions where gopher-lua's differ, and
// a random generator of the state's own.
func PatchMath(L *glua.LState, m *glua.LTable) {
	// A fresh state starts from an unpredictable seed, so that the
	// tasks of a script do not all draw the same numbers.
	r := &mathRand{rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	for name, f := range map[string]glua.LGFunction{
		"random":     r.random,
		"randomseed": r.randomseed,
		"fmod":       mathFmod,
		"mod":        mathFmod,
		"modf":       mathModf,
		"ldexp":      mathLdexp,
		"max":        mathMax,
		"min":        mathMin,
	} {
		m.RawSetString(name, L.NewFunction(f))
	}
	m.RawSetString("huge", glua.LNumber(math.Inf(1)))
}
