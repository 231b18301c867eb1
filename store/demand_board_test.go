package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestDemandBoard reads what became of each demand from the published hand
// plan and its reports: placed (plan, visits, dates, tasks done), unplaced
// with the planner's reasons, results by outcome, open, cancelled; a planner's
// department sees only its own, newest first, page by page.
func TestDemandBoard(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	// Visit 1 (biz[0], both departments) and visit 2 (biz[1], SCJG) are done:
	// SCJG found a violation at biz[0].
	seedReport(t, st, p.ID, 1, "2026-03-03", map[int64]string{f.deptA: "violation"})
	seedReport(t, st, p.ID, 2, "2026-03-03", nil)
	open := &domain.Demand{DepartmentID: f.deptA, Title: "四月检查", ItemIDs: []int64{f.itemA}, TargetKind: domain.TargetList,
		Businesses: f.biz[:1], WindowFrom: day("2026-04-01"), WindowTo: day("2026-04-30"), Priority: 3, Source: domain.SourceRoutine}
	if _, err := st.CreateDemand(ctx, "test", nil, open); err != nil {
		t.Fatal(err)
	}
	gone := &domain.Demand{DepartmentID: f.deptA, Title: "撤销", ItemIDs: []int64{f.itemA}, TargetKind: domain.TargetList,
		Businesses: f.biz[:1], WindowFrom: day("2026-04-01"), WindowTo: day("2026-04-30"), Priority: 3, Source: domain.SourceRoutine}
	if _, err := st.CreateDemand(ctx, "test", nil, gone); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CancelDemand(ctx, "test", gone.ID, f.deptA, "并入专项"); err != nil {
		t.Fatal(err)
	}

	board, next, err := st.DemandBoard(ctx, f.deptA, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if next != 0 || len(board) != 3 || board[0].ID != gone.ID || board[1].ID != open.ID || board[2].ID != f.listD {
		ids := []int64{}
		for _, d := range board {
			ids = append(ids, d.ID)
		}
		t.Fatalf("SCJG's board lists %v (next %d), want [%d %d %d]", ids, next, gone.ID, open.ID, f.listD)
	}
	if d := board[0]; d.State != store.ProgressCancelled || d.CancelReason != "并入专项" || d.DepartmentCode != "SCJG" {
		t.Errorf("cancelled demand: %+v", d)
	}
	if d := board[1]; d.State != store.ProgressOpen || len(d.Placements) != 0 || len(d.Unplaced) != 0 || d.Results() != 0 {
		t.Errorf("open demand: %+v", d)
	}
	list := board[2]
	if list.State != store.ProgressDone || len(list.Placements) != 1 {
		t.Fatalf("list demand: state %s placements %+v", list.State, list.Placements)
	}
	if pl := list.Placements[0]; pl.PlanID != p.ID || pl.Visits != 2 || pl.Joined != 0 || pl.Tasks != 2 || pl.Reported != 2 ||
		len(pl.Dates) != 1 || pl.Dates[0].Format(time.DateOnly) != "2026-03-03" {
		t.Errorf("list demand placed %+v", pl)
	}
	reasons := []string{}
	for _, u := range list.Unplaced {
		reasons = append(reasons, u.Reason)
		if u.Tasks != 1 {
			t.Errorf("unplaced %+v, want one task", u)
		}
	}
	if strings.Join(reasons, ",") != "capacity,unknown_item" {
		t.Errorf("list demand unplaced %v, want capacity and unknown_item", reasons)
	}
	if list.Outcomes["violation"] != 1 || list.Outcomes["compliant"] != 1 || list.Results() != 2 {
		t.Errorf("list demand outcomes %v", list.Outcomes)
	}

	// XFJY's sample: visit 1 done, visit 3 (biz[2], 03-04) still to come.
	other, _, err := st.DemandBoard(ctx, f.deptB, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(other) != 1 || other[0].ID != f.sampleD {
		t.Fatalf("XFJY's board: %+v", other)
	}
	s := other[0]
	if s.State != store.ProgressPlanned || len(s.Placements) != 1 || s.Placements[0].Visits != 2 || s.Placements[0].Reported != 1 ||
		len(s.Placements[0].Dates) != 2 || s.Outcomes["compliant"] != 1 {
		t.Errorf("sample demand: state %s placements %+v outcomes %v", s.State, s.Placements, s.Outcomes)
	}
	if len(s.Unplaced) != 1 || s.Unplaced[0].Reason != "empty_population" {
		t.Errorf("sample demand unplaced %+v", s.Unplaced)
	}

	// Every department, a page at a time.
	first, next, err := st.DemandBoard(ctx, 0, 0, 2)
	if err != nil || len(first) != 2 || next != first[1].ID {
		t.Fatalf("first page: %d demands, next %d, err %v", len(first), next, err)
	}
	rest, next, err := st.DemandBoard(ctx, 0, next, 10)
	if err != nil || len(rest) != 2 || next != 0 || rest[0].ID >= first[1].ID {
		t.Fatalf("second page: %+v next %d err %v", rest, next, err)
	}
}

// TestDepartmentResults streams the current result of every task of a
// department's demands with the visit's date, and whether it is confirmed.
func TestDepartmentResults(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	seedReport(t, st, p.ID, 1, "2026-03-03", map[int64]string{f.deptA: "violation"})
	seedReport(t, st, p.ID, 2, "2026-03-03", nil)
	var rows []store.DepartmentResult
	if err := st.EachDepartmentResult(ctx, f.deptA, func(r store.DepartmentResult) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("%d SCJG results, want 2", len(rows))
	}
	r := rows[0]
	if r.USCC != f.biz[0] || r.Outcome != "violation" || r.RectifyBy == nil || !r.Confirmed || r.DemandID != f.listD ||
		r.VisitDate.Format(time.DateOnly) != "2026-03-03" || r.ItemCode != "SCJG-01" || r.DepartmentCode != "SCJG" || r.RuleCited == "" {
		t.Errorf("first result %+v", r)
	}
	if rows[1].USCC != f.biz[1] || rows[1].Outcome != "compliant" {
		t.Errorf("second result %+v", rows[1])
	}
	n := 0
	if err := st.EachDepartmentResult(ctx, 0, func(store.DepartmentResult) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d results over every department, want 3", n)
	}
}

// TestCountPopulation counts as the planner filters: regions with their
// sub-regions, industries, a scenario's industries (an unknown one matches
// nothing), risk codes, the leave-alone list left out of the frame.
func TestCountPopulation(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)
	leave := &domain.Business{USCC: code(7), Name: "店7", RegionID: f.grid, IndustryCode: "H6210", Lat: 30.7, Lng: 122.4,
		RiskCode: domain.RiskRed, ListKind: domain.ListLeaveAlone}
	if err := st.CreateBusiness(ctx, "test", leave); err != nil {
		t.Fatal(err)
	}
	sc := &domain.Scenario{Code: "CY", Name: "餐饮", IndustryCodes: []string{"H6210"}, ItemIDs: []int64{f.itemA}}
	if err := st.CreateScenario(ctx, "test", sc); err != nil {
		t.Fatal(err)
	}
	missing := int64(99999)
	for _, c := range []struct {
		name     string
		f        store.PopulationFilter
		matching int
		frame    int
	}{
		{"everything", store.PopulationFilter{}, 4, 3},
		{"the county reaches its grids", store.PopulationFilter{RegionIDs: []int64{f.county}}, 4, 3},
		{"the grid", store.PopulationFilter{RegionIDs: []int64{f.grid}}, 4, 3},
		{"another industry", store.PopulationFilter{IndustryCodes: []string{"H6130"}}, 0, 0},
		{"the scenario's industries", store.PopulationFilter{ScenarioID: &sc.ID}, 4, 3},
		{"an unknown scenario", store.PopulationFilter{ScenarioID: &missing}, 0, 0},
		{"red only", store.PopulationFilter{RiskCodes: []string{"red"}}, 1, 0},
		{"green", store.PopulationFilter{RiskCodes: []string{"green", "yellow"}}, 3, 3},
	} {
		p, err := st.CountPopulation(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if p.Matching != c.matching || p.Frame != c.frame || p.LeaveAlone != c.matching-c.frame {
			t.Errorf("%s: %+v, want %d matching, %d in the frame", c.name, p, c.matching, c.frame)
		}
	}
}

// TestDemandBoardJoined: a task that a later plan joined to a visit already
// on the calendar is placed by the joining plan, counted as joined, at the
// joined visit's date; what the later plan could not place but an earlier
// one did is not reported unplaced.
func TestDemandBoardJoined(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p1, f := publishedHandPlan(t, st)
	p2, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, p2.ID, joinPlan(f, p1.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPlan(ctx, "admin", p2.ID); err != nil {
		t.Fatal(err)
	}
	board, _, err := st.DemandBoard(ctx, f.deptB, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(board) != 1 || len(board[0].Placements) != 2 {
		t.Fatalf("XFJY's board: %+v", board)
	}
	first, second := board[0].Placements[0], board[0].Placements[1]
	if first.PlanID != p1.ID || first.Visits != 2 || first.Joined != 0 {
		t.Errorf("the first plan's placement %+v", first)
	}
	var dates []string
	for _, d := range second.Dates {
		dates = append(dates, d.Format(time.DateOnly))
	}
	if second.PlanID != p2.ID || second.Visits != 2 || second.Joined != 1 || second.Tasks != 2 ||
		strings.Join(dates, ",") != "2026-03-03,2026-03-05" {
		t.Errorf("the joining plan's placement %+v (dates %v)", second, dates)
	}
	if board[0].State != store.ProgressPlanned || len(board[0].Unplaced) != 0 {
		t.Errorf("state %s, unplaced %+v: biz[0]'s task was placed by the first plan", board[0].State, board[0].Unplaced)
	}
}
