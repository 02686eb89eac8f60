package luaserde

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
)

// MaxDepth is the deepest nesting of tables (JSON arrays and objects) that
// the encoders and decoders in this package accept.
const MaxDepth = 128

// JSONMarshaler is implemented by Go values, carried in the Value field of a
// Lua userdata, that know how to serialise themselves. Other packages use it
// to make their userdata (a Message, for instance) encodable with
// kumo.json_encode. The returned bytes must be one valid JSON value.
type JSONMarshaler interface {
	LuaToJSON() ([]byte, error)
}

// ToJSON encodes v as compact JSON following the mapping described in the
// package documentation. Object keys come out in the table's insertion order.
func ToJSON(v lua.LValue) ([]byte, error) {
	return AppendJSON(nil, v)
}

// AppendJSON appends the compact JSON encoding of v to dst and returns the
// extended buffer. On error the returned buffer is dst unchanged.
func AppendJSON(dst []byte, v lua.LValue) ([]byte, error) {
	if s, ok := v.(lua.LString); ok && dst == nil {
		dst = make([]byte, 0, len(s)+len(s)/8+2) // room for the quotes and a few escapes
	}
	enc := encoder{buf: dst} // the stack is made by the first table
	if err := enc.value(v); err != nil {
		return dst, err
	}
	return enc.buf, nil
}

// ToJSONPretty encodes v as JSON indented by two spaces per level, with the
// keys of every object sorted (byte-wise), as kumo.json_encode_pretty does.
func ToJSONPretty(v lua.LValue) ([]byte, error) {
	enc := encoder{pretty: true}
	if err := enc.value(v); err != nil {
		return nil, err
	}
	return enc.buf, nil
}

// encoder writes one value. stack holds the tables being encoded, outermost
// first; it is both the cycle detector and the depth counter.
type encoder struct {
	buf    []byte
	pretty bool
	stack  []*lua.LTable
}

func (e *encoder) value(v lua.LValue) error {
	switch x := v.(type) {
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case lua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(x))
	case lua.LNumber:
		b, err := appendNumber(e.buf, float64(x))
		if err != nil {
			return err
		}
		e.buf = b
	case lua.LString:
		e.str(string(x))
	case *lua.LTable:
		return e.table(x)
	case *lua.LUserData:
		return e.userdata(x)
	default:
		return &encodeError{reason: "cannot serialise a " + v.Type().String()}
	}
	return nil
}

func (e *encoder) userdata(ud *lua.LUserData) error {
	raw, err := marshalUserData(ud)
	if err != nil {
		return err
	}
	// Compacted with its strings by hookd's rule, then indented when pretty printing (which
	// leaves strings alone).
	compact, err := message.AppendCompactJSON(nil, raw)
	if err != nil {
		return &encodeError{reason: fmt.Sprintf("%T.LuaToJSON returned invalid JSON: %v", ud.Value, err)}
	}
	if !e.pretty {
		e.buf = append(e.buf, compact...)
		return nil
	}
	var out bytes.Buffer
	_ = json.Indent(&out, compact, e.indentPrefix(), "  ") // compact is valid JSON
	e.buf = append(e.buf, out.Bytes()...)
	return nil
}

// str writes a Lua string as KumoMTA does (mlua serialises a Lua string that is valid UTF-8 as a
// string, any other as bytes, which serde_json writes as an array of numbers): valid UTF-8 by
// message.AppendJSONString, anything else as the array of its byte values, [97,255] for "a\xff".
func (e *encoder) str(s string) {
	if utf8.ValidString(s) {
		e.buf = message.AppendJSONString(e.buf, s)
		return
	}
	e.buf = append(e.buf, '[')
	for i := 0; i < len(s); i++ {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if e.pretty {
			e.newline(len(e.stack) + 1)
		}
		e.buf = strconv.AppendUint(e.buf, uint64(s[i]), 10)
	}
	if e.pretty {
		e.newline(len(e.stack))
	}
	e.buf = append(e.buf, ']')
}

// marshalUserData calls the JSONMarshaler carried by ud, if any.
func marshalUserData(ud *lua.LUserData) ([]byte, error) {
	m, ok := ud.Value.(JSONMarshaler)
	if !ok {
		return nil, &encodeError{reason: fmt.Sprintf("cannot serialise userdata holding %T", ud.Value)}
	}
	raw, err := m.LuaToJSON()
	if err != nil {
		return nil, &encodeError{reason: fmt.Sprintf("%T.LuaToJSON: %v", ud.Value, err)}
	}
	return raw, nil
}

func (e *encoder) indentPrefix() string {
	return strings.Repeat("  ", len(e.stack))
}

// newline starts a new line indented for the given nesting level.
func (e *encoder) newline(level int) {
	e.buf = append(e.buf, '\n')
	for range level {
		e.buf = append(e.buf, ' ', ' ')
	}
}

// push enters tbl, refusing cycles and excessive depth.
func (e *encoder) push(tbl *lua.LTable) error {
	if slices.Contains(e.stack, tbl) {
		return &encodeError{reason: "table contains itself (cycle)"}
	}
	if len(e.stack) >= MaxDepth {
		return &encodeError{reason: fmt.Sprintf("tables nested deeper than %d levels", MaxDepth)}
	}
	if e.stack == nil {
		e.stack = make([]*lua.LTable, 0, 8)
	}
	e.stack = append(e.stack, tbl)
	return nil
}

func (e *encoder) pop() { e.stack = e.stack[:len(e.stack)-1] }

func (e *encoder) table(tbl *lua.LTable) error {
	Expand(tbl)
	if err := e.push(tbl); err != nil {
		return err
	}
	defer e.pop()
	switch n := arrayLen(tbl); {
	case n > 0:
		return e.array(tbl, n)
	case e.pretty:
		return e.sortedObject(tbl)
	default:
		return e.object(tbl)
	}
}

func (e *encoder) array(tbl *lua.LTable, n int) error {
	e.buf = append(e.buf, '[')
	for i := 1; i <= n; i++ {
		if i > 1 {
			e.buf = append(e.buf, ',')
		}
		if e.pretty {
			e.newline(len(e.stack))
		}
		if err := e.value(tbl.RawGetInt(i)); err != nil {
			return prependPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	e.closeContainer(']')
	return nil
}

// closeContainer writes the closing bracket of the innermost container,
// on its own line when pretty printing.
func (e *encoder) closeContainer(c byte) {
	if e.pretty {
		e.newline(len(e.stack) - 1)
	}
	e.buf = append(e.buf, c)
}

// object writes tbl in insertion order. Number keys are rare in objects,
// so the check that no number key collides with a string key once
// stringified runs only when one was seen.
func (e *encoder) object(tbl *lua.LTable) error {
	e.buf = append(e.buf, '{')
	first, sawNumber := true, false
	for k, v := tbl.Next(lua.LNil); k != lua.LNil; k, v = tbl.Next(k) {
		key, err := keyString(k)
		if err == nil {
			err = textKey(key)
		}
		if err != nil {
			return err
		}
		_, isNumber := k.(lua.LNumber)
		sawNumber = sawNumber || isNumber
		if !first {
			e.buf = append(e.buf, ',')
		}
		first = false
		e.buf = message.AppendJSONString(e.buf, key)
		e.buf = append(e.buf, ':')
		if err := e.value(v); err != nil {
			return prependPath(err, pathKey(key))
		}
	}
	e.buf = append(e.buf, '}')
	if sawNumber {
		return checkKeyCollisions(tbl)
	}
	return nil
}

func (e *encoder) sortedObject(tbl *lua.LTable) error {
	entries, err := sortedEntries(tbl)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		e.buf = append(e.buf, "{}"...)
		return nil
	}
	e.buf = append(e.buf, '{')
	for i, ent := range entries {
		if err := textKey(ent.key); err != nil {
			return err
		}
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.newline(len(e.stack))
		e.buf = message.AppendJSONString(e.buf, ent.key)
		e.buf = append(e.buf, ": "...)
		if err := e.value(ent.value); err != nil {
			return prependPath(err, pathKey(ent.key))
		}
	}
	e.closeContainer('}')
	return nil
}

// textKey refuses a member name that is not valid UTF-8: a JSON key must be a string, and such a
// Lua string is bytes (serde_json, under KumoMTA's json_encode, fails with "key must be a string").
func textKey(key string) error {
	if utf8.ValidString(key) {
		return nil
	}
	return &encodeError{reason: fmt.Sprintf("table key %q is not valid UTF-8 and cannot be a JSON object key", key)}
}

// appendNumber writes f the way encoding/json does (shortest round-trip
// form, exponent only outside [1e-6, 1e21)), so whole numbers have no
// fraction.
func appendNumber(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) {
		return dst, &encodeError{reason: "cannot serialise NaN"}
	}
	if math.IsInf(f, 0) {
		return dst, &encodeError{reason: "cannot serialise an infinite number"}
	}
	abs := math.Abs(f)
	if abs == 0 || (abs >= 1e-6 && abs < 1e21) {
		return strconv.AppendFloat(dst, f, 'f', -1, 64), nil
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Turn e-07 into e-7, as encoding/json does.
	if n := len(dst) - start; n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
		dst[len(dst)-2] = dst[len(dst)-1]
		dst = dst[:len(dst)-1]
	}
	return dst, nil
}
