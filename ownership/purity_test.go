package ownership

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/puretest"
)

// TestPure: the package reads no clock, sleeps nowhere and does no I/O.
func TestPure(t *testing.T) { puretest.Check(t, ".") }

// TestStandardLibraryOnly: the package's own files import only the standard library (no other
// hookd package, nothing from outside), take no lock and start no goroutine.
func TestStandardLibraryOnly(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(strings.Split(path, "/")[0], ".") {
				t.Errorf("%s imports %s, which is not in the standard library", name, path)
			}
			if path == "sync" || path == "sync/atomic" {
				t.Errorf("%s imports %s: a Table is owned by one caller", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s starts a goroutine at %s", name, fset.Position(g.Pos()))
			}
			return true
		})
	}
}
