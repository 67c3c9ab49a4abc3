package metrics

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// otelhttpScope is the instrumentation scope of the contrib otelhttp package.
const otelhttpScope = "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

// Views returns the SDK views [Setup] installs before Config.Views. They
// correct where otelhttp's server metrics depart from the stable HTTP
// semantic conventions, for services that use otelhttp.NewHandler directly:
//
//   - server.address and server.port are Opt-In on http.server.* metrics,
//     but otelhttp sets them from the client-controlled Host header, which
//     lets any client mint new series. The view drops both.
//
// Keel's own [Middleware] needs no view: it records exactly the
// conventions' attributes and advises their bucket boundaries.
func Views() []sdkmetric.View {
	drop := attribute.NewDenyKeysFilter(semconv.ServerAddressKey, semconv.ServerPortKey)
	return []sdkmetric.View{
		sdkmetric.NewView(
			sdkmetric.Instrument{Name: "http.server.*", Scope: instrumentation.Scope{Name: otelhttpScope}},
			sdkmetric.Stream{AttributeFilter: drop},
		),
	}
}
