package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestBusinessVisitsForStaff: the registry's business page lists every
// published visit, latest first, unannounced ones and joined items included
// before their day (unlike the business's own schedule); a team sees only
// the visits it leads; a draft plan's visits are not listed.
func TestBusinessVisitsForStaff(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	// Before any notice: the business itself sees nothing yet.
	early := at("2026-03-01 10:00")
	vs, err := st.BusinessVisits(ctx, f.biz[0], 0, early, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, v := range vs {
		got = append(got, v.VisitSeq)
		if v.Status != store.VisitPlanned || v.Results == nil || len(v.Results) != 0 || v.ConfirmedAt != nil || v.PublishedAt != nil {
			t.Errorf("visit %d before its day: %+v", v.VisitSeq, v)
		}
	}
	// 03-12 (2), 03-11 (4), 03-10 (1).
	if !slices.Equal(got, []int{2, 4, 1}) {
		t.Fatalf("visits %v, want [2 4 1]", got)
	}
	if vs[0].Announced || !vs[2].Announced || len(vs[2].Departments) != 2 || vs[2].LeadTeam.ID != f.team {
		t.Errorf("visits: %+v", vs)
	}
	if own, err := st.BusinessVisits(ctx, f.biz[0], f.team, early, shanghai); err != nil || len(own) != 3 {
		t.Fatalf("the leading team: %v %d visits", err, len(own))
	}
	if other, err := st.BusinessVisits(ctx, f.biz[0], f.otherTeam, early, shanghai); err != nil || len(other) != 0 {
		t.Fatalf("another team: %v %+v", err, other)
	}
	if none, err := st.BusinessVisits(ctx, f.biz[2], 0, early, shanghai); err != nil || none == nil || len(none) != 0 {
		t.Fatalf("a business without visits: %v %+v", err, none)
	}
	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, draft.ID, f.plannerPlan()); err != nil {
		t.Fatal(err)
	}
	if again, err := st.BusinessVisits(ctx, f.biz[0], 0, early, shanghai); err != nil || len(again) != 3 {
		t.Fatalf("with a draft plan: %v %d visits", err, len(again))
	}
}

// TestBusinessVisitsResults: a recorded result shows on its visit, as the
// task's current outcome.
func TestBusinessVisitsResults(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, _ := resultRules(t)
	insp := f.inspectors[1]
	_, tasks := doorTasks(t, st, p.ID, 1, insp)
	arrived := time.Date(2026, 3, 3, 1, 30, 0, 0, time.UTC)
	if _, _, err := st.RecordCheckIn(ctx, p.ID, 1, insp, store.CheckInInput{ClientID: newUUID(), At: &arrived}, rules); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], insp,
		store.ResultInput{ClientID: newUUID(), Outcome: store.ResultCompliant}, rules); err != nil {
		t.Fatal(err)
	}
	vs, err := st.BusinessVisits(ctx, f.biz[0], 0, at("2026-03-04 10:00"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	var v *store.BusinessVisit
	for i := range vs {
		if vs[i].PlanID == p.ID && vs[i].VisitSeq == 1 {
			v = &vs[i]
		}
	}
	if v == nil {
		t.Fatalf("visit 1 not listed: %+v", vs)
	}
	if len(v.Results) != 1 || v.Results[0].Outcome != store.ResultCompliant || v.Results[0].DepartmentName != "市场监管" ||
		v.Results[0].ItemCode != "SCJG-01" || v.Status != store.VisitPast || v.ConfirmedAt != nil {
		t.Errorf("visit 1: %+v", v)
	}
}

// TestBusinessSearch: the registry search matches a part of the name in any
// case or the start of the USCC in any case; LIKE's wildcards match only
// themselves.
func TestBusinessSearch(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)
	extra := &domain.Business{USCC: code(42), Name: "Harbour Seafood 海鲜店", RegionID: f.grid, IndustryCode: "H6210",
		Lat: 30.7, Lng: 122.4, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
	if err := st.CreateBusiness(ctx, "test", extra); err != nil {
		t.Fatal(err)
	}
	admin := domain.Principal{Role: domain.RoleAdmin, Name: "a"}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"店1", []string{f.biz[1]}},
		{"  seafood ", []string{extra.USCC}},
		{"海鲜", []string{extra.USCC}},
		{strings.ToLower(code(42)), []string{extra.USCC}},
		{code(2), []string{f.biz[1]}},
		{"%", nil},
		{"_", nil},
		{"", append(slices.Clone(f.biz), extra.USCC)},
	} {
		res, err := st.ListBusinesses(ctx, store.BusinessFilter{Search: c.q, Viewer: &admin}, store.Page{Limit: 50})
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		var got []string
		for _, b := range res.Items {
			got = append(got, b.USCC)
		}
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("search %q: %v, want %v", c.q, got, want)
		}
	}
}
