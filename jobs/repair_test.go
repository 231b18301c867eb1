package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// repairWorld is the dispatch fixture with working days ahead, a planning
// service on the real clock, and a published plan built by the test.
type repairWorld struct {
	dispatchFixture
	st   *store.Store
	svc  *planning.Service
	cal  *calendar.Calendar
	days []time.Time // working days from 5 days on, ascending
	env  *dispatchEnv
}

func newRepairWorld(t *testing.T) *repairWorld {
	t.Helper()
	st, _ := storetest.New(t)
	w := &repairWorld{dispatchFixture: newDispatchFixture(t, st, 6), st: st}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	if w.cal, err = calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends); err != nil {
		t.Fatal(err)
	}
	if w.svc, err = planning.New(planning.Options{Store: st, Config: cfg, Calendar: w.cal}); err != nil {
		t.Fatal(err)
	}
	for d := w.svc.Today().AddDate(0, 0, 5); len(w.days) < 12; d = d.AddDate(0, 0, 1) {
		if w.cal.IsWorkingDay(d) {
			w.days = append(w.days, d)
		}
	}
	w.env = newDispatchEnv(t, st)
	w.env.repairs = w.svc
	return w
}

// visit is one visit of the test's plan: business index, working-day
// index, inspector indexes (lead first), and its tasks' window in working
// days (zero: three months around today).
type testVisit struct {
	biz, day int
	insp     []int
	win      [2]int
	withB    bool // a fire-safety task too (demand B, announced 5 days ahead)
}

func (w *repairWorld) publish(t *testing.T, visits []testVisit) store.Plan {
	t.Helper()
	ctx := context.Background()
	p := &planner.Plan{}
	route := map[int]int{}
	for _, v := range visits {
		b := w.biz[v.biz]
		from, to := planner.DayOf(time.Now().AddDate(0, 0, -1)), planner.DayOf(time.Now().AddDate(0, 3, 0))
		if v.win != [2]int{} {
			from, to = planner.DayOf(w.days[v.win[0]]), planner.DayOf(w.days[v.win[1]])
		}
		tasks := []planner.Task{{DemandID: w.demA, DepartmentID: w.deptA, USCC: b, ItemID: w.itemA, From: from, To: to, Priority: 3}}
		depts := []int64{w.deptA}
		if v.withB {
			tasks = append(tasks, planner.Task{DemandID: w.demB, DepartmentID: w.deptB, USCC: b, ItemID: w.itemB, From: from, To: to, Priority: 3})
			depts = append(depts, w.deptB)
		}
		var ids []int64
		for _, i := range v.insp {
			ids = append(ids, w.inspectors[i])
		}
		route[v.day]++
		p.Visits = append(p.Visits, planner.Visit{USCC: b, Date: planner.DayOf(w.days[v.day]), TeamID: w.team, InspectorIDs: ids,
			Tasks: tasks, DepartmentIDs: depts, DurationMinutes: 30, TravelMinutes: 5, RouteOrder: route[v.day]})
	}
	p.Stats = planner.Stats{Tasks: len(visits), NaiveVisits: len(visits), LowerBound: len(visits), Visits: len(visits)}
	year := time.Now().Year()
	if _, err := w.st.YearKey(ctx, "test", year); err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, 32)
	seed[0] = 7
	pl, err := w.st.CreatePlan(ctx, "test", store.NewPlan{From: w.days[0], To: w.days[len(w.days)-1],
		Mode: store.ModeCoordinated, Year: year, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.st.SavePlanResult(ctx, pl.ID, p); err != nil {
		t.Fatal(err)
	}
	pub, err := w.st.PublishPlan(ctx, "test", pl.ID)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// waitRepair polls repair id until it is done.
func waitRepair(t *testing.T, st *store.Store, id int64) store.CalendarRepair {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r, err := st.GetRepair(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == store.RepairDone {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("repair not done after 60 s: %+v", r)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// staffOf reads who is on a visit now, lead first, with the domains they hold.
func staffOf(t *testing.T, st *store.Store, planID int64, seq int) ([]int64, map[string]int) {
	t.Helper()
	rows, err := st.SQL().Query(`SELECT a.inspector_id, i.domains FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		WHERE a.plan_id = $1 AND a.visit_seq = $2 ORDER BY a.ord`, planID, seq)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	cover := map[string]int{}
	for rows.Next() {
		var id int64
		var doms string
		if err := rows.Scan(&id, &doms); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		for _, d := range []string{"food_safety", "fire_safety", "special"} {
			if contains(doms, d) {
				cover[d]++
			}
		}
	}
	return ids, cover
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && (s == sub || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestRepairReplacesAnInspectorOnLeave (issue 17 (a)): inspector 0 goes on
// leave over two days with published visits. On each it is replaced by a
// recorded draw on the visit's own day, the door view no longer lists it,
// every visit keeps two inspectors covering its domains, the draws replay,
// the notices go out once, and the visit after the leave keeps it.
func TestRepairReplacesAnInspectorOnLeave(t *testing.T) {
	w := newRepairWorld(t)
	ctx := context.Background()
	// Inspector 4 holds food safety only, inspector 5 declared a conflict
	// with business 0: neither may replace inspector 0 where fire safety
	// or business 0 is concerned.
	food := &domain.Inspector{Code: "I4", Name: "人4", TeamID: w.team, Domains: []string{"food_safety"}}
	if err := w.st.CreateInspector(ctx, "test", food); err != nil {
		t.Fatal(err)
	}
	conflicted := &domain.Inspector{Code: "I5", Name: "人5", TeamID: w.team, Domains: []string{"food_safety", "fire_safety"},
		Conflicts: []string{w.biz[0]}}
	if err := w.st.CreateInspector(ctx, "test", conflicted); err != nil {
		t.Fatal(err)
	}
	p := w.publish(t, []testVisit{
		{biz: 0, day: 0, insp: []int{0, 1}, withB: true}, // 1: lead on leave
		{biz: 1, day: 0, insp: []int{2, 0}},              // 2: member on leave
		{biz: 2, day: 1, insp: []int{0, 3}, withB: true}, // 3: lead on leave, second day
		{biz: 3, day: 2, insp: []int{0, 1}},              // 4: after the leave
	})
	w.env.start(t)
	waitDispatched(t, w.st, p.ID, 60*time.Second)

	u, err := w.st.CreateUnavailability(ctx, "leader", w.inspectors[0], w.days[0], w.days[1], "年休假")
	if err != nil {
		t.Fatal(err)
	}
	if u.RepairID == nil {
		t.Fatal("the unavailability opened no repair")
	}
	r := waitRepair(t, w.st, *u.RepairID)
	if r.Visits == nil || *r.Visits != 3 || r.Restaffed != 3 || r.Moved != 0 || r.Unrepaired != 0 {
		t.Fatalf("repair: %+v", r)
	}
	for seq := 1; seq <= 3; seq++ {
		ids, cover := staffOf(t, w.st, p.ID, seq)
		if slices.Contains(ids, w.inspectors[0]) || len(ids) != 2 || cover["food_safety"] == 0 {
			t.Errorf("visit %d: inspectors %v cover %v", seq, ids, cover)
		}
		if seq != 2 && cover["fire_safety"] == 0 {
			t.Errorf("visit %d lost fire safety: %v", seq, ids)
		}
		if seq == 1 && slices.Contains(ids, conflicted.ID) {
			t.Errorf("visit 1 drew the inspector with a declared conflict")
		}
		door, err := w.st.DoorVisit(ctx, p.ID, seq, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range door.Inspectors {
			if in.ID == w.inspectors[0] {
				t.Errorf("the door view of visit %d still lists the inspector on leave", seq)
			}
		}
		if _, err := w.st.DoorVisit(ctx, p.ID, seq, w.inspectors[0]); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("the inspector on leave still opens visit %d: %v", seq, err)
		}
		if door.Date != w.days[map[int]int{1: 0, 2: 0, 3: 1}[seq]].Format(time.DateOnly) {
			t.Errorf("visit %d moved to %s", seq, door.Date)
		}
	}
	if ids, _ := staffOf(t, w.st, p.ID, 4); !slices.Equal(ids, []int64{w.inspectors[0], w.inspectors[1]}) {
		t.Errorf("visit 4, after the leave, changed: %v", ids)
	}

	// The draws replay from the repair's seed.
	v, err := w.svc.VerifyRepair(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Draws) != 3 || v.Mismatches != 0 {
		t.Fatalf("verify: %+v", v)
	}

	// Notices: to who comes, who no longer does and the team, once each.
	subs, err := w.st.RepairSubstitutions(ctx, r.ID)
	if err != nil || len(subs) != 3 {
		t.Fatalf("substitutions %+v %v", subs, err)
	}
	var keys []string
	for _, s := range subs {
		if s.Reason != "年休假" || s.OutID != w.inspectors[0] {
			t.Errorf("substitution %+v", s)
		}
		for _, rcp := range []struct{ kind, id string }{{store.RecipientInspector, strconv.FormatInt(s.InID, 10)},
			{store.RecipientInspector, strconv.FormatInt(s.OutID, 10)}, {store.RecipientTeam, strconv.FormatInt(w.team, 10)}} {
			keys = append(keys, store.VisitEffectKey(p.ID, s.VisitSeq, rcp.kind, rcp.id, "restaffed")+":"+strconv.Itoa(s.Seq))
		}
	}
	got := waitNotices(t, w.st, store.NoticeVisitRestaffed, keys)
	var body restaffBody
	if err := json.Unmarshal(got[keys[0]].Body, &body); err != nil || body.Restaff.Reason != "年休假" || body.Restaff.InInspector != subs[0].InID {
		t.Fatalf("notice body %+v %v", body, err)
	}
	// Run again (a redelivered task): nothing more changes or is told.
	again, err := w.svc.RunRepair(ctx, r.ID)
	if err != nil || again.Restaffed != 3 {
		t.Fatalf("again: %+v %v", again, err)
	}
	n, err := w.env.disp.TellSubstitutions(ctx, p.ID, 1)
	if err != nil || n != 0 {
		t.Fatalf("telling visit 1 again wrote %d notices (%v)", n, err)
	}
	all := allNotifications(t, w.st)
	count := 0
	for _, nt := range all {
		if nt.Kind == store.NoticeVisitRestaffed {
			count++
		}
	}
	if count != len(keys) {
		t.Fatalf("%d restaffed notices, want %d", count, len(keys))
	}
	// The inspector's calendar no longer holds the visits; the replacement's does.
	cal, err := w.st.InspectorCalendar(ctx, w.inspectors[0], w.days[0], w.days[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, cv := range cal.Visits {
		if cv.VisitSeq != 4 {
			t.Errorf("the calendar of the inspector on leave still has visit %d", cv.VisitSeq)
		}
	}
}

// TestRepairMovesVisitsOffAClosedTownship (issue 17 (b)): the township is
// closed for two days. A visit with room in its window moves to the
// nearest open day its notice allows, its business told with the reason;
// a visit whose window lies inside the closure is listed for a
// coordinator with the reason, not dropped; a visit after the closure is
// untouched. Lifting the closure early changes nothing already moved.
func TestRepairMovesVisitsOffAClosedTownship(t *testing.T) {
	w := newRepairWorld(t)
	ctx := context.Background()
	p := w.publish(t, []testVisit{
		{biz: 0, day: 3, insp: []int{0, 1}},                    // 1: announced (3 days), wide window
		{biz: 1, day: 4, insp: []int{2, 3}, win: [2]int{3, 4}}, // 2: window inside the closure
		{biz: 2, day: 6, insp: []int{0, 1}},                    // 3: after the closure
	})
	w.env.start(t)
	waitDispatched(t, w.st, p.ID, 60*time.Second)
	town := w.townOf(t)
	c, err := w.st.CreateClosure(ctx, "coordinator", town, 0, w.days[3], w.days[4], "台风停航")
	if err != nil {
		t.Fatal(err)
	}
	r := waitRepair(t, w.st, *c.RepairID)
	if r.Moved != 1 || r.Unrepaired != 1 || r.Restaffed != 0 {
		t.Fatalf("repair: %+v", r)
	}
	moves, err := w.st.VisitMoves(ctx, p.ID, 1)
	if err != nil || len(moves) != 1 {
		t.Fatalf("moves of visit 1: %+v %v", moves, err)
	}
	// Days 3 and 4 closed: day 2 (one working day before) is nearest, and
	// its notice (3 days from today) holds since every day here is 5 or more
	// days on.
	if moves[0].ToDate != w.days[2].Format(time.DateOnly) || moves[0].Reason != "台风停航" {
		t.Fatalf("visit 1 moved %+v, want to %s", moves[0], w.days[2].Format(time.DateOnly))
	}
	probs, err := w.st.RepairProblems(ctx, r.ID, store.Page{})
	if err != nil || len(probs.Items) != 1 || probs.Items[0].VisitSeq != 2 || probs.Items[0].Reason != planner.RepairNoDay {
		t.Fatalf("problems %+v %v", probs, err)
	}
	if m, _ := w.st.VisitMoves(ctx, p.ID, 3); len(m) != 0 {
		t.Fatalf("visit 3, after the closure, moved: %+v", m)
	}
	// The business of the announced visit is told, with the reason.
	key := store.MoveEffectKey(p.ID, 1, store.RecipientBusiness, w.biz[0], 1)
	got := waitNotices(t, w.st, store.NoticeVisitMoved, []string{key,
		store.MoveEffectKey(p.ID, 1, store.RecipientInspector, strconv.FormatInt(w.inspectors[0], 10), 1),
		store.MoveEffectKey(p.ID, 1, store.RecipientInspector, strconv.FormatInt(w.inspectors[1], 10), 1),
		store.MoveEffectKey(p.ID, 1, store.RecipientTeam, strconv.FormatInt(w.team, 10), 1)})
	var b businessMoveBody
	if err := json.Unmarshal(got[key].Body, &b); err != nil || b.Move.Reason != "台风停航" || b.Date != moves[0].ToDate {
		t.Fatalf("business notice %+v %v", b, err)
	}
	// The business's schedule shows the new date, once its notice lets it
	// see the visit (the day before).
	d := w.days[2].AddDate(0, 0, -1)
	sched, err := w.st.BusinessSchedule(ctx, w.biz[0], time.Date(d.Year(), d.Month(), d.Day(), 12, 0, 0, 0, shanghai), shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if len(sched.Visits) != 1 || sched.Visits[0].Date != moves[0].ToDate || sched.Visits[0].OriginalDate != w.days[3].Format(time.DateOnly) {
		t.Fatalf("business schedule %+v", sched.Visits)
	}
	// Undoing it is refused while the closure stands.
	if _, err := w.st.OpenRestore(ctx, "coordinator", r.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("restore while the closure stands: %v", err)
	}
	// Lifting the closure changes nothing already moved.
	if _, err := w.st.DeleteClosure(ctx, "coordinator", c.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if m, _ := w.st.VisitMoves(ctx, p.ID, 1); len(m) != 1 {
		t.Fatalf("lifting the closure moved visit 1 again: %+v", m)
	}
	// Unless a coordinator asks: visit 1 goes back to its day, told once more.
	back, err := w.st.OpenRestore(ctx, "coordinator", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.OpenRestore(ctx, "coordinator", r.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a second restore: %v", err)
	}
	back = waitRepair(t, w.st, back.ID)
	if back.Cause != store.RepairCauseRestore || back.Moved != 1 || back.Unrepaired != 0 {
		t.Fatalf("restore %+v", back)
	}
	moves, err = w.st.VisitMoves(ctx, p.ID, 1)
	if err != nil || len(moves) != 2 || moves[1].ToDate != w.days[3].Format(time.DateOnly) || !strings.Contains(moves[1].Reason, "台风停航已解除") {
		t.Fatalf("visit 1 after the restore: %+v %v", moves, err)
	}
	// Both moves are told, each once, to the inspectors, the team and the business.
	var all []string
	for rev := 1; rev <= 2; rev++ {
		all = append(all, store.MoveEffectKey(p.ID, 1, store.RecipientBusiness, w.biz[0], rev),
			store.MoveEffectKey(p.ID, 1, store.RecipientInspector, strconv.FormatInt(w.inspectors[0], 10), rev),
			store.MoveEffectKey(p.ID, 1, store.RecipientInspector, strconv.FormatInt(w.inspectors[1], 10), rev),
			store.MoveEffectKey(p.ID, 1, store.RecipientTeam, strconv.FormatInt(w.team, 10), rev))
	}
	waitNotices(t, w.st, store.NoticeVisitMoved, all)
}

// townOf is the fixture's township: the parent of its businesses' grid.
func (w *repairWorld) townOf(t *testing.T) int64 {
	t.Helper()
	var town int64
	if err := w.st.SQL().QueryRow(`SELECT g.parent_id FROM businesses b JOIN regions g ON g.id = b.region_id WHERE b.uscc = $1`,
		w.biz[0]).Scan(&town); err != nil {
		t.Fatal(err)
	}
	return town
}
