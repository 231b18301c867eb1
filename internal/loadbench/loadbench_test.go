package loadbench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

func route(t *testing.T, h http.HandlerFunc, limit time.Duration) Route {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return Route{Name: "r", Limit: limit, Targeter: vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: srv.URL})}
}

// TestClimb: a route that always answers fast is OK at every rate (the knee
// is the highest tried, and it runs once more at twice that); one that
// refuses with 503 has no knee, counts its 503s and stops after StopAfter
// steps; a slow one is over its p99 limit.
func TestClimb(t *testing.T) {
	ctx := context.Background()
	o := Options{Duration: 300 * time.Millisecond, Timeout: time.Second}
	var progress strings.Builder
	o.Progress = &progress
	fast := route(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }, time.Second)
	c, err := Run(ctx, fast, []int{20, 40}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Knee == nil || c.Knee.Offered != 40 || !c.AtLimit || c.Over == nil || c.Over.Offered != 80 || len(c.Steps) != 3 {
		t.Fatalf("fast route: knee %+v, at limit %v, over %+v, %d steps", c.Knee, c.AtLimit, c.Over, len(c.Steps))
	}
	for _, s := range c.Steps {
		if !s.OK || s.Errors != 0 || s.Requests == 0 || s.Goodput <= 0 || s.P99 <= 0 || s.Achieved <= 0 {
			t.Errorf("fast step %+v", s)
		}
	}
	if n := strings.Count(progress.String(), "\n"); n != 3 || !strings.Contains(progress.String(), "offered     80/s") {
		t.Errorf("progress lines:\n%s", progress.String())
	}

	busy := route(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}, time.Second)
	o.Progress, o.StopAfter = nil, 2
	c, err = Run(ctx, busy, []int{20, 40, 80}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Knee != nil || c.Over != nil || len(c.Steps) != 2 {
		t.Fatalf("refusing route: knee %+v, over %+v, %d steps (want none, none, 2)", c.Knee, c.Over, len(c.Steps))
	}
	if s := c.Steps[0]; s.OK || s.Unavailable == 0 || s.Errors != s.Unavailable || s.Goodput != 0 || !strings.HasPrefix(s.FirstError, "503") {
		t.Errorf("refused step %+v", s)
	}

	slow := route(t, func(w http.ResponseWriter, _ *http.Request) { time.Sleep(30 * time.Millisecond) }, 10*time.Millisecond)
	s, err := RunStep(ctx, slow, 20, 300*time.Millisecond, o)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK || s.Errors != 0 || s.P99 < 30*time.Millisecond {
		t.Errorf("slow step %+v: want over its limit without errors", s)
	}

	var sum strings.Builder
	if err := Summary(&sum, []Climb{{Route: fast, Steps: []Step{{Offered: 20, OK: true}}, Knee: &Step{Offered: 20}, Over: &Step{Offered: 40, Goodput: 19}},
		{Route: busy, Steps: c.Steps}}, []Baseline{{Name: "pgbench -S simple", TPS: 1234}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"knee (req/s)", "95 %", "< 20", "1234 TPS"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}
}

// TestCPU reads this process's CPU time and its tree's.
func TestCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
	}
	self, err := ProcessCPU(os.Getpid())
	if err != nil || self <= 0 {
		t.Fatalf("own CPU %v, %v", self, err)
	}
	tree, err := TreeCPU(os.Getpid())
	if err != nil || tree < self {
		t.Fatalf("tree CPU %v < own %v (%v)", tree, self, err)
	}
	if _, err := PostmasterPID(t.TempDir()); err == nil {
		t.Fatal("a postmaster pid read from an empty directory")
	}
}
