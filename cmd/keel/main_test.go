package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunDispatchesAndReportsErrors(t *testing.T) {
	var got []string
	table := []command{
		{group: "test", name: "ok", summary: "succeeds", run: func(args []string, stdout, _ io.Writer) error {
			got = args
			_, _ = io.WriteString(stdout, "done\n")
			return nil
		}},
		{group: "test", name: "fail", summary: "fails", run: func([]string, io.Writer, io.Writer) error {
			return errors.New("boom")
		}},
	}

	var out, errOut bytes.Buffer
	assert.Equal(t, 0, dispatch(table, []string{"test", "ok", "-x", "1"}, &out, &errOut))
	assert.Equal(t, []string{"-x", "1"}, got)
	assert.Equal(t, "done\n", out.String())

	errOut.Reset()
	assert.Equal(t, 1, dispatch(table, []string{"test", "fail"}, &out, &errOut))
	assert.Equal(t, "keel: test fail: boom\n", errOut.String())

	errOut.Reset()
	assert.Equal(t, 2, dispatch(table, []string{"test", "nope"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `unknown command "test nope"`)
	assert.Contains(t, errOut.String(), "keel test ok")

	out.Reset()
	assert.Equal(t, 0, dispatch(table, nil, &out, &errOut))
	assert.Contains(t, out.String(), "usage: keel")
}

// TestCommandTable checks the one table of commands: no name twice, help
// lists each in table order (sorted by group and name), and each command
// answers -h with its own flags and exit status 0.
func TestCommandTable(t *testing.T) {
	seen := map[string]bool{}
	var names []string
	for _, c := range commands {
		name := c.group + " " + c.name
		require.False(t, seen[name], "%q is in the table twice", name)
		seen[name] = true
		names = append(names, name)
		require.NotNil(t, c.run, name)
		assert.NotEmpty(t, c.summary, name)
		assert.NotContains(t, c.summary, "--", "%s: flags are written with one dash, as -h prints them", name)
	}
	assert.IsNonDecreasing(t, names, "help lists the commands sorted")
	for _, want := range []string{"audit query", "audit verify", "backup create", "backup forget", "backup init", "backup keygen",
		"backup list", "backup prune", "backup restore", "backup verify", "keys generate", "keys list", "keys promote", "keys retire", "keys rotate",
		"metrics grafana", "metrics rules"} {
		assert.True(t, seen[want], "%q is missing from the table", want)
	}

	out, _, code := runCLI(t, "help")
	require.Equal(t, 0, code)
	last := -1
	for _, name := range names {
		i := strings.Index(out, "keel "+name+" ")
		require.Greater(t, i, last, "help lists %q in table order:\n%s", name, out)
		last = i
	}
	for _, c := range commands {
		_, stderr, code := runCLI(t, c.group, c.name, "-h")
		assert.Equal(t, 0, code, "%s %s -h: %s", c.group, c.name, stderr)
		assert.Contains(t, stderr, "keel "+c.group+" "+c.name, "-h names the command")
	}
}
