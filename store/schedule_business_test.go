package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is a wall-clock time in Shanghai.
func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// scheduleFixture is a published plan of four visits over newPlanFixture's
// registry, with demands that give notice and one that does not:
//
//	visit 1: biz[0] on 2026-03-10, joint (A announced 3 days, B announced 5): announced, visible from 03-07
//	visit 2: biz[0] on 2026-03-12, B unannounced: listed from 03-13
//	visit 3: biz[1] on 2026-03-10, A announced 3 days
//	visit 4: biz[0] on 2026-03-11, A announced 3 days and B unannounced: unannounced
//
// Visit 1 has an inspector of another team (outsider) as a member.
type scheduleFixture struct {
	planFixture
	plan                 store.Plan
	announcedA, announcB int64
	silentB              int64
	otherTeam, outsider  int64
}

func newScheduleFixture(t *testing.T, st *store.Store) scheduleFixture {
	t.Helper()
	ctx := context.Background()
	f := scheduleFixture{planFixture: newPlanFixture(t, st)}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	other := &domain.Team{Code: "T2", Name: "二队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480, RegionIDs: []int64{f.grid}}
	must(st.CreateTeam(ctx, "test", other))
	out := &domain.Inspector{Code: "O1", Name: "外援", TeamID: other.ID, Domains: []string{"food_safety"}}
	must(st.CreateInspector(ctx, "test", out))
	f.otherTeam, f.outsider = other.ID, out.ID
	demand := func(dept, item int64, announce int, biz ...string) int64 {
		d := &domain.Demand{DepartmentID: dept, ItemIDs: []int64{item}, TargetKind: domain.TargetList, Businesses: biz,
			WindowFrom: day("2026-03-02"), WindowTo: day("2026-03-27"), Priority: 3, Source: domain.SourceRoutine,
			AnnounceDays: announce}
		_, err := st.CreateDemand(ctx, "test", nil, d)
		must(err)
		return d.ID
	}
	f.announcedA = demand(f.deptA, f.itemA, 3, f.biz[0], f.biz[1])
	f.announcB = demand(f.deptB, f.itemB, 5, f.biz[0])
	f.silentB = demand(f.deptB, f.itemB, 0, f.biz[0])
	if _, err := st.YearKey(ctx, "tester", 2026); err != nil {
		t.Fatal(err)
	}
	p, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	must(st.SavePlanResult(ctx, p.ID, f.plannerPlan()))
	pub, err := st.PublishPlan(ctx, "admin", p.ID)
	must(err)
	f.plan = pub
	return f
}

func (f scheduleFixture) task(demand, dept, item int64, biz string) planner.Task {
	return planner.Task{DemandID: demand, DepartmentID: dept, USCC: biz, ItemID: item,
		From: pday("2026-03-02"), To: pday("2026-03-27"), Priority: 3}
}

func (f scheduleFixture) plannerPlan() *planner.Plan {
	d10, d11, d12 := pday("2026-03-10"), pday("2026-03-11"), pday("2026-03-12")
	return &planner.Plan{
		Visits: []planner.Visit{
			{USCC: f.biz[0], Date: d10, TeamID: f.team, InspectorIDs: []int64{f.inspectors[0], f.outsider},
				Tasks:         []planner.Task{f.task(f.announcedA, f.deptA, f.itemA, f.biz[0]), f.task(f.announcB, f.deptB, f.itemB, f.biz[0])},
				DepartmentIDs: []int64{f.deptA, f.deptB}, DurationMinutes: 45, TravelMinutes: 12, RouteOrder: 1},
			{USCC: f.biz[0], Date: d12, TeamID: f.team, InspectorIDs: []int64{f.inspectors[1], f.inspectors[2]},
				Tasks:         []planner.Task{f.task(f.silentB, f.deptB, f.itemB, f.biz[0])},
				DepartmentIDs: []int64{f.deptB}, DurationMinutes: 20, TravelMinutes: 15, RouteOrder: 1},
			{USCC: f.biz[1], Date: d10, TeamID: f.team, InspectorIDs: []int64{f.inspectors[1], f.inspectors[2]},
				Tasks:         []planner.Task{f.task(f.announcedA, f.deptA, f.itemA, f.biz[1])},
				DepartmentIDs: []int64{f.deptA}, DurationMinutes: 30, TravelMinutes: 8, RouteOrder: 2},
			{USCC: f.biz[0], Date: d11, TeamID: f.team, InspectorIDs: []int64{f.inspectors[2], f.inspectors[0]},
				Tasks:         []planner.Task{f.task(f.announcedA, f.deptA, f.itemA, f.biz[0]), f.task(f.silentB, f.deptB, f.itemB, f.biz[0])},
				DepartmentIDs: []int64{f.deptA, f.deptB}, DurationMinutes: 50, TravelMinutes: 10, RouteOrder: 1},
		},
		TeamDays: []planner.TeamDay{
			{TeamID: f.team, Date: d10, Visits: []int{0, 2}, TravelKm: 5, WorkMinutes: 75, TravelMinutes: 20},
			{TeamID: f.team, Date: d11, Visits: []int{3}, TravelKm: 2, WorkMinutes: 50, TravelMinutes: 10},
			{TeamID: f.team, Date: d12, Visits: []int{1}, TravelKm: 3, WorkMinutes: 20, TravelMinutes: 15},
		},
		Stats: planner.Stats{Tasks: 6, NaiveVisits: 6, LowerBound: 4, Visits: 4, JointVisits: 2},
	}
}

// seqs lists the visits of a schedule as "plan/seq" keys (here: seq only).
func seqs(vs []store.ScheduleVisit) []int {
	out := []int{}
	for _, v := range vs {
		out = append(out, v.VisitSeq)
	}
	return out
}

func TestBusinessScheduleVisibility(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	for _, c := range []struct {
		name string
		now  time.Time
		loc  *time.Location
		want []int
	}{
		{"before any notice", at("2026-03-06 23:59"), shanghai, []int{}},
		// The least announce_days of visit 1 is 3: visible from midnight of 03-07 in Shanghai.
		{"notice day, midnight in Shanghai", at("2026-03-07 00:00"), shanghai, []int{1}},
		// The same instant is still 03-06 in UTC.
		{"the same instant in UTC", at("2026-03-07 00:00"), time.UTC, []int{}},
		// Unannounced visits (4 on 03-11, 2 on 03-12) are absent on their day...
		{"day of the unannounced visit", at("2026-03-11 18:00"), shanghai, []int{1}},
		// ...and listed from the day after.
		{"the day after visit 4", at("2026-03-12 08:00"), shanghai, []int{1, 4}},
		{"the day after visit 2", at("2026-03-13 00:00"), shanghai, []int{1, 4, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := st.BusinessSchedule(ctx, f.biz[0], c.now, c.loc)
			if err != nil {
				t.Fatal(err)
			}
			if got := seqs(s.Visits); !slices.Equal(got, c.want) {
				t.Fatalf("visits %v, want %v", got, c.want)
			}
			if s.Business.USCC != f.biz[0] || s.Business.Name != "店0" {
				t.Errorf("business %+v", s.Business)
			}
		})
	}

	// Visit 1 in full.
	s, err := st.BusinessSchedule(ctx, f.biz[0], at("2026-03-13 00:00"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	v := s.Visits[0]
	if v.PlanID != f.plan.ID || v.UID != store.VisitUID(f.plan.ID, 1) || v.Date != "2026-03-10" || v.OriginalDate != "" ||
		v.Revision != 0 || v.StartTime != "09:00" || v.EndTime != "17:00" || !v.Announced || v.Status != store.VisitPast ||
		v.LeadTeam.ID != f.team || v.LeadTeam.Name != "队" || v.LeadInspector != "人0" || !v.UpdatedAt.Equal(*f.plan.PublishedAt) {
		t.Errorf("visit 1: %+v", v)
	}
	if len(v.Departments) != 2 || v.Departments[0].ID != f.deptA || v.Departments[0].Code != "SCJG" ||
		v.Departments[1].ID != f.deptB || len(v.Departments[0].Items) != 1 || v.Departments[0].Items[0].ID != f.itemA ||
		v.Departments[1].Items[0].Name != "消防" {
		t.Errorf("visit 1 departments: %+v", v.Departments)
	}
	if s.Visits[1].Announced || s.Visits[2].Announced {
		t.Errorf("visits 4 and 2 are unannounced: %+v", s.Visits[1:])
	}
	planned, err := st.BusinessSchedule(ctx, f.biz[0], at("2026-03-09 10:00"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(planned.Visits) != 1 || planned.Visits[0].Status != store.VisitPlanned {
		t.Errorf("before its day visit 1 is planned: %+v", planned.Visits)
	}

	// Another business sees its own visit only; an unknown one is not found.
	other, err := st.BusinessSchedule(ctx, f.biz[1], at("2026-03-09 10:00"), shanghai)
	if err != nil || !slices.Equal(seqs(other.Visits), []int{3}) {
		t.Fatalf("biz[1]: %v %+v", err, other.Visits)
	}
	empty, err := st.BusinessSchedule(ctx, f.biz[2], at("2026-03-30 10:00"), shanghai)
	if err != nil || empty.Visits == nil || len(empty.Visits) != 0 {
		t.Fatalf("biz[2] has no visit: %v %+v", err, empty)
	}
	if _, err := st.BusinessSchedule(ctx, code(99), at("2026-03-09 10:00"), shanghai); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown business: %v", err)
	}

	// A draft plan's visits are nobody's schedule.
	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, draft.ID, f.plannerPlan()); err != nil {
		t.Fatal(err)
	}
	again, err := st.BusinessSchedule(ctx, f.biz[0], at("2026-03-13 00:00"), shanghai)
	if err != nil || len(again.Visits) != 3 {
		t.Fatalf("with a draft plan: %v %+v", err, again.Visits)
	}
}

func TestUIDsStableAcrossPlans(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	now := at("2026-03-13 00:00")
	before, err := st.BusinessSchedule(ctx, f.biz[0], now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	// A second plan, made and published after the first, adds a visit to the
	// same business on an earlier day.
	p2, _ := createPlan(t, st, 2026, 0.25, "2026-03-02", "2026-03-27", nil)
	second := &planner.Plan{
		Visits: []planner.Visit{{USCC: f.biz[0], Date: pday("2026-03-09"), TeamID: f.team,
			InspectorIDs: []int64{f.inspectors[0], f.inspectors[1]},
			Tasks:        []planner.Task{f.task(f.announcedA, f.deptA, f.itemA, f.biz[0])}, DepartmentIDs: []int64{f.deptA},
			DurationMinutes: 30, TravelMinutes: 5, RouteOrder: 1}},
		TeamDays: []planner.TeamDay{{TeamID: f.team, Date: pday("2026-03-09"), Visits: []int{0}, TravelKm: 1, WorkMinutes: 30, TravelMinutes: 5}},
		Stats:    planner.Stats{Tasks: 1, NaiveVisits: 1, LowerBound: 1, Visits: 1},
	}
	if err := st.SavePlanResult(ctx, p2.ID, second); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPlan(ctx, "admin", p2.ID); err != nil {
		t.Fatal(err)
	}
	after, err := st.BusinessSchedule(ctx, f.biz[0], now, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Visits) != len(before.Visits)+1 || after.Visits[0].PlanID != p2.ID || after.Visits[0].UID != store.VisitUID(p2.ID, 1) {
		t.Fatalf("after the second plan: %+v", after.Visits)
	}
	uids := map[string]string{}
	for _, v := range after.Visits {
		if prev, dup := uids[v.UID]; dup {
			t.Fatalf("UID %s shared by %s and %s", v.UID, prev, v.Date)
		}
		uids[v.UID] = v.Date
	}
	for _, v := range before.Visits {
		if uids[v.UID] != v.Date {
			t.Errorf("visit %d of plan %d: UID %s changed or lost", v.VisitSeq, v.PlanID, v.UID)
		}
	}
}

func TestMoveVisit(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	cal := func(d time.Time) bool { return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday }
	rules := store.MoveRules{Today: day("2026-03-09"), WorkingDay: cal}

	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, draft.ID, f.plannerPlan()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		plan   int64
		seq    int
		to     string
		reason string
		rules  store.MoveRules
		field  string // validation error naming it
		is     error  // or this error
	}{
		{"no reason", f.plan.ID, 1, "2026-03-16", "  ", rules, "reason", nil},
		{"past date", f.plan.ID, 1, "2026-03-06", "rain", rules, "date", nil},
		{"a Saturday", f.plan.ID, 1, "2026-03-14", "rain", rules, "date", nil},
		{"the same date", f.plan.ID, 1, "2026-03-10", "rain", rules, "date", nil},
		{"a draft plan", draft.ID, 1, "2026-03-16", "rain", rules, "id", nil},
		{"unknown plan", 999999, 1, "2026-03-16", "rain", rules, "", domain.ErrNotFound},
		{"unknown visit", f.plan.ID, 99, "2026-03-16", "rain", rules, "", domain.ErrNotFound},
		{"a visit already past", f.plan.ID, 1, "2026-03-16", "rain", store.MoveRules{Today: day("2026-03-11"), WorkingDay: cal}, "", domain.ErrConflict},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := st.MoveVisit(ctx, "admin", c.plan, c.seq, day(c.to), c.reason, c.rules)
			if c.field != "" {
				var ve *domain.ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != c.field {
					t.Fatalf("error %v, want a validation error naming %s", err, c.field)
				}
				return
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("error %v, want %v", err, c.is)
			}
		})
	}
	if moves, err := st.VisitMoves(ctx, f.plan.ID, 1); err != nil || len(moves) != 0 {
		t.Fatalf("refused moves left %v %v", moves, err)
	}

	// Visit 1 (03-10, announced 3 days) moves to Monday 03-16, then to 03-17.
	m, err := st.MoveVisit(ctx, "admin#1:coordinator", f.plan.ID, 1, day("2026-03-16"), " 企业停业装修 ", rules)
	if err != nil {
		t.Fatal(err)
	}
	if m.Revision != 1 || m.FromDate != "2026-03-10" || m.ToDate != "2026-03-16" || m.OriginalDate != "2026-03-10" ||
		m.Reason != "企业停业装修" || m.UID != store.VisitUID(f.plan.ID, 1) || m.MovedAt.IsZero() {
		t.Fatalf("move: %+v", m)
	}
	m2, err := st.MoveVisit(ctx, "admin#1:coordinator", f.plan.ID, 1, day("2026-03-17"), "台风", rules)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Revision != 2 || m2.FromDate != "2026-03-16" || m2.ToDate != "2026-03-17" || m2.OriginalDate != "2026-03-10" {
		t.Fatalf("second move: %+v", m2)
	}
	moves, err := st.VisitMoves(ctx, f.plan.ID, 1)
	if err != nil || len(moves) != 2 || moves[0].ToDate != m.ToDate || !moves[0].MovedAt.Equal(m.MovedAt) || moves[0].Reason != m.Reason || moves[1].Reason != "台风" {
		t.Fatalf("moves %+v %v", moves, err)
	}

	// The schedule shows the effective date, the plan's date and the revision.
	// The business was told on 03-07 (03-10 less 3 days) and still sees the
	// visit on 03-08, though 03-17 less 3 days is later.
	s, err := st.BusinessSchedule(ctx, f.biz[0], at("2026-03-08 09:00"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Visits) != 1 {
		t.Fatalf("schedule after the move: %+v", s.Visits)
	}
	v := s.Visits[0]
	if v.UID != store.VisitUID(f.plan.ID, 1) || v.Date != "2026-03-17" || v.OriginalDate != "2026-03-10" || v.Revision != 2 ||
		!v.UpdatedAt.Equal(m2.MovedAt) || v.Status != store.VisitPlanned {
		t.Fatalf("moved visit: %+v", v)
	}

	// An unannounced visit moved earlier (2: 03-12 → 03-11) is listed from
	// the day after its new date.
	if _, err := st.MoveVisit(ctx, "admin", f.plan.ID, 2, day("2026-03-11"), "改期", rules); err != nil {
		t.Fatal(err)
	}
	s, err = st.BusinessSchedule(ctx, f.biz[0], at("2026-03-12 00:00"), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if got := seqs(s.Visits); !slices.Equal(got, []int{2, 4, 1}) {
		t.Fatalf("visits %v, want [2 4 1] (2 and 4 on 03-11, then 1 on 03-17)", got)
	}

	// Rosters follow the effective date; the frozen plan rows do not change.
	admin := domain.Principal{Role: domain.RoleAdmin}
	r10, err := st.Roster(ctx, admin, f.team, day("2026-03-10"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r10.Visits) != 1 || r10.Visits[0].VisitSeq != 3 {
		t.Fatalf("roster of 03-10: %+v", r10.Visits)
	}
	r17, err := st.Roster(ctx, admin, f.team, day("2026-03-17"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r17.Visits) != 1 || r17.Visits[0].VisitSeq != 1 || r17.Visits[0].OriginalDate != "2026-03-10" ||
		r17.Visits[0].Revision != 2 || len(r17.Visits[0].Items) != 2 || len(r17.Visits[0].Inspectors) != 2 {
		t.Fatalf("roster of 03-17: %+v", r17.Visits)
	}
	r11, err := st.Roster(ctx, admin, f.team, day("2026-03-11"))
	if err != nil {
		t.Fatal(err)
	}
	// Visit 4 was routed on 03-11; visit 2 moved in comes after it.
	if got := []int{r11.Visits[0].VisitSeq, r11.Visits[1].VisitSeq}; len(r11.Visits) != 2 || !slices.Equal(got, []int{4, 2}) {
		t.Fatalf("roster of 03-11: %+v", r11.Visits)
	}
	// The outsider (another team) is on visit 1: it may read the lead team's
	// roster of the visit's effective day, no longer of its plan's day.
	for _, c := range []struct {
		day  string
		want bool
	}{{"2026-03-10", false}, {"2026-03-17", true}} {
		ok, err := st.InspectorOnTeamDay(ctx, f.outsider, f.team, day(c.day))
		if err != nil || ok != c.want {
			t.Errorf("outsider on %s: %v %v, want %v", c.day, ok, err, c.want)
		}
	}

	// Moves are the record: they cannot be altered.
	if err := st.ExecForTest(ctx, "UPDATE visit_moves SET reason = 'x'"); err == nil {
		t.Error("a move was updated")
	}
	if err := st.ExecForTest(ctx, "DELETE FROM visit_moves"); err == nil {
		t.Error("a move was deleted")
	}
	entries, err := st.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var audited int
	for _, e := range entries {
		if e.Action == "visit.move" && e.Object == fmt.Sprintf("plan/%d/visit/1", f.plan.ID) {
			audited++
		}
	}
	if audited != 2 {
		t.Errorf("%d visit.move entries for visit 1, want 2", audited)
	}
}
