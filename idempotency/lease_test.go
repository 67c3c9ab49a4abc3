package idempotency_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/keel-go/keel/idempotency"
)

func TestLeasePrintsNoSecrets(t *testing.T) {
	l := idempotency.Lease{Scope: `"acme" POST /orders`, Key: "client-secret-key", Token: "holder-token"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("lease", "lease", l)
	for _, out := range []string{
		fmt.Sprint(l), fmt.Sprintf("%+v", l), fmt.Sprintf("%#v", l), fmt.Sprintf("%s", l), l.String(), logged.String(),
	} {
		assert.Contains(t, out, "POST /orders")
		assert.NotContains(t, out, "client-secret-key")
		assert.NotContains(t, out, "holder-token")
		assert.Contains(t, out, "[REDACTED]")
	}
}
