package archtest

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestViolationsNamesTheOffendingImport(t *testing.T) {
	pkgs := []Package{
		{ImportPath: Module + "/retry", Deps: []string{"context", Module + "/retry/internal/x", Module + "/breaker"}},
		{ImportPath: Module + "/crypto/field", Deps: []string{Module + "/crypto/mask"}},
		{ImportPath: Module + "/crypto/field/fernet", Deps: []string{Module + "/crypto/field"}},
		{ImportPath: Module + "/metrics/health", Deps: []string{Module + "/metrics", Module + "/internal/whatever"}},
		{ImportPath: Module + "/backup", Deps: []string{Module + "/cmd/keel"}},
		{ImportPath: Module + "/cmd/keel", Deps: []string{Module + "/backup", Module + "/audit"}},
		{ImportPath: Module + "/examples/salesapi", Deps: []string{Module + "/retry", Module + "/breaker"}},
		{ImportPath: Module + "/retrying", Deps: []string{Module + "/breaker"}}, // not the retry tree
		{ImportPath: Module + "/resilience", Deps: []string{Module + "/retry", Module + "/hedge", Module + "/timeout"}},
		{ImportPath: Module + "/hedge", Deps: []string{Module + "/retry"}},
		{ImportPath: Module + "/fallback", Deps: []string{Module + "/resilience"}},
	}
	assert.Equal(t, []string{
		"backup imports " + Module + "/cmd/keel (via " + Module + "/backup)",
		"crypto/field imports " + Module + "/crypto/mask (via " + Module + "/crypto/field)",
		"fallback imports " + Module + "/resilience (via " + Module + "/fallback)",
		"hedge imports " + Module + "/retry (via " + Module + "/hedge)",
		"retry imports " + Module + "/breaker (via " + Module + "/retry)",
	}, Violations(pkgs))
}

// TestPrimitivesDoNotImportEachOther runs the rule over the real module.
func TestPrimitivesDoNotImportEachOther(t *testing.T) {
	// The go command that runs the tests is on PATH (go test puts its own
	// GOROOT/bin first), so the module is listed with the same toolchain.
	cmd := exec.Command("go", "list", "-e", "-deps=false",
		"-f", "{{.ImportPath}}{{range .Deps}} {{.}}{{end}}", Module+"/...")
	cmd.Dir = filepath.Join("..", "..")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "go list: %s", stderr.String())

	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			pkgs = append(pkgs, Package{ImportPath: fields[0], Deps: fields[1:]})
		}
	}
	require.NoError(t, sc.Err())
	require.NotEmpty(t, pkgs)
	assert.Empty(t, Violations(pkgs), "the primitive packages must not import each other (docs/ARCHITECTURE.md)")
}
