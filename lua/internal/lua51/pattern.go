package lua51

// Lua 5.1 patterns (reference manual §5.4.1) and the string functions that
// use them: find, match, gmatch and gsub. A pattern is matched by
// backtracking over byte offsets; the recursion goes one level deeper per
// quantified item or capture of the pattern, never per byte of the
// subject, and is capped so that a huge pattern raises a Lua error.
//
// As in Lua 5.1, where C sees a NUL-terminated string, a pattern ends at
// its first NUL (use %z to match one).
//
// A match counts its steps (items tried, bytes scanned): past the Host's
// PatternSteps for one call it raises "pattern too complex", so that a
// pattern such as ".-.-.-.-.-b", whose work grows as a power of the
// subject's length, cannot run for hours; and every stepCheck steps it
// checks its task's context, so that interrupting the task (srv:close(),
// Ctrl-C, t:cancel()) ends a match under way.
//
// Why not gopher-lua's own matcher: it fails pm.lua of the Lua 5.1 test
// suite, which this one passes as lua5.1 does (TestLua51Suite).

import (
	"strings"

	glua "github.com/yuin/gopher-lua"
)

const (
	maxCaptures   = 32           // Lua 5.1's LUA_MAXCAPTURES
	maxMatchDepth = 10000        // nested items before "pattern too complex"
	stepCheck     = 1 << 14      // steps between checks of the budget and the context
	capUnfinished = -1           // capture length while open
	capPosition   = -2           // capture length of a position capture ()
	specials      = "^$*+?.([%-" // make find no plain search
)

// A capture is where a capture starts in the subject and its length, or
// capUnfinished or capPosition.
type capture struct{ start, len int }

// A matcher matches one pattern against one subject.
type matcher struct {
	L        *glua.LState
	src, pat string
	level    int // captures open or closed
	depth    int
	// steps counts the steps of the call, a check of the context and of
	// the budget limit due each time it passes a multiple of stepCheck.
	steps int64
	limit int64
	// maxLen is the Host's MaxString, read once per call, for gsub.
	maxLen int64
	caps   [maxCaptures]capture
}

// newMatcher returns a matcher of pat against src, with the step budget
// of one call of L: the Host's PatternSteps plus patternStepsPerByte for
// each byte of the subject, so that a long subject may take the linear
// work that any pattern needs on it.
func newMatcher(L *glua.LState, src, pat string) *matcher {
	limit := host.PatternSteps(L)
	if limit > 0 {
		limit += int64(len(src)) * patternStepsPerByte
	}
	return &matcher{L: L, src: src, pat: pat, limit: limit, maxLen: host.MaxString(L)}
}

// patternStepsPerByte is what each byte of a subject adds to a call's
// step budget.
const patternStepsPerByte = 64

// step counts n steps, checking the budget and the context each time the
// count passes a multiple of stepCheck.
func (m *matcher) step(n int64) {
	before := m.steps
	m.steps += n
	if before/stepCheck != m.steps/stepCheck {
		m.check()
	}
}

// check raises "pattern too complex" past the budget, or the context's
// error once the task is interrupted.
func (m *matcher) check() {
	if ctx := host.Context(m.L); ctx.Err() != nil {
		m.L.RaiseError("%v", ctx.Err())
	}
	if m.limit > 0 && m.steps > m.limit {
		m.raise("pattern too complex")
	}
}

// raise raises a pattern error.
func (m *matcher) raise(msg string) { luaError(m.L, "%s", msg) }

// reset readies m for a match at a new position.
func (m *matcher) reset() { m.level, m.depth = 0, 0 }

// match returns the end of a match of pat[p:] at src[s:], or -1.
func (m *matcher) match(s, p int) int {
	if m.depth++; m.depth > maxMatchDepth {
		m.raise("pattern too complex")
	}
	r := m.doMatch(s, p)
	m.depth--
	return r
}

// doMatch is match without the depth count: it loops over plain items and
// recurses for the rest.
func (m *matcher) doMatch(s, p int) int {
	for {
		if m.steps++; m.steps%stepCheck == 0 {
			m.check()
		}
		if p == len(m.pat) {
			return s
		}
		switch m.pat[p] {
		case '(':
			if p+1 < len(m.pat) && m.pat[p+1] == ')' {
				return m.startCapture(s, p+2, capPosition)
			}
			return m.startCapture(s, p+1, capUnfinished)
		case ')':
			return m.endCapture(s, p+1)
		case '$':
			if p+1 == len(m.pat) {
				if s == len(m.src) {
					return s
				}
				return -1
			}
		case '%':
			if p+1 == len(m.pat) {
				break // classEnd raises
			}
			switch c := m.pat[p+1]; {
			case c == 'b':
				if s = m.matchBalance(s, p+2); s == -1 {
					return -1
				}
				p += 4
				continue
			case c == 'f':
				p += 2
				if p == len(m.pat) || m.pat[p] != '[' {
					m.raise("missing '[' after '%f' in pattern")
				}
				ep := m.classEnd(p)
				var prev, cur byte // NUL before the start and past the end
				if s > 0 {
					prev = m.src[s-1]
				}
				if s < len(m.src) {
					cur = m.src[s]
				}
				if m.matchSet(prev, p, ep-1) || !m.matchSet(cur, p, ep-1) {
					return -1
				}
				p = ep
				continue
			case isDigit(c):
				if s = m.matchCapture(s, c); s == -1 {
					return -1
				}
				p += 2
				continue
			}
		}
		// A single-character class, maybe followed by a quantifier.
		ep := m.classEnd(p)
		ok := s < len(m.src) && m.single(m.src[s], p, ep)
		if ep < len(m.pat) {
			switch m.pat[ep] {
			case '?':
				if ok {
					if r := m.match(s+1, ep+1); r != -1 {
						return r
					}
				}
				p = ep + 1
				continue
			case '*':
				return m.maxExpand(s, p, ep)
			case '+':
				if !ok {
					return -1
				}
				return m.maxExpand(s+1, p, ep)
			case '-':
				return m.minExpand(s, p, ep)
			}
		}
		if !ok {
			return -1
		}
		s, p = s+1, ep
	}
}

// classEnd returns the end of the single-character class at pat[p].
func (m *matcher) classEnd(p int) int {
	c := m.pat[p]
	p++
	switch c {
	case '%':
		if p == len(m.pat) {
			m.raise("malformed pattern (ends with '%')")
		}
		return p + 1
	case '[':
		if p < len(m.pat) && m.pat[p] == '^' {
			p++
		}
		for { // the first member may be a ']'
			if p >= len(m.pat) {
				m.raise("malformed pattern (missing ']')")
			}
			c := m.pat[p]
			p++
			if c == '%' && p < len(m.pat) {
				p++
			}
			if p < len(m.pat) && m.pat[p] == ']' {
				return p + 1
			}
		}
	}
	return p
}

// single reports whether c matches the class pat[p:ep].
func (m *matcher) single(c byte, p, ep int) bool {
	switch m.pat[p] {
	case '.':
		return true
	case '%':
		return matchClass(c, m.pat[p+1])
	case '[':
		return m.matchSet(c, p, ep-1)
	}
	return m.pat[p] == c
}

// matchSet reports whether c is in the set from pat[p], a '[', to pat[end],
// its ']'.
func (m *matcher) matchSet(c byte, p, end int) bool {
	in := true
	p++
	if m.pat[p] == '^' {
		in = false
		p++
	}
	for ; p < end; p++ {
		switch {
		case m.pat[p] == '%':
			p++
			if matchClass(c, m.pat[p]) {
				return in
			}
		case p+2 < end && m.pat[p+1] == '-':
			if m.pat[p] <= c && c <= m.pat[p+2] {
				return in
			}
			p += 2
		case m.pat[p] == c:
			return in
		}
	}
	return !in
}

// Character kinds of the C locale, for the classes.
const (
	kAlpha = 1 << iota
	kCntrl
	kDigit
	kLower
	kPunct
	kSpace
	kUpper
	kXdigit
)

var ctype = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		var k uint8
		switch {
		case 'a' <= c && c <= 'z':
			k |= kAlpha | kLower
		case 'A' <= c && c <= 'Z':
			k |= kAlpha | kUpper
		case '0' <= c && c <= '9':
			k |= kDigit
		case c < 32 || c == 127:
			k |= kCntrl
		case 32 < c && c < 127:
			k |= kPunct
		}
		if isSpace(byte(c)) {
			k |= kSpace
		}
		if isHexDigit(byte(c)) && c < 128 {
			k |= kXdigit
		}
		t[c] = k
	}
	return t
}()

// matchClass reports whether c matches %cl: a class letter (its upper
// case the complement), or any other character standing for itself.
func matchClass(c, cl byte) bool {
	var kind uint8
	switch cl | 0x20 {
	case 'a':
		kind = kAlpha
	case 'c':
		kind = kCntrl
	case 'd':
		kind = kDigit
	case 'l':
		kind = kLower
	case 'p':
		kind = kPunct
	case 's':
		kind = kSpace
	case 'u':
		kind = kUpper
	case 'w':
		kind = kAlpha | kDigit
	case 'x':
		kind = kXdigit
	case 'z':
		if cl == 'z' {
			return c == 0
		}
		return c != 0
	}
	if kind == 0 {
		return cl == c
	}
	res := ctype[c]&kind != 0
	if cl < 'a' {
		return !res
	}
	return res
}

// maxExpand matches as many of the class pat[p:ep] as it can at src[s:],
// then the rest of the pattern, giving back one at a time.
func (m *matcher) maxExpand(s, p, ep int) int {
	i := 0
	// The bytes scanned here are counted only in long runs, for the
	// context's sake: each is given back below at the cost of a counted
	// match, or the match succeeds and the call moves past them.
	for s+i < len(m.src) && m.single(m.src[s+i], p, ep) {
		if i++; i%stepCheck == 0 {
			m.step(stepCheck)
		}
	}
	for ; i >= 0; i-- {
		if r := m.match(s+i, ep+1); r != -1 {
			return r
		}
	}
	return -1
}

// minExpand matches as few of the class pat[p:ep] as it can at src[s:]
// before the rest of the pattern.
func (m *matcher) minExpand(s, p, ep int) int {
	for {
		if r := m.match(s, ep+1); r != -1 {
			return r
		}
		if s == len(m.src) || !m.single(m.src[s], p, ep) {
			return -1
		}
		s++
	}
}

// startCapture opens a capture at s, what being capUnfinished or
// capPosition, and matches the rest of the pattern.
func (m *matcher) startCapture(s, p, what int) int {
	if m.level >= maxCaptures {
		m.raise("too many captures")
	}
	m.caps[m.level] = capture{s, what}
	m.level++
	r := m.match(s, p)
	if r == -1 {
		m.level--
	}
	return r
}

// endCapture closes the last open capture at s and matches the rest.
func (m *matcher) endCapture(s, p int) int {
	l := m.level - 1
	for l >= 0 && m.caps[l].len != capUnfinished {
		l--
	}
	if l < 0 {
		m.raise("invalid pattern capture")
	}
	m.caps[l].len = s - m.caps[l].start
	r := m.match(s, p)
	if r == -1 {
		m.caps[l].len = capUnfinished
	}
	return r
}

// matchBalance matches %bxy, x and y at pat[p:].
func (m *matcher) matchBalance(s, p int) int {
	if p+1 >= len(m.pat) {
		m.raise("unbalanced pattern")
	}
	if s >= len(m.src) || m.src[s] != m.pat[p] {
		return -1
	}
	// Every byte scanned counts: nothing gives it back, and "%b()" tried
	// at each of n opening brackets scans n*n/2 bytes.
	open, close, depth := m.pat[p], m.pat[p+1], 1
	i := s + 1
	for ; i < len(m.src); i++ {
		if (i-s)%stepCheck == 0 {
			m.step(stepCheck)
		}
		switch m.src[i] {
		case close:
			if depth--; depth == 0 {
				m.step(int64((i - s) % stepCheck))
				return i + 1
			}
		case open:
			depth++
		}
	}
	m.step(int64((i - s) % stepCheck))
	return -1
}

// matchCapture matches the back-reference %c, c a digit.
func (m *matcher) matchCapture(s int, c byte) int {
	l := int(c) - '1'
	if l < 0 || l >= m.level || m.caps[l].len == capUnfinished {
		m.raise("invalid capture index")
	}
	cp := m.caps[l]
	if cp.len < 0 { // a position capture never matches
		return -1
	}
	m.step(int64(cp.len)) // the comparison may read as many bytes
	if strings.HasPrefix(m.src[s:], m.src[cp.start:cp.start+cp.len]) {
		return s + cp.len
	}
	return -1
}

// capture returns capture i of the match src[s:e]; capture 0 is the whole
// match when the pattern has none.
func (m *matcher) capture(i, s, e int) glua.LValue {
	if i >= m.level {
		if i != 0 {
			m.raise("invalid capture index")
		}
		return glua.LString(m.src[s:e])
	}
	switch cp := m.caps[i]; cp.len {
	case capUnfinished:
		m.raise("unfinished capture")
	case capPosition:
		return glua.LNumber(cp.start + 1)
	default:
		return glua.LString(m.src[cp.start : cp.start+cp.len])
	}
	return nil
}

// pushCaptures pushes the captures of the match src[s:e], or the match
// itself when whole and the pattern has none, and returns how many.
func (m *matcher) pushCaptures(s, e int, whole bool) int {
	n := m.level
	if n == 0 && whole {
		n = 1
	}
	for i := 0; i < n; i++ {
		m.L.Push(m.capture(i, s, e))
	}
	return n
}

// firstLiteral returns the byte that every match of pat must start with
// when pat starts with a plain character, or -1.
func firstLiteral(pat string) int {
	if pat == "" || strings.IndexByte(specials+")", pat[0]) >= 0 {
		return -1
	}
	if len(pat) > 1 && strings.IndexByte("?*-", pat[1]) >= 0 {
		return -1
	}
	return int(pat[0])
}

// strFind is string.find.
func strFind(L *glua.LState) int { return findAux(L, true) }

// strMatch is string.match.
func strMatch(L *glua.LState) int { return findAux(L, false) }

// findAux is string.find, or string.match when not find.
func findAux(L *glua.LState, find bool) int {
	src := checkLString(L, 1)
	pat := checkLString(L, 2)
	init := optInteger(L, 3, 1)
	if init < 0 {
		init += int64(len(src)) + 1
	}
	init = min(max(init-1, 0), int64(len(src)))
	cpat := cString(pat)
	if find && (L.ToBool(4) || !strings.ContainsAny(cpat, specials)) {
		if i := strings.Index(src[init:], pat); i >= 0 {
			L.Push(glua.LNumber(int(init) + i + 1))
			L.Push(glua.LNumber(int(init) + i + len(pat)))
			return 2
		}
		L.Push(glua.LNil)
		return 1
	}
	anchor := strings.HasPrefix(cpat, "^")
	if anchor {
		cpat = cpat[1:]
	}
	m := newMatcher(L, src, cpat)
	lit := firstLiteral(cpat)
	for s := int(init); ; s++ {
		if lit >= 0 && !anchor {
			i := strings.IndexByte(src[s:], byte(lit))
			if i < 0 {
				break
			}
			s += i
		}
		m.reset()
		if e := m.match(s, 0); e != -1 {
			if !find {
				return m.pushCaptures(s, e, true)
			}
			L.Push(glua.LNumber(s + 1))
			L.Push(glua.LNumber(e))
			return m.pushCaptures(s, e, false) + 2
		}
		if s >= len(src) || anchor {
			break
		}
	}
	L.Push(glua.LNil)
	return 1
}

// strGmatch returns an iterator over the matches of a pattern; as in Lua
// 5.1, a leading '^' is no anchor there but a plain character.
func strGmatch(L *glua.LState) int {
	src := checkLString(L, 1)
	m := newMatcher(L, src, cString(checkLString(L, 2)))
	pos := 0
	L.Push(L.NewFunction(func(L *glua.LState) int {
		// Each call of the iterator is a call with a budget of its own.
		m.L, m.steps = L, 0
		for s := pos; s <= len(src); s++ {
			m.reset()
			if e := m.match(s, 0); e != -1 {
				pos = e
				if e == s {
					pos++ // an empty match: move on
				}
				return m.pushCaptures(s, e, true)
			}
		}
		return 0
	}))
	return 1
}

// strGsub is string.gsub.
func strGsub(L *glua.LState) int {
	src := checkLString(L, 1)
	pat := cString(checkLString(L, 2))
	repl := L.Get(3)
	maxN := optInteger(L, 4, int64(len(src))+1)
	switch repl.(type) {
	case glua.LString, glua.LNumber, *glua.LTable, *glua.LFunction:
	default:
		argError(L, 3, "string/function/table expected")
	}
	anchor := strings.HasPrefix(pat, "^")
	if anchor {
		pat = pat[1:]
	}
	m := newMatcher(L, src, pat)
	lit := -1
	if !anchor {
		lit = firstLiteral(pat)
	}
	b := make([]byte, 0, len(src))
	s, n := 0, int64(0)
	for n < maxN {
		if lit >= 0 {
			i := strings.IndexByte(src[s:], byte(lit))
			if i < 0 {
				break
			}
			b = append(b, src[s:s+i]...)
			s += i
		}
		m.reset()
		e := m.match(s, 0)
		if e != -1 {
			n++
			b = m.appendValue(b, s, e, repl)
			checkSize(L, len(b)+len(src)-e)
		}
		if e > s {
			s = e
		} else if s < len(src) {
			b = append(b, src[s])
			s++
		} else {
			break
		}
		if anchor {
			break
		}
	}
	b = append(b, src[s:]...)
	L.Push(glua.LString(b))
	L.Push(glua.LNumber(n))
	return 2
}

// appendValue appends the replacement of the match src[s:e] to b.
func (m *matcher) appendValue(b []byte, s, e int, repl glua.LValue) []byte {
	L := m.L
	var v glua.LValue
	switch r := repl.(type) {
	case glua.LString:
		return m.appendRepl(b, s, e, string(r))
	case glua.LNumber:
		return m.appendRepl(b, s, e, NumberText(float64(r)))
	case *glua.LFunction:
		L.Push(r)
		L.Call(m.pushCaptures(s, e, true), 1)
		v = L.Get(-1)
		L.Pop(1)
	case *glua.LTable:
		v = L.GetTable(r, m.capture(0, s, e))
	}
	switch v := v.(type) {
	case glua.LString:
		return m.add(b, string(v))
	case glua.LNumber:
		return m.add(b, NumberText(float64(v)))
	}
	if glua.LVAsBool(v) {
		luaError(L, "invalid replacement value (a %s)", v.Type().String())
	}
	return m.add(b, m.src[s:e]) // nil or false: keep the match
}

// add appends piece to gsub's result b, raising first if the result
// would pass MaxString: a replacement such as "%0%0%0%0" on a long match
// must fail before it is built, not after.
func (m *matcher) add(b []byte, piece string) []byte {
	if int64(len(b)+len(piece)) > m.maxLen {
		luaError(m.L, "resulting string too large")
	}
	return append(b, piece...)
}

// appendRepl appends the replacement string r for the match src[s:e]: %0
// to %9 stand for the match and its captures, % and any other character
// for that character. As in Lua 5.1, a % at the end of r stands for the
// NUL that ends a C string.
func (m *matcher) appendRepl(b []byte, s, e int, r string) []byte {
	for {
		i := strings.IndexByte(r, '%')
		if i < 0 {
			return m.add(b, r)
		}
		b = m.add(b, r[:i])
		var c byte
		if i+1 < len(r) {
			c = r[i+1]
			r = r[i+2:]
		} else {
			r = ""
		}
		switch {
		case c == '0':
			b = m.add(b, m.src[s:e])
		case isDigit(c):
			switch v := m.capture(int(c-'1'), s, e).(type) {
			case glua.LString:
				b = m.add(b, string(v))
			case glua.LNumber:
				b = m.add(b, NumberText(float64(v)))
			}
		default:
			b = m.add(b, string(c))
		}
	}
}
