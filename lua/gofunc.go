package lua

import (
	"fmt"
	"math"
	"sort"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
)

// Func is a Go function a policy calls as kumo.NAME(...). Its arguments are plain Go values: nil,
// bool, int64 (an integral number), float64, string, []any (a table with keys 1..n only) and
// map[string]any (any other table; its keys are converted with fmt's %v). Its result is converted as
// luaserde.FromAny converts (those types, other numbers, slices, maps, and structs through JSON).
type Func func(args ...any) (any, error)

// maxGoDepth bounds the nesting of tables converted to Go, so a cyclic table is an error and not an
// endless walk.
const maxGoDepth = 64

func openFunctions(L *glua.LState, kumo *glua.LTable, fns map[string]Func) {
	names := make([]string, 0, len(fns))
	for name := range fns {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fn := fns[name]
		kumo.RawSetString(name, L.NewFunction(func(L *glua.LState) int {
			args := make([]any, L.GetTop())
			for i := range args {
				v, err := toGo(L.Get(i+1), 0)
				if err != nil {
					L.RaiseError("kumo.%s: argument %d: %v", name, i+1, err)
				}
				args[i] = v
			}
			out, err := fn(args...)
			if err != nil {
				L.RaiseError("kumo.%s: %v", name, err)
			}
			lv, err := luaserde.FromAnyErr(L, out)
			if err != nil {
				L.RaiseError("kumo.%s: result: %v", name, err)
			}
			L.Push(lv)
			return 1
		}))
	}
}

func toGo(v glua.LValue, depth int) (any, error) {
	switch v := v.(type) {
	case *glua.LNilType:
		return nil, nil
	case glua.LBool:
		return bool(v), nil
	case glua.LString:
		return string(v), nil
	case glua.LNumber:
		f := float64(v)
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	case *glua.LTable:
		if depth >= maxGoDepth {
			return nil, fmt.Errorf("tables nested deeper than %d", maxGoDepth)
		}
		if n := v.Len(); n > 0 && countKeys(v) == n {
			out := make([]any, n)
			for i := range out {
				e, err := toGo(v.RawGetInt(i+1), depth+1)
				if err != nil {
					return nil, err
				}
				out[i] = e
			}
			return out, nil
		}
		out := map[string]any{}
		var err error
		v.ForEach(func(k, e glua.LValue) {
			if err != nil {
				return
			}
			var g any
			if g, err = toGo(e, depth+1); err == nil {
				out[k.String()] = g
			}
		})
		return out, err
	default:
		return nil, fmt.Errorf("a %s has no Go value", v.Type())
	}
}
