package luaserde

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestFromJSONBuildsLuaValues(t *testing.T) {
	cases := []struct {
		name  string
		input string
		// check is a Lua expression over `v` (the parsed value) that must
		// be true.
		check string
	}{
		{"an object becomes a table with string keys", `{"a": 1, "b": "x"}`, `v.a == 1 and v.b == "x"`},
		{"an array becomes a sequence", `[10, 20, 30]`, `#v == 3 and v[1] == 10 and v[3] == 30`},
		{"null members vanish from objects", `{"a": null, "b": 1}`, `v.a == nil and next(v) == "b"`},
		{"null elements leave holes in arrays", `[1, null, 3]`, `v[1] == 1 and v[2] == nil and v[3] == 3`},
		{"top-level null is nil", ` null `, `v == nil`},
		{"the last duplicate key wins", `{"a": 1, "a": 2}`, `v.a == 2`},
		{"a later null deletes a duplicate key", `{"a": 1, "a": null}`, `v.a == nil and next(v) == nil`},
		{"booleans map to booleans", `[true, false]`, `v[1] == true and v[2] == false`},
		{"integers keep full float64 precision", `[9007199254740993, 123456789012345, -42]`, `v[1] == 2^53 and v[2] == 123456789012345 and v[3] == -42`},
		{"fractions and exponents parse", `[1.5, -0.25, 1e3, 2E-2]`, `v[1] == 1.5 and v[2] == -0.25 and v[3] == 1000 and v[4] == 0.02`},
		{"escapes decode", `"a\"b\\c\/d\n\t\u00e9"`, `v == "a\"b\\c/d\n\té"`},
		{"surrogate pairs combine", `"\ud83d\ude00"`, `v == "\240\159\152\128"`},
		{"a lone surrogate becomes U+FFFD", `"\ud800x"`, `v == "\239\191\189x"`},
		{"invalid UTF-8 becomes U+FFFD", "\"a\xffb\"", `v == "a\239\191\189b"`},
		{"raw UTF-8 passes through", `"✓"`, `v == "\226\156\147"`},
		{"empty containers are empty tables", `[{}, []]`, `next(v[1]) == nil and next(v[2]) == nil`},
		{"number-like keys stay strings", `{"1": "a"}`, `v["1"] == "a" and v[1] == nil`},
		{"surrounding whitespace is allowed", " \t\r\n{}\n ", `type(v) == "table"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			v, err := FromJSON(L, []byte(tc.input))
			if err != nil {
				t.Fatalf("FromJSON(%q): %v", tc.input, err)
			}
			L.SetGlobal("v", v)
			if got := eval(t, L, "return "+tc.check); got != lua.LTrue {
				t.Fatalf("check %q failed for %q", tc.check, tc.input)
			}
		})
	}
}

func TestFromJSONReportsSyntaxErrors(t *testing.T) {
	cases := []struct {
		name       string
		input      string
		wantMsg    string
		line, col  int
		wantOffset int
	}{
		{"empty input", ``, "unexpected end of input", 1, 1, 0},
		{"a missing value", `{"a":}`, "unexpected character '}', expected a value", 1, 6, 5},
		{"a trailing comma in an array", "[1,\n2,]", "unexpected character ']'", 2, 3, 6},
		{"a trailing comma in an object", `{"a":1,}`, "expected a string key", 1, 8, 7},
		{"trailing garbage", `{} x`, "unexpected character 'x' after the value", 1, 4, 3},
		{"a leading zero", `01`, "after the value", 1, 2, 1},
		{"a bare minus", `-`, "expected a digit", 1, 2, 1},
		{"a dot without digits", `1.`, "expected a digit after '.'", 1, 3, 2},
		{"an exponent without digits", `1e+`, "expected a digit in the exponent", 1, 4, 3},
		{"a number out of range", `[1e400]`, "number out of range", 1, 2, 1},
		{"an unterminated string", `"abc`, "unterminated string", 1, 5, 4},
		{"a control character in a string", "\"a\nb\"", "control character", 1, 3, 2},
		{"a bad escape", `"\x"`, `invalid escape '\x'`, 1, 3, 2},
		{"a short unicode escape", `"\u12"`, `invalid \u escape`, 1, 4, 3},
		{"a misspelt literal", `nul`, `expected "null"`, 1, 1, 0},
		{"a single-quoted key", `{'a':1}`, "expected a string key", 1, 2, 1},
		{"a missing colon", `{"a" 1}`, "expected ':'", 1, 6, 5},
		{"nesting past the limit", strings.Repeat("[", MaxDepth+1), "nesting deeper than 128 levels", 1, MaxDepth + 1, MaxDepth},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			_, err := FromJSON(L, []byte(tc.input))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("FromJSON(%q) error = %v, want a *SyntaxError", tc.input, err)
			}
			assertContains(t, se.Error(), tc.wantMsg)
			if se.Line != tc.line || se.Column != tc.col || se.Offset != tc.wantOffset {
				t.Fatalf("position = line %d col %d offset %d, want %d/%d/%d",
					se.Line, se.Column, se.Offset, tc.line, tc.col, tc.wantOffset)
			}
			if json.Valid([]byte(tc.input)) && !strings.Contains(tc.wantMsg, "range") && !strings.Contains(tc.wantMsg, "nesting") {
				t.Fatalf("encoding/json accepts %q, so FromJSON should too", tc.input)
			}
		})
	}
}

func TestFromJSONAcceptsExactlyWhatEncodingJSONAccepts(t *testing.T) {
	inputs := []string{
		`0`, `-0`, `-0.0e-0`, `1E+2`, `"\u0000"`, `[]`, `{}`, `[[[]]]`, `{"":{"":[]}}`, " \"\xff\" ",
		`00`, `+1`, `.5`, `1.e1`, `0x10`, `[1 2]`, `{"a":1 "b":2}`, `{,}`, `[,]`, `tru`, `nulls`, `"\`, `"\u"`,
		`["a",]`, `{"a"}`, "\"\t\"", `NaN`, `Infinity`, `[1]]`, `{}}`, `"` + "\x7f" + `"`,
	}
	for _, in := range inputs {
		t.Run("input "+in+" is judged like encoding/json", func(t *testing.T) {
			L := newState(t)
			_, err := FromJSON(L, []byte(in))
			if want := json.Valid([]byte(in)); (err == nil) != want {
				t.Fatalf("FromJSON(%q) error = %v, encoding/json valid = %v", in, err, want)
			}
		})
	}
}
