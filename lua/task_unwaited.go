package lua

import (
	"strings"
	"sync"
	"time"
)

// unwaitedGrace is how long a failed task waits for someone to call
// t:wait() before its failure is reported on stderr. A script that spawns
// a task and then waits for it must not see a report for a failure it is
// about to read; a task nobody waits for is reported soon all the same,
// and at the latest when the runtime closes.
const unwaitedGrace = time.Second

// unwaited holds the failed tasks that nobody has waited for yet.
type unwaited struct {
	mu    sync.Mutex
	tasks map[*Task]*time.Timer
}

// failed notes that t failed with nobody waiting: it is reported after
// unwaitedGrace unless someone waits for it first.
func (u *unwaited) failed(rt *Runtime, t *Task) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.tasks == nil {
		u.tasks = map[*Task]*time.Timer{}
	}
	u.tasks[t] = time.AfterFunc(unwaitedGrace, func() {
		u.mu.Lock()
		delete(u.tasks, t)
		u.mu.Unlock()
		if line := reportLine(t); line != "" {
			rt.reportf("%s", line)
		}
	})
}

// flush returns the reports of the failed tasks still unwaited for, which
// Close writes, and forgets them.
func (u *unwaited) flush() string {
	u.mu.Lock()
	tasks := u.tasks
	u.tasks = nil
	u.mu.Unlock()
	var b strings.Builder
	for t, timer := range tasks {
		timer.Stop()
		b.WriteString(reportLine(t))
	}
	return b.String()
}

// reportLine returns the report of t's failure, once, unless someone has
// waited for it.
func reportLine(t *Task) string {
	if t.waited.Load() || !t.reported.CompareAndSwap(false, true) {
		return ""
	}
	return "wirelab: task failed: " + t.err + "\n"
}
