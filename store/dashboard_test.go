package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestComparisonOf(t *testing.T) {
	c := store.ComparisonOf(planner.Stats{Visits: 30, LowerBound: 20}, planner.Stats{Tasks: 90, NaiveVisits: 100, LowerBound: 80, Visits: 75})
	if c.Tasks != 90 || c.NaiveVisits != 100 || c.LowerBound != 80 || c.Visits != 75 || c.VisitRatio != 0.4 || c.LowerBoundRatio != 0.25 {
		t.Fatalf("comparison %+v", c)
	}
	if z := store.ComparisonOf(planner.Stats{Visits: 3}, planner.Stats{}); z.VisitRatio != 0 || z.LowerBoundRatio != 0 {
		t.Fatalf("against an empty plan: %+v", z)
	}
}

func TestPlanComparisonAndMapVisits(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)
	if _, err := st.YearKey(ctx, "tester", 2026); err != nil {
		t.Fatal(err)
	}
	p, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	cmp := store.ComparisonStats{Tasks: 6, NaiveVisits: 5, LowerBound: 4, Visits: 4, VisitRatio: 0.75, LowerBoundRatio: 0.75}
	if err := st.SetPlanComparison(ctx, p.ID, cmp); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("comparison on a running plan: %v, want conflict", err)
	}
	if err := st.SavePlanResult(ctx, p.ID, handPlan(f)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlanComparison(ctx, p.ID, cmp); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetPlan(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Stats == nil || got.Stats.Independent == nil || *got.Stats.Independent != cmp || got.Stats.Visits != 3 || got.Stats.NaiveVisits != 4 {
		t.Fatalf("stats after the comparison: %+v", got.Stats)
	}
	if err := st.SetPlanComparison(ctx, 987654, cmp); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("comparison of an unknown plan: %v", err)
	}

	seqs := func(vs []store.MapVisit) []int {
		out := make([]int, len(vs))
		for i, v := range vs {
			out[i] = v.Seq
		}
		return out
	}
	other := &domain.Region{Code: "C-U", Name: "别的镇", Level: domain.LevelTownship, ParentID: &f.county}
	if err := st.CreateRegion(ctx, "test", other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		f     store.MapFilter
		want  []int
		tasks []int
	}{
		{"all", store.MapFilter{}, []int{1, 2, 3}, []int{2, 1, 1}},
		{"scope A", store.MapFilter{Scope: f.deptA}, []int{1, 2}, []int{1, 1}},
		{"department B", store.MapFilter{DepartmentID: f.deptB}, []int{1, 3}, []int{2, 1}},
		{"scope A, department B", store.MapFilter{Scope: f.deptA, DepartmentID: f.deptB}, []int{1}, []int{1}},
		{"team", store.MapFilter{TeamID: f.team}, []int{1, 2, 3}, []int{2, 1, 1}},
		{"other team", store.MapFilter{TeamID: f.team + 1000}, []int{}, []int{}},
		{"county", store.MapFilter{RegionID: f.county}, []int{1, 2, 3}, []int{2, 1, 1}},
		{"grid", store.MapFilter{RegionID: f.grid}, []int{1, 2, 3}, []int{2, 1, 1}},
		{"other township", store.MapFilter{RegionID: other.ID}, []int{}, []int{}},
	} {
		vs, total, err := st.PlanMapVisits(ctx, p.ID, c.f, 100)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if total != len(c.want) || !slices.Equal(seqs(vs), c.want) {
			t.Errorf("%s: seqs %v (total %d), want %v", c.name, seqs(vs), total, c.want)
			continue
		}
		for i, v := range vs {
			if v.Tasks != c.tasks[i] {
				t.Errorf("%s: visit %d has %d tasks, want %d", c.name, v.Seq, v.Tasks, c.tasks[i])
			}
			if v.RegionID != f.grid || v.Lat < 30.7 || v.Lng != 122.4 || v.BusinessName == "" || v.TeamID != f.team {
				t.Errorf("%s: visit %+v", c.name, v)
			}
		}
	}
	vs, total, err := st.PlanMapVisits(ctx, p.ID, store.MapFilter{}, 2)
	if err != nil || total != 3 || !slices.Equal(seqs(vs), []int{1, 2}) {
		t.Fatalf("limit 2: %v total %d, %v", seqs(vs), total, err)
	}
	if vs[0].RouteOrder != 1 || vs[1].RouteOrder != 2 || vs[0].Date.Format("2006-01-02") != "2026-03-03" {
		t.Fatalf("route order: %+v", vs)
	}
	if _, _, err := st.PlanMapVisits(ctx, 987654, store.MapFilter{}, 10); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown plan: %v", err)
	}

	if teams, err := st.PlanLeadTeams(ctx, p.ID); err != nil || !slices.Equal(teams, []int64{f.team}) {
		t.Fatalf("lead teams %v, %v", teams, err)
	}

	// A published plan's stats are frozen.
	if _, err := st.PublishPlan(ctx, "tester", p.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPlanComparison(ctx, p.ID, cmp); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("comparison on a published plan: %v, want conflict", err)
	}
}
