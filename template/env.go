package template

import (
	"fmt"
	"io"
	"strings"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// environment is the one gonja environment every template uses: gonja's
// built-ins with the replacements in filters.go. It is only read after
// package initialisation.
var environment = newEnvironment()

func newEnvironment() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	for name, fn := range map[string]exec.FilterFunction{
		"tojson":  filterToJSON,
		"default": filterDefault,
		"d":       filterDefault,
		"items":   filterItems,
	} {
		mustReplace(filters.Replace(name, fn))
	}
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	mustReplace(tests.Replace("defined", testDefined))
	mustReplace(tests.Replace("undefined", testUndefined))
	globals := exec.EmptyContext().Update(builtins.GlobalFunctions)
	globals.Set("range", rangeFunc)
	return &exec.Environment{
		Context:           globals,
		Filters:           filters,
		Tests:             tests,
		ControlStructures: builtins.ControlStructures,
		Methods:           builtins.Methods,
	}
}

// mustReplace panics at package initialisation if gonja no longer has a
// filter or test hookd replaces, which a gonja upgrade would have to fix.
func mustReplace(err error) {
	if err != nil {
		panic("template: " + err.Error())
	}
}

// newConfig returns gonja's defaults, which match minijinja's: no HTML
// escaping (KumoMTA names per-record templates after the record type, with
// no .html suffix), lenient undefined values, no trim_blocks or
// lstrip_blocks, and one trailing newline of the template dropped.
func newConfig() *config.Config {
	return config.New()
}

// soloLoader hands gonja the one template being compiled and refuses every
// other name, so include, import and extends fail at compile time instead
// of reading files (KumoMTA's per-record environment has no loader either).
type soloLoader struct {
	name, src string
}

func (l *soloLoader) Read(path string) (io.Reader, error) {
	if path != l.name {
		return nil, fmt.Errorf("template %q not found: a per-record template cannot load other templates", path)
	}
	return strings.NewReader(l.src), nil
}

func (l *soloLoader) Resolve(path string) (string, error) {
	if path != l.name {
		return "", fmt.Errorf("template %q not found: a per-record template cannot load other templates", path)
	}
	return path, nil
}

func (l *soloLoader) Inherit(string) (loaders.Loader, error) { return l, nil }

// checkNames finds the first filter or test that src names but the
// environment lacks. gonja (like minijinja) would only notice when the
// expression is evaluated; hookd reports it when the hook is configured.
// It returns the offending token, or nil.
func checkNames(src string, cfg *config.Config, env *exec.Environment) (*tokens.Token, string) {
	s := tokens.LexAll(src, cfg)
	var prev, prev2 *tokens.Token
	for !s.End() {
		tok := s.Next()
		if tok.Type == tokens.Name && prev != nil {
			switch {
			case prev.Type == tokens.Pipe,
				prev.Type == tokens.Name && prev.Val == "filter" && prev2 != nil && prev2.Type == tokens.BlockBegin:
				if !env.Filters.Exists(tok.Val) {
					return tok, fmt.Sprintf("unknown filter: filter %s is unknown", tok.Val)
				}
			case prev.Type == tokens.Is,
				prev.Type == tokens.Not && prev2 != nil && prev2.Type == tokens.Is:
				if !env.Tests.Exists(tok.Val) {
					return tok, fmt.Sprintf("unknown test: test %s is unknown", tok.Val)
				}
			}
		}
		prev2, prev = prev, tok
	}
	return nil, ""
}
