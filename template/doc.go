// Package template renders KumoMTA per-record templates: the Jinja
// `template` of a log hook's per_record entry, which replaces the record's
// JSON as the body of the message the hook generates.
//
// Compile a template once, when the hook is configured, and render it for
// every record of its type:
//
//	t, err := template.Compile(`{{ type }} {{ id }}: {{ response.code }}`, "Bounce")
//	if err != nil {
//		return err // KumoMTA's "compiling template:\n...\nfor log record type Bounce: ..."
//	}
//	body, err := t.Render(rec)
//
// The engine is gonja (github.com/nikolalohinski/gonja/v2); CHOICE.md in
// this directory says why. KumoMTA uses minijinja. Where the two differ on
// what per-record templates commonly do, hookd follows minijinja:
//
//   - tojson writes compact JSON with <, >, & and ' escaped as \u003c,
//     \u003e, \u0026 and \u0027; `log_record | tojson` keeps the record's
//     field order (as do response, response.enhanced_code and
//     peer_address), every other object has its keys sorted. indent=N or
//     indent=true pretty-prints.
//   - default replaces only an undefined value (or, with boolean=true, a
//     false one); a field that is null in the record stays none. The
//     defined test is true for such a field.
//   - The items filter lists keys in the order a for loop visits them.
//   - A filter or test that does not exist fails Compile, naming the line;
//     minijinja would only fail when rendering reached it.
//
// Differences that remain (gonja's behaviour): none prints as the empty
// string; True and False print capitalised; lists and objects print in
// Python style (['a', 'b']); a for loop over an object visits its keys in
// case-insensitive order; an integer division by zero gives a number
// rather than an error (a modulo by zero is caught and returned as an
// error); include, import and extends cannot load anything.
package template
