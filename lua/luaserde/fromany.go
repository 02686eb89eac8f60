package luaserde

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// FromAny converts a Go value, typically one produced by encoding/json,
// gopkg.in/yaml.v3 or go-toml, into a Lua value:
//
//   - nil -> nil; bools, strings and []byte map directly;
//   - every integer and float kind, and json.Number, -> number (float64);
//   - time.Time -> RFC 3339 string; other encoding.TextMarshaler or
//     fmt.Stringer values (such as TOML local dates) -> their text;
//   - slices and arrays -> sequence tables (nil elements leave holes);
//   - maps -> tables keyed by the converted keys (string, number or
//     boolean); other key kinds are turned into text;
//   - a lua.LValue is returned unchanged; pointers are followed;
//   - anything else goes through encoding/json.
//
// FromAny never fails: when v nests deeper than [MaxDepth] (which also
// stops cyclic Go values) or holds something that cannot be converted, the
// result is nil.
func FromAny(L *lua.LState, v any) lua.LValue {
	lv, _ := fromAny(L, v, 0)
	return lv
}

// FromAnyErr is FromAny, with the reason when v cannot be converted instead of a nil result.
func FromAnyErr(L *lua.LState, v any) (lua.LValue, error) { return fromAny(L, v, 0) }

// errTooDeep is returned by fromAny when the nesting limit is hit.
var errTooDeep = fmt.Errorf("values nested deeper than %d levels", MaxDepth)

func fromAny(L *lua.LState, v any, depth int) (lua.LValue, error) {
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case lua.LValue:
		return x, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		return lua.LString(x), nil
	case []byte:
		return lua.LString(x), nil
	case float64:
		return lua.LNumber(x), nil
	case int:
		return lua.LNumber(x), nil
	case int64:
		return lua.LNumber(x), nil
	case uint64:
		return lua.LNumber(x), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return lua.LNil, err
		}
		return lua.LNumber(f), nil
	case time.Time:
		return lua.LString(x.Format(time.RFC3339Nano)), nil
	case map[string]any:
		if depth >= MaxDepth {
			return lua.LNil, errTooDeep
		}
		tbl := L.CreateTable(0, len(x))
		for k, item := range x {
			lv, err := fromAny(L, item, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			tbl.RawSetString(k, lv)
		}
		return tbl, nil
	case []any:
		if depth >= MaxDepth {
			return lua.LNil, errTooDeep
		}
		tbl := L.CreateTable(len(x), 0)
		for i, item := range x {
			lv, err := fromAny(L, item, depth+1)
			if err != nil {
				return lua.LNil, err
			}
			if lv != lua.LNil {
				tbl.RawSetInt(i+1, lv)
			}
		}
		return tbl, nil
	case encoding.TextMarshaler:
		text, err := x.MarshalText()
		if err != nil {
			return lua.LNil, err
		}
		return lua.LString(text), nil
	case fmt.Stringer:
		return lua.LString(x.String()), nil
	}
	return fromReflect(L, reflect.ValueOf(v), depth)
}

// fromReflect handles the kinds the type switch in fromAny does not name.
func fromReflect(L *lua.LState, rv reflect.Value, depth int) (lua.LValue, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return lua.LNumber(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return lua.LNumber(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(rv.Float()), nil
	case reflect.Bool:
		return lua.LBool(rv.Bool()), nil
	case reflect.String:
		return lua.LString(rv.String()), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() || depth >= MaxDepth {
			return lua.LNil, nil
		}
		return fromAny(L, rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		return fromReflectList(L, rv, depth)
	case reflect.Map:
		return fromReflectMap(L, rv, depth)
	}
	raw, err := json.Marshal(rv.Interface())
	if err != nil {
		return lua.LNil, err
	}
	return FromJSON(L, raw)
}

func fromReflectList(L *lua.LState, rv reflect.Value, depth int) (lua.LValue, error) {
	if depth >= MaxDepth {
		return lua.LNil, errTooDeep
	}
	n := rv.Len()
	tbl := L.CreateTable(n, 0)
	for i := range n {
		lv, err := fromAny(L, rv.Index(i).Interface(), depth+1)
		if err != nil {
			return lua.LNil, err
		}
		if lv != lua.LNil {
			tbl.RawSetInt(i+1, lv)
		}
	}
	return tbl, nil
}

func fromReflectMap(L *lua.LState, rv reflect.Value, depth int) (lua.LValue, error) {
	if depth >= MaxDepth {
		return lua.LNil, errTooDeep
	}
	tbl := L.CreateTable(0, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		key := luaKey(L, iter.Key().Interface())
		if key == lua.LNil {
			continue
		}
		lv, err := fromAny(L, iter.Value().Interface(), depth+1)
		if err != nil {
			return lua.LNil, err
		}
		tbl.RawSet(key, lv)
	}
	return tbl, nil
}

// luaKey converts a map key: strings, numbers and booleans keep their type;
// NaN and composite keys are turned into text (Lua cannot index by NaN, and
// a fresh table as a key could never be looked up); nil keys are dropped.
func luaKey(L *lua.LState, k any) lua.LValue {
	if k == nil {
		return lua.LNil
	}
	lv, err := fromAny(L, k, MaxDepth) // depth MaxDepth: refuse containers
	switch key := lv.(type) {
	case lua.LString, lua.LBool:
		if err == nil {
			return key
		}
	case lua.LNumber:
		if math.IsNaN(float64(key)) {
			return lua.LString("NaN")
		}
		return key
	}
	return lua.LString(fmt.Sprint(k))
}
