package api

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// TestOpenDataDraws (issue 19 part 3): without a token the public reads a
// published plan's sampling rules and draw commitments at once; a draw's
// frame, selection and outcomes only once it has closed — a draw whose
// (unannounced) visit is still to come names no business anywhere — and,
// once the year key is revealed, recomputes the closed draw from what is
// published alone.
func TestOpenDataDraws(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	st := v.st
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	two, one := 2, 1
	past := &domain.Demand{DepartmentID: v.deptA.ID, Title: "上月抽查", ItemIDs: []int64{v.itemA.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{RegionIDs: []int64{v.town.ID}, Count: &two}, WindowFrom: testToday.AddDate(0, 0, -20),
		WindowTo: testToday.AddDate(0, 0, -2), Priority: 3, Source: domain.SourceRoutine, AnnounceDays: 3}
	_, err := st.CreateDemand(ctx, "test", nil, past)
	must(err)
	coming := &domain.Demand{DepartmentID: v.deptB.ID, Title: "暗访", ItemIDs: []int64{v.itemB.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{RegionIDs: []int64{v.town.ID}, Count: &one}, WindowFrom: testToday.AddDate(0, 0, -1),
		WindowTo: testToday.AddDate(0, 0, 20), Priority: 3, Source: domain.SourceRoutine, AnnounceDays: 0}
	_, err = st.CreateDemand(ctx, "test", nil, coming)
	must(err)

	key, err := st.YearKey(ctx, "test", testToday.Year())
	must(err)
	frame := []planner.Candidate{{Key: v.bizA.USCC, Weight: 2}, {Key: v.bizB.USCC, Weight: 1}}
	if v.bizB.USCC < v.bizA.USCC {
		frame[0], frame[1] = frame[1], frame[0]
	}
	u := func(k string) float64 { return planner.PRN(key.Key, "", k) }
	resPast := planner.TargetResult(nil, frame, 2, 0.25, u)
	resComing := planner.TargetResult(nil, frame, 1, 0.25, u)
	day := func(n int) planner.Day { return planner.DayOf(testToday.AddDate(0, 0, n)) }
	task := func(d *domain.Demand, b string, item int64) planner.Task {
		return planner.Task{DemandID: d.ID, DepartmentID: d.DepartmentID, USCC: b, ItemID: item,
			From: planner.DayOf(d.WindowFrom), To: planner.DayOf(d.WindowTo), Priority: 3}
	}
	plan := &planner.Plan{
		Visits: []planner.Visit{
			{USCC: resPast[0], Date: day(-5), TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID},
				Tasks: []planner.Task{task(past, resPast[0], v.itemA.ID)}, DepartmentIDs: []int64{v.deptA.ID}, DurationMinutes: 30, RouteOrder: 1},
			{USCC: resComing[0], Date: day(4), TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID},
				Tasks: []planner.Task{task(coming, resComing[0], v.itemB.ID)}, DepartmentIDs: []int64{v.deptB.ID}, DurationMinutes: 30, RouteOrder: 1},
		},
		Unplaced: []planner.Unplaced{{DemandID: past.ID, USCC: resPast[1], ItemID: v.itemA.ID, Reason: planner.ReasonCapacity}},
		Draws: []planner.Draw{
			{Kind: planner.DrawTargets, DemandID: past.ID, Frame: frame, FrameHash: planner.FrameHash(frame), N: 2, Shift: 0.25, Result: resPast},
			{Kind: planner.DrawTargets, DemandID: coming.ID, Frame: frame, FrameHash: planner.FrameHash(frame), N: 1, Shift: 0.25, Result: resComing},
		},
		Stats: planner.Stats{Tasks: 3, NaiveVisits: 2, LowerBound: 2, Visits: 2},
	}
	seed := make([]byte, 32)
	p, err := st.CreatePlan(ctx, "test", store.NewPlan{From: testToday.AddDate(0, 0, -10), To: testToday.AddDate(0, 0, 20),
		Mode: store.ModeCoordinated, Year: testToday.Year(), Seed: seed})
	must(err)
	must(st.SavePlanResult(ctx, p.ID, plan))
	_, err = st.PublishPlan(ctx, "test", p.ID)
	must(err)

	// No token needed.
	r := v.do("", "GET", "/api/v1/open-data/plans", nil)
	expect(t, r, 200, "public plans")
	var plans struct {
		Items []store.PublicPlan `json:"items"`
	}
	r.json(t, &plans)
	if len(plans.Items) != 1 || plans.Items[0].ID != p.ID || len(plans.Items[0].Seed) != 32 || plans.Items[0].YearKey != nil ||
		plans.Items[0].TargetDraws != 2 {
		t.Fatalf("public plans %s", r.Body)
	}
	r = v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d", p.ID), nil)
	expect(t, r, 200, "public plan")
	var detail openPlanAnswer
	r.json(t, &detail)
	if len(detail.Rules) != 2 || detail.Rules[0].Title != "上月抽查" || *detail.Rules[0].Count != 2 || detail.Rules[0].Items[0] != v.itemA.Code {
		t.Fatalf("rules %s", r.Body)
	}
	if len(detail.Draws) != 2 || !detail.Draws[0].Closed || detail.Draws[1].Closed || *detail.Draws[0].Selected != 2 || detail.Draws[1].Selected != nil {
		t.Fatalf("draws %s", r.Body)
	}
	if strings.Contains(string(r.Body), v.bizA.USCC) || strings.Contains(string(r.Body), v.bizB.USCC) {
		t.Fatalf("the plan's open data names a business: %s", r.Body)
	}

	// The draw still to come names nobody: its visit is unannounced and ahead.
	r = v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/draws/2", p.ID), nil)
	expect(t, r, 200, "open draw")
	if strings.Contains(string(r.Body), v.bizA.USCC) || strings.Contains(string(r.Body), v.bizB.USCC) ||
		strings.Contains(string(r.Body), `"result"`) || strings.Contains(string(r.Body), `"frame"`) {
		t.Fatalf("an open draw reveals its businesses: %s", r.Body)
	}

	// The closed one: frame, selection, and each business accounted for.
	r = v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/draws/1", p.ID), nil)
	expect(t, r, 200, "closed draw")
	var d store.PublicDraw
	r.json(t, &d)
	if !d.Closed || len(d.Frame) != 2 || len(d.Result) != 2 || len(d.Outcomes) != 2 {
		t.Fatalf("closed draw %s", r.Body)
	}
	got := map[string]store.PublicDrawOutcome{}
	for _, o := range d.Outcomes {
		got[o.USCC] = o
	}
	if o := got[resPast[0]]; o.Outcome != store.DrawnMissed || o.PlanID != p.ID || o.Date != day(-5).String() {
		t.Errorf("visited business: %+v", o)
	}
	if o := got[resPast[1]]; o.Outcome != store.DrawnUnplaced || o.Reason != planner.ReasonCapacity {
		t.Errorf("unplaced business: %+v", o)
	}
	expect(t, v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d/draws/9", p.ID), nil), 404, "no such draw")
	expect(t, v.do("", "GET", "/api/v1/open-data/plans/999999", nil), 404, "no such plan")

	// Once the year closes, the draw is recomputed from the open data alone.
	if ok, _, _ := planner.VerifyTargetDraw(d.PlannerDraw(), key.Key); !ok {
		t.Fatal("the published draw does not recompute with the year key")
	}
	_, err = st.RevealYearKey(ctx, "test", testToday.Year())
	must(err)
	r = v.do("", "GET", fmt.Sprintf("/api/v1/open-data/plans/%d", p.ID), nil)
	r.json(t, &detail)
	if !detail.Plan.KeyRevealed || hex.EncodeToString(detail.Plan.YearKey) != hex.EncodeToString(key.Key) {
		t.Fatalf("revealed plan %s", r.Body)
	}
	if ok, _, why := planner.VerifyTargetDraw(d.PlannerDraw(), detail.Plan.YearKey); !ok {
		t.Fatalf("recomputed from the open data: %s", why)
	}
	tampered := d.PlannerDraw()
	tampered.Result[0], tampered.Result[1] = tampered.Result[1], tampered.Result[0]
	if ok, _, _ := planner.VerifyTargetDraw(tampered, detail.Plan.YearKey); ok {
		t.Fatal("a reordered selection verifies")
	}
}
