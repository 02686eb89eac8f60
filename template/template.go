package template

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/parser"

	"github.com/hookd/hookd/message"
)

// Template is a compiled per-record template. One Template may be rendered
// by any number of goroutines at once.
type Template struct {
	kind string
	tpl  *exec.Template
}

// Compile compiles a per_record template for record type kind (a record
// type name, or "Any"; it is used only in messages). A template that does
// not compile, or that names a filter or test that does not exist, fails
// with an *Error whose text is KumoMTA's: "compiling template:\n<src>\nfor
// log record type <kind>: " followed by the reason, which names the line.
func Compile(src string, kind string) (t *Template, err error) {
	// gonja's parser panics on some malformed input, such as
	// "{% if 0 not %}" (found by FuzzCompile).
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, newError(src, kind, 0, fmt.Sprintf("syntax error: template engine panicked: %v", p))
		}
	}()
	if line, found := lexerTrap(src); found {
		return nil, newError(src, kind, line, "syntax error: a number followed by '.' and a non-ASCII character")
	}
	cfg := newConfig()
	if tok, reason := checkNames(src, cfg, environment); tok != nil {
		return nil, newError(src, kind, tok.Line, reason)
	}
	loader := &soloLoader{name: kind, src: src}
	tpl, err := exec.NewTemplate(kind, cfg, loader, environment)
	if err != nil {
		return nil, parseError(src, kind, err)
	}
	return &Template{kind: kind, tpl: tpl}, nil
}

// Render renders the template for rec. The variables are the top-level
// fields of the record's JSON under their JSON names (type, id, sender,
// recipient, ..., meta, headers), with JSON null as none and recipient a
// string for one recipient and a list otherwise, plus log_record, the whole
// record as one object.
//
// The output is exactly what the template produced; KumoMTA's log hook adds
// a final "\n" when it is missing, which is left to the caller. An error
// while rendering (an undefined attribute of an undefined value, a filter
// given the wrong type, a template that panics the engine) is returned, not
// raised.
func (t *Template) Render(rec *message.LogRecord) ([]byte, error) {
	return t.render(recordVars(rec))
}

func (t *Template) render(vars map[string]any) (out []byte, err error) {
	// gonja panics on some arithmetic, such as an integer modulo by zero
	// ({{ size % 0 }}); that must not take the hook down.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("rendering template for log record type %s: template engine panicked: %v", t.kind, p)
		}
	}()
	var buf bytes.Buffer
	if err := t.tpl.Execute(&buf, exec.NewContext(vars)); err != nil {
		return nil, fmt.Errorf("rendering template for log record type %s: %w", t.kind, err)
	}
	return buf.Bytes(), nil
}

// Error is a template that failed to compile.
type Error struct {
	Kind   string // the record type the template was configured for
	Source string // the template text
	Line   int    // 1-based line of the problem; 0 when unknown
	Reason string // what is wrong, ending with the line when known
}

// Error returns KumoMTA's text: "compiling template:\n<Source>\nfor log
// record type <Kind>: <Reason>".
func (e *Error) Error() string {
	return "compiling template:\n" + e.Source + "\nfor log record type " + e.Kind + ": " + e.Reason
}

// parseError turns gonja's compile error into an *Error. gonja's message
// quotes the whole template first; that part is dropped because Error
// already shows the source.
func parseError(src, kind string, err error) *Error {
	reason := err
	if inner := errors.Unwrap(err); inner != nil {
		reason = inner
	}
	line := 0
	var syn *parser.SyntaxError
	if errors.As(err, &syn) {
		line = syn.Line
	}
	return newError(src, kind, line, reason.Error())
}

// newError appends the offending line to reason the way KumoMTA does:
// " (in template '<kind>' line N: '<text of line N>')", the text cut to
// 1024 bytes.
func newError(src, kind string, line int, reason string) *Error {
	if text, ok := sourceLine(src, line); ok {
		reason += fmt.Sprintf(" (in template '%s' line %d: '%s')", kind, line, text)
	}
	return &Error{Kind: kind, Source: src, Line: line, Reason: reason}
}

// sourceLine returns line n (1-based) of src, counting line breaks as the
// template lexer does (CRLF, CR and LF each end a line).
func sourceLine(src string, n int) (string, bool) {
	if n < 1 {
		return "", false
	}
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	for i := 1; i < n; i++ {
		_, rest, ok := strings.Cut(src, "\n")
		if !ok {
			return "", false
		}
		src = rest
	}
	text, _, _ := strings.Cut(src, "\n")
	const maxLine = 1024
	if len(text) > maxLine {
		cut := maxLine
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	return text, true
}
