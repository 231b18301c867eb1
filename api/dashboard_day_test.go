package api

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// TestDashboardDayFilterAndBases (issue 18 point 5): the plan dashboard's
// maps and table can be narrowed to one day of the plan, and each map shows
// the base of the teams whose routes it draws.
func TestDashboardDayFilterAndBases(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	st := v.st
	list := &domain.Demand{DepartmentID: v.deptA.ID, ItemIDs: []int64{v.itemA.ID}, TargetKind: domain.TargetList,
		Businesses: []string{v.bizA.USCC, v.bizB.USCC}, WindowFrom: testToday, WindowTo: testToday.AddDate(0, 0, 20),
		Priority: 3, Source: domain.SourceRoutine}
	if _, err := st.CreateDemand(ctx, "test", nil, list); err != nil {
		t.Fatal(err)
	}
	d1, d2 := planner.DayOf(testToday.AddDate(0, 0, 3)), planner.DayOf(testToday.AddDate(0, 0, 4))
	task := func(b string) planner.Task {
		return planner.Task{DemandID: list.ID, DepartmentID: v.deptA.ID, USCC: b, ItemID: v.itemA.ID,
			From: planner.DayOf(testToday), To: planner.DayOf(testToday.AddDate(0, 0, 20)), Priority: 3}
	}
	plan := &planner.Plan{Visits: []planner.Visit{
		{USCC: v.bizA.USCC, Date: d1, TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID}, Tasks: []planner.Task{task(v.bizA.USCC)},
			DepartmentIDs: []int64{v.deptA.ID}, DurationMinutes: 30, RouteOrder: 1},
		{USCC: v.bizB.USCC, Date: d2, TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID}, Tasks: []planner.Task{task(v.bizB.USCC)},
			DepartmentIDs: []int64{v.deptA.ID}, DurationMinutes: 30, RouteOrder: 1},
	}, Stats: planner.Stats{Tasks: 2, NaiveVisits: 2, LowerBound: 2, Visits: 2}}
	if _, err := st.YearKey(ctx, "test", testToday.Year()); err != nil {
		t.Fatal(err)
	}
	p, err := st.CreatePlan(ctx, "test", store.NewPlan{From: testToday, To: testToday.AddDate(0, 0, 20), Mode: store.ModeCoordinated,
		Year: testToday.Year(), Seed: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlanResult(ctx, p.ID, plan); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile(`<tr class="pl-visit" data-seq="(\d+)"`)
	status, _, body := v.pageReq("admin", "GET", fmt.Sprintf("/plans/%d", p.ID))
	if status != 200 || len(rows.FindAllString(body, -1)) != 2 {
		t.Fatalf("every day: %d, %d rows", status, len(rows.FindAllString(body, -1)))
	}
	if !strings.Contains(body, `class="pl-base" data-team="`+fmt.Sprint(v.team.ID)+`"`) || !strings.Contains(body, v.team.Name+" 队部") {
		t.Errorf("the map lacks the team's base")
	}
	if !strings.Contains(body, `<option value="`+d2.String()+`">`) {
		t.Errorf("the day filter does not offer %s", d2)
	}
	status, _, body = v.pageReq("admin", "GET", fmt.Sprintf("/plans/%d?date=%s", p.ID, d2))
	got := rows.FindAllStringSubmatch(body, -1)
	if status != 200 || len(got) != 1 || got[0][1] != "2" || !strings.Contains(body, `<option value="`+d2.String()+`" selected>`) {
		t.Fatalf("filtered to %s: %d, rows %v", d2, status, got)
	}
	for _, bad := range []string{"2026-13-01", testToday.AddDate(0, 0, 40).Format("2006-01-02")} {
		if status, _, _ := v.pageReq("admin", "GET", fmt.Sprintf("/plans/%d?date=%s", p.ID, bad)); status < 400 || status >= 500 {
			t.Errorf("date %s: status %d, want a 4xx", bad, status)
		}
	}
}
