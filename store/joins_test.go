package store_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// joinPlan is plan 2 of the hand plan's calendar: one new visit at biz[2]
// and a join of department B's task at biz[1] to the published visit 2
// (biz[1] on 2026-03-03), adding inspector 0 by a recorded draw, and one
// unplaced task.
func joinPlan(f planFixture, target int64) *planner.Plan {
	from, to := pday("2026-03-02"), pday("2026-03-27")
	tb := func(b string) planner.Task {
		return planner.Task{DemandID: f.sampleD, DepartmentID: f.deptB, USCC: b, ItemID: f.itemB, From: from, To: to, Priority: 2}
	}
	d1 := pday("2026-03-03")
	key := planner.JoinDrawKey(f.biz[1], d1, target, 2, 0)
	p := &planner.Plan{
		Visits: []planner.Visit{{USCC: f.biz[2], Date: pday("2026-03-05"), TeamID: f.team,
			InspectorIDs: []int64{f.inspectors[0], f.inspectors[1]}, Tasks: []planner.Task{tb(f.biz[2])},
			DepartmentIDs: []int64{f.deptB}, DurationMinutes: 35, TravelMinutes: 5, RouteOrder: 1}},
		Joins: []planner.Join{{PlanID: target, Seq: 2, USCC: f.biz[1], Date: d1, Tasks: []planner.Task{tb(f.biz[1])},
			AddedInspectorIDs: []int64{f.inspectors[0]}, AddedMinutes: 20, DurationMinutes: 65}},
		Draws: []planner.Draw{{Kind: planner.DrawInspectors, VisitKey: key, N: 1, Required: []string{"fire_safety"},
			Frame: []planner.Candidate{{Key: "1", Weight: 1}}, FrameHash: "x",
			Steps:  []planner.DrawStep{{Need: "fire_safety", Candidates: []planner.Candidate{{Key: "1", Weight: 1}}, Pick: "1"}},
			Result: []string{"1"}}},
		Unplaced: []planner.Unplaced{{DemandID: f.sampleD, USCC: f.biz[0], ItemID: f.itemB, Reason: planner.ReasonCapacity}},
	}
	p.Stats = planner.Stats{Tasks: 3, NaiveVisits: 1, LowerBound: 1, Visits: 1, Unplaced: 1,
		TasksJoined: 1, VisitsAmended: 1, DoorKnocksSaved: 1}
	return p
}

// TestJoinsArePersistedAndPublished: a draft stores its joins, every task in
// exactly one of a new visit, a join or unplaced; its stats carry the join
// figures; a join to a visit that is not published is refused; publishing
// makes the joined task a task of the target visit (with its provenance),
// assigns the added inspector, grows the duration and counts an amendment
// on published_visits, and arms one visit_amended outbox row; a draft whose
// target moved since it was made is refused.
func TestJoinsArePersistedAndPublished(t *testing.T) {
	st, dsn := storetest.New(t)
	ctx := context.Background()
	p1, f := publishedHandPlan(t, st)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	// A join to a visit of an unpublished plan, or of itself, is refused.
	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	bad := joinPlan(f, draft.ID)
	if err := st.SavePlanResult(ctx, draft.ID, bad); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a join to its own visit: %v", err)
	}
	bad = joinPlan(f, p1.ID)
	bad.Joins[0].Seq = 99
	if err := st.SavePlanResult(ctx, draft.ID, bad); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("a join to no visit: %v", err)
	}

	if err := st.SavePlanResult(ctx, draft.ID, joinPlan(f, p1.ID)); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetPlan(ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Stats; s == nil || s.TasksJoined != 1 || s.VisitsAmended != 1 || s.DoorKnocksSaved != 1 {
		t.Fatalf("stats %+v", got.Stats)
	}
	joins, err := st.ListPlanJoins(ctx, draft.ID, 0, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(joins.Items) != 1 || joins.Items[0].TargetPlanID != p1.ID || joins.Items[0].TargetVisitSeq != 2 ||
		len(joins.Items[0].Tasks) != 1 || joins.Items[0].Tasks[0].VisitSeq != nil ||
		!slices.Equal(joins.Items[0].AddedInspectors, []int64{f.inspectors[0]}) || joins.Items[0].AddedMinutes != 20 {
		t.Fatalf("joins %+v", joins.Items)
	}
	// Every task in exactly one place: 1 in a visit, 1 joined, 1 unplaced.
	var inVisit, joined, unplaced int
	if err := conn.QueryRow(ctx, `SELECT count(visit_seq), count(join_plan_id), count(unplaced_reason)
		FROM plan_tasks WHERE plan_id = $1`, draft.ID).Scan(&inVisit, &joined, &unplaced); err != nil {
		t.Fatal(err)
	}
	if inVisit != 1 || joined != 1 || unplaced != 1 {
		t.Fatalf("task places: %d in visits, %d joined, %d unplaced", inVisit, joined, unplaced)
	}
	if un, err := st.ListPlanUnplaced(ctx, draft.ID, 0, store.Page{}); err != nil || len(un.Items) != 1 {
		t.Fatalf("unplaced %+v, %v", un.Items, err)
	}
	back, err := st.PlanResult(ctx, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := joinPlan(f, p1.ID).Joins; !reflect.DeepEqual(back.Joins, want) {
		t.Fatalf("joins read back\n got %+v\nwant %+v", back.Joins, want)
	}

	// A second draft joining the same visit; the first is published, then
	// the visit moves, and the second is refused: it was checked against
	// the old date.
	draft2, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	if err := st.SavePlanResult(ctx, draft2.ID, joinPlan(f, p1.ID)); err != nil {
		t.Fatal(err)
	}
	before, err := st.DoorVisit(ctx, p1.ID, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPlan(ctx, "admin", draft.ID); err != nil {
		t.Fatal(err)
	}
	after, err := st.DoorVisit(ctx, p1.ID, 2, f.inspectors[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(after.Tasks) != len(before.Tasks)+1 || len(after.Inspectors) != len(before.Inspectors)+1 {
		t.Fatalf("amended visit: %d tasks (was %d), %d inspectors (was %d)", len(after.Tasks), len(before.Tasks),
			len(after.Inspectors), len(before.Inspectors))
	}
	var duration, amendments, revision int
	if err := conn.QueryRow(ctx, `SELECT duration_minutes, amendments, revision FROM published_visits
		WHERE plan_id = $1 AND seq = 2`, p1.ID).Scan(&duration, &amendments, &revision); err != nil {
		t.Fatal(err)
	}
	if duration != 45+20 || amendments != 1 || revision != 0 {
		t.Fatalf("published visit: %d minutes, %d amendments, revision %d", duration, amendments, revision)
	}
	var added int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM plan_tasks WHERE plan_id = $1 AND visit_seq = 2 AND added_by_plan_id = $2`,
		p1.ID, draft.ID).Scan(&added); err != nil || added != 1 {
		t.Fatalf("%d tasks added by the join, %v", added, err)
	}
	rows, _, err := st.OutboxRows(ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	amended := 0
	for _, r := range rows {
		if r.Kind == store.OutboxVisitAmended && r.VisitSeq == 2 {
			amended++
		}
	}
	if amended != 1 {
		t.Fatalf("%d visit_amended outbox rows", amended)
	}
	if am, err := st.VisitAmendments(ctx, p1.ID, 2); err != nil || len(am) != 1 || am[0].ByPlanID != draft.ID ||
		len(am[0].Items) != 1 || am[0].Items[0].ItemID != f.itemB {
		t.Fatalf("amendments %+v, %v", am, err)
	}

	if _, err := st.MoveVisit(ctx, "admin", p1.ID, 2, day("2026-03-06"), "改期", store.MoveRules{Today: day("2026-03-02")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PublishPlan(ctx, "admin", draft2.ID); !errors.Is(err, domain.ErrConflict) {
		t.Fatalf("publishing a join to a visit that moved since: %v", err)
	}
}
