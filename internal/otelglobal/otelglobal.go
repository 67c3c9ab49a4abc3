// Package otelglobal keeps Keel's metric registrations from deadlocking
// with the installation of the global OpenTelemetry meter provider.
//
// OpenTelemetry's global meter (go.opentelemetry.io/otel v1.47,
// internal/global/meter.go) takes its two locks in opposite orders: a
// callback registration's Unregister holds the registration's lock and
// then takes the meter's, while SetMeterProvider, delegating the meter,
// holds the meter's lock and then takes each registration's. A Keel
// package that registered a callback before metrics.Setup and
// unregisters it while Setup installs the provider (a Close, or the
// cleanup that runs when its owner is garbage collected) deadlocks both
// goroutines; a CI run of examples/salesapi/app hung that way for ten
// minutes, the runtime's cleanup goroutine in Unregister and
// metrics.Setup in SetMeterProvider.
//
// Guarantee: Unregister and SetMeterProvider never run at the same time
// in one process, when every caller goes through this package (every
// Keel package does). A program that calls otel.SetMeterProvider itself
// can still meet the inversion; it is OpenTelemetry's to fix.
package otelglobal

import (
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// mu serializes Unregister with SetMeterProvider.
var mu sync.Mutex

// Unregister removes the callback registration r, never while
// SetMeterProvider runs.
func Unregister(r metric.Registration) error {
	mu.Lock()
	defer mu.Unlock()
	return r.Unregister()
}

// SetMeterProvider installs mp as the global meter provider, never while
// an Unregister runs.
func SetMeterProvider(mp metric.MeterProvider) {
	mu.Lock()
	defer mu.Unlock()
	otel.SetMeterProvider(mp)
}
