package app_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/keel-go/keel/examples/salesapi/app"
	"github.com/keel-go/keel/examples/salesapi/gateway"
)

// A witness file beside the log it witnesses proves nothing: refused. One
// on another volume (another directory here) is used.
func TestAuditWitnessFileMustBeOutsideTheDataDirectory(t *testing.T) {
	ctx := context.Background()
	gw, err := gateway.Start("127.0.0.1:0", gateway.Chaos{})
	require.NoError(t, err)
	defer gw.Close()
	keys, err := app.ParseAPIKeys("witness-test-admin-key-0123456789abcdef=admin")
	require.NoError(t, err)
	data := t.TempDir()
	_, err = app.New(ctx, app.Config{DataDir: data, APIKeys: keys, GatewayURL: gw.URL(), AuditWitnessFile: filepath.Join(data, "sub", "w.json")}, nil)
	require.ErrorContains(t, err, "inside the data directory")

	outside := filepath.Join(t.TempDir(), "w.json")
	a, err := app.New(ctx, app.Config{DataDir: data, APIKeys: keys, GatewayURL: gw.URL(), AuditWitnessFile: outside}, nil)
	require.NoError(t, err)
	require.NoError(t, a.Close())
	assert.FileExists(t, outside, "the close checkpoint was witnessed there")
}
