package breaker

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/puretest"
)

// TestPure: no file of the package reads the clock, sleeps or does I/O; every decision takes the
// time as an argument.
func TestPure(t *testing.T) { puretest.Check(t, ".") }

// coreFiles hold Core. puretest checks a whole directory and only for the clock and I/O, so the
// stricter rule for Core (no lock, no goroutine, no gobreaker: nothing but package time) is
// checked here, file by file.
var coreFiles = []string{"breaker.go"}

// coreImports are all that a core file may import.
var coreImports = map[string]bool{"time": true}

func TestPureCore(t *testing.T) {
	fset := token.NewFileSet()
	for _, name := range coreFiles {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path := strings.Trim(imp.Path.Value, `"`); !coreImports[path] {
				t.Errorf("%s imports %s; a core file imports only %v", name, path, keys(coreImports))
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: a goroutine at %s", name, fset.Position(n.Pos()))
			case *ast.ChanType:
				t.Errorf("%s: a channel at %s", name, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if pkg, ok := n.X.(*ast.Ident); ok && pkg.Name == "time" && !pureTime[n.Sel.Name] {
					t.Errorf("%s: time.%s at %s", name, n.Sel.Name, fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}

// pureTime are the names of package time a core file may use: the types and units.
var pureTime = map[string]bool{"Time": true, "Duration": true,
	"Nanosecond": true, "Microsecond": true, "Millisecond": true, "Second": true, "Minute": true, "Hour": true}

func keys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
