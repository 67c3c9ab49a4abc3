package otlp_test

import (
	"context"
	"fmt"
	"os"

	"github.com/keel-go/keel/metrics"
	"github.com/keel-go/keel/metrics/otlp"
)

// Example turns OTLP on only when the environment asks for it, as a service
// deployed with and without a collector would.
func Example() {
	os.Unsetenv("OTEL_EXPORTER_OTLP_ENDPOINT") // in a real service: whatever the deployment sets
	push, err := otlp.New(otlp.Config{})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	tel, err := metrics.Setup(ctx, metrics.Config{ServiceName: "salesapi", DisableGlobal: true,
		Exporters: []metrics.Exporter{push}})
	if err != nil {
		panic(err)
	}
	defer tel.Shutdown(ctx)
	fmt.Println("otlp enabled:", push.Enabled())
	// Output: otlp enabled: false
}
