package otelglobal

import (
	"errors"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// heldRegistration records whether the lock was held while it was
// unregistered.
type heldRegistration struct {
	metric.Registration
	held bool
	err  error
}

func (r *heldRegistration) Unregister() error {
	r.held = !mu.TryLock()
	if !r.held {
		mu.Unlock()
	}
	return r.err
}

// Unregister runs under the lock SetMeterProvider takes, and returns the
// registration's error.
func TestUnregisterHoldsTheLockSetMeterProviderTakes(t *testing.T) {
	want := errors.New("unregistered twice")
	r := &heldRegistration{err: want}
	if err := Unregister(r); !errors.Is(err, want) {
		t.Fatalf("Unregister returned %v, want %v", err, want)
	}
	if !r.held {
		t.Fatal("the registration was unregistered without the lock")
	}
	if !mu.TryLock() {
		t.Fatal("Unregister left the lock held")
	}
	mu.Unlock()
}

// SetMeterProvider installs the provider and releases the lock.
func TestSetMeterProviderInstallsTheProvider(t *testing.T) {
	mp := noop.NewMeterProvider()
	SetMeterProvider(mp)
	if otel.GetMeterProvider() != metric.MeterProvider(mp) {
		t.Fatal("the global meter provider is not the one installed")
	}
	if !mu.TryLock() {
		t.Fatal("SetMeterProvider left the lock held")
	}
	mu.Unlock()
}
