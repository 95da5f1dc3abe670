package lua

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// flagsModule is the flags module.
var flagsModule = &module{
	name: "flags",
	doc:  "command-line flags from a table of defaults",
	funcs: []fn{
		{"parse", flagsParse, "flags.parse(arg, defaults [, {usage=s, help={name=s}}]) -> table -- --name value flags typed by their defaults; the rest in t[1..n]; --help prints usage"},
	},
}

// numberFlag is a flag whose value is a Lua number.
type numberFlag struct{ v *float64 }

func (n numberFlag) String() string {
	if n.v == nil {
		return "0"
	}
	return strconv.FormatFloat(*n.v, 'f', -1, 64)
}

func (n numberFlag) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return fmt.Errorf("not a number")
	}
	*n.v = f
	return nil
}

func flagsParse(L *glua.LState) int {
	argt, defaults, opts := L.OptTable(1, L.NewTable()), L.CheckTable(2), optTable(L, 3, "usage", "help")
	var args []string
	for i := 1; i <= argt.Len(); i++ {
		args = append(args, glua.LVAsString(argt.RawGetInt(i)))
	}
	name := glua.LVAsString(argt.RawGet(glua.LNumber(0)))
	if name == "" {
		name = "script"
	}
	help, _ := optField(opts, "help").(*glua.LTable)
	describe := func(k string) string {
		if help != nil {
			if s, ok := help.RawGetString(k).(glua.LString); ok {
				return string(s)
			}
		}
		return ""
	}

	var out bytes.Buffer
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(&out)
	usage := optString(L, opts, "usage", "")
	fs.Usage = func() {
		fmt.Fprintf(&out, "usage: %s [flags]\n", name)
		if usage != "" {
			fmt.Fprintf(&out, "%s\n", usage)
		}
		fs.PrintDefaults()
	}
	strs, nums, bools := map[string]*string{}, map[string]*float64{}, map[string]*bool{}
	var keys []string
	defaults.ForEach(func(k, _ glua.LValue) {
		if s, ok := k.(glua.LString); ok {
			keys = append(keys, string(s))
		}
	})
	sort.Strings(keys)
	for _, k := range keys {
		// max_size in the table is --max-size on the command line.
		name := strings.ReplaceAll(k, "_", "-")
		switch v := defaults.RawGetString(k).(type) {
		case glua.LString:
			strs[k] = fs.String(name, string(v), describe(k))
		case glua.LNumber:
			f := float64(v)
			nums[k] = &f
			fs.Var(numberFlag{&f}, name, describe(k))
		case glua.LBool:
			bools[k] = fs.Bool(name, bool(v), describe(k))
		default:
			L.ArgError(2, fmt.Sprintf("default of %s must be a string, number or boolean", k))
		}
	}
	if err := fs.Parse(dashed(args)); err != nil {
		if err == flag.ErrHelp {
			stateOf(L).rt.writeOut(out.String())
			L.Error(exitValue(L, 0), 0)
		}
		stateOf(L).rt.reportf("%s", out.String())
		L.Error(exitValue(L, 2), 0)
	}
	t := L.CreateTable(fs.NArg(), len(keys))
	for k, p := range strs {
		t.RawSetString(k, glua.LString(*p))
	}
	for k, p := range nums {
		t.RawSetString(k, glua.LNumber(*p))
	}
	for k, p := range bools {
		t.RawSetString(k, glua.LBool(*p))
	}
	for _, a := range fs.Args() {
		t.Append(glua.LString(a))
	}
	L.Push(t)
	return 1
}

// exitValue is the error value that ends a script with code.
func exitValue(L *glua.LState, code int) glua.LValue {
	ud := L.NewUserData()
	ud.Value = &ExitError{Code: code}
	return ud
}

// exitCode reports whether a Lua error is an exit request, and its code.
func exitCode(err error) (int, bool) {
	if api, ok := err.(*glua.ApiError); ok {
		if ud, ok := api.Object.(*glua.LUserData); ok {
			if e, ok := ud.Value.(*ExitError); ok {
				return e.Code, true
			}
		}
	}
	return 0, false
}

// dashed spells --max_size as --max-size, so that both work, up to "--".
func dashed(args []string) []string {
	out := make([]string, len(args))
	copy(out, args)
	for i, a := range out {
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !strings.HasPrefix(name, "-") || strings.Trim(name, "-_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			continue
		}
		name = strings.ReplaceAll(name, "_", "-")
		if hasValue {
			name += "=" + value
		}
		out[i] = name
	}
	return out
}
