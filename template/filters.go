package template

import (
	"errors"
	"fmt"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// Filters, tests and functions that hookd replaces in gonja's set to behave
// as KumoMTA's (minijinja's) do.

// filterToJSON is tojson: compact JSON, or pretty-printed when given an
// indent (true for 2 spaces, or a number of spaces), positionally or as
// indent=. See jsonWriter for the exact bytes.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var indent *exec.Value
	if err := params.Take(
		exec.KeywordArgument("indent", exec.AsValue(nil), valueArgument(&indent)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	w := jsonWriter{}
	switch {
	case indent.IsNil():
	case indent.IsBool():
		if indent.Bool() {
			w.indent = "  "
		}
	case indent.IsInteger() && indent.Integer() >= 0 && indent.Integer() <= 16:
		w.indent = strings.Repeat(" ", indent.Integer())
	default:
		return exec.AsValue(fmt.Errorf("tojson: indent must be a boolean or a number of spaces from 0 to 16, not %s", indent.String()))
	}
	if err := w.value(in.Interface()); err != nil {
		return exec.AsValue(fmt.Errorf("tojson: %w", err))
	}
	return exec.AsSafeValue(string(w.buf))
}

// filterDefault is default(value, default_value="", boolean=false): the
// default replaces an undefined value, and with boolean also a false one.
// gonja's own default also replaces none, which minijinja and Jinja do not:
// `egress_source | default("x")` keeps a null egress_source.
func filterDefault(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var (
		fallback *exec.Value
		boolean  bool
	)
	if err := params.Take(
		exec.PositionalArgument("default_value", exec.AsValue(""), valueArgument(&fallback)),
		exec.KeywordArgument("boolean", exec.AsValue(false), exec.BoolArgument(&boolean)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if isUndefined(in) || (boolean && !in.IsTrue()) {
		return fallback
	}
	return in
}

// filterItems is items: the (key, value) pairs of a mapping, in the order
// a for loop visits its keys. gonja's own items follows Go's map order,
// which changes from run to run.
func filterItems(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	switch {
	case in.IsNil():
		return exec.AsValue([]any{})
	case in.IsList():
		return in
	case !in.IsDict():
		return exec.AsValue(errors.New("items: the value is not a mapping"))
	}
	var out []any
	in.Iterate(func(_, _ int, key, value *exec.Value) bool {
		out = append(out, pair{key.Interface(), value.Interface()})
		return true
	}, func() {})
	return exec.AsValue(out)
}

// pair is one item from filterItems; a for loop unpacks it into two names.
type pair []any

// String prints the pair as a Python tuple, as Jinja does.
func (p pair) String() string {
	list := exec.AsValue([]any(p)).String() // ['key', value]
	return "(" + list[1:len(list)-1] + ")"
}

// testDefined is the defined test. A field that is null in the record is
// defined (its value is none); gonja alone cannot tell the two apart.
func testDefined(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	if in.IsError() { // an error evaluating the operand is not "undefined"
		return false, errors.New(in.Error())
	}
	return !isUndefined(in), nil
}

// testUndefined is the undefined test, the opposite of testDefined.
func testUndefined(ctx *exec.Context, in *exec.Value, params *exec.VarArgs) (bool, error) {
	defined, err := testDefined(ctx, in, params)
	return !defined, err
}

// isUndefined reports whether v is gonja's undefined (a bare nil), as
// opposed to a record's null (a typed nil pointer, see null).
func isUndefined(v *exec.Value) bool {
	return !v.Val.IsValid()
}

func valueArgument(out **exec.Value) exec.ArgumentTransmuter {
	return func(v *exec.Value) error {
		*out = v
		return nil
	}
}

// maxRange is the most numbers range() makes, as in minijinja.
const maxRange = 100_000

// rangeFunc is range([start, ]stop[, step]). gonja's own range feeds a
// channel from a goroutine, which leaks whenever the template stops reading
// early ({{ range(5) | first }}); this one returns a list.
func rangeFunc(_ *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
	start, stop, step := 0, 0, 1
	for _, a := range params.Args {
		if !a.IsInteger() {
			return nil, errors.New("range: expected [start, ]stop[, step] with integer arguments")
		}
	}
	switch args := params.Args; len(args) {
	case 1:
		stop = args[0].Integer()
	case 2:
		start, stop = args[0].Integer(), args[1].Integer()
	case 3:
		start, stop, step = args[0].Integer(), args[1].Integer(), args[2].Integer()
	default:
		return nil, errors.New("range: expected [start, ]stop[, step] with integer arguments")
	}
	if step == 0 {
		return nil, errors.New("range: step cannot be 0")
	}
	var n uint64 // computed unsigned: stop-start may not fit in an int
	if step > 0 && stop > start {
		n = (uint64(stop)-uint64(start)-1)/uint64(step) + 1
	} else if step < 0 && stop < start {
		n = (uint64(start)-uint64(stop)-1)/(-uint64(step)) + 1
	}
	if n > maxRange {
		return nil, fmt.Errorf("range: more than %d numbers", maxRange)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = start + i*step
	}
	return out, nil
}
