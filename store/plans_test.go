package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

// planFixture is a small registry: two departments with an item each, one
// grid, one team, three inspectors, three businesses and two demands.
type planFixture struct {
	deptA, deptB   int64
	itemA, itemB   int64
	county, grid   int64
	team           int64
	inspectors     []int64
	biz            []string
	listD, sampleD int64
}

func code(n int) string {
	c, err := uscc.Complete(fmt.Sprintf("91330922%09d", n))
	if err != nil {
		panic(err)
	}
	return c
}

func newPlanFixture(t testing.TB, st *store.Store) planFixture {
	t.Helper()
	ctx := context.Background()
	var f planFixture
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	a := &domain.Department{Code: "SCJG", Name: "市场监管"}
	b := &domain.Department{Code: "XFJY", Name: "消防"}
	must(st.CreateDepartment(ctx, "test", a))
	must(st.CreateDepartment(ctx, "test", b))
	f.deptA, f.deptB = a.ID, b.ID
	ia := &domain.Item{Code: "SCJG-01", DepartmentID: a.ID, Name: "食品", Domain: "food_safety", Minutes: 30}
	ib := &domain.Item{Code: "XFJY-01", DepartmentID: b.ID, Name: "消防", Domain: "fire_safety", Minutes: 20}
	must(st.CreateItem(ctx, "test", ia))
	must(st.CreateItem(ctx, "test", ib))
	f.itemA, f.itemB = ia.ID, ib.ID
	county := &domain.Region{Code: "C", Name: "县", Level: domain.LevelCounty}
	must(st.CreateRegion(ctx, "test", county))
	town := &domain.Region{Code: "C-T", Name: "镇", Level: domain.LevelTownship, ParentID: &county.ID}
	must(st.CreateRegion(ctx, "test", town))
	grid := &domain.Region{Code: "C-T-G", Name: "网格", Level: domain.LevelGrid, ParentID: &town.ID}
	must(st.CreateRegion(ctx, "test", grid))
	f.county, f.grid = county.ID, grid.ID
	team := &domain.Team{Code: "T1", Name: "队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 960, RegionIDs: []int64{town.ID}}
	must(st.CreateTeam(ctx, "test", team))
	f.team = team.ID
	for i := range 3 {
		in := &domain.Inspector{Code: fmt.Sprintf("I%d", i), Name: fmt.Sprintf("人%d", i), TeamID: team.ID,
			Domains: []string{"food_safety", "fire_safety"}}
		must(st.CreateInspector(ctx, "test", in))
		f.inspectors = append(f.inspectors, in.ID)
	}
	for i := range 3 {
		bz := &domain.Business{USCC: code(i + 1), Name: fmt.Sprintf("店%d", i), RegionID: grid.ID, IndustryCode: "H6210",
			Lat: 30.7 + float64(i)/100, Lng: 122.4, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
		must(st.CreateBusiness(ctx, "test", bz))
		f.biz = append(f.biz, bz.USCC)
	}
	from, to := day("2026-03-02"), day("2026-03-27")
	list := &domain.Demand{DepartmentID: a.ID, ItemIDs: []int64{ia.ID}, TargetKind: domain.TargetList,
		Businesses: f.biz, WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine}
	_, err := st.CreateDemand(ctx, "test", nil, list)
	must(err)
	ratio := 0.5
	sample := &domain.Demand{DepartmentID: b.ID, ItemIDs: []int64{ib.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{IndustryCodes: []string{"H6210"}, Ratio: &ratio}, WindowFrom: from, WindowTo: to,
		Priority: 2, Source: domain.SourceComplaint}
	_, err = st.CreateDemand(ctx, "test", nil, sample)
	must(err)
	f.listD, f.sampleD = list.ID, sample.ID
	return f
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func pday(s string) planner.Day { return planner.DayOf(day(s)) }

// handPlan is a plan of three visits: a joint one at biz[0], one per
// department at biz[1] and biz[2]; three unplaced entries (a task, a whole
// demand, an unknown item); a target draw whose frame holds the weights JSON
// cannot write as numbers, and an inspector draw with steps.
func handPlan(f planFixture) *planner.Plan {
	from, to := pday("2026-03-02"), pday("2026-03-27")
	ta := func(b string) planner.Task {
		return planner.Task{DemandID: f.listD, DepartmentID: f.deptA, USCC: b, ItemID: f.itemA, From: from, To: to, Priority: 3}
	}
	tb := func(b string) planner.Task {
		return planner.Task{DemandID: f.sampleD, DepartmentID: f.deptB, USCC: b, ItemID: f.itemB, From: from, To: to, Priority: 2, Complaint: true}
	}
	d1, d2 := pday("2026-03-03"), pday("2026-03-04")
	p := &planner.Plan{
		Visits: []planner.Visit{
			{USCC: f.biz[0], Date: d1, TeamID: f.team, InspectorIDs: []int64{f.inspectors[1], f.inspectors[0]},
				Tasks: []planner.Task{ta(f.biz[0]), tb(f.biz[0])}, DepartmentIDs: []int64{f.deptA, f.deptB},
				DurationMinutes: 45, TravelMinutes: 12, RouteOrder: 1},
			{USCC: f.biz[1], Date: d1, TeamID: f.team, InspectorIDs: []int64{f.inspectors[2], f.inspectors[1]},
				Tasks: []planner.Task{ta(f.biz[1])}, DepartmentIDs: []int64{f.deptA},
				DurationMinutes: 45, TravelMinutes: 5, RouteOrder: 2},
			{USCC: f.biz[2], Date: d2, TeamID: f.team, InspectorIDs: []int64{f.inspectors[0], f.inspectors[2]},
				Tasks: []planner.Task{tb(f.biz[2])}, DepartmentIDs: []int64{f.deptB},
				DurationMinutes: 35, TravelMinutes: 20, RouteOrder: 1},
		},
		TeamDays: []planner.TeamDay{
			{TeamID: f.team, Date: d1, Visits: []int{0, 1}, TravelKm: 7.25, WorkMinutes: 90, TravelMinutes: 17},
			{TeamID: f.team, Date: d2, Visits: []int{2}, TravelKm: 3.5, WorkMinutes: 35, TravelMinutes: 20},
		},
		Draws: []planner.Draw{
			{Kind: planner.DrawTargets, DemandID: f.sampleD, N: 2, Shift: 0.125, Salt: "",
				Frame: []planner.Candidate{{Key: f.biz[0], Weight: 0.1}, {Key: f.biz[1], Weight: math.Inf(1)},
					{Key: f.biz[2], Weight: math.Copysign(0, -1)}},
				FrameHash: "abc", Excluded: []planner.Exclusion{{Key: code(9), Reason: planner.ReasonLeaveAlone}},
				Result: []string{f.biz[1], f.biz[0]}},
			{Kind: planner.DrawInspectors, VisitKey: f.biz[0] + "/2026-03-03/1", N: 2, Required: []string{"fire_safety", "food_safety"},
				Frame:     []planner.Candidate{{Key: "1", Weight: 1}, {Key: "2", Weight: 0.5}},
				FrameHash: "def",
				Steps: []planner.DrawStep{{Need: "food_safety", Candidates: []planner.Candidate{{Key: "1", Weight: 1}, {Key: "2", Weight: 0.5}}, Pick: "2"},
					{Need: "", Candidates: []planner.Candidate{{Key: "1", Weight: 1}}, Pick: "1"}},
				Result: []string{"2", "1"}},
		},
		Unplaced: []planner.Unplaced{
			{DemandID: f.listD, USCC: f.biz[2], ItemID: f.itemA, Reason: planner.ReasonCapacity},
			{DemandID: f.sampleD, Reason: planner.ReasonEmptyPopulation},
			{DemandID: f.listD, USCC: f.biz[2], ItemID: 99999, Reason: planner.ReasonUnknownItem},
		},
	}
	p.Stats = planner.Stats{Tasks: 5, NaiveVisits: 4, LowerBound: 3, Visits: 3, JointVisits: 1, JointVisitRate: 1.0 / 3,
		Unplaced: 3, UnplacedByReason: map[string]int{planner.ReasonCapacity: 1, planner.ReasonEmptyPopulation: 1, planner.ReasonUnknownItem: 1},
		TravelKm: 10.75, Utilisation: map[int64]float64{f.team: 0.0625}}
	return p
}

func newSeed(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func createPlan(t testing.TB, st *store.Store, year int, shift float64, from, to string, regions []int64) (store.Plan, []byte) {
	t.Helper()
	seed := newSeed(t)
	p, err := st.CreatePlan(context.Background(), "tester", store.NewPlan{From: day(from), To: day(to), RegionIDs: regions,
		Mode: store.ModeCoordinated, Year: year, Shift: shift, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return p, seed
}

// sameDraws compares draws with nil and empty slices taken as equal.
func normDraw(d planner.Draw) planner.Draw {
	if len(d.Frame) == 0 {
		d.Frame = nil
	}
	if len(d.Excluded) == 0 {
		d.Excluded = nil
	}
	if len(d.Required) == 0 {
		d.Required = nil
	}
	if len(d.Steps) == 0 {
		d.Steps = nil
	}
	if len(d.Result) == 0 {
		d.Result = nil
	}
	return d
}

func TestPlanRoundTripAndLifecycle(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)

	// Year key: created once, committed by its hash, secret until revealed.
	k, err := st.YearKey(ctx, "tester", 2026)
	if err != nil {
		t.Fatal(err)
	}
	if h := sha256.Sum256(k.Key); len(k.Key) != 32 || !bytes.Equal(h[:], k.KeyHash) || k.RevealedAt != nil {
		t.Fatalf("year key %+v", k)
	}
	if again, err := st.YearKey(ctx, "tester", 2026); err != nil || !bytes.Equal(again.Key, k.Key) {
		t.Fatalf("second YearKey: %v, same key %v", err, bytes.Equal(again.Key, k.Key))
	}
	if pub, err := st.RevealedYearKey(ctx, 2026); err != nil || pub.Key != nil {
		t.Fatalf("unrevealed key handed out: %+v %v", pub, err)
	}
	if b, _ := json.Marshal(k); strings.Contains(string(b), `"key"`) {
		t.Fatalf("unrevealed key in JSON: %s", b)
	}
	if _, err := st.CreatePlan(ctx, "tester", store.NewPlan{From: day("2026-03-02"), To: day("2026-03-27"),
		Mode: store.ModeCoordinated, Year: 2031, Seed: newSeed(t)}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("plan in a year without key: %v", err)
	}

	p, seed := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if p.Status != store.PlanRunning || p.Seed != nil || p.Stats != nil {
		t.Fatalf("new plan %+v", p)
	}
	if h := sha256.Sum256(seed); !bytes.Equal(h[:], p.SeedHash) {
		t.Fatal("seed_hash is not SHA-256 of the seed")
	}
	if b, _ := json.Marshal(p); bytes.Contains(b, []byte(`"seed"`)) {
		t.Fatalf("running plan JSON carries its seed: %s", b)
	}
	run, err := st.RunningPlan(ctx, p.ID)
	if err != nil || !bytes.Equal(run.RunSeed[:], seed) {
		t.Fatalf("RunningPlan: %v", err)
	}
	if err := st.UpdatePlanProgress(ctx, p.ID, 40, "planning"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetPlan(ctx, p.ID); got.Progress != 40 || got.ProgressNote != "planning" {
		t.Fatalf("progress %d %q", got.Progress, got.ProgressNote)
	}

	want := handPlan(f)
	if err := st.SavePlanResult(ctx, p.ID, want); err != nil {
		t.Fatal(err)
	}
	if err := st.SavePlanResult(ctx, p.ID, want); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("second save: %v, want conflict", err)
	}
	got, err := st.GetPlan(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantNext := planner.NextShift(0.125, 2.0/3)
	if got.Status != store.PlanDraft || got.Seed != nil || got.Stats == nil || got.Progress != 100 ||
		got.NextShift == nil || *got.NextShift != wantNext {
		t.Fatalf("saved plan %+v", got)
	}
	if s := got.Stats; s.Visits != 3 || s.NaiveVisits != 4 || s.LowerBound != 3 || s.Unplaced != 3 ||
		s.TargetDraws != 1 || s.InspectorDraws != 1 || s.VisitReduction != 0.25 || s.Utilisation[f.team] != 0.0625 {
		t.Fatalf("stats %+v", s)
	}

	t.Run("result reads back as saved", func(t *testing.T) {
		back, err := st.PlanResult(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back.Visits, want.Visits) {
			t.Errorf("visits\n got %+v\nwant %+v", back.Visits, want.Visits)
		}
		if !reflect.DeepEqual(back.TeamDays, want.TeamDays) {
			t.Errorf("team days\n got %+v\nwant %+v", back.TeamDays, want.TeamDays)
		}
		if !reflect.DeepEqual(back.Unplaced, want.Unplaced) {
			t.Errorf("unplaced\n got %+v\nwant %+v", back.Unplaced, want.Unplaced)
		}
		if !reflect.DeepEqual(back.Stats, want.Stats) {
			t.Errorf("stats\n got %+v\nwant %+v", back.Stats, want.Stats)
		}
		if len(back.Draws) != len(want.Draws) {
			t.Fatalf("%d draws, want %d", len(back.Draws), len(want.Draws))
		}
		for i := range want.Draws {
			g, w := normDraw(back.Draws[i]), normDraw(want.Draws[i])
			if !reflect.DeepEqual(g, w) {
				t.Errorf("draw %d\n got %+v\nwant %+v", i+1, g, w)
			}
		}
		// -0 keeps its sign, +Inf its infinity.
		if w := back.Draws[0].Frame[2].Weight; w != 0 || !math.Signbit(w) {
			t.Errorf("-0 weight read back as %v", w)
		}
	})

	t.Run("visits scoped by department", func(t *testing.T) {
		all, err := st.ListPlanVisits(ctx, p.ID, 0, store.Page{})
		if err != nil || len(all.Items) != 3 || all.Next != "" {
			t.Fatalf("all visits: %d, next %q, %v", len(all.Items), all.Next, err)
		}
		v := all.Items[0]
		if v.Seq != 1 || v.USCC != f.biz[0] || v.BusinessName != "店0" || v.Date != "2026-03-03" || len(v.Tasks) != 2 ||
			len(v.Inspectors) != 2 || v.Inspectors[0] != (store.PlanAssignment{InspectorID: f.inspectors[1], Role: "lead"}) ||
			v.Inspectors[1].Role != "member" {
			t.Fatalf("visit 1: %+v", v)
		}
		a, err := st.ListPlanVisits(ctx, p.ID, f.deptA, store.Page{})
		if err != nil || len(a.Items) != 2 || a.Items[0].Seq != 1 || a.Items[1].Seq != 2 {
			t.Fatalf("department A: %+v %v", a.Items, err)
		}
		for _, v := range a.Items {
			for _, tk := range v.Tasks {
				if tk.DepartmentID != f.deptA {
					t.Errorf("department A sees task %+v", tk)
				}
			}
		}
		if len(a.Items[0].DepartmentIDs) != 2 {
			t.Errorf("joint visit lost its departments: %v", a.Items[0].DepartmentIDs)
		}
		page1, err := st.ListPlanVisits(ctx, p.ID, f.deptB, store.Page{Limit: 1})
		if err != nil || len(page1.Items) != 1 || page1.Next == "" {
			t.Fatalf("page 1: %+v %v", page1, err)
		}
		page2, err := st.ListPlanVisits(ctx, p.ID, f.deptB, store.Page{Limit: 1, After: page1.Next})
		if err != nil || len(page2.Items) != 1 || page2.Items[0].Seq != 3 || page2.Next != "" {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
		if _, err := st.ListPlanVisits(ctx, 9999, 0, store.Page{}); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("visits of a missing plan: %v", err)
		}
	})

	t.Run("unplaced and draws listed", func(t *testing.T) {
		u, err := st.ListPlanUnplaced(ctx, p.ID, 0, store.Page{})
		if err != nil || len(u.Items) != 3 {
			t.Fatalf("unplaced: %+v %v", u, err)
		}
		whole := u.Items[1]
		if whole.USCC != "" || whole.ItemID != 0 || whole.UnplacedReason != planner.ReasonEmptyPopulation ||
			whole.DepartmentID != f.deptB || !whole.Complaint || whole.WindowFrom != "2026-03-02" || whole.VisitSeq != nil {
			t.Fatalf("whole-demand entry %+v", whole)
		}
		ub, err := st.ListPlanUnplaced(ctx, p.ID, f.deptB, store.Page{})
		if err != nil || len(ub.Items) != 1 {
			t.Fatalf("department B unplaced: %+v %v", ub, err)
		}
		d, err := st.ListPlanDraws(ctx, p.ID, store.Page{Limit: 1})
		if err != nil || len(d.Items) != 1 || d.Next != "1" || d.Items[0].DemandID != f.sampleD {
			t.Fatalf("draws page: %+v %v", d, err)
		}
		b, _ := json.Marshal(d.Items[0])
		if !strings.Contains(string(b), `"weight":"+Inf"`) || !strings.Contains(string(b), `"weight":0.1`) {
			t.Errorf("draw JSON %s", b)
		}
	})

	// Publication reveals the seed and freezes the plan.
	pub, err := st.PublishPlan(ctx, "admin", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Status != store.PlanPublished || pub.PublishedAt == nil || !bytes.Equal(pub.Seed, seed) {
		t.Fatalf("published %+v", pub)
	}
	if _, err := st.PublishPlan(ctx, "admin", p.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("publish twice: %v", err)
	}
	if _, err := st.DiscardPlan(ctx, "admin", p.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("discard a published plan: %v", err)
	}
	for _, q := range []string{
		fmt.Sprintf("UPDATE plans SET status = 'draft', published_at = NULL WHERE id = %d", p.ID),
		fmt.Sprintf("UPDATE plans SET stats = '{}' WHERE id = %d", p.ID),
		fmt.Sprintf("DELETE FROM plans WHERE id = %d", p.ID),
		fmt.Sprintf(`UPDATE plan_draws SET result = '["x"]' WHERE plan_id = %d`, p.ID),
		fmt.Sprintf("DELETE FROM plan_visits WHERE plan_id = %d AND seq = 3", p.ID),
		fmt.Sprintf("UPDATE plan_assignments SET inspector_id = %d WHERE plan_id = %d AND visit_seq = 1 AND ord = 1", f.inspectors[2], p.ID),
	} {
		if err := st.ExecForTest(ctx, q); err == nil {
			t.Errorf("published plan accepted: %s", q)
		}
	}
	if shift, err := st.NextShift(ctx, 2026); err != nil || shift != wantNext {
		t.Fatalf("next shift %v %v, want %v", shift, err, wantNext)
	}

	t.Run("discard reveals the seed and ends the draft", func(t *testing.T) {
		d, dseed := createPlan(t, st, 2026, wantNext, "2026-03-02", "2026-03-27", nil)
		if err := st.SavePlanResult(ctx, d.ID, &planner.Plan{}); err != nil {
			t.Fatal(err)
		}
		got, err := st.DiscardPlan(ctx, "admin", d.ID)
		if err != nil || got.Status != store.PlanDiscarded || got.DiscardedAt == nil || !bytes.Equal(got.Seed, dseed) {
			t.Fatalf("discard: %+v %v", got, err)
		}
		if _, err := st.PublishPlan(ctx, "admin", d.ID); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("publish a discarded plan: %v", err)
		}
		if _, err := st.DiscardPlan(ctx, "admin", d.ID); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("discard twice: %v", err)
		}
		list, err := st.ListPlans(ctx, store.PlanFilter{Status: store.PlanDiscarded}, store.Page{})
		if err != nil || len(list.Items) != 1 || list.Items[0].ID != d.ID {
			t.Fatalf("list discarded: %+v %v", list, err)
		}
	})

	t.Run("a failed run records why", func(t *testing.T) {
		fp, _ := createPlan(t, st, 2026, wantNext, "2026-03-02", "2026-03-27", nil)
		if err := st.FailPlan(ctx, fp.ID, "boom"); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetPlan(ctx, fp.ID)
		if got.Status != store.PlanFailed || got.Failure != "boom" || got.Seed == nil {
			t.Fatalf("failed plan %+v", got)
		}
		if err := st.SavePlanResult(ctx, fp.ID, &planner.Plan{}); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("save into a failed plan: %v", err)
		}
	})

	t.Run("a draft with a stale shift is refused", func(t *testing.T) {
		a, _ := createPlan(t, st, 2026, wantNext, "2026-04-01", "2026-04-28", []int64{f.grid})
		b, _ := createPlan(t, st, 2026, wantNext, "2026-04-01", "2026-04-28", nil)
		for _, x := range []int64{a.ID, b.ID} {
			if err := st.SavePlanResult(ctx, x, &planner.Plan{}); err != nil {
				t.Fatal(err)
			}
		}
		// Both are empty: forced, so that staleness is what refuses b.
		force := store.PublishOptions{Force: true}
		if _, err := st.PublishPlanWith(ctx, "admin", a.ID, force); err != nil {
			t.Fatal(err)
		}
		if _, err := st.PublishPlanWith(ctx, "admin", b.ID, force); !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), "stale") {
			t.Fatalf("stale draft published: %v", err)
		}
	})

	t.Run("planner input reads history and skips what is served", func(t *testing.T) {
		in, err := st.PlannerInput(ctx, day("2026-03-10"), day("2026-04-06"), nil, store.InputToday(day("2026-03-02")))
		if err != nil {
			t.Fatal(err)
		}
		if in.From != pday("2026-03-10") || in.To != pday("2026-04-06") || len(in.Businesses) != 3 ||
			len(in.Items) != 2 || len(in.Teams) != 1 || len(in.Inspectors) != 3 || len(in.Regions) != 3 {
			t.Fatalf("input sizes: %+v", in)
		}
		// The list demand keeps only biz[2] (unplaced); the sample demand was drawn.
		if len(in.Demands) != 1 || in.Demands[0].ID != f.listD || !reflect.DeepEqual(in.Demands[0].Businesses, []string{f.biz[2]}) {
			t.Fatalf("demands %+v", in.Demands)
		}
		if len(in.History) != 3 {
			t.Fatalf("history %+v", in.History)
		}
		h := in.History[0]
		if h.USCC != f.biz[0] || h.Date != pday("2026-03-03") || !reflect.DeepEqual(h.InspectorIDs, []int64{f.inspectors[1], f.inspectors[0]}) ||
			len(h.ItemIDs) != 2 || len(h.DepartmentIDs) != 2 {
			t.Fatalf("history[0] %+v", h)
		}
		early, err := st.PlannerInput(ctx, day("2026-03-01"), day("2026-03-20"), []int64{f.grid}, store.InputToday(day("2026-03-01")))
		if err != nil {
			t.Fatal(err)
		}
		if len(early.History) != 0 || len(early.Businesses) != 3 {
			t.Fatalf("history before the visits: %+v", early.History)
		}
	})

	t.Run("closing the year reveals its key", func(t *testing.T) {
		k2, err := st.RevealYearKey(ctx, "admin", 2026)
		if err != nil || k2.RevealedAt == nil {
			t.Fatal(err)
		}
		pub, err := st.RevealedYearKey(ctx, 2026)
		if err != nil || !bytes.Equal(pub.Key, k.Key) {
			t.Fatalf("revealed key: %v", err)
		}
		if b, _ := json.Marshal(pub); !strings.Contains(string(b), `"key":"`) {
			t.Fatalf("revealed key not in JSON: %s", b)
		}
		if _, err := st.RevealYearKey(ctx, "admin", 2026); !errors.Is(err, domain.ErrConflict) {
			t.Fatalf("reveal twice: %v", err)
		}
		if err := st.ExecForTest(ctx, "UPDATE year_keys SET key = sha256(key) WHERE year = 2026"); err == nil {
			t.Fatal("year key could be replaced")
		}
	})

	n, brk, err := st.VerifyAudit(ctx)
	if err != nil || brk != nil {
		t.Fatalf("audit chain: %v %v", brk, err)
	}
	entries, err := st.ListAudit(ctx, 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		actions[e.Action]++
	}
	for _, a := range []string{"year_key.commit", "plan.create", "plan.draft", "plan.publish", "plan.discard", "plan.fail", "year_key.reveal"} {
		if actions[a] == 0 {
			t.Errorf("no %s in the audit log (%d entries)", a, n)
		}
	}
}
