package lua

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/throttle"
)

// fields reads the keys of a Lua table into Go values, the way KumoMTA's serde structs with
// deny_unknown_fields do: every key must be known, every value of the right type, and every error
// names the field it is about.
type fields struct {
	what string // "configure_log_hook", "make_queue_config.protocol.custom_lua", ...
	tbl  *glua.LTable
	seen map[string]bool
	err  error
}

func newFields(what string, v glua.LValue) (*fields, error) {
	tbl, ok := v.(*glua.LTable)
	if !ok {
		return nil, fmt.Errorf("%s: expected a table, got %s", what, v.Type())
	}
	f := &fields{what: what, tbl: tbl, seen: map[string]bool{}}
	return f, nil
}

func (f *fields) fail(key, format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: field `%s`: %s", f.what, key, fmt.Sprintf(format, args...))
	}
}

// get returns the value of key, or nil when absent (or explicitly nil).
func (f *fields) get(key string) glua.LValue {
	f.seen[key] = true
	v := f.tbl.RawGetString(key)
	if v == glua.LNil {
		return nil
	}
	return v
}

func (f *fields) str(key string, dst *string) bool {
	v := f.get(key)
	if v == nil {
		return false
	}
	s, ok := v.(glua.LString)
	if !ok {
		f.fail(key, "expected a string, got %s", v.Type())
		return false
	}
	*dst = string(s)
	return true
}

func (f *fields) optStr(key string) *string {
	var s string
	if f.str(key, &s) {
		return &s
	}
	return nil
}

func (f *fields) boolean(key string, dst *bool) {
	v := f.get(key)
	if v == nil {
		return
	}
	b, ok := v.(glua.LBool)
	if !ok {
		f.fail(key, "expected a boolean, got %s", v.Type())
		return
	}
	*dst = bool(b)
}

func (f *fields) integer(key string, lo, hi int64, dst *int) bool {
	v := f.get(key)
	if v == nil {
		return false
	}
	n, ok := v.(glua.LNumber)
	if !ok || float64(n) != math.Trunc(float64(n)) {
		f.fail(key, "expected an integer, got %s", describe(v))
		return false
	}
	if int64(n) < lo || int64(n) > hi {
		f.fail(key, "%d is out of range [%d, %d]", int64(n), lo, hi)
		return false
	}
	*dst = int(n)
	return true
}

func (f *fields) duration(key string, dst *time.Duration) bool {
	v := f.get(key)
	if v == nil {
		return false
	}
	d, err := toDuration(v)
	if err != nil {
		f.fail(key, "%v", err)
		return false
	}
	*dst = d
	return true
}

func (f *fields) strList(key string) []string {
	v := f.get(key)
	if v == nil {
		return nil
	}
	tbl, ok := v.(*glua.LTable)
	if !ok {
		f.fail(key, "expected a list of strings, got %s", v.Type())
		return nil
	}
	out := make([]string, 0, tbl.Len())
	for i := 1; i <= tbl.Len(); i++ {
		s, ok := tbl.RawGetInt(i).(glua.LString)
		if !ok {
			f.fail(key, "item %d: expected a string, got %s", i, tbl.RawGetInt(i).Type())
			return nil
		}
		out = append(out, string(s))
	}
	if n := countKeys(tbl); n != len(out) {
		f.fail(key, "expected a list of strings, got a table with non-sequence keys")
	}
	return out
}

// threshold reads a free-space threshold: "N%" or a number, returned as text ("" when absent).
func (f *fields) threshold(key string) string {
	switch v := f.get(key).(type) {
	case nil:
		return ""
	case glua.LString:
		return string(v)
	case glua.LNumber:
		if float64(v) < 0 || float64(v) != math.Trunc(float64(v)) {
			f.fail(key, "expected a whole number or a percentage such as \"10%%\", got %v", v)
		}
		return v.String()
	default:
		f.fail(key, "expected a number or a percentage such as \"10%%\", got %s", v.Type())
		return ""
	}
}

// throttle reads a throttle spec such as "100/s" or "10/min,max_burst=5" (zero Spec when absent).
func (f *fields) throttle(key string) throttle.Spec {
	var s string
	if !f.str(key, &s) {
		return throttle.Spec{}
	}
	spec, err := throttle.Parse(s)
	if err != nil {
		f.fail(key, "%v", err)
	}
	return spec
}

// done reports the first error, or an unknown key.
func (f *fields) done() error {
	if f.err != nil {
		return f.err
	}
	var unknown []string
	f.tbl.ForEach(func(k, _ glua.LValue) {
		ks, ok := k.(glua.LString)
		if !ok || !f.seen[string(ks)] {
			unknown = append(unknown, k.String())
		}
	})
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	known := make([]string, 0, len(f.seen))
	for k := range f.seen {
		known = append(known, "`"+k+"`")
	}
	sort.Strings(known)
	return fmt.Errorf("%s: unknown field `%s`, expected one of %s", f.what, unknown[0], strings.Join(known, ", "))
}

func countKeys(t *glua.LTable) int {
	n := 0
	t.ForEach(func(_, _ glua.LValue) { n++ })
	return n
}

// toDuration converts a Lua duration: a number of seconds (fractions allowed) or humantime text.
func toDuration(v glua.LValue) (time.Duration, error) {
	switch v := v.(type) {
	case glua.LNumber:
		f := float64(v)
		if f < 0 || math.IsNaN(f) || f*float64(time.Second) > math.MaxInt64 {
			return 0, fmt.Errorf("invalid duration %v: must be a non-negative number of seconds", f)
		}
		return time.Duration(f * float64(time.Second)), nil
	case glua.LString:
		d, err := message.ParseDuration(string(v))
		if err != nil {
			return 0, err
		}
		return d, nil
	default:
		return 0, fmt.Errorf("expected a duration (seconds or text such as \"5m\"), got %s", v.Type())
	}
}

func describe(v glua.LValue) string {
	if n, ok := v.(glua.LNumber); ok {
		return "number " + n.String()
	}
	return v.Type().String()
}
