package e2e

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The profiler is off by default; with -pprof it answers the admin key only.
func TestProfilerIsOffByDefaultAndAdminOnly(t *testing.T) {
	t.Parallel()
	off := start(t, t.TempDir(), sqliteBackend)
	assert.Equal(t, http.StatusNotFound, off.call("GET", "/v1/admin/pprof/heap", off.Admin, nil).Status, "no profiler without -pprof")
	off.Stop()

	on := start(t, t.TempDir(), sqliteBackend, "-pprof")
	assert.Equal(t, http.StatusUnauthorized, on.call("GET", "/v1/admin/pprof/heap", "", nil).Status)
	assert.Equal(t, http.StatusForbidden, on.call("GET", "/v1/admin/pprof/heap", salesKey, nil).Status, "the sales role may not profile")
	heap := on.call("GET", "/v1/admin/pprof/heap?gc=1", on.Admin, nil)
	require.Equal(t, http.StatusOK, heap.Status, "%s", heap.Body)
	assert.True(t, bytes.HasPrefix(heap.Body, []byte{0x1f, 0x8b}), "a gzipped heap profile")
	index := on.call("GET", "/v1/admin/pprof/", on.Admin, nil)
	require.Equal(t, http.StatusOK, index.Status)
	assert.Contains(t, string(index.Body), "goroutine")
	assert.Equal(t, http.StatusOK, on.call("GET", "/v1/admin/pprof/cmdline", on.Admin, nil).Status)
}
