package api

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/store"
)

// registerStoreMetrics exposes the store's own counters on /metrics: the
// visit-code scans written in batches, dropped when the buffer was full, or
// lost with a failed batch (store.ScanStats).
// A second server on the same registry keeps the first one's.
func registerStoreMetrics(reg prometheus.Registerer, st *store.Store, log *slog.Logger) {
	if st == nil {
		return
	}
	counter := func(name, help string, v func(store.ScanStats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(v(st.ScanStats())) })
	}
	for _, c := range []prometheus.Collector{
		counter("inspectonce_code_scans_recorded_total", "Visit code scans written to the database (in batches).",
			func(s store.ScanStats) uint64 { return s.Recorded }),
		counter("inspectonce_code_scans_dropped_total", "Visit code scans dropped because the scan buffer was full.",
			func(s store.ScanStats) uint64 { return s.Dropped }),
		counter("inspectonce_code_scans_failed_total", "Visit code scans lost because their batch failed to write.",
			func(s store.ScanStats) uint64 { return s.Failed }),
	} {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				log.Error("store metric not registered", "err", err)
			}
		}
	}
}
