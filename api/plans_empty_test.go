package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// emptyPlanProblem is the 409 of a refused empty plan.
type emptyPlanProblem struct {
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	EmptyPlan *struct {
		PlanID           int64          `json:"plan_id"`
		Reason           string         `json:"reason"`
		OpenDemands      int            `json:"open_demands"`
		OpenOutside      int            `json:"open_outside_horizon"`
		Tasks            int            `json:"tasks"`
		Unplaced         int            `json:"unplaced"`
		UnplacedByReason map[string]int `json:"unplaced_by_reason"`
		Served           []struct {
			DemandID int64   `json:"demand_id"`
			PlanIDs  []int64 `json:"plan_ids"`
		} `json:"served"`
	} `json:"empty_plan"`
}

// TestPublishEmptyPlan: a draft with no visits is refused (409) with the
// reason it is empty — nothing open, every open demand already served (by
// which plan), every task unplaced (counted by reason) — and publishes
// with ?force=true. A plan with visits publishes as before.
func TestPublishEmptyPlan(t *testing.T) {
	v := newEnv(t)
	leaveAlone := v.planCounty()
	publish := func(id int64, query string) resp {
		t.Helper()
		return v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish%s", id, query), nil)
	}
	refused := func(id int64, reason string) emptyPlanProblem {
		t.Helper()
		// The draft says why it is empty before anyone tries to publish it:
		// in its JSON and on its dashboard.
		g := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d", id), nil)
		expect(t, g, 200, "read an empty draft")
		var draft struct {
			Empty *struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"empty"`
		}
		g.json(t, &draft)
		if draft.Empty == nil || draft.Empty.Reason != reason || draft.Empty.Message == "" {
			t.Fatalf("plan %d JSON: want empty.reason %s, got %s", id, reason, g.Body)
		}
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/plans/%d", v.srv.URL, id), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+v.tokens["admin"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), `id="empty-plan" data-reason="`+reason+`"`) ||
			strings.Contains(string(page), "%!") || !strings.Contains(string(page), "本计划没有安排上门检查") {
			t.Fatalf("plan %d page (%d) does not say why it is empty (%s)", id, res.StatusCode, reason)
		}
		r := publish(id, "")
		expect(t, r, 409, "publish an empty plan")
		var p emptyPlanProblem
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		if p.EmptyPlan == nil || p.EmptyPlan.PlanID != id || p.EmptyPlan.Reason != reason || !strings.Contains(p.Detail, "no visits") ||
			!strings.Contains(p.Detail, "force") {
			t.Fatalf("plan %d: want reason %s, got %s", id, reason, r.Body)
		}
		if got := v.waitPlan(id); got.Status != store.PlanDraft {
			t.Fatalf("a refused plan is %s", got.Status)
		}
		return p
	}
	plan := func() int64 {
		t.Helper()
		p := v.waitPlan(v.startPlan(map[string]any{"from": planWindow["from"], "to": planWindow["to"]}).ID)
		if p.Status != store.PlanDraft {
			t.Fatalf("plan %+v", p)
		}
		return p.ID
	}

	// Nothing open.
	p := refused(plan(), "nothing_open")
	if p.EmptyPlan.OpenDemands != 0 || p.EmptyPlan.Tasks != 0 || !strings.Contains(p.Detail, "no open demand") {
		t.Errorf("nothing open: %+v %q", *p.EmptyPlan, p.Detail)
	}

	// A plan with visits publishes; the next one over the same window finds
	// its demand served.
	demand := v.submit("planner", v.itemA.ID, v.bizA.USCC)
	first := plan()
	expect(t, publish(first, ""), 200, "publish a plan with visits")
	p = refused(plan(), "all_served")
	if p.EmptyPlan.OpenDemands != 1 || len(p.EmptyPlan.Served) != 1 || p.EmptyPlan.Served[0].DemandID != demand ||
		!slices.Equal(p.EmptyPlan.Served[0].PlanIDs, []int64{first}) || !strings.Contains(p.Detail, fmt.Sprintf("plan %d", first)) {
		t.Errorf("all served: %+v %q", *p.EmptyPlan, p.Detail)
	}

	// Every task unplaced: the business is on the leave-alone list.
	v.submit("planner", v.itemA.ID, leaveAlone.USCC)
	unplaced := plan()
	p = refused(unplaced, "all_unplaced")
	if p.EmptyPlan.Unplaced != 1 || p.EmptyPlan.UnplacedByReason["leave_alone"] != 1 || !strings.Contains(p.Detail, "leave_alone 1") {
		t.Errorf("all unplaced: %+v %q", *p.EmptyPlan, p.Detail)
	}

	// Forced, it publishes.
	r := publish(unplaced, "?force=maybe")
	expect(t, r, 422, "force=maybe")
	if f := fieldsOf(t, r); !slices.Equal(f, []string{"force"}) {
		t.Fatalf("fields %v", f)
	}
	r = publish(unplaced, "?force=true")
	expect(t, r, 200, "forced publication")
	var pub store.Plan
	r.json(t, &pub)
	if pub.Status != store.PlanPublished || pub.ID != unplaced {
		t.Fatalf("forced: %+v", pub)
	}

	// Open demands remain (the leave-alone one), but a plan of a township
	// with no business gets no task from them.
	empty := domain.Region{Code: "SS-WS", Name: "五龙乡", Level: domain.LevelTownship, ParentID: &v.county.ID}
	if err := v.st.CreateRegion(context.Background(), "test", &empty); err != nil {
		t.Fatal(err)
	}
	elsewhere := v.waitPlan(v.startPlan(map[string]any{"from": planWindow["from"], "to": planWindow["to"],
		"region_ids": []int64{empty.ID}}).ID)
	p = refused(elsewhere.ID, "no_tasks")
	if p.EmptyPlan.OpenDemands != 2 || len(p.EmptyPlan.Served) != 1 {
		t.Errorf("no tasks: %+v %q", *p.EmptyPlan, p.Detail)
	}
}
