package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/store/storetest"
)

// TestOverloadRefusesAtOnce: with the reads class full of slow requests, one
// more read is refused at once with 503, Retry-After and a problem in the
// reader's language (a page on an HTML route), while the public class, the
// health probe and, once the slow ones end, the reads class still answer.
func TestOverloadRefusesAtOnce(t *testing.T) {
	st, _ := storetest.New(t)
	cfg, err := configs.Load("", []string{"INSPECTONCE_HTTP_CONCURRENCY_READS=2", "INSPECTONCE_HTTP_CONCURRENCY_QUEUE_WAIT=5ms",
		"INSPECTONCE_HTTP_CONCURRENCY_RETRY_AFTER=2s"})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Store: st, Config: cfg, Calendar: cal, Logger: slog.New(slog.DiscardHandler)})
	entered, release := make(chan struct{}), make(chan struct{})
	// A signed-in read that takes as long as the test says (routeClass: a
	// GET outside the public and bulk routes).
	e.GET("/api/v1/test-slow", func(c echo.Context) error {
		select {
		case entered <- struct{}{}:
			<-release
		case <-release: // after the test let the slow ones go
		}
		return c.NoContent(http.StatusNoContent)
	})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before srv.Close, which waits for the handlers

	get := func(path, lang string) (*http.Response, string, time.Duration) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		start := time.Now()
		res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b), time.Since(start)
	}

	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/test-slow", nil)
			if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusNoContent {
				t.Errorf("slow read: %v %v", res, err)
			} else {
				res.Body.Close()
			}
		})
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the slow reads did not start")
		}
	}

	for _, tc := range []struct{ lang, want string }{
		{"en", "retry after 2 seconds"},
		{"", "请在 2 秒后重试"}, // Chinese by default
	} {
		res, body, took := get("/api/v1/test-slow", tc.lang)
		if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "2" ||
			res.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("read past the limit (%q): %d Retry-After %q %s: %s", tc.lang, res.StatusCode, res.Header.Get("Retry-After"),
				res.Header.Get("Content-Type"), body)
		}
		// At once: the wait for a slot is 5 ms; a second leaves room for a
		// busy machine, while a queued request would hang until released.
		if took > time.Second {
			t.Errorf("refusal took %v", took)
		}
		var p Problem
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 503 || p.Type != problemBase+"overloaded" ||
			!strings.Contains(p.Detail, tc.want) {
			t.Errorf("problem (%q): %+v %v, want detail with %q", tc.lang, p, err, tc.want)
		}
	}
	// A page of the same class gets a page, in the reader's language.
	if res, body, _ := get("/", "en"); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "2" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, "The server is busy") {
		t.Errorf("page past the limit: %d %q %s", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("Content-Type"))
	}
	// Other classes and the probe are not held up.
	for _, path := range []string{"/healthz", "/api/v1/open-data/plans"} {
		if res, body, _ := get(path, "en"); res.StatusCode != http.StatusOK {
			t.Errorf("%s while reads are full: %d %s", path, res.StatusCode, body)
		}
	}
	unblock()
	wg.Wait()
	if res, body, _ := get("/api/v1/test-slow", "en"); res.StatusCode != http.StatusNoContent {
		t.Errorf("read after the slow ones ended: %d %s", res.StatusCode, body)
	}
}

// TestRouteClasses: each kind of route falls in the class the README names.
func TestRouteClasses(t *testing.T) {
	tests := []struct{ method, route, query, want string }{
		{"GET", "/healthz", "", ""},
		{"GET", "/readyz", "", ""},
		{"GET", "/static/*", "", ""},
		{"GET", "/v/:code", "", classPublic},
		{"GET", "/api/v1/open-data/results.json", "", classPublic},
		{"GET", "/feeds/:file", "", classPublic},
		{"POST", "/login", "", classPublic},
		{"GET", "/api/v1/businesses/:id/schedule", "", classReads},
		{"GET", "/teams/:id", "", classReads},
		{"POST", "/api/v1/demands", "", classWrites},
		{"DELETE", "/api/v1/tokens/:id", "", classWrites},
		{"POST", "/api/v1/imports/businesses", "", classBulk},
		{"GET", "/api/v1/open-data/results.csv", "", classBulk},
		{"GET", "/api/v1/plans/:id/visits", "format=xlsx", classBulk},
		{"POST", "/api/v1/plans/:id/publish", "", classBulk},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, "/x?"+tt.query, nil)
		if got := routeClass(r, tt.route); got != tt.want {
			t.Errorf("%s %s?%s: class %q, want %q", tt.method, tt.route, tt.query, got, tt.want)
		}
	}
}

// TestWritesWaitLonger: writes and bulk requests wait write_queue_wait for
// a slot, reads and public ones queue_wait.
func TestWritesWaitLonger(t *testing.T) {
	cfg, err := configs.Load("", []string{"INSPECTONCE_HTTP_CONCURRENCY_QUEUE_WAIT=2ms",
		"INSPECTONCE_HTTP_CONCURRENCY_WRITE_QUEUE_WAIT=40ms"})
	if err != nil {
		t.Fatal(err)
	}
	l := newConcurrencyLimits(cfg, prometheus.NewRegistry())
	want := map[string]time.Duration{classPublic: 2 * time.Millisecond, classReads: 2 * time.Millisecond,
		classWrites: 40 * time.Millisecond, classBulk: 40 * time.Millisecond}
	for class, w := range want {
		if got := l.wait[class]; got != w {
			t.Errorf("class %s waits %v, want %v", class, got, w)
		}
	}
}
