package api

import (
	"errors"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/store"
)

// registerStoreMetrics exposes the store's own counters on /metrics: the
// visit-code scans written in batches, dropped when the buffer was full, or
// lost with a failed batch (store.ScanStats), and the read cache's
// (store.ReadCacheStats).
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
		readCounter("inspectonce_read_cache_hits_total", "Schedules, rosters and code checks answered from the read cache.",
			st, func(s store.ReadCacheStats) int64 { return s.Hits }),
		readCounter("inspectonce_read_cache_misses_total", "Cached reads that went to the database (no entry, too old, or changed).",
			st, func(s store.ReadCacheStats) int64 { return s.Misses }),
		readCounter("inspectonce_read_cache_stale_total", "Cached entries found changed since their snapshot (counted in misses too).",
			st, func(s store.ReadCacheStats) int64 { return s.Stale }),
		readCounter("inspectonce_read_cache_rounds_total", "Check rounds run (each shared by every cached read waiting for it).",
			st, func(s store.ReadCacheStats) int64 { return s.Rounds }),
	} {
		if err := reg.Register(c); err != nil {
			var dup prometheus.AlreadyRegisteredError
			if !errors.As(err, &dup) {
				log.Error("store metric not registered", "err", err)
			}
		}
	}
}

// readCounter is a counter of the read cache's stats.
func readCounter(name, help string, st *store.Store, v func(store.ReadCacheStats) int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
		func() float64 { return float64(v(st.ReadCacheStats())) })
}
