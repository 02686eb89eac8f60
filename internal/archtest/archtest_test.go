package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/hookd/hookd"

// pkg is what go list says of one of the module's packages.
type pkg struct {
	ImportPath string
	Imports    []string
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return dir
}

func goTool(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// packages lists the module's packages (short names, without the module path) with their direct
// imports of the module's own packages.
func packages(t *testing.T, dir string) map[string]pkg {
	t.Helper()
	out := goTool(t, dir, "list", "-deps=false", "-json=ImportPath,Imports", "./...")
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		p.ImportPath = short(p.ImportPath)
		p.Imports = own(p.Imports)
		pkgs[p.ImportPath] = p
	}
	return pkgs
}

func short(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

func own(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == module || strings.HasPrefix(p, module+"/") {
			out = append(out, short(p))
		}
	}
	return out
}

// layers reads the table between the "layers" markers of ARCHITECTURE.md: lines "layer N  pkg pkg".
func layers(t *testing.T, dir string) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := regexp.MustCompile(`^layer (\d+)\s+(.*)$`)
	rank := map[string]int{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "<!-- layers -->":
			in = true
		case text == "<!-- /layers -->":
			in = false
		case in:
			m := line.FindStringSubmatch(text)
			if m == nil {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			for _, p := range strings.Fields(m[2]) {
				if _, dup := rank[p]; dup {
					t.Errorf("ARCHITECTURE.md places %s in two layers", p)
				}
				rank[p] = n
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rank) == 0 {
		t.Fatal("ARCHITECTURE.md has no layer table between <!-- layers --> and <!-- /layers -->")
	}
	return rank
}

// TestLayers: every package of the module is in ARCHITECTURE.md's layer table, every table entry is
// a package, and every import of one of the module's packages points to a lower layer.
func TestLayers(t *testing.T) {
	dir := root(t)
	pkgs, rank := packages(t, dir), layers(t, dir)
	for _, err := range checkLayers(pkgs, rank) {
		t.Error(err)
	}
}

func checkLayers(pkgs map[string]pkg, rank map[string]int) []error {
	var errs []error
	names := make([]string, 0, len(pkgs))
	for name := range pkgs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if name == "internal/archtest" {
			continue
		}
		r, ok := rank[name]
		if !ok {
			errs = append(errs, fmt.Errorf("package %s is in no layer of ARCHITECTURE.md", name))
			continue
		}
		for _, imp := range pkgs[name].Imports {
			if ri, ok := rank[imp]; ok && ri >= r {
				errs = append(errs, fmt.Errorf("%s (layer %d) imports %s (layer %d): arrows point down only", name, r, imp, ri))
			}
		}
	}
	for name := range rank {
		if _, ok := pkgs[name]; !ok {
			errs = append(errs, fmt.Errorf("ARCHITECTURE.md names %s, which is not a package", name))
		}
	}
	return errs
}

// TestFacades: the packages an embedder or the HTTP API sees import only the engine's surface.
func TestFacades(t *testing.T) {
	pkgs := packages(t, root(t))
	for _, err := range checkFacades(pkgs) {
		t.Error(err)
	}
}

// facades are packages built on the engine's public surface alone, with what each may import of
// the module.
var facades = map[string][]string{
	"httpapi":           {"engine", "message", "admin", "internal/jsonbody"},
	"examples/embedded": {"engine", "message"},
}

func checkFacades(pkgs map[string]pkg) []error {
	var errs []error
	for name, allowed := range facades {
		p, ok := pkgs[name]
		if !ok {
			errs = append(errs, fmt.Errorf("facade %s is not a package", name))
			continue
		}
		for _, imp := range p.Imports {
			if !slices.Contains(allowed, imp) {
				errs = append(errs, fmt.Errorf("%s imports %s; it may import only %v", name, imp, allowed))
			}
		}
	}
	return errs
}

// TestEngineAPI: go doc of the engine names no type, function or value of the packages behind it,
// so an embedder's code does not break when an actor changes.
func TestEngineAPI(t *testing.T) {
	doc := goTool(t, root(t), "doc", "-all", "./engine")
	for _, err := range checkAPI(doc) {
		t.Error(err)
	}
}

// qualified finds a package-qualified exported name, as go doc prints it.
var qualified = regexp.MustCompile(`(?m)(^|[^A-Za-z0-9_.])([a-z][a-z0-9]*)\.([A-Z][A-Za-z0-9_]*)`)

// hidden are the package names the engine's API must not show (glua is gopher-lua's usual name).
var hidden = []string{"actors", "lua", "glua", "persistence", "segment", "locallog", "spooltest", "queue", "wire",
	"membership", "ownership"}

func checkAPI(doc []byte) []error {
	var errs []error
	for _, line := range strings.Split(string(doc), "\n") {
		for _, m := range qualified.FindAllStringSubmatch(line, -1) {
			if slices.Contains(hidden, m[2]) {
				errs = append(errs, fmt.Errorf("go doc ./engine shows %s.%s: %q", m[2], m[3], strings.TrimSpace(line)))
			}
		}
	}
	return errs
}

// The checks themselves, on graphs and docs made to break them.
func TestChecksCatchViolations(t *testing.T) {
	rank := map[string]int{"message": 0, "actors": 3, "engine": 4, "httpapi": 5}
	up := map[string]pkg{
		"message": {ImportPath: "message"},
		"actors":  {ImportPath: "actors", Imports: []string{"message", "engine"}},
		"engine":  {ImportPath: "engine", Imports: []string{"actors"}},
		"httpapi": {ImportPath: "httpapi", Imports: []string{"engine"}},
		"extra":   {ImportPath: "extra"},
	}
	errs := checkLayers(up, rank)
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "actors (layer 3) imports engine (layer 4)") ||
		!strings.Contains(errs[1].Error(), "extra is in no layer") {
		t.Errorf("checkLayers = %v; want the upward arrow and the unplaced package", errs)
	}
	leak := map[string]pkg{
		"httpapi":           {Imports: []string{"engine", "actors"}},
		"examples/embedded": {Imports: []string{"engine", "lua"}},
	}
	if errs := checkFacades(leak); len(errs) != 2 {
		t.Errorf("checkFacades = %v; want two leaks", errs)
	}
	doc := []byte("type Limits = actors.Limits\nfunc (e *Engine) Policy() *lua.Policy\n" +
		"Extensions []func(L *glua.LState)\n// see policy.lua. Then config.Policy and time.Duration\n")
	if errs := checkAPI(doc); len(errs) != 3 {
		t.Errorf("checkAPI = %v; want actors.Limits, lua.Policy, glua.LState", errs)
	}
}
