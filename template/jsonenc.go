package template

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"

	"github.com/hookd/hookd/message"
)

// maxJSONDepth bounds nesting in tojson. Values built from a record are
// shallow; the bound only stops a template that made a cycle (for example
// with dict.update) from overflowing the stack, which Go cannot recover.
const maxJSONDepth = 64

// jsonWriter encodes template values the way KumoMTA's tojson filter
// (minijinja) does: serde_json output, compact or pretty-printed, in which
// <, >, & and ' are then written as \u003c, \u003e, \u0026 and \u0027 so
// that the text is safe inside HTML too. Strings are otherwise written by
// the rule of every JSON text hookd writes (message.AppendJSONString), so
// `log_record | tojson` gives the record's own JSON with only those four
// characters escaped.
type jsonWriter struct {
	buf    []byte
	indent string // one level of indentation; "" writes compact JSON
	depth  int
}

func (w *jsonWriter) value(v any) error {
	switch x := v.(type) {
	case nil, *null:
		w.buf = append(w.buf, "null"...)
	case bool:
		w.buf = strconv.AppendBool(w.buf, x)
	case string:
		w.str(x)
	case int64:
		w.buf = strconv.AppendInt(w.buf, x, 10)
	case int:
		w.buf = strconv.AppendInt(w.buf, int64(x), 10)
	case uint64:
		w.buf = strconv.AppendUint(w.buf, x, 10)
	case float64:
		w.buf = appendFloat(w.buf, x)
	case recordObject:
		return w.object(x, recordFields)
	case responseObject:
		return w.object(x, responseFields)
	case enhancedObject:
		return w.object(x, enhancedFields)
	case peerObject:
		return w.object(x, peerFields)
	case map[string]any:
		return w.object(x, nil)
	case []any:
		return w.array(len(x), func(i int) any { return x[i] })
	case *exec.Value:
		if x == nil {
			return w.value(nil)
		}
		return w.value(x.Interface())
	case exec.Dict:
		return w.dict(&x)
	case *exec.Dict:
		return w.dict(x)
	default:
		return w.reflected(reflect.ValueOf(v))
	}
	return nil
}

// object writes m with the keys in order first and any others after them,
// sorted; with no order every key is sorted.
func (w *jsonWriter) object(m map[string]any, order []string) error {
	keys := make([]string, 0, len(m))
	for _, k := range order {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) < len(m) {
		known := len(keys)
		for k := range m {
			if !slices.Contains(keys[:known], k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys[known:])
	}
	return w.members(len(keys), func(i int) (string, any) { return keys[i], m[keys[i]] })
}

// dict writes a dictionary made by the template itself (a {...} literal or
// dict()), with its keys sorted.
func (w *jsonWriter) dict(d *exec.Dict) error {
	m := make(map[string]any, len(d.Pairs))
	for _, p := range d.Pairs {
		m[p.Key.String()] = p.Value
	}
	return w.object(m, nil)
}

// reflected handles the remaining Go types the template library produces:
// other integer and float widths, its own slice and map types, pointers.
func (w *jsonWriter) reflected(rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.Invalid:
		return w.value(nil)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return w.value(nil)
		}
		return w.value(rv.Elem().Interface())
	case reflect.Bool:
		return w.value(rv.Bool())
	case reflect.String:
		return w.value(rv.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return w.value(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return w.value(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return w.value(rv.Float())
	case reflect.Slice, reflect.Array:
		return w.array(rv.Len(), func(i int) any { return rv.Index(i).Interface() })
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		m := make(map[string]any, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			m[it.Key().String()] = it.Value().Interface()
		}
		return w.object(m, nil)
	}
	return fmt.Errorf("cannot serialize a value of type %s to JSON", rv.Type())
}

func (w *jsonWriter) array(n int, item func(int) any) error {
	if err := w.open('['); err != nil {
		return err
	}
	for i := range n {
		w.separate(i)
		if err := w.value(item(i)); err != nil {
			return err
		}
	}
	w.close(']', n)
	return nil
}

func (w *jsonWriter) members(n int, member func(int) (string, any)) error {
	if err := w.open('{'); err != nil {
		return err
	}
	for i := range n {
		w.separate(i)
		k, v := member(i)
		w.str(k)
		w.buf = append(w.buf, ':')
		if w.indent != "" {
			w.buf = append(w.buf, ' ')
		}
		if err := w.value(v); err != nil {
			return err
		}
	}
	w.close('}', n)
	return nil
}

func (w *jsonWriter) open(c byte) error {
	if w.depth >= maxJSONDepth {
		return fmt.Errorf("cannot serialize to JSON: nested deeper than %d levels", maxJSONDepth)
	}
	w.depth++
	w.buf = append(w.buf, c)
	return nil
}

// separate writes what goes before item i of an array or object.
func (w *jsonWriter) separate(i int) {
	if i > 0 {
		w.buf = append(w.buf, ',')
	}
	w.newline()
}

func (w *jsonWriter) close(c byte, n int) {
	w.depth--
	if n > 0 {
		w.newline()
	}
	w.buf = append(w.buf, c)
}

func (w *jsonWriter) newline() {
	if w.indent == "" {
		return
	}
	w.buf = append(w.buf, '\n')
	for range w.depth {
		w.buf = append(w.buf, w.indent...)
	}
}

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string: by hookd's one rule (message.AppendJSONString, serde_json's: `"`,
// `\` and control characters escaped, everything else raw UTF-8), and then minijinja's HTML
// escapes on top: <, >, & and the apostrophe as \u003c, \u003e, \u0026 and \u0027. In the rule's
// output those four bytes only ever stand for themselves, so replacing them is exactly that.
func (w *jsonWriter) str(s string) {
	start := len(w.buf)
	w.buf = message.AppendJSONString(w.buf, s)
	if !strings.ContainsAny(s, "<>&'") {
		return
	}
	i := start + bytes.IndexAny(w.buf[start:], "<>&'")
	rest := append([]byte(nil), w.buf[i:]...)
	w.buf = w.buf[:i]
	for _, c := range rest {
		switch c {
		case '<', '>', '&', '\'':
			w.buf = append(w.buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			w.buf = append(w.buf, c)
		}
	}
}

// appendFloat writes f as serde_json does (Rust's shortest round-trip form,
// as the ryu crate lays it out): 100.0, 0.5, 1e21, 1.5e-7; NaN and the
// infinities, which JSON cannot hold, as null.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if math.Signbit(f) {
		dst = append(dst, '-')
		f = -f
	}
	if f == 0 {
		return append(dst, "0.0"...)
	}
	// Shortest digits d.ddd and exponent from strconv, laid out again.
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	point := x + 1 // digits before the decimal point
	switch {
	case point >= len(digits) && point <= 16: // integral: 100.0
		dst = append(dst, digits...)
		dst = append(dst, strings.Repeat("0", point-len(digits))...)
		return append(dst, ".0"...)
	case point > 0 && point <= 16: // 12.5
		dst = append(dst, digits[:point]...)
		dst = append(dst, '.')
		return append(dst, digits[point:]...)
	case point > -5 && point <= 0: // 0.00125
		dst = append(dst, "0."...)
		dst = append(dst, strings.Repeat("0", -point)...)
		return append(dst, digits...)
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(x), 10)
}
