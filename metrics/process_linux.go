//go:build linux

package metrics

import (
	"context"
	"fmt"

	"github.com/prometheus/procfs"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// userHZ is the kernel's clock-tick rate for /proc/<pid>/stat times, 100 on
// every Linux Go supports (procfs assumes the same).
const userHZ = 100

// startProcessMetrics registers the process's CPU time, resident memory and
// open file descriptors, read from /proc/self at each collection by
// prometheus/procfs (the reader client_golang's own process collector
// uses; it links no protobuf). The instruments and
// attributes are the semantic conventions' process.* metrics.
func startProcessMetrics(mp metric.MeterProvider) (metric.Registration, error) {
	proc, err := procfs.Self()
	if err != nil {
		return nil, fmt.Errorf("metrics: process metrics: %w", err)
	}
	meter := mp.Meter(ScopeName)
	cpu, err := meter.Float64ObservableCounter("process.cpu.time", metric.WithUnit("s"),
		metric.WithDescription("Total CPU seconds broken down by different CPU modes."))
	if err != nil {
		return nil, fmt.Errorf("metrics: process.cpu.time: %w", err)
	}
	mem, err := meter.Int64ObservableUpDownCounter("process.memory.usage", metric.WithUnit("By"),
		metric.WithDescription("The amount of physical memory in use."))
	if err != nil {
		return nil, fmt.Errorf("metrics: process.memory.usage: %w", err)
	}
	fds, err := meter.Int64ObservableUpDownCounter("process.unix.file_descriptor.count", metric.WithUnit("{file_descriptor}"),
		metric.WithDescription("Number of unix file descriptors in use by the process."))
	if err != nil {
		return nil, fmt.Errorf("metrics: process.unix.file_descriptor.count: %w", err)
	}
	user := metric.WithAttributeSet(attribute.NewSet(attribute.String("cpu.mode", "user")))
	system := metric.WithAttributeSet(attribute.NewSet(attribute.String("cpu.mode", "system")))
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		// A failed read skips that value for this collection only: the
		// others are still reported, and the next collection tries again.
		if st, err := proc.Stat(); err == nil {
			o.ObserveFloat64(cpu, float64(st.UTime)/userHZ, user)
			o.ObserveFloat64(cpu, float64(st.STime)/userHZ, system)
			o.ObserveInt64(mem, int64(st.ResidentMemory()))
		}
		if n, err := proc.FileDescriptorsLen(); err == nil {
			o.ObserveInt64(fds, int64(n))
		}
		return nil
	}, cpu, mem, fds)
}
