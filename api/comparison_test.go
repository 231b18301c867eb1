package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/planning"
	"inspectonce/store"
)

// TestPlanSaysComparingUntilItsJobIsDone: with the counterpart as a job of
// its own, a coordinated draft is served at once with comparison_status
// queued and its page says "comparing…"; once the job has run, the JSON
// carries the figures and the page shows the comparison table.
func TestPlanSaysComparingUntilItsJobIsDone(t *testing.T) {
	v := newEnv(t)
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	queued := make(chan int64, 1)
	svc, err := planning.New(planning.Options{Store: v.st, Config: cfg, Now: func() time.Time { return testToday },
		EnqueueComparison: func(_ context.Context, id int64) error { queued <- id; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	v.enqueue = func(_ context.Context, planID int64) error {
		v.runs.Add(1)
		go func() {
			defer v.runs.Done()
			_, _ = svc.Execute(context.Background(), planID)
		}()
		return nil
	}
	page := func(id int64) string {
		t.Helper()
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/plans/%d", v.srv.URL, id), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+v.tokens["admin"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("plan page %d: %s", res.StatusCode, b)
		}
		return string(b)
	}

	p := v.waitPlan(v.startPlan(map[string]any{"from": planWindow["from"], "to": planWindow["to"]}).ID)
	if p.Status != store.PlanDraft || p.ComparisonStatus != store.ComparisonQueued || p.Stats == nil || p.Stats.Independent != nil {
		t.Fatalf("draft %+v: want a draft whose comparison is queued", p)
	}
	if body := page(p.ID); !strings.Contains(body, `id="comparing"`) || !strings.Contains(body, "正在与独立抽样对比") ||
		strings.Contains(body, `data-figure="visits"`) || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("draft page does not say it is comparing (and refresh):\n%s", body)
	}
	if id := <-queued; id != p.ID {
		t.Fatalf("comparison queued for plan %d, want %d", id, p.ID)
	}
	if err := svc.Compare(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil)
	expect(t, r, 200, "get plan")
	var got store.Plan
	r.json(t, &got)
	if got.ComparisonStatus != store.ComparisonDone || got.Stats.Independent == nil {
		t.Fatalf("after the job: %s", r.Body)
	}
	if body := page(p.ID); strings.Contains(body, `id="comparing"`) || !strings.Contains(body, `data-figure="visits"`) {
		t.Fatalf("page after the job shows no comparison:\n%s", body)
	}
}
