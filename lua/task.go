package lua

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/wirelab/wirelab/engine"
)

// taskModule is the task module.
var taskModule = &module{
	name: "task",
	doc:  "concurrent tasks, each with a Lua state of its own: spawn, sleep, channel, shared",
	funcs: []fn{
		{"spawn", taskSpawn, "task.spawn(fn, ...) -> task -- run fn(...) concurrently; upvalues, arguments and globals are copied in, Go objects shared"},
		{"sleep", taskSleep, "task.sleep(s) -- wait s seconds"},
		{"now", taskNow, "task.now() -> s -- seconds on a monotonic clock (since wirelab started, fractions included), for measuring durations: t1 - t0"},
		{"channel", taskChannel, "task.channel([size]) -> channel -- carries values between tasks, holding up to size unreceived"},
		{"shared", taskShared, "task.shared(name) -> dict -- the dictionary called name, shared by all tasks"},
		{"penalties", taskPenalties, "task.penalties(name [, {per=s, grace=s, max=s, ceiling=n, netblock=\"24:64\"}]) -> penalties -- the per-source penalty box called name, shared by all tasks (sshd's PerSourcePenalties); ceiling: failures a second across all sources before every check waits (default 100, 0: none); netblock: addresses of one /24 or /64 count as one source (default \"32:128\")"},
	},
}

// A Task is a function running in a state and goroutine of its own.
type Task struct {
	cancel context.CancelFunc
	done   chan struct{}
	waited atomic.Bool
	// reported is set when its failure has been reported, or need not be.
	reported atomic.Bool

	mu      sync.Mutex
	results []any // frozen, when ok
	err     string
	errVal  any // the error value, frozen, when it was not a string
	ok      bool
}

// Cancel interrupts the task: its blocked call returns "interrupted" and
// its code stops at the next instruction.
func (t *Task) Cancel() { t.cancel() }

// state returns a word for the task's state, for tostring.
func (t *Task) state() string {
	select {
	case <-t.done:
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.ok {
			return "done"
		}
		return "failed"
	default:
		return "running"
	}
}

// errorText turns a Lua error into its message and traceback; a
// cancellation reads "interrupted".
func errorText(ctx context.Context, err error) string {
	if code, ok := exitCode(err); ok {
		return fmt.Sprintf("exit %d", code)
	}
	var api *glua.ApiError
	if errors.As(err, &api) {
		msg := glua.LVAsString(api.Object)
		if api.Object.Type() != glua.LTString && api.Object.Type() != glua.LTNumber {
			msg = api.Object.String()
		}
		if ctx.Err() != nil && strings.Contains(msg, context.Canceled.Error()) {
			return "interrupted"
		}
		msg = fixVMError(fixArgError(msg))
		if api.StackTrace != "" {
			// A Go function gopher-lua cannot name (a metamethod, one
			// called from Go) reads "[C]: ?", as in Lua 5.1.
			trace := strings.ReplaceAll(api.StackTrace, "[G]:", "[C]:")
			return msg + "\n" + strings.ReplaceAll(trace, "in function (anonymous)", "?")
		}
		return msg
	}
	if ctx.Err() != nil {
		return "interrupted"
	}
	return err.Error()
}

// callIn runs c in a new state whose calls honour ctx, with extra (Go
// objects) appended to its arguments, and returns its results frozen.
func (rt *Runtime) callIn(ctx context.Context, c *frozenCall, extra ...any) (results []any, err error) {
	return rt.callDepth(ctx, maxDepth, c, extra...)
}

// callDepth is callIn in a state whose calls nest at most depth deep.
func (rt *Runtime) callDepth(ctx context.Context, depth int, c *frozenCall, extra ...any) (results []any, err error) {
	L := rt.newStateDepth(ctx, depth)
	defer L.Close()
	fn, args := thawCall(L, c)
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	for _, x := range extra {
		L.Push(newObject(L, x))
	}
	if err := pcallNamed(L, len(args)+len(extra)); err != nil {
		if api, ok := err.(*glua.ApiError); ok {
			// A task of a wirelab function (task.spawn(c.recv, c, "x"))
			// names it in an argument error.
			api.Object = nameArgError(fixMessage(api.Object), fn)
		}
		return nil, raised(L, ctx, err)
	}
	n := L.GetTop() - top
	vals := make([]glua.LValue, n)
	for i := range vals {
		vals[i] = L.Get(top + 1 + i)
	}
	return freezeValues(L, vals...)
}

// A valueError is a task's failure with an error value that is not a
// string (error{code = 7}): t:wait() returns the value itself.
type valueError struct {
	text  string
	value any // frozen
}

func (e *valueError) Error() string { return e.text }

// raised turns the error of a task's call into a Go error, keeping an
// error value that is not a string.
func raised(L *glua.LState, ctx context.Context, err error) error {
	text := errorText(ctx, err)
	var api *glua.ApiError
	if ctx.Err() == nil && errors.As(err, &api) {
		switch api.Object.Type() {
		case glua.LTString, glua.LTNumber, glua.LTNil:
		default:
			if v, ferr := freezeValues(L, api.Object); ferr == nil {
				return &valueError{text: text, value: v[0]}
			}
		}
	}
	return errors.New(text)
}

// spawn starts c as a task.
func (rt *Runtime) spawn(c *frozenCall) *Task {
	ctx, cancel := context.WithCancel(rt.ctx)
	t := &Task{cancel: cancel, done: make(chan struct{})}
	rt.begin()
	go func() {
		defer rt.end()
		defer cancel()
		results, err := rt.callIn(ctx, c)
		t.mu.Lock()
		t.results, t.ok = results, err == nil
		if err != nil {
			t.err = err.Error()
			var ve *valueError
			if errors.As(err, &ve) {
				t.errVal = ve.value
			}
		}
		t.mu.Unlock()
		close(t.done)
		// Nobody may ever ask: say so, unless someone waits already or
		// the task was cancelled on purpose (task_unwaited.go).
		if err != nil && !t.waited.Load() && t.err != "interrupted" {
			rt.unwaited.failed(rt, t)
		}
	}()
	return t
}

func taskSpawn(L *glua.LState) int {
	fnv := L.CheckFunction(1)
	args := make([]glua.LValue, 0, L.GetTop()-1)
	for i := 2; i <= L.GetTop(); i++ {
		args = append(args, L.Get(i))
	}
	c, err := freezeCall(L, fnv, args)
	if err != nil {
		L.RaiseError("task.spawn: %v", err)
	}
	L.Push(newObject(L, stateOf(L).rt.spawn(c)))
	return 1
}

// started is the origin of task.now. time.Since of it reads Go's
// monotonic clock, which wall-clock changes (NTP, date -s) do not move.
var started = time.Now()

func taskNow(L *glua.LState) int {
	L.Push(glua.LNumber(time.Since(started).Seconds()))
	return 1
}

func taskSleep(L *glua.LState) int {
	if err := engine.Sleep(ctxOf(L), seconds(L, L.CheckAny(1), "sleep")); err != nil {
		return fail(L, err)
	}
	L.Push(glua.LTrue)
	return 1
}

var taskClass = &class{
	name:   "task",
	goType: reflect.TypeFor[*Task](),
	// A handle whose state is behind locks and channels.
	pass: passRef,
	doc:  "a running function",
	tostring: func(v any) string {
		t := v.(*Task)
		return fmt.Sprintf("<task %p %s>", t, t.state())
	},
	methods: []fn{
		{"wait", taskWait, "t:wait([timeout]) -> true, results... | false, err -- wait for the task to finish"},
		{"cancel", taskCancel, "t:cancel() -- interrupt the task"},
		{"done", taskDone, "t:done() -> bool -- whether the task has finished"},
	},
}

func checkTask(L *glua.LState) *Task { return check[*Task](L, 1, "task") }

func taskWait(L *glua.LState) int {
	t := checkTask(L)
	t.waited.Store(true)
	timeout := seconds(L, L.Get(2), "timeout")
	var expire <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		expire = timer.C
	}
	select {
	case <-t.done:
	case <-expire:
		L.Push(glua.LFalse)
		L.Push(glua.LString("timeout"))
		return 2
	case <-ctxOf(L).Done():
		L.Push(glua.LFalse)
		L.Push(glua.LString("interrupted"))
		return 2
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.ok {
		L.Push(glua.LFalse)
		if t.errVal != nil {
			L.Push(thawValues(L, []any{t.errVal})[0])
		} else {
			L.Push(glua.LString(t.err))
		}
		return 2
	}
	L.Push(glua.LTrue)
	for _, v := range thawValues(L, t.results) {
		L.Push(v)
	}
	return 1 + len(t.results)
}

func taskCancel(L *glua.LState) int {
	checkTask(L).Cancel()
	return 0
}

func taskDone(L *glua.LState) int {
	select {
	case <-checkTask(L).done:
		L.Push(glua.LTrue)
	default:
		L.Push(glua.LFalse)
	}
	return 1
}
