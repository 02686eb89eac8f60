package luaserde

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	toml "github.com/pelletier/go-toml/v2"
	lua "github.com/yuin/gopher-lua"
	"gopkg.in/yaml.v3"
)

// functions lists the members of kumo.serde. The ones flagged alias are
// also installed directly on kumo, as KumoMTA keeps them there for older
// policies.
var functions = []struct {
	name  string
	fn    lua.LGFunction
	alias bool
}{
	{"json_encode", luaJSONEncode, true},
	{"json_encode_pretty", luaJSONEncodePretty, true},
	{"json_parse", luaJSONParse, true},
	{"json_load", luaJSONLoad, true},
	{"toml_encode", luaTOMLEncode, true},
	{"toml_encode_pretty", luaTOMLEncodePretty, true},
	{"toml_parse", luaTOMLParse, true},
	{"toml_load", luaTOMLLoad, true},
	{"yaml_encode", luaYAMLEncode, true},
	{"yaml_parse", luaYAMLParse, true},
	{"yaml_load", luaYAMLLoad, true},
}

// Open installs the serde module into kumo: kumo.serde.<fn> for every
// function, and the same functions as kumo.<fn> aliases.
func Open(L *lua.LState, kumo *lua.LTable) {
	serde := L.CreateTable(0, len(functions))
	for _, f := range functions {
		fn := L.NewFunction(f.fn)
		serde.RawSetString(f.name, fn)
		if f.alias {
			kumo.RawSetString(f.name, fn)
		}
	}
	kumo.RawSetString("serde", serde)
}

func luaJSONEncode(L *lua.LState) int {
	out, err := ToJSON(L.Get(1))
	if err != nil {
		L.RaiseError("json_encode: %v", err)
	}
	L.Push(lua.LString(out))
	return 1
}

func luaJSONEncodePretty(L *lua.LState) int {
	out, err := ToJSONPretty(L.Get(1))
	if err != nil {
		L.RaiseError("json_encode_pretty: %v", err)
	}
	L.Push(lua.LString(out))
	return 1
}

func luaJSONParse(L *lua.LState) int {
	v, err := FromJSON(L, StripComments([]byte(L.CheckString(1))))
	if err != nil {
		L.RaiseError("json_parse: %v", err)
	}
	L.Push(v)
	return 1
}

func luaJSONLoad(L *lua.LState) int {
	path, data := readFileArg(L, "json_load")
	v, err := FromJSON(L, StripComments(data))
	if err != nil {
		L.RaiseError("json_load %s: %v", path, err)
	}
	L.Push(v)
	return 1
}

// readFileArg reads the file named by argument 1, raising a Lua error that
// names fn on failure.
func readFileArg(L *lua.LState, fn string) (string, []byte) {
	path := L.CheckString(1)
	data, err := os.ReadFile(path)
	if err != nil {
		L.RaiseError("%s: %v", fn, err)
	}
	return path, data
}

func luaTOMLEncode(L *lua.LState) int {
	return tomlEncode(L, "toml_encode", func(enc *toml.Encoder) {})
}

func luaTOMLEncodePretty(L *lua.LState) int {
	return tomlEncode(L, "toml_encode_pretty", func(enc *toml.Encoder) {
		enc.SetIndentTables(true).SetArraysMultiline(true)
	})
}

func tomlEncode(L *lua.LState, fn string, configure func(*toml.Encoder)) int {
	v, err := toGo(L.Get(1))
	if err != nil {
		L.RaiseError("%s: %v", fn, err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		L.RaiseError("%s: the top-level value must be a table with string keys, got %s", fn, describeGo(v))
	}
	var buf bytes.Buffer
	enc := toml.NewEncoder(&buf)
	configure(enc)
	if err := guard(func() error { return enc.Encode(doc) }); err != nil {
		L.RaiseError("%s: %v", fn, err)
	}
	L.Push(lua.LString(buf.String()))
	return 1
}

func describeGo(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case nil:
		return "nil"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

func luaTOMLParse(L *lua.LState) int {
	L.Push(parseTOML(L, "toml_parse", []byte(L.CheckString(1))))
	return 1
}

func luaTOMLLoad(L *lua.LState) int {
	path, data := readFileArg(L, "toml_load")
	L.Push(parseTOML(L, "toml_load "+path, data))
	return 1
}

func parseTOML(L *lua.LState, what string, data []byte) lua.LValue {
	var doc map[string]any
	err := guard(func() error { return toml.Unmarshal(data, &doc) })
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, col := de.Position()
		L.RaiseError("%s: invalid TOML at line %d, column %d: %v", what, row, col, de)
	}
	if err != nil {
		L.RaiseError("%s: %v", what, err)
	}
	lv, err := fromAny(L, doc, 0)
	if err != nil {
		L.RaiseError("%s: %v", what, err)
	}
	return lv
}

func luaYAMLEncode(L *lua.LState) int {
	v, err := toGo(L.Get(1))
	if err != nil {
		L.RaiseError("yaml_encode: %v", err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := guard(func() error { return errors.Join(enc.Encode(v), enc.Close()) }); err != nil {
		L.RaiseError("yaml_encode: %v", err)
	}
	L.Push(lua.LString(buf.String()))
	return 1
}

func luaYAMLParse(L *lua.LState) int {
	L.Push(parseYAML(L, "yaml_parse", []byte(L.CheckString(1))))
	return 1
}

func luaYAMLLoad(L *lua.LState) int {
	path, data := readFileArg(L, "yaml_load")
	L.Push(parseYAML(L, "yaml_load "+path, data))
	return 1
}

func parseYAML(L *lua.LState, what string, data []byte) lua.LValue {
	var doc any
	if err := guard(func() error { return yaml.Unmarshal(data, &doc) }); err != nil {
		L.RaiseError("%s: %v", what, err)
	}
	lv, err := fromAny(L, doc, 0)
	if err != nil {
		L.RaiseError("%s: %v", what, err)
	}
	return lv
}

// guard runs a third-party encoder or parser and turns a panic inside it
// into an error, so that no input can crash the Lua state's owner. It must
// not wrap calls that raise Lua errors (those are panics by design).
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	return fn()
}
