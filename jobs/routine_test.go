package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func newTestPlanner(t *testing.T, st *store.Store) *Planner {
	t.Helper()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Demands.MaxListTargets = 2
	plans, err := planning.New(planning.Options{Store: st, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return NewPlanner(PlanningOptions{Store: st, Planning: plans, Config: cfg, Logger: slog.New(slog.DiscardHandler)})
}

func cronTask(typ string, due time.Time) *asynq.Task {
	return asynq.NewTask(typ, fmt.Appendf(nil, `{"v":1,"due_at":%q,"missed":0}`, due.UTC().Format(time.RFC3339)))
}

func TestRoutineDemands(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 10)
	sc := &domain.Scenario{Code: "SC-CY", Name: "餐饮", IndustryCodes: []string{"H6210"}, ItemIDs: []int64{f.itemA, f.itemB}}
	if err := st.CreateScenario(ctx, "test", sc); err != nil {
		t.Fatal(err)
	}
	// biz 0-3 red (0 visited by a published plan), 4-5 yellow, 6 red but
	// left alone, the rest green; one red business no scenario applies to.
	other := &domain.Business{USCC: bizCode(99), Name: "水产", RegionID: 0, IndustryCode: "C1361", Lat: 30.7, Lng: 122.4,
		RiskCode: domain.RiskRed, ListKind: domain.ListRandom}
	if err := st.SQL().QueryRowContext(ctx, `SELECT region_id FROM businesses LIMIT 1`).Scan(&other.RegionID); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateBusiness(ctx, "test", other); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		fmt.Sprintf(`UPDATE businesses SET risk_code = 'red' WHERE uscc IN ('%s','%s','%s','%s','%s')`, f.biz[0], f.biz[1], f.biz[2], f.biz[3], f.biz[6]),
		fmt.Sprintf(`UPDATE businesses SET risk_code = 'yellow' WHERE uscc IN ('%s','%s')`, f.biz[4], f.biz[5]),
		fmt.Sprintf(`UPDATE businesses SET list_kind = 'leave_alone' WHERE uscc = '%s'`, f.biz[6]),
	} {
		if err := st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	publishFixturePlan(t, st, f, 1) // visits biz 0 tomorrow

	p := newTestPlanner(t, st)
	due := time.Now()
	for range 2 {
		if err := p.HandleRoutineDemands(ctx, cronTask(TypeCronRoutineDemands, due)); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := p.RoutineDemands(ctx, due)
	if err != nil {
		t.Fatal(err)
	}
	// red: biz 1-3 in 2 chunks × 2 departments; yellow: biz 4-5, 1 chunk × 2.
	if rep.Created != 0 || rep.Replayed != 6 || rep.Businesses != 5 || rep.Unmatched != 1 {
		t.Fatalf("third delivery: %+v", rep)
	}
	ds, err := st.ListDemands(ctx, store.DemandFilter{Source: domain.SourceRoutine}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	from := p.startDay(due)
	named := map[string]int{}
	n := 0
	for _, d := range ds.Items {
		if d.CreatedBy != SchedulerActor {
			continue
		}
		n++
		if len(d.Businesses) > 2 || len(d.ItemIDs) != 1 || d.AnnounceDays != 3 || !d.WindowFrom.Equal(from) {
			t.Errorf("demand %+v", d)
		}
		wantPrio, wantDays := 2, 30
		if d.Priority == 3 {
			wantPrio, wantDays = 3, 90
		}
		if d.Priority != wantPrio || !d.WindowTo.Equal(from.AddDate(0, 0, wantDays)) {
			t.Errorf("demand %d: priority %d window %s..%s", d.ID, d.Priority, d.WindowFrom, d.WindowTo)
		}
		for _, b := range d.Businesses {
			named[b]++
		}
	}
	if n != 6 {
		t.Fatalf("%d routine demands, want 6", n)
	}
	for i, want := range []int{0, 2, 2, 2, 2, 2, 0, 0, 0, 0} {
		if named[f.biz[i]] != want {
			t.Errorf("business %d named by %d demands, want %d", i, named[f.biz[i]], want)
		}
	}
	if named[other.USCC] != 0 {
		t.Error("a business without scenario got a demand")
	}
	// A week later the businesses are still pending in these demands.
	rep, err = p.RoutineDemands(ctx, due.AddDate(0, 0, 7))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 0 || rep.Businesses != 0 {
		t.Fatalf("next week: %+v", rep)
	}
}

func TestWeeklyPlanning(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	newDispatchFixture(t, st, 5)
	p := newTestPlanner(t, st)
	due := time.Now()
	for range 2 {
		if err := p.HandleWeeklyPlanning(ctx, cronTask(TypeCronWeeklyPlanning, due)); err != nil {
			t.Fatal(err)
		}
	}
	ps, err := st.ListPlans(ctx, store.PlanFilter{}, store.Page{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.Items) != 1 {
		t.Fatalf("%d plans, want 1", len(ps.Items))
	}
	pl := ps.Items[0]
	from := p.startDay(due)
	if pl.CreatedBy != SchedulerActor || pl.Status != store.PlanDraft || pl.Mode != store.ModeCoordinated ||
		pl.From != from.Format(time.DateOnly) || pl.To != from.AddDate(0, 0, 27).Format(time.DateOnly) || len(pl.RegionIDs) != 0 {
		t.Fatalf("plan %+v", pl)
	}
	if pl.Stats == nil || pl.Stats.Visits == 0 {
		t.Fatalf("plan stats %+v", pl.Stats)
	}
}
