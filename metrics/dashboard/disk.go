package dashboard

import (
	"fmt"

	"go.opentelemetry.io/otel/attribute"
)

// disk is a path of Config.DiskPaths, with the series keys its use and size
// are recorded under.
type disk struct {
	path       string
	set        attribute.Set
	used, size seriesKey
}

func newDisks(paths []string) ([]disk, error) {
	out := make([]disk, 0, len(paths))
	for i, p := range paths {
		if p == "" {
			return nil, fmt.Errorf("dashboard: Config.DiskPaths[%d] is empty", i)
		}
		if _, _, err := diskUsage(p); err != nil {
			return nil, fmt.Errorf("dashboard: Config.DiskPaths[%d] %q: %w", i, p, err)
		}
		set := attribute.NewSet(attribute.String(diskPathAttr, p))
		out = append(out, disk{path: p, set: set,
			used: seriesKey{scope, diskUsedMetric, set.Equivalent()},
			size: seriesKey{scope, diskSizeMetric, set.Equivalent()}})
	}
	return out, nil
}

// recordDisks adds the disks' use and size to the current sample. A path
// that cannot be read now (unmounted, removed) leaves a gap.
func recordDisks(h *history, disks []disk) {
	for _, d := range disks {
		used, size, err := diskUsage(d.path)
		if err != nil {
			continue
		}
		if sr := h.lookup(d.used, "By", KindGauge, d.set); sr != nil {
			h.observeScalar(sr, float64(used))
		}
		if sr := h.lookup(d.size, "By", KindGauge, d.set); sr != nil {
			h.observeScalar(sr, float64(size))
		}
	}
}
