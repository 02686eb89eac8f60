package luaserde

import (
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestToJSONEncodesLuaValues(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"nil encodes as null", `return nil`, `null`},
		{"booleans encode as literals", `return {true, false}`, `[true,false]`},
		{"whole numbers have no fraction", `return {3, -7, 0, 2^53}`, `[3,-7,0,9007199254740992]`},
		{"fractions keep their shortest form", `return {1.5, 0.1, -2.25}`, `[1.5,0.1,-2.25]`},
		{"very large and very small numbers use an exponent", `return {1e21, 1e-7, 123e300}`, `[1e+21,1e-7,1.23e+302]`},
		{"strings escape quotes, backslashes and control bytes", `return "a\"b\\c\n\r\t\b\f\1"`, `"a\"b\\c\n\r\t\b\f\u0001"`},
		{"non-ASCII text is kept as UTF-8", `return "héllo ✓"`, `"héllo ✓"`},
		{"HTML characters are not escaped", `return "<a&b>"`, `"<a&b>"`},
		{"U+2028, U+2029, DEL and / are written raw", `return "a\226\128\168b\226\128\169/\127"`, "\"a\u2028b\u2029/\x7f\""},
		{"other controls use \\u00XX in lowercase", `return "\0\27\31"`, `"\u0000\u001b\u001f"`},
		{"a string that is not UTF-8 is the array of its bytes", `return "a\255"`, `[97,255]`},
		{"so is one inside a table", `return {s = "\254\255", t = {"\226\128"}}`, `{"s":[254,255],"t":[[226,128]]}`},
		{"an empty table is an object", `return {}`, `{}`},
		{"a sequence 1..n is an array", `return {"a", "b", "c"}`, `["a","b","c"]`},
		{"a sequence built out of order is still an array", `local t = {}; t[3]="c"; t[1]="a"; t[2]="b"; return t`, `["a","b","c"]`},
		{"a table with holes is an object with string keys", `return {[1]="a", [3]="c"}`, `{"1":"a","3":"c"}`},
		{"a sequence not starting at 1 is an object", `return {[2]="b"}`, `{"2":"b"}`},
		{"fractional number keys are stringified", `return {[1.5]=true}`, `{"1.5":true}`},
		{"object members keep insertion order", `return {z=1, a=2, m=3}`, `{"z":1,"a":2,"m":3}`},
		{"nested tables encode recursively", `return {rec={to={"a@b"}, n=1}}`, `{"rec":{"to":["a@b"],"n":1}}`},
		{"a table shared twice (not a cycle) encodes twice", `local s = {1}; return {s, s}`, `[[1],[1]]`},
		{"metatables are ignored", `return setmetatable({a=1}, {__index=function() return 2 end})`, `{"a":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			got, err := ToJSON(eval(t, L, tc.lua))
			if err != nil {
				t.Fatalf("ToJSON: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("ToJSON = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestToJSONRejectsUnrepresentableValues(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"a function is rejected with its path", `return {a={b=print}}`, `at .a.b: cannot serialise a function`},
		{"NaN is rejected", `return {0/0}`, `at [1]: cannot serialise NaN`},
		{"infinity is rejected", `return {x=1/0}`, `cannot serialise an infinite number`},
		{"a direct cycle is detected", `local t = {}; t.self = t; return t`, `at .self: table contains itself (cycle)`},
		{"an indirect cycle is detected", `local a, b = {}, {}; a[1] = b; b[1] = a; return a`, `table contains itself (cycle)`},
		{"boolean keys cannot be represented", `return {[true]=1}`, `table key of type boolean cannot be serialised`},
		{"table keys cannot be represented", `return {[{}]=1}`, `table key of type table cannot be serialised`},
		{"colliding number and string keys are rejected", `return {[1]="n", ["1"]="s"}`, `both the number key 1 and the string key "1"`},
		{"odd keys are quoted in the path", `return {["a b"]={print}}`, `at ["a b"][1]`},
		{"a coroutine is rejected", `return {co=coroutine.create(print)}`, `at .co: cannot serialise a thread`},
		{"userdata without a Go value is rejected", `return newproxy()`, `cannot serialise userdata holding <nil>`},
		{"a key that is not UTF-8 is rejected", `return {["a\255"]=1}`, `table key "a\xff" is not valid UTF-8`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			_, err := ToJSON(eval(t, L, tc.lua))
			if err == nil {
				t.Fatalf("ToJSON succeeded, want an error containing %q", tc.want)
			}
			assertContains(t, err.Error(), tc.want)
		})
	}
}

func TestToJSONLimitsNesting(t *testing.T) {
	L := newState(t)
	build := func(depth int) lua.LValue {
		var v lua.LValue = lua.LNumber(1)
		for range depth {
			tbl := L.NewTable()
			tbl.RawSetInt(1, v)
			v = tbl
		}
		return v
	}
	t.Run("nesting at the limit encodes", func(t *testing.T) {
		out, err := ToJSON(build(MaxDepth))
		if err != nil {
			t.Fatalf("ToJSON: %v", err)
		}
		if want := strings.Repeat("[", MaxDepth) + "1" + strings.Repeat("]", MaxDepth); string(out) != want {
			t.Fatalf("unexpected output %s", out)
		}
	})
	t.Run("nesting past the limit is an error", func(t *testing.T) {
		_, err := ToJSON(build(MaxDepth + 1))
		if err == nil {
			t.Fatal("ToJSON succeeded past MaxDepth")
		}
		assertContains(t, err.Error(), "nested deeper than 128")
	})
}

func TestAppendJSONLeavesTheBufferAloneOnError(t *testing.T) {
	L := newState(t)
	dst := []byte("prefix:")
	out, err := AppendJSON(dst, eval(t, L, `return {1, print}`))
	if err == nil {
		t.Fatal("AppendJSON succeeded on a function")
	}
	if string(out) != "prefix:" {
		t.Fatalf("buffer changed to %q", out)
	}
	out, err = AppendJSON(dst, lua.LNumber(42))
	if err != nil || string(out) != "prefix:42" {
		t.Fatalf("AppendJSON = %q, %v", out, err)
	}
}

func TestToJSONPrettySortsAndIndents(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"scalars print alone", `return "x"`, `"x"`},
		{"an empty table prints as {}", `return {}`, `{}`},
		{"keys are sorted and indented by two spaces", `return {b=1, a={2, 3}, c={}}`,
			"{\n  \"a\": [\n    2,\n    3\n  ],\n  \"b\": 1,\n  \"c\": {}\n}"},
		{"number keys sort as their text", `return {[10]=1, [9]=2, x=3}`,
			"{\n  \"10\": 1,\n  \"9\": 2,\n  \"x\": 3\n}"},
		{"a string that is not UTF-8 is an indented array of bytes", `return {s = "a\255"}`,
			"{\n  \"s\": [\n    97,\n    255\n  ]\n}"},
		{"alone too", `return "\255"`, "[\n  255\n]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			got, err := ToJSONPretty(eval(t, L, tc.lua))
			if err != nil {
				t.Fatalf("ToJSONPretty: %v", err)
			}
			if string(got) != tc.want {
				t.Fatalf("ToJSONPretty =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// recordValue is a userdata payload that serialises itself.
type recordValue struct {
	raw string
	err error
}

func (r recordValue) LuaToJSON() ([]byte, error) { return []byte(r.raw), r.err }

func TestUserdataWithAMarshalerIsEncoded(t *testing.T) {
	cases := []struct {
		name    string
		value   any
		pretty  bool
		want    string
		wantErr string
	}{
		{"compact output is compacted", recordValue{raw: "{ \"id\" : 1,\n \"to\": [\"a\"] }"}, false, `{"wrapped":{"id":1,"to":["a"]}}`, ""},
		{"pretty output is re-indented", recordValue{raw: `{"id":1}`}, true, "{\n  \"wrapped\": {\n    \"id\": 1\n  }\n}", ""},
		{"its strings follow the rule", recordValue{raw: `{"k":"\u003c\u2028\/"}`}, false, "{\"wrapped\":{\"k\":\"<\u2028/\"}}", ""},
		{"pretty ones too", recordValue{raw: `{"k":"\u0026"}`}, true, "{\n  \"wrapped\": {\n    \"k\": \"&\"\n  }\n}", ""},
		{"a marshaler error is reported", recordValue{err: errors.New("boom")}, false, "", "LuaToJSON: boom"},
		{"invalid JSON from a marshaler is reported", recordValue{raw: `{"id":`}, false, "", "returned invalid JSON"},
		{"userdata without a marshaler is rejected", 42, false, "", "cannot serialise userdata holding int"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			ud := L.NewUserData()
			ud.Value = tc.value
			tbl := L.NewTable()
			tbl.RawSetString("wrapped", ud)
			encode := ToJSON
			if tc.pretty {
				encode = ToJSONPretty
			}
			got, err := encode(tbl)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("encoding succeeded with %s", got)
				}
				assertContains(t, err.Error(), tc.wantErr)
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}
