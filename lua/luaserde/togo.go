package luaserde

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// goConverter turns Lua values into plain Go values (nil, bool, int64,
// float64, string, []any, map[string]any) for the TOML and YAML encoders.
// Tables follow the same array/object rules as the JSON encoder. Unlike
// JSON, NaN and infinities are allowed: both TOML and YAML can write them.
type goConverter struct {
	stack []*lua.LTable
}

func toGo(v lua.LValue) (any, error) {
	var c goConverter
	return c.value(v)
}

func (c *goConverter) value(v lua.LValue) (any, error) {
	switch x := v.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		return goNumber(float64(x)), nil
	case lua.LString:
		return strings.ToValidUTF8(string(x), "\ufffd"), nil
	case *lua.LTable:
		return c.table(x)
	case *lua.LUserData:
		raw, err := marshalUserData(x)
		if err != nil {
			return nil, err
		}
		var out any
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, &encodeError{reason: fmt.Sprintf("%T.LuaToJSON returned invalid JSON: %v", x.Value, err)}
		}
		return wholeNumbersToInt(out), nil
	default:
		return nil, &encodeError{reason: "cannot serialise a " + v.Type().String()}
	}
}

// goNumber keeps whole numbers integral so that 3 is written as 3, not 3.0.
func goNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return int64(f)
	}
	return f
}

func (c *goConverter) table(tbl *lua.LTable) (any, error) {
	Expand(tbl)
	if slices.Contains(c.stack, tbl) {
		return nil, &encodeError{reason: "table contains itself (cycle)"}
	}
	if len(c.stack) >= MaxDepth {
		return nil, &encodeError{reason: fmt.Sprintf("tables nested deeper than %d levels", MaxDepth)}
	}
	c.stack = append(c.stack, tbl)
	defer func() { c.stack = c.stack[:len(c.stack)-1] }()

	if n := arrayLen(tbl); n > 0 {
		out := make([]any, n)
		for i := range n {
			v, err := c.value(tbl.RawGetInt(i + 1))
			if err != nil {
				return nil, prependPath(err, "["+strconv.Itoa(i+1)+"]")
			}
			out[i] = v
		}
		return out, nil
	}
	entries, err := sortedEntries(tbl)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(entries))
	for _, ent := range entries {
		v, err := c.value(ent.value)
		if err != nil {
			return nil, prependPath(err, pathKey(ent.key))
		}
		out[ent.key] = v
	}
	return out, nil
}

// wholeNumbersToInt rewrites the float64s that encoding/json produced so
// that whole numbers become int64, matching goNumber.
func wholeNumbersToInt(v any) any {
	switch x := v.(type) {
	case float64:
		return goNumber(x)
	case []any:
		for i := range x {
			x[i] = wholeNumbersToInt(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = wholeNumbersToInt(x[k])
		}
	}
	return v
}
