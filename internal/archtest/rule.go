package archtest

import (
	"fmt"
	"sort"
	"strings"
)

// Module is the import path of the module the rule applies to.
const Module = "github.com/keel-go/keel"

// Primitives are the independent package trees, relative to Module.
var Primitives = []string{
	"retry", "breaker", "ratelimit", "cache", "idempotency",
	"timeout", "fallback", "hedge",
	"crypto/field", "crypto/mask", "crypto/password",
	"audit", "backup", "metrics",
}

// composers may import primitives; primitives may not import them.
// resilience is the one library package among them: it composes the
// resilience primitives into pipelines, above them, as cmd/ and examples/ do.
var composers = []string{"cmd", "examples", "resilience"}

// Package is one package with its transitive non-test dependencies.
type Package struct {
	ImportPath string
	Deps       []string
}

// treeOf returns the tree (a primitive or a composer root, relative to
// Module) that importPath belongs to, or "" when it belongs to none.
func treeOf(importPath string) string {
	rel, ok := strings.CutPrefix(importPath, Module+"/")
	if !ok {
		return ""
	}
	for _, root := range append(append([]string{}, Primitives...), composers...) {
		if rel == root || strings.HasPrefix(rel, root+"/") {
			return root
		}
	}
	return ""
}

func isPrimitive(tree string) bool {
	for _, p := range Primitives {
		if p == tree {
			return true
		}
	}
	return false
}

// Violations lists, sorted, every dependency of a primitive package on a
// package of another primitive or of a composer tree, as
// "retry imports github.com/keel-go/keel/breaker (via github.com/keel-go/keel/retry/x)".
func Violations(pkgs []Package) []string {
	var out []string
	for _, p := range pkgs {
		own := treeOf(p.ImportPath)
		if !isPrimitive(own) {
			continue
		}
		for _, dep := range p.Deps {
			if other := treeOf(dep); other != "" && other != own {
				out = append(out, fmt.Sprintf("%s imports %s (via %s)", own, dep, p.ImportPath))
			}
		}
	}
	sort.Strings(out)
	return out
}
