package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsCodeScans: the scans the /v/ page buffers are counted on
// /metrics once written (recorded), with the drops and failures beside them.
func TestMetricsCodeScans(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_RATE=0")
	c := clientFrom("127.0.0.1")
	for range 3 {
		if r := v.send(c, "GET", "/v/"+randomCode(t), ""); r.Status != http.StatusNotFound {
			t.Fatalf("made-up code: %d, want 404", r.Status)
		}
	}
	if err := v.st.FlushScans(context.Background()); err != nil {
		t.Fatal(err)
	}
	rc := v.st.ReadCacheStats()
	r := v.do("admin", "GET", "/metrics", nil)
	expect(t, r, http.StatusOK, "metrics")
	for _, want := range []string{"inspectonce_code_scans_recorded_total 3", "inspectonce_code_scans_dropped_total 0",
		"inspectonce_code_scans_failed_total 0",
		fmt.Sprintf("inspectonce_read_cache_hits_total %d", rc.Hits), fmt.Sprintf("inspectonce_read_cache_misses_total %d", rc.Misses),
		fmt.Sprintf("inspectonce_read_cache_stale_total %d", rc.Stale), fmt.Sprintf("inspectonce_read_cache_rounds_total %d", rc.Rounds)} {
		if !strings.Contains(string(r.Body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
