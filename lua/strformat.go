package lua

import (
	"strconv"
	"strings"

	glua "github.com/yuin/gopher-lua"
)

// gopher-lua's string.format hands the format and its arguments to fmt.Sprintf, and formats each
// Lua value through a fmt.Formatter that rebuilds a format string and calls fmt again: about 3 µs
// for the string.format('%d %s', code, reason) a webhook policy runs on every response. The
// common cases (%s of a string, %d of a number, %%) are formatted directly here, with exactly the
// output gopher-lua gives (a differential fuzz test holds them to it); anything else goes to
// gopher-lua's own.

// installStringFormat replaces string.format (also reached as ("..."):format) with the fast path
// in front of gopher-lua's implementation.
func installStringFormat(L *glua.LState) {
	str, ok := L.GetGlobal("string").(*glua.LTable)
	if !ok {
		return
	}
	orig, ok := str.RawGetString("format").(*glua.LFunction)
	if !ok || !orig.IsG {
		return
	}
	str.RawSetString("format", L.NewFunction(func(L *glua.LState) int {
		if out, ok := fastFormat(L); ok {
			L.Push(glua.LString(out))
			return 1
		}
		return orig.GFunction(L)
	}))
}

// fastFormat formats the call's arguments when the format uses nothing but %s with strings, %d
// with numbers and %%, and reports false otherwise.
func fastFormat(L *glua.LState) (string, bool) {
	f, ok := L.Get(1).(glua.LString)
	if !ok {
		return "", false
	}
	format := string(f)
	// gopher-lua passes fmt at most as many arguments as it counts verbs this way; fmt then prints
	// what it makes of any mismatch, which is left to it.
	pass := min(strings.Count(format, "%")-strings.Count(format, "%%"), L.GetTop()-1)
	buf := make([]byte, 0, len(format)+32)
	used := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			buf = append(buf, c)
			continue
		}
		if i++; i == len(format) {
			return "", false
		}
		switch format[i] {
		case '%':
			buf = append(buf, '%')
			continue
		case 's':
			v, ok := L.Get(2 + used).(glua.LString)
			if !ok || used >= pass {
				return "", false
			}
			buf = append(buf, v...)
		case 'd':
			v, ok := L.Get(2 + used).(glua.LNumber)
			if !ok || used >= pass {
				return "", false
			}
			buf = strconv.AppendInt(buf, int64(v), 10) // the conversion gopher-lua makes
		default:
			return "", false
		}
		used++
	}
	if used != pass {
		return "", false
	}
	return string(buf), true
}
