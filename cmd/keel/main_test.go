package main

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunDispatchesAndReportsErrors(t *testing.T) {
	var got []string
	register(command{group: "test", name: "ok", summary: "succeeds", run: func(args []string, stdout, _ io.Writer) error {
		got = args
		_, _ = io.WriteString(stdout, "done\n")
		return nil
	}})
	register(command{group: "test", name: "fail", summary: "fails", run: func([]string, io.Writer, io.Writer) error {
		return errors.New("boom")
	}})
	t.Cleanup(func() { delete(commands, "test ok"); delete(commands, "test fail") })

	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run([]string{"test", "ok", "-x", "1"}, &out, &errOut))
	assert.Equal(t, []string{"-x", "1"}, got)
	assert.Equal(t, "done\n", out.String())

	errOut.Reset()
	assert.Equal(t, 1, run([]string{"test", "fail"}, &out, &errOut))
	assert.Equal(t, "keel: test fail: boom\n", errOut.String())

	errOut.Reset()
	assert.Equal(t, 2, run([]string{"test", "nope"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `unknown command "test nope"`)
	assert.Contains(t, errOut.String(), "keel test ok")

	out.Reset()
	assert.Equal(t, 0, run(nil, &out, &errOut))
	assert.Contains(t, out.String(), "usage: keel")
}
