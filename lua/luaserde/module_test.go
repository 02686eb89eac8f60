package luaserde

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestOpenInstallsSerdeAndAliases(t *testing.T) {
	L := newState(t)
	for _, f := range functions {
		t.Run("kumo.serde."+f.name+" is the same function as kumo."+f.name, func(t *testing.T) {
			got := eval(t, L, "return kumo.serde."+f.name+" ~= nil and kumo.serde."+f.name+" == kumo."+f.name)
			if got != lua.LTrue {
				t.Fatalf("kumo.serde.%s / kumo.%s missing or different", f.name, f.name)
			}
		})
	}
}

func TestLuaFunctionsRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"json_encode is compact", `return kumo.json_encode({a={1,2}})`, `{"a":[1,2]}`},
		{"json_encode of nothing is null", `return kumo.json_encode()`, `null`},
		{"kumo.serde.json_encode of a string that is not UTF-8 is its bytes, as in KumoMTA", `return kumo.serde.json_encode("a\255")`, `[97,255]`},
		{"kumo.serde.json_encode escapes no HTML and no line separator", `return kumo.serde.json_encode({"<&>'\226\128\168"})`, "[\"<&>'\u2028\"]"},
		{"json_encode_pretty sorts keys", `return kumo.serde.json_encode_pretty({b=1,a=2})`, "{\n  \"a\": 2,\n  \"b\": 1\n}"},
		{"json_parse then json_encode round-trips", `return kumo.json_encode(kumo.json_parse('{"x":[1,"y",true]}'))`, `{"x":[1,"y",true]}`},
		{"toml_encode writes tables after plain keys", `return kumo.toml_encode({name="hook", batch={size=10}})`, "name = 'hook'\n\n[batch]\nsize = 10\n"},
		{"toml_encode_pretty indents tables", `return kumo.toml_encode_pretty({t={a={1,2}}})`, "[t]\n  a = [\n    1,\n    2\n  ]\n"},
		{"toml_parse reads tables and arrays", `local v = kumo.toml_parse('a = 1\n[b]\nc = ["x", "y"]') return v.a .. v.b.c[2]`, `1y`},
		{"toml_parse turns dates into text", `return kumo.toml_parse('d = 1979-05-27T07:32:00Z').d`, `1979-05-27T07:32:00Z`},
		{"yaml_encode indents by two spaces", `return kumo.yaml_encode({a={b={1,2}}})`, "a:\n  b:\n    - 1\n    - 2\n"},
		{"yaml_parse reads mappings and sequences", `local v = kumo.yaml_parse('a: [1, 2]\nb: {c: x}') return v.a[2] .. v.b.c`, `2x`},
		{"yaml_parse of an empty document is nil", `return tostring(kumo.yaml_parse(''))`, `nil`},
		{"yaml_parse keeps number keys as numbers", `return kumo.yaml_parse('1: one')[1]`, `one`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			if got := eval(t, L, tc.lua).String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLuaFunctionsRaiseClearErrors(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"json_encode names the bad value", `kumo.json_encode({f=print})`, "json_encode: at .f: cannot serialise a function"},
		{"json_encode_pretty names the bad value", `kumo.json_encode_pretty({0/0})`, "json_encode_pretty: at [1]: cannot serialise NaN"},
		{"json_parse gives the position", `kumo.json_parse('{\n"a": }')`, "json_parse: invalid JSON at line 2, column 6"},
		{"json_parse needs a string", `kumo.json_parse({})`, "string expected, got table"},
		{"json_load reports a missing file", `kumo.json_load('does-not-exist.json')`, "json_load: open does-not-exist.json"},
		{"toml_encode needs a table with string keys", `kumo.toml_encode({1, 2})`, "toml_encode: the top-level value must be a table with string keys, got an array"},
		{"toml_encode rejects scalars", `kumo.toml_encode("x")`, "got a string"},
		{"toml_encode names the bad value", `kumo.toml_encode({a={print}})`, "toml_encode: at .a[1]: cannot serialise a function"},
		{"toml_parse gives the position", `kumo.toml_parse('a = 1\nb = ')`, "toml_parse: invalid TOML at line 2"},
		{"yaml_encode names the bad value", `kumo.yaml_encode({x=coroutine.create(print)})`, "yaml_encode: at .x: cannot serialise a thread"},
		{"yaml_parse reports malformed YAML", `kumo.yaml_parse('a: [1, 2')`, "yaml_parse: yaml:"},
		{"yaml_load reports a missing file", `kumo.yaml_load('nope.yaml')`, "yaml_load: open nope.yaml"},
		{"toml_load reports a missing file", `kumo.toml_load('nope.toml')`, "toml_load: open nope.toml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t)
			assertContains(t, evalErr(t, L, tc.lua), tc.want)
		})
	}
}

func TestLoadFunctionsReadFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"c.json":   "// config\n{\"hooks\": [\"a\", \"b\"]}\n",
		"c.toml":   "hooks = [\"a\", \"b\"]\n",
		"c.yaml":   "hooks:\n  - a\n  - b\n",
		"bad.json": "{\n  \"hooks\": [\n}\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, fn := range []string{"json_load", "toml_load", "yaml_load"} {
		t.Run(fn+" parses the file it is given", func(t *testing.T) {
			L := newState(t)
			L.SetGlobal("path", lua.LString(filepath.Join(dir, "c."+strings.TrimSuffix(fn, "_load"))))
			if got := eval(t, L, `return table.concat(kumo.serde.`+fn+`(path).hooks, ",")`).String(); got != "a,b" {
				t.Fatalf("hooks = %q", got)
			}
		})
	}
	t.Run("json_load names the file and line of a syntax error", func(t *testing.T) {
		L := newState(t)
		bad := filepath.Join(dir, "bad.json")
		L.SetGlobal("path", lua.LString(bad))
		msg := evalErr(t, L, `kumo.json_load(path)`)
		assertContains(t, msg, "json_load "+bad+": invalid JSON at line 3, column 1")
	})
}
