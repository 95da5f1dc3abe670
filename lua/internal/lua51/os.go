package lua51

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wirelab/wirelab/internal/errtext"
	glua "github.com/yuin/gopher-lua"
)

// Corrections to gopher-lua's os library: os.date formats as C's strftime
// does in the C locale and fills all of "*t"; os.time normalizes its
// table as mktime does; os.clock is processor time; os.execute runs its
// command with the shell, as C's system; os.getenv tells an empty
// variable from a missing one; and the file functions fail as 5.1's do,
// with nil, "name: message" and errno.

// osDate is os.date([format [, time]]). A format starting with "!" is in
// UTC; "*t" returns a table.
func osDate(L *glua.LState) int {
	format := "%c"
	if L.Get(1) != glua.LNil {
		format = L.CheckString(1)
	}
	t := time.Now()
	if L.Get(2) != glua.LNil {
		t = time.Unix(int64(NumArg(L, 2)), 0)
	}
	utc := strings.HasPrefix(format, "!")
	if utc {
		format = format[1:]
		t = t.UTC()
	} else {
		t = t.Local()
	}
	if format == "*t" {
		tbl := L.CreateTable(0, 9)
		for _, f := range []struct {
			k string
			v int
		}{{"sec", t.Second()}, {"min", t.Minute()}, {"hour", t.Hour()}, {"day", t.Day()},
			{"month", int(t.Month())}, {"year", t.Year()}, {"wday", int(t.Weekday()) + 1},
			{"yday", t.YearDay()}} {
			tbl.RawSetString(f.k, glua.LNumber(f.v))
		}
		tbl.RawSetString("isdst", glua.LBool(t.IsDST()))
		L.Push(tbl)
		return 1
	}
	L.Push(glua.LString(strftime(t, format, utc)))
	return 1
}

// strftime formats t as C's strftime does in the C locale (glibc's
// conversions included). Like 5.1's os.date, it passes an unknown
// conversion through, and a lone "%" at the end.
func strftime(t time.Time, format string, utc bool) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		b.WriteString(conversion(t, format[i], utc))
	}
	return b.String()
}

// conversion returns one strftime conversion of t.
func conversion(t time.Time, c byte, utc bool) string {
	d2 := func(n int) string { return fmt.Sprintf("%02d", n) }
	hour12 := t.Hour() % 12
	if hour12 == 0 {
		hour12 = 12
	}
	wday, yday := int(t.Weekday()), t.YearDay()-1
	switch c {
	// Go's English names are the C locale's.
	case 'a':
		return t.Weekday().String()[:3]
	case 'A':
		return t.Weekday().String()
	case 'b', 'h':
		return t.Month().String()[:3]
	case 'B':
		return t.Month().String()
	case 'c':
		return strftime(t, "%a %b %e %H:%M:%S %Y", utc)
	case 'C':
		return d2(t.Year() / 100)
	case 'd':
		return d2(t.Day())
	case 'D', 'x':
		return strftime(t, "%m/%d/%y", utc)
	case 'e':
		return fmt.Sprintf("%2d", t.Day())
	case 'F':
		return strftime(t, "%Y-%m-%d", utc)
	case 'g':
		y, _ := t.ISOWeek()
		return d2(y % 100)
	case 'G':
		y, _ := t.ISOWeek()
		return strconv.Itoa(y)
	case 'H':
		return d2(t.Hour())
	case 'I':
		return d2(hour12)
	case 'j':
		return fmt.Sprintf("%03d", yday+1)
	case 'k':
		return fmt.Sprintf("%2d", t.Hour())
	case 'l':
		return fmt.Sprintf("%2d", hour12)
	case 'm':
		return d2(int(t.Month()))
	case 'M':
		return d2(t.Minute())
	case 'n':
		return "\n"
	case 'p':
		if t.Hour() < 12 {
			return "AM"
		}
		return "PM"
	case 'P':
		if t.Hour() < 12 {
			return "am"
		}
		return "pm"
	case 'r':
		return strftime(t, "%I:%M:%S %p", utc)
	case 'R':
		return strftime(t, "%H:%M", utc)
	case 's':
		if utc { // glibc reads gmtime's fields back as local time
			w := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
			return strconv.FormatInt(mktime(w, 0), 10)
		}
		return strconv.FormatInt(t.Unix(), 10)
	case 'S':
		return d2(t.Second())
	case 't':
		return "\t"
	case 'T', 'X':
		return strftime(t, "%H:%M:%S", utc)
	case 'u':
		return strconv.Itoa((wday+6)%7 + 1)
	case 'U':
		return d2((yday + 7 - wday) / 7)
	case 'V':
		_, w := t.ISOWeek()
		return d2(w)
	case 'w':
		return strconv.Itoa(wday)
	case 'W':
		return d2((yday + 7 - (wday+6)%7) / 7)
	case 'y':
		return d2(t.Year() % 100)
	case 'Y':
		return strconv.Itoa(t.Year())
	case 'z':
		_, off := t.Zone()
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		return fmt.Sprintf("%c%02d%02d", sign, off/3600, off/60%60)
	case 'Z':
		if utc {
			return "GMT" // what gmtime names UTC
		}
		name, _ := t.Zone()
		return name
	case '%':
		return "%"
	}
	return "%" + string(c)
}

// osTime is os.time([t]): now, or the time of the table t, whose fields
// out of range carry over as mktime's do (month 13 is January of the
// next year). Like 5.1, it returns nil for a time mktime cannot give.
func osTime(L *glua.LState) int {
	if L.Get(1) == glua.LNil {
		L.Push(glua.LNumber(time.Now().Unix()))
		return 1
	}
	tbl := TableArg(L, 1)
	field := func(k string, d int) int {
		v := L.GetField(tbl, k)
		if n, ok := v.(glua.LNumber); ok {
			return int(n)
		}
		if s, ok := v.(glua.LString); ok {
			if n, ok := strNumber(string(s)); ok {
				return int(n)
			}
		}
		if d < 0 {
			L.RaiseError("field '%s' missing in date table", k)
		}
		return d
	}
	sec, min, hour := field("sec", 0), field("min", 0), field("hour", 12)
	day, month, year := field("day", -1), field("month", -1), field("year", -1)
	isdst := -1
	if v := L.GetField(tbl, "isdst"); v != glua.LNil {
		isdst = 0
		if glua.LVAsBool(v) {
			isdst = 1
		}
	}
	t := mktime(time.Date(year, time.Month(month), day, hour, min, sec, 0, time.UTC), isdst)
	if t == -1 {
		L.Push(glua.LNil)
		return 1
	}
	L.Push(glua.LNumber(t))
	return 1
}

// mktime returns the local time whose wall clock is that of w, as
// glibc's mktime does. isdst is -1 when unknown: a wall clock that
// happens twice is the standard time one, and one that a change to
// daylight saving time skips is read in standard time. A known isdst that
// the zone disagrees with moves the time by an hour.
func mktime(w time.Time, isdst int) int64 {
	// The zone's offsets this year, and how far daylight saving time moves
	// the clock (an hour where it has none, as glibc takes it).
	stdOff, shift := 0, time.Hour
	for _, m := range []time.Month{time.January, time.July} {
		t := time.Date(w.Year(), m, 1, 0, 0, 0, 0, time.Local)
		if _, off := t.Zone(); !t.IsDST() {
			stdOff = off
		}
	}
	for _, m := range []time.Month{time.January, time.July} {
		if t := time.Date(w.Year(), m, 1, 0, 0, 0, 0, time.Local); t.IsDST() {
			_, off := t.Zone()
			shift = time.Duration(off-stdOff) * time.Second
		}
	}
	var valid []time.Time
	guess := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), 0, time.Local)
	for _, probe := range []time.Time{guess.Add(-24 * time.Hour), guess.Add(24 * time.Hour)} {
		_, off := probe.Zone()
		t := time.Unix(w.Unix()-int64(off), 0).In(time.Local)
		if _, o := t.Zone(); o == off && (len(valid) == 0 || !valid[0].Equal(t)) {
			valid = append(valid, t)
		}
	}
	if len(valid) == 0 { // skipped
		valid = append(valid, time.Unix(w.Unix()-int64(stdOff), 0).In(time.Local))
	}
	t := valid[0]
	for _, v := range valid {
		if isdst == -1 && !v.IsDST() || isdst >= 0 && v.IsDST() == (isdst == 1) {
			t = v
		}
	}
	switch {
	case isdst == 1 && !t.IsDST():
		t = t.Add(-shift)
	case isdst == 0 && t.IsDST():
		t = t.Add(shift)
	}
	return t.Unix()
}

// osClock is os.clock(): the processor time of the process, in seconds,
// as C's clock() counts it.
func osClock(L *glua.LState) int {
	cpu, ok := cpuTime()
	if !ok {
		L.Push(glua.LNumber(-1))
		return 1
	}
	L.Push(glua.LNumber(cpu.Seconds()))
	return 1
}

// strNumber converts a string as Lua does in arithmetic: decimal, or
// hexadecimal with 0x, spaces around allowed.
func strNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "nN") {
		return n, true
	}
	if n, err := strconv.ParseInt(s, 0, 64); err == nil && len(s) > 2 && strings.ContainsAny(s[:3], "xX") {
		return float64(n), true
	}
	return 0, false
}

// osDifftime is os.difftime(t2 [, t1]): t2 - t1 in seconds, both taken as
// whole seconds as C's time_t.
func osDifftime(L *glua.LState) int {
	t2, t1 := int64(NumArg(L, 1)), int64(0)
	if L.Get(2) != glua.LNil {
		t1 = int64(NumArg(L, 2))
	}
	L.Push(glua.LNumber(float64(t2 - t1)))
	return 1
}

// osTmpname is os.tmpname(): the name of a new empty file, which is left
// in place, as 5.1's mkstemp leaves it.
func osTmpname(L *glua.LState) int {
	f, err := os.CreateTemp("", "lua_")
	if err != nil {
		L.RaiseError("unable to generate a unique filename")
	}
	f.Close()
	L.Push(glua.LString(f.Name()))
	return 1
}

// osRemove is os.remove(name): true, or nil, message and errno.
func osRemove(L *glua.LState) int {
	name := L.CheckString(1)
	return fileResult(L, os.Remove(name), name)
}

// osRename is os.rename(from, to): true, or nil, message and errno.
func osRename(L *glua.LState) int {
	from, to := L.CheckString(1), L.CheckString(2)
	return fileResult(L, os.Rename(from, to), from)
}

// fileResult pushes what 5.1's os functions return for err: true, or nil,
// "name: Strerror" and the errno.
func fileResult(L *glua.LState, err error, name string) int {
	if err == nil {
		L.Push(glua.LTrue)
		return 1
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		L.Push(glua.LNil)
		L.Push(glua.LString(name + ": " + err.Error()))
		return 2
	}
	L.Push(glua.LNil)
	L.Push(glua.LString(name + ": " + Strerror(errno)))
	L.Push(glua.LNumber(cErrno(errno)))
	return 3
}

// cErrno is the C runtime's errno for errno (on Windows, a Windows error
// code), as Lua 5.1 returns it.
func cErrno(errno syscall.Errno) int {
	if _, n, ok := errtext.Text(errno); ok {
		return n
	}
	return int(errno)
}

// Strerror is C's message for errno: Go's, capitalized as glibc's are.
func Strerror(errno syscall.Errno) string {
	s := errno.Error()
	if text, _, ok := errtext.Text(errno); ok {
		s = text // on Windows the C runtime's words, not the system's
	}
	if s != "" && 'a' <= s[0] && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// osExecute is os.execute([command]): it runs command with /bin/sh
// (cmd.exe on Windows), on the process's standard files, and returns what
// C's system does: the wait status (exit code 3 is 768; on Windows the
// exit code itself); without a command, 1: there is a shell. The state's
// context ends the command.
func osExecute(L *glua.LState) int {
	if L.Get(1) == glua.LNil {
		L.Push(glua.LNumber(1))
		return 1
	}
	cmd := shellCommand(host.Context(L), L.CheckString(1))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = host.Stdio(L)
	cmd.Run() // the wait status tells how it went
	L.Push(glua.LNumber(systemStatus(cmd.ProcessState)))
	return 1
}

// osGetenv is os.getenv(name): the variable's value, "" when it is set
// empty, nil when it is not set.
func osGetenv(L *glua.LState) int {
	if v, ok := os.LookupEnv(L.CheckString(1)); ok {
		L.Push(glua.LString(v))
	} else {
		L.Push(glua.LNil)
	}
	return 1
}

// localeCategories are setlocale's categories.
var localeCategories = map[string]bool{"all": true, "collate": true, "ctype": true,
	"monetary": true, "numeric": true, "time": true}

// osSetlocale is os.setlocale([locale [, category]]). Only the C locale
// is there: it is what a query returns, and setting "C", "POSIX" or the
// environment's ("") gives it; any other locale gives nil.
func osSetlocale(L *glua.LState) int {
	if L.Get(2) != glua.LNil {
		if c := L.CheckString(2); !localeCategories[c] {
			L.ArgError(2, fmt.Sprintf("invalid option '%s'", c))
		}
	}
	switch L.Get(1) {
	case glua.LNil, glua.LString("C"), glua.LString("POSIX"), glua.LString(""):
		L.Push(glua.LString("C"))
	default:
		L.CheckString(1)
		L.Push(glua.LNil)
	}
	return 1
}

// OsFuncs are Lua 5.1's os functions where gopher-lua's differ.
var OsFuncs = map[string]glua.LGFunction{
	"date":      osDate,
	"time":      osTime,
	"clock":     osClock,
	"difftime":  osDifftime,
	"tmpname":   osTmpname,
	"remove":    osRemove,
	"rename":    osRename,
	"setlocale": osSetlocale,
	"execute":   osExecute,
	"getenv":    osGetenv,
}
