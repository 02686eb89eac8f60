package luaserde

import (
	"encoding/json"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

type point struct {
	X int `json:"x"`
	Y int `json:"y"`
}

type selfRef map[string]any

func TestFromAnyConvertsGoValues(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["me"] = cyclic
	n := 7
	cases := []struct {
		name  string
		value any
		want  string // ToJSON of the result
	}{
		{"nil becomes nil", nil, `null`},
		{"scalars map directly", []any{true, "s", 1.5, int64(3), uint8(4), float32(0.5)}, `[true,"s",1.5,3,4,0.5]`},
		{"bytes become a string", []byte("raw"), `"raw"`},
		{"json.Number becomes a number", json.Number("12.5"), `12.5`},
		{"time.Time becomes RFC 3339 text", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05Z"`},
		{"string maps become tables", map[string]any{"a": map[string]any{"b": []any{1}}}, `{"a":{"b":[1]}}`},
		{"nil elements leave holes", []any{1, nil, 3}, `{"1":1,"3":3}`},
		{"maps with other key kinds keep number keys", map[any]any{1: "a", 2: "b"}, `["a","b"]`},
		{"typed slices convert by reflection", []string{"x", "y"}, `["x","y"]`},
		{"pointers are followed", &n, `7`},
		{"structs go through encoding/json", point{X: 1, Y: 2}, `{"x":1,"y":2}`},
		{"cyclic values become nil", cyclic, `null`},
		{"named map types convert by reflection", selfRef{"k": "v"}, `{"k":"v"}`},
		{"Lua values pass through", lua.LString("lv"), `"lv"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			got, err := ToJSON(FromAny(L, tc.value))
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("FromAny(%#v) encodes as %s, want %s", tc.value, got, tc.want)
			}
		})
	}
}

func TestFromAnyTurnsOddMapKeysIntoText(t *testing.T) {
	L := newState(t)
	v := FromAny(L, map[any]any{true: "t", [2]int{1, 2}: "arr", nil: "dropped"})
	tbl, ok := v.(*lua.LTable)
	if !ok {
		t.Fatalf("FromAny returned %T", v)
	}
	if tbl.RawGet(lua.LTrue) != lua.LString("t") {
		t.Fatal("boolean key was not kept")
	}
	if tbl.RawGetString("[1 2]") != lua.LString("arr") {
		t.Fatal("array key was not turned into text")
	}
	count := 0
	tbl.ForEach(func(lua.LValue, lua.LValue) { count++ })
	if count != 2 {
		t.Fatalf("table has %d keys, want 2 (nil key dropped)", count)
	}
}
