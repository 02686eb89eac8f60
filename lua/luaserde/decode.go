package luaserde

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// SyntaxError describes malformed JSON and where it was found.
type SyntaxError struct {
	// Offset is the byte offset of the problem in the input.
	Offset int
	// Line and Column (both 1-based, Column in bytes) locate Offset.
	Line, Column int
	// Msg says what was wrong.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// FromJSON parses one JSON value (surrounding whitespace allowed, comments
// not; see [StripComments]) and builds the matching Lua value. JSON null
// becomes nil, so null members vanish from objects and leave holes in
// arrays. Invalid UTF-8 inside strings becomes U+FFFD, numbers outside the
// float64 range and nesting beyond [MaxDepth] are errors. Errors are
// *SyntaxError.
func FromJSON(L *lua.LState, b []byte) (lua.LValue, error) {
	d := decoderPool.Get().(*decoder)
	defer d.release()
	d.L, d.data, d.pos, d.depth = L, b, 0, 0
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return lua.LNil, err
	}
	d.skipSpace()
	if d.pos < len(d.data) {
		return lua.LNil, d.errorf("unexpected %s after the value", d.describe())
	}
	return v, nil
}

// decoderPool recycles decoders so that their scratch stacks are reused
// across calls.
var decoderPool = sync.Pool{New: func() any { return new(decoder) }}

// release drops every reference the decoder holds and returns it to the
// pool. Oversized scratch buffers are not kept.
func (d *decoder) release() {
	clear(d.values[:cap(d.values)])
	clear(d.keys[:cap(d.keys)])
	d.L, d.data = nil, nil
	if cap(d.values) > 1024 || cap(d.keys) > 1024 || cap(d.str) > 64<<10 {
		*d = decoder{}
	}
	d.values, d.keys, d.str = d.values[:0], d.keys[:0], d.str[:0]
	decoderPool.Put(d)
}

// decoder is a single-pass recursive-descent parser that builds Lua values
// directly. values and keys are scratch stacks shared by all nesting levels
// so that containers can be allocated at their exact size.
type decoder struct {
	L      *lua.LState
	data   []byte
	pos    int
	depth  int
	values []lua.LValue
	keys   []string
	str    []byte
}

func (d *decoder) errorf(format string, args ...any) error {
	line := 1 + bytes.Count(d.data[:d.pos], []byte{'\n'})
	col := d.pos - bytes.LastIndexByte(d.data[:d.pos], '\n')
	return &SyntaxError{Offset: d.pos, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

// describe names the byte at the current position for error messages.
func (d *decoder) describe() string {
	if d.pos >= len(d.data) {
		return "end of input"
	}
	return fmt.Sprintf("character %q", d.data[d.pos])
}

func (d *decoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) value() (lua.LValue, error) {
	if d.pos >= len(d.data) {
		return lua.LNil, d.errorf("unexpected end of input, expected a value")
	}
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		s, err := d.string()
		return lua.LString(s), err
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	case c == 't':
		return lua.LTrue, d.literal("true")
	case c == 'f':
		return lua.LFalse, d.literal("false")
	case c == 'n':
		return lua.LNil, d.literal("null")
	default:
		return lua.LNil, d.errorf("unexpected %s, expected a value", d.describe())
	}
}

func (d *decoder) literal(word string) error {
	if !bytes.HasPrefix(d.data[d.pos:], []byte(word)) {
		return d.errorf("invalid literal, expected %q", word)
	}
	d.pos += len(word)
	return nil
}

func (d *decoder) enter() error {
	d.depth++
	if d.depth > MaxDepth {
		return d.errorf("nesting deeper than %d levels", MaxDepth)
	}
	return nil
}

func (d *decoder) array() (lua.LValue, error) {
	if err := d.enter(); err != nil {
		return lua.LNil, err
	}
	d.pos++ // '['
	base := len(d.values)
	if err := d.elements(']', d.element); err != nil {
		return lua.LNil, err
	}
	items := d.values[base:]
	tbl := d.L.CreateTable(len(items), 0)
	for i, v := range items {
		if v != lua.LNil {
			tbl.RawSetInt(i+1, v)
		}
	}
	clear(items)
	d.values = d.values[:base]
	d.depth--
	return tbl, nil
}

// elements parses the comma-separated items of a container up to and
// including its closing bracket, calling item for each.
func (d *decoder) elements(closing byte, item func() error) error {
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == closing {
		d.pos++
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		done, err := d.separator(closing)
		if err != nil || done {
			return err
		}
	}
}

// element parses one array item onto the scratch stack.
func (d *decoder) element() error {
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return err
	}
	d.values = append(d.values, v)
	return nil
}

// separator consumes the ',' between members or the closing bracket and
// reports whether the container ended.
func (d *decoder) separator(closing byte) (bool, error) {
	d.skipSpace()
	if d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ',':
			d.pos++
			return false, nil
		case closing:
			d.pos++
			return true, nil
		}
	}
	return false, d.errorf("unexpected %s, expected ',' or '%c'", d.describe(), closing)
}

func (d *decoder) object() (lua.LValue, error) {
	if err := d.enter(); err != nil {
		return lua.LNil, err
	}
	d.pos++ // '{'
	base, keyBase := len(d.values), len(d.keys)
	if err := d.elements('}', d.member); err != nil {
		return lua.LNil, err
	}
	values, keys := d.values[base:], d.keys[keyBase:]
	tbl := d.L.CreateTable(0, len(values))
	for i, v := range values {
		// A nil value deletes the key, so "last one wins" holds for
		// duplicate keys, null included.
		tbl.RawSetString(keys[i], v)
	}
	clear(values)
	d.values, d.keys = d.values[:base], d.keys[:keyBase]
	d.depth--
	return tbl, nil
}

// member parses `"key": value` onto the scratch stacks.
func (d *decoder) member() error {
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		return d.errorf("unexpected %s, expected a string key", d.describe())
	}
	key, err := d.string()
	if err != nil {
		return err
	}
	d.skipSpace()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		return d.errorf("unexpected %s, expected ':'", d.describe())
	}
	d.pos++
	d.skipSpace()
	v, err := d.value()
	if err != nil {
		return err
	}
	d.keys = append(d.keys, key)
	d.values = append(d.values, v)
	return nil
}

func (d *decoder) number() (lua.LValue, error) {
	start := d.pos
	if d.data[d.pos] == '-' {
		d.pos++
	}
	intStart := d.pos
	switch {
	case d.pos < len(d.data) && d.data[d.pos] == '0':
		d.pos++
	case d.pos < len(d.data) && d.data[d.pos] >= '1' && d.data[d.pos] <= '9':
		d.skipDigits()
	default:
		return lua.LNil, d.errorf("invalid number, expected a digit")
	}
	intEnd := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '.' {
		d.pos++
		if d.skipDigits() == 0 {
			return lua.LNil, d.errorf("invalid number, expected a digit after '.'")
		}
	}
	if d.pos < len(d.data) && (d.data[d.pos] == 'e' || d.data[d.pos] == 'E') {
		d.pos++
		if d.pos < len(d.data) && (d.data[d.pos] == '+' || d.data[d.pos] == '-') {
			d.pos++
		}
		if d.skipDigits() == 0 {
			return lua.LNil, d.errorf("invalid number, expected a digit in the exponent")
		}
	}
	// Fast path: short integers are exact in float64.
	if intEnd == d.pos && intEnd-intStart <= 15 {
		var n int64
		for _, c := range d.data[intStart:intEnd] {
			n = n*10 + int64(c-'0')
		}
		if start != intStart {
			n = -n
		}
		return lua.LNumber(n), nil
	}
	f, err := strconv.ParseFloat(string(d.data[start:d.pos]), 64)
	if err != nil && math.IsInf(f, 0) {
		d.pos = start
		return lua.LNil, d.errorf("number out of range")
	}
	return lua.LNumber(f), nil
}

func (d *decoder) skipDigits() int {
	start := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	return d.pos - start
}

// string parses a JSON string starting at the opening quote.
func (d *decoder) string() (string, error) {
	d.pos++ // opening quote
	start := d.pos
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		if c == '"' {
			s := string(d.data[start:d.pos])
			d.pos++
			return s, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return d.slowString(start)
		}
		d.pos++
	}
	return "", d.errorf("unterminated string")
}

// slowString handles strings with escapes, control characters or non-ASCII
// bytes, continuing from d.pos with the plain prefix data[start:d.pos].
func (d *decoder) slowString(start int) (string, error) {
	buf := append(d.str[:0], d.data[start:d.pos]...)
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			d.str = buf
			return string(buf), nil
		case c == '\\':
			var err error
			if buf, err = d.escape(buf); err != nil {
				return "", err
			}
		case c < 0x20:
			return "", d.errorf("control character %q in string", c)
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			d.pos++
		default:
			r, size := utf8.DecodeRune(d.data[d.pos:])
			buf = utf8.AppendRune(buf, r) // RuneError for invalid bytes
			d.pos += size
		}
	}
	return "", d.errorf("unterminated string")
}

// escape decodes one backslash escape at d.pos and appends it to buf.
func (d *decoder) escape(buf []byte) ([]byte, error) {
	if d.pos+1 >= len(d.data) {
		d.pos = len(d.data)
		return buf, d.errorf("unterminated string")
	}
	c := d.data[d.pos+1]
	d.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r, err := d.hex4()
		if err != nil {
			return buf, err
		}
		if utf16.IsSurrogate(r) {
			r = d.lowSurrogate(r)
		}
		return utf8.AppendRune(buf, r), nil
	default:
		d.pos--
		return buf, d.errorf("invalid escape '\\%c' in string", c)
	}
}

// lowSurrogate completes a UTF-16 pair when `\uDCxx` follows; an unpaired
// surrogate becomes U+FFFD, as encoding/json does.
func (d *decoder) lowSurrogate(high rune) rune {
	save := d.pos
	if d.pos+1 < len(d.data) && d.data[d.pos] == '\\' && d.data[d.pos+1] == 'u' {
		d.pos += 2
		if low, err := d.hex4(); err == nil {
			if r := utf16.DecodeRune(high, low); r != utf8.RuneError {
				return r
			}
		}
	}
	d.pos = save
	return utf8.RuneError
}

func (d *decoder) hex4() (rune, error) {
	if d.pos+4 > len(d.data) {
		return 0, d.errorf("invalid \\u escape in string")
	}
	var r rune
	for _, c := range d.data[d.pos : d.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, d.errorf("invalid \\u escape in string")
		}
		r = r<<4 | rune(c)
	}
	d.pos += 4
	return r, nil
}
