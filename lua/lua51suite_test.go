package lua

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirelab/wirelab/internal/testbin"
	glua "github.com/yuin/gopher-lua"
)

// The official Lua 5.1 test suite ships with gopher-lua, in the module
// cache. TestLua51Suite runs its files in wirelab's states with a soft
// assert: a failing assert is recorded with its place and the file goes
// on. An outcome that differs from lua5.1's on the same text is a
// deviation, and every deviation must be listed in suiteAllowed, so that
// the list documents what wirelab's Lua still gets wrong: remove an entry
// when a fix lands (the test logs the entries that no longer happen).
//
// gopher-lua's copy of the suite is edited: some lines are commented out
// (restored here, see suiteUncomment and suiteEdits), and some asserts
// were changed to what no Lua 5.1 does. suiteFails51 lists the asserts
// that fail under lua5.1 itself; it was made with -lua51ref.

var lua51ref = flag.Bool("lua51ref", false, "run the Lua 5.1 suite under lua5.1 and print its failures, for suiteFails51")

// suiteVersion is the gopher-lua version whose copy of the suite the lists
// below were written for; their line numbers are that copy's.
const suiteVersion = "v1.1.2"

// suiteSkipped are the suite's files that are not run, and why.
var suiteSkipped = map[string]string{
	"all.lua":        "the suite's driver: runs the others through string.dump",
	"api.lua":        "needs the C test library T",
	"main.lua":       "runs the lua binary",
	"checktable.lua": "a helper of the others, which needs T",
	"code.lua":       "opcode listings; needs T",
	"gc.lua":         "collector steps, finalizers and weak tables, which gopher-lua leaves to Go's collector",
	"db.lua":         "debug hooks (debug.sethook), which gopher-lua lacks",
	"big.lua":        "2^25-byte strings concatenated 129 times, 2^18-entry constructors: minutes of work",
	"verybig.lua":    "gopher-lua compiles its generated 150,000-line chunk in about 50 s (its constant lookup is linear), and then fails: a table constructor keeps only its first 25,550 positional items",
}

// suiteSlow are the files that take seconds; -race -short skips them.
var suiteSlow = map[string]bool{"constructs.lua": true, "nextvar.lua": true,
	"errors.lua": true} // its stack overflows go 12,000 frames deep

// suiteUncomment are line ranges that gopher-lua's copy comments out:
// the leading "--" is removed before the run. Those in suiteLeftOut stay
// out.
var suiteUncomment = map[string][][2]int{
	"attrib.lua":  {{135, 141}, {182, 183}, {210, 211}, {331, 337}},
	"calls.lua":   {{248, 253}},
	"files.lua":   {{4, 4}, {27, 27}, {32, 40}, {227, 234}, {268, 274}, {276, 278}},
	"pm.lua":      {{70, 70}, {107, 107}, {110, 110}, {263, 279}},
	"sort.lua":    {{61, 62}},
	"strings.lua": {{102, 105}, {124, 124}, {167, 169}},
}

// suiteLeftOut are the lines commented out in gopher-lua's copy that stay
// out, and why: they need what gopher-lua lacks by design, and raise,
// which would end their file.
var suiteLeftOut = map[string]string{
	"calls.lua:243-246": "string.dump",
	"calls.lua:272-286": "string.dump of a function with upvalues",
}

// suiteEdits undo other changes of gopher-lua's copy, line by line.
var suiteEdits = []struct {
	file     string
	line     int
	from, to string
}{
	// Stands in for the package.loadlib call restored above it.
	{"attrib.lua", 184, "local f = nil", ""},
	// An empty statement, which Lua 5.1 does not parse.
	{"pm.lua", 89, "  for k=i, j do; table.insert(ret, k); end", "  for k=i, j do table.insert(ret, k) end"},
	// Closed early, before the restored lines that read it.
	{"files.lua", 226, "  fr:close()", ""},
	// os.time's default for sec, given explicitly in the copy.
	{"files.lua", 299, "local t1 = os.time{year=2000, month=10, day=1, hour=23, min=12, sec=17}", "local t1 = os.time{year=2000, month=10, day=1, hour=23, min=12}"},
	{"files.lua", 301, "assert(os.difftime(t1,t2) == 60*2-2)", "assert(os.difftime(t1,t2) == 60*2-19)"},
}

// suiteFails51 are the failures of lua5.1 itself on the edited copy: an
// assert whose expectation is not Lua 5.1's. The same failure in wirelab
// is no deviation; a pass there is.
var suiteFails51 = map[string]string{
	// Debian's lua5.1 is built without the global loadlib.
	"attrib.lua:182": "assertion failed!",
	// tonumber with a base: 5.1 reads the digits with strtoul, which takes
	// no sign and no more than an unsigned long.
	"math.lua:47": "assertion failed!",
	"math.lua:48": "assertion failed!",
	"math.lua:52": "assertion failed!",
}

// Deviation categories.
const (
	catString  = "string library"
	catPcall   = "pcall/error/upvalues"
	catNumFmt  = "number formatting"
	catMissing = "missing lib function"
	catVM      = "VM limitation"
	catOther   = "other"
)

// A suiteDeviation is an allowed deviation: its category and cause, and
// the deviation that hides it today, if any (a file error or give-up
// that stops the file before it).
type suiteDeviation struct{ cat, why, behind string }

// suiteAllowed are the known deviations, by place: file:line, or
// file:outer>inner for an assert in a function called from line outer.
var suiteAllowed = map[string]suiteDeviation{
	// attrib.lua
	"attrib.lua:334": {catVM, "multiple assignment evaluates and stores in another order: i, a[i], a, j, a[j], a[i+j] = j, i, i, b, j, i indexes a after a is reassigned", ""},

	// calls.lua
	"calls.lua:241": {catOther, "the source of a loaded chunk is its chunk id ([string \"modname\"]), the name error messages show; gopher-lua has one name for both, where Lua 5.1 keeps the raw name in source", ""},
	"calls.lua:250": {catOther, "load(reader) stops reading at a syntax error one piece before Lua 5.1's lexer, which looks one piece ahead (i == 1, not 2)", ""},

	// errors.lua: messages and limits
	"errors.lua:39":      {catVM, "the parser accepts an empty statement (;), which 5.1 rejects", ""},
	"errors.lua:40":      {catVM, "the parser accepts an empty statement (;;), which 5.1 rejects", ""},
	"errors.lua:44":      {catVM, "the parser accepts a call on the next line (ambiguous syntax in 5.1)", ""},
	"errors.lua:126":     {catVM, "a generic for over a number fails on the line of its 'for', not of its expression's", ""},
	"errors.lua:147":     {catVM, "recursion depth: a stack overflow reads 'lua callstack overflow', not 'stack overflow'", ""},
	"errors.lua:148":     {catVM, "recursion depth: a stack overflow reads 'lua callstack overflow', not 'stack overflow'", ""},
	"errors.lua:149":     {catVM, "recursion depth: a stack overflow reads 'lua callstack overflow', not 'stack overflow'", ""},
	"errors.lua:164":     {catOther, "the traceback of a stack overflow lacks the repeated frames the loop looks for (the soft assert gives up)", ""},
	"errors.lua:167":     {catOther, "the traceback of a stack overflow is not more than 15 levels deep", "errors.lua:164"},
	"errors.lua:190>20":  {catVM, "syntax error messages are not [string \"...\"]:line: msg near 'token'", "errors.lua:164"},
	"errors.lua:191>20":  {catVM, "syntax error messages are not [string \"...\"]:line: msg near 'token'", "errors.lua:164"},
	"errors.lua:192>20":  {catVM, "syntax error messages are not [string \"...\"]:line: msg near 'token'", "errors.lua:164"},
	"errors.lua:193>20":  {catVM, "syntax error messages are not [string \"...\"]:line: msg near 'token'", "errors.lua:164"},
	"errors.lua:196>20":  {catVM, "syntax error messages are not [string \"...\"]:line: msg near 'token'", "errors.lua:164"},
	"errors.lua:216>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:217>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:218>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:219>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:220>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:221>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:222>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:223>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:224>214": {catVM, "no limit on syntax nesting ('chunk has too many syntax levels')", "errors.lua:164"},
	"errors.lua:238":     {catVM, "no limit of 60 upvalues per function", "errors.lua:164"},
	"errors.lua:247":     {catVM, "no limit of 200 local variables per function", "errors.lua:164"},

	// extra.lua
	"extra.lua:8":  {catVM, "gopher-lua keeps only the first 25,550 positional items of a table constructor (SETLIST's batch count overflows); wirelab refuses to compile a longer one", ""},
	"extra.lua:13": {catVM, "the length of a table with holes is another border: the last non-nil of the array part", ""},
	"extra.lua:18": {catOther, "getfenv at a level that is a tail call returns the bottom function's environment, not an error", ""},
	"extra.lua:21": {catOther, "next with a key not in the table returns nil instead of raising 'invalid key to 'next''", ""},
	"extra.lua:39": {catOther, "file:read(\"*n\") takes no hexadecimal: gopher-lua's own number reader, not fscanf", ""},
	"extra.lua:44": {catOther, "argument errors say 'got nil' for a missing argument, not 'got no value' (gopher-lua's checks; wirelab's own functions say it)", ""},
	"extra.lua:51": {catOther, "coroutine.create takes a Go function", ""},

	// math.lua

	// nextvar.lua

	// pm.lua

	// strings.lua
}

// maxRepeats is how often an assert may fail before it raises: a failing
// assert may be what should end a loop.
const maxRepeats = 1000

// suiteCPU bounds one file by the CPU time the test process spends
// without progress, an assert: a file caught in a loop spends it and makes
// none. CPU time, not wall time, so that a loaded machine (the time that
// other processes take) does not stop a file that works; the race
// detector multiplies the CPU time itself, so it gets more. After the
// stop, a file still running after suiteStuckCPU more is left behind,
// stuck in Go code. nextvar.lua's longest stretch between two asserts
// takes about 22 s of the process's CPU here (12 s on each of 2 cores,
// most of it Go's collector), so the bound is well above it.
var suiteCPU, suiteStuckCPU = 60 * time.Second * raceFactor, 5 * time.Second * raceFactor

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration { return testbin.CPUTime() }

// suiteRun is the record of one file's run.
type suiteRun struct {
	file string

	mu              sync.Mutex // the run's goroutine records under it
	over            bool       // the run is over, or given up: record no more
	asserts, passed int
	inPcall         int               // failed asserts that raised, under a pcall
	failed          map[string]string // place -> first message
	ran             map[string]bool   // places of the asserts that ran
	watch           bool              // whether to note the places that pass
	repeats         map[string]int    // failures by place
	pcall, xpcall   glua.LValue
	elapsed, cpu    time.Duration
}

func TestLua51Suite(t *testing.T) {
	luaDir, err := filepath.Abs("testdata/lua51")
	if err != nil {
		t.Fatal(err)
	}
	prelude, err := os.ReadFile(filepath.Join(luaDir, "prelude.lua"))
	if err != nil {
		t.Fatal(err)
	}
	files := suiteCopy(t, luaDir)
	for _, where := range sortedKeys(suiteLeftOut) {
		t.Logf("%-15s left out: needs %s", where, suiteLeftOut[where])
	}
	if *lua51ref {
		suiteReference(t, luaDir, files)
		return
	}
	seen := map[string]bool{}
	byCat := map[string]int{}
	var total [4]int
	for _, file := range files {
		r := runSuiteFile(t, file, prelude)
		failed, allowed := 0, 0
		check := func(where, what string) {
			seen[where] = true
			if d, ok := suiteAllowed[where]; ok {
				allowed++
				byCat[d.cat]++
				t.Logf("  %s: %s [%s: %s]", where, what, d.cat, d.why)
				return
			}
			t.Errorf("deviation from Lua 5.1 at %s: %s", where, what)
		}
		for _, where := range sortedKeys(r.failed) {
			if _, ok := suiteFails51[where]; ok {
				continue
			}
			failed++
			check(where, r.failed[where])
		}
		for _, where := range sortedKeys(suiteFails51) {
			if file, _, _ := strings.Cut(where, ":"); file != r.file {
				continue
			}
			if _, ok := r.failed[where]; !ok && r.ran[where] {
				failed++
				check(where, "passes, where lua5.1 fails: "+suiteFails51[where])
			}
		}
		t.Logf("%-15s %6d asserts, %6d passed, %3d deviations, %3d allowed (%d raised under pcall) %v, %v CPU",
			r.file, r.asserts, r.passed, failed, allowed, r.inPcall, r.elapsed.Round(time.Millisecond), r.cpu.Round(time.Millisecond))
		total[0] += r.asserts
		total[1] += r.passed
		total[2] += failed
		total[3] += allowed
	}
	t.Logf("%-15s %6d asserts, %6d passed, %3d deviations, %3d allowed", "total", total[0], total[1], total[2], total[3])
	for _, cat := range sortedKeys(byCat) {
		t.Logf("  %3d %s", byCat[cat], cat)
	}
	if testing.Short() {
		return // some files are shortened or skipped
	}
	for _, where := range sortedKeys(suiteAllowed) {
		if d := suiteAllowed[where]; !seen[where] && (d.behind == "" || !seen[d.behind]) {
			t.Logf("allowed deviation %s no longer happens: remove it from suiteAllowed", where)
		}
	}
}

// suiteCopy copies the suite into a temporary directory, since its files
// write beside themselves and the module cache is read-only, applies the
// edits, adds extra.lua from luaDir, changes to the directory, and
// returns the files to run.
func suiteCopy(t *testing.T, luaDir string) []string {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}} {{.Dir}}", "github.com/yuin/gopher-lua").Output()
	if err != nil {
		t.Skipf("cannot locate gopher-lua's module (go list: %v): the Lua 5.1 suite is not run", err)
	}
	version, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if version != suiteVersion {
		t.Fatalf("gopher-lua is %s, the suite's lists are for %s: revisit them", version, suiteVersion)
	}
	dir = filepath.Join(dir, "_lua5.1-tests")
	if _, err := os.Stat(filepath.Join(dir, "all.lua")); err != nil {
		t.Skipf("the Lua 5.1 suite is not in gopher-lua's module (%v): not run", err)
	}
	work := t.TempDir()
	if err := os.CopyFS(work, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	edit := func(file string, f func(lines []string)) {
		path := filepath.Join(work, file)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(src), "\n")
		f(lines)
		if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	extra, err := os.ReadFile(filepath.Join(luaDir, "extra.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "extra.lua"), extra, 0o644); err != nil {
		t.Fatal(err)
	}
	commented := regexp.MustCompile(`^(\s*)-- ?`)
	for file, ranges := range suiteUncomment {
		edit(file, func(lines []string) {
			for _, r := range ranges {
				for i := r[0] - 1; i < r[1]; i++ {
					if !commented.MatchString(lines[i]) {
						t.Fatalf("%s:%d is not commented out: %q", file, i+1, lines[i])
					}
					lines[i] = commented.ReplaceAllString(lines[i], "$1")
				}
			}
		})
	}
	for _, e := range suiteEdits {
		edit(e.file, func(lines []string) {
			if lines[e.line-1] != e.from {
				t.Fatalf("%s:%d is %q, not %q", e.file, e.line, lines[e.line-1], e.from)
			}
			lines[e.line-1] = e.to
		})
	}
	t.Chdir(work)
	all, _ := filepath.Glob("*.lua")
	var files []string
	for _, f := range all {
		why, ok := suiteSkipped[f]
		if !ok && raceEnabled && testing.Short() && suiteSlow[f] {
			why, ok = "slow under the race detector, and runs on one goroutine", true
		}
		if ok {
			t.Logf("%-15s skipped: %s", f, why)
			continue
		}
		files = append(files, f)
	}
	return files
}

// suiteErrorLine finds file:line in an error message.
var suiteErrorLine = regexp.MustCompile(`([\w.]+\.lua):(\d+):`)

// errorPlace returns the place of a file's error: the first place in the
// file that its message or traceback names.
func errorPlace(file, msg string) string {
	for _, m := range suiteErrorLine.FindAllStringSubmatch(msg, -1) {
		if m[1] == file {
			return m[1] + ":" + m[2]
		}
	}
	return file + ":?"
}

// runSuiteFile runs one file of the suite in a wirelab state. The context
// stops a file that loops in Lua; one stuck in Go code (the compiler, a
// library function) is left behind a little later, still running.
func runSuiteFile(t *testing.T, file string, prelude []byte) *suiteRun {
	r := &suiteRun{file: file, failed: map[string]string{}, ran: map[string]bool{}, repeats: map[string]int{}}
	for where := range suiteFails51 {
		r.watch = r.watch || strings.HasPrefix(where, file+":")
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt := NewRuntime(ctx, Options{Stdout: io.Discard, Stderr: io.Discard})
	defer rt.Close()
	L := rt.NewState(rt.Context())
	r.pcall, r.xpcall = L.GetGlobal("pcall"), L.GetGlobal("xpcall")
	L.SetGlobal("assert", L.NewFunction(r.assert))
	L.SetGlobal("_soft", glua.LBool(testing.Short()))
	if err := Run(L, "prelude.lua", prelude, nil); err != nil {
		t.Fatalf("prelude: %v", err)
	}
	start, startCPU := time.Now(), cpuTime()
	done := make(chan error, 1)
	go func() {
		done <- Run(L, file, src, nil)
		L.Close()
	}()
	err = r.bound(done, cancel)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = true
	r.elapsed, r.cpu = time.Since(start), cpuTime()-startCPU
	if err != nil {
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if ctx.Err() != nil {
			msg = fmt.Sprintf("stopped after %v of CPU time without an assert: %s", suiteCPU, msg)
		}
		r.failed[errorPlace(file, err.Error())] = "error: " + msg
	}
	return r
}

// bound waits for the file's run to end (its error on done), cancelling
// it when the process has spent suiteCPU of CPU time since the last
// assert, and giving up on it suiteStuckCPU later. It samples the CPU
// clock and the assert count every 50 ms of wall time, which only sets
// how soon a stop comes, not whether.
func (r *suiteRun) bound(done <-chan error, cancel func()) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	seen, mark, limit, stopped := -1, cpuTime(), suiteCPU, false
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
		r.mu.Lock()
		n := r.asserts
		r.mu.Unlock()
		now := cpuTime()
		switch {
		case n != seen && !stopped:
			seen, mark = n, now
		case now-mark < limit:
		case !stopped:
			cancel()
			stopped, mark, limit = true, now, suiteStuckCPU
		default:
			return errors.New("stuck in Go code")
		}
	}
}

// assert is the soft assert. Under a pcall it raises as Lua's does, since
// the suite checks that some asserts fail; elsewhere it records a failure
// and returns its arguments.
func (r *suiteRun) assert(L *glua.LState) int {
	if L.GetTop() == 0 {
		L.ArgError(1, "value expected")
	}
	if msg, raise := r.record(L); raise {
		L.Error(glua.LString(msg), 0)
	}
	return L.GetTop()
}

// record counts an assert and notes a failure; it returns the message to
// raise for a failure under a pcall.
func (r *suiteRun) record(L *glua.LState) (msg string, raise bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		return "", false
	}
	r.asserts++
	if glua.LVAsBool(L.Get(1)) {
		r.passed++
		if r.watch {
			where, _ := r.place(L)
			r.ran[where] = true
		}
		return "", false
	}
	where, pcalled := r.place(L)
	r.ran[where] = true
	msg = "assertion failed!"
	if L.GetTop() >= 2 {
		msg = L.ToStringMeta(L.Get(2)).String()
	}
	if pcalled {
		r.inPcall++
		return msg, true
	}
	if _, ok := r.failed[where]; !ok {
		r.failed[where] = strings.ReplaceAll(msg, "\n", " ")
	}
	// An assert that goes on failing may be what ends a loop.
	if r.repeats[where]++; r.repeats[where] == maxRepeats {
		return fmt.Sprintf("soft assert: %s failed %d times, giving up", where, maxRepeats), true
	}
	return "", false
}

// place returns where assert was called from, as softassert.lua names it,
// and whether a pcall is on the way to it.
func (r *suiteRun) place(L *glua.LState) (where string, pcalled bool) {
	inner, outer := 0, 0
	for level := 1; ; level++ {
		// Through protected calls too, as Lua 5.1's one stack goes.
		Lx, dbg, _, ok := frameAt(L, level)
		if !ok {
			break
		}
		fn, err := Lx.GetInfo("Slf", dbg, glua.LNil)
		if err != nil {
			break
		}
		if fn == r.pcall || fn == r.xpcall {
			pcalled = true
		}
		if dbg.Source == r.file && dbg.CurrentLine > 0 {
			if inner == 0 {
				inner = dbg.CurrentLine
			}
			outer = dbg.CurrentLine
		}
	}
	switch {
	case inner == 0:
		return r.file + ":?", pcalled
	case outer != inner:
		return fmt.Sprintf("%s:%d>%d", r.file, outer, inner), pcalled
	}
	return fmt.Sprintf("%s:%d", r.file, inner), pcalled
}

// suiteReference runs the files under lua5.1 with softassert.lua and
// prints their failures as the entries of suiteFails51.
func suiteReference(t *testing.T, luaDir string, files []string) {
	lua, err := exec.LookPath("lua5.1")
	if err != nil {
		t.Fatalf("-lua51ref needs lua5.1: %v", err)
	}
	prelude, soft := filepath.Join(luaDir, "prelude.lua"), filepath.Join(luaDir, "softassert.lua")
	var b strings.Builder
	for _, file := range files {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		init := fmt.Sprintf("arg = {[0] = %q}; dofile %q; dofile %q", file, soft, prelude)
		cmd := exec.CommandContext(ctx, lua, "-e", init, file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		runErr := cmd.Run()
		cancel()
		asserts, passed := 0, 0
		sc := bufio.NewScanner(&stderr)
		for sc.Scan() {
			f := strings.Split(sc.Text(), "\t")
			switch {
			case f[0] == "FAIL" && len(f) == 3:
				fmt.Fprintf(&b, "\t%q: %q,\n", f[1], f[2])
			case f[0] == "COUNT" && len(f) == 3:
				asserts, _ = strconv.Atoi(f[1])
				passed, _ = strconv.Atoi(f[2])
			case runErr != nil && strings.HasPrefix(f[0], "lua5.1: "):
				msg := strings.TrimPrefix(f[0], "lua5.1: ")
				fmt.Fprintf(&b, "\t%q: %q,\n", errorPlace(file, msg), "error: "+msg)
			}
		}
		t.Logf("%-15s lua5.1: %6d asserts, %6d passed (%v)", file, asserts, passed, runErr)
	}
	t.Logf("suiteFails51 entries:\n%s", b.String())
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestSuiteBound: a suite file that loops without asserting is stopped
// once it has spent suiteCPU of CPU time, while one that goes on
// asserting for longer than that runs to its end.
func TestSuiteBound(t *testing.T) {
	old := suiteCPU
	suiteCPU = 300 * time.Millisecond
	t.Cleanup(func() { suiteCPU = old })
	t.Chdir(t.TempDir())
	files := map[string]string{
		"loops.lua":    "while true do end",
		"progress.lua": "local t0 = os.clock() while os.clock() - t0 < 1 do assert(true) end",
	}
	for name, src := range files {
		if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := runSuiteFile(t, "loops.lua", nil)
	if msg := r.failed["loops.lua:?"]; !strings.Contains(msg, "stopped after 300ms of CPU time without an assert") {
		t.Fatalf("loops.lua: %v", r.failed)
	}
	r = runSuiteFile(t, "progress.lua", nil)
	if len(r.failed) != 0 || r.passed == 0 || r.cpu < time.Second {
		t.Fatalf("progress.lua: %v, %d passed in %v of CPU", r.failed, r.passed, r.cpu)
	}
}
