package server_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// routeSources are the non-test files of the packages that register the
// controller's routes: the API and old routes (here), the pages, and the
// top-level mux that mounts them.
var routeSources = []string{".", "../web", "../controller"}

// mounts are registrations that hand a whole subtree to another handler,
// not routes of their own.
var mounts = []string{"/"}

// TestRouteTableComplete fails when the server registers a route the
// walk's table does not cover, or the table names a route that no longer
// exists. net/http's ServeMux cannot list its patterns, so the patterns
// are read from the source: every Handle or HandleFunc call whose first
// argument is a string literal.
func TestRouteTableComplete(t *testing.T) {
	t.Parallel()
	served := map[string]string{} // pattern -> where registered
	fset := token.NewFileSet()
	for _, dir := range routeSources {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			// routetable.go forwards every registration to the ServeMux:
			// its Handle calls are the plumbing, not routes.
			if strings.HasSuffix(name, "_test.go") || filepath.Base(name) == "routetable.go" {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: a route registered with a computed pattern; the walk cannot check it", fset.Position(call.Pos()))
					return true
				}
				p, _ := strconv.Unquote(lit.Value)
				served[p] = fset.Position(call.Pos()).String()
				return true
			})
		}
	}
	if len(served) < 40 {
		t.Fatalf("found only %d routes in %v: is the source layout what this test expects?", len(served), routeSources)
	}
	table := map[string]bool{}
	for _, rc := range routeTable() {
		table[rc.Pattern] = true
	}
	for p, where := range served {
		if !table[p] && !slices.Contains(mounts, p) {
			t.Errorf("route %q (%s) is not in the walk's table: add it to routeTable with the status each role must get", p, where)
		}
	}
	for p := range table {
		if _, ok := served[p]; !ok {
			t.Errorf("the walk's table has %q, which the server no longer registers", p)
		}
	}
}
