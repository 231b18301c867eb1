package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/jobs"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// placeNow posts place-now for a demand as who.
func (v *env) placeNow(who string, id int64) resp {
	v.t.Helper()
	return v.do(who, "POST", fmt.Sprintf("/api/v1/demands/%d/place-now", id), nil)
}

// runDispatch runs the worker's relay and dispatcher on a queue of the
// test's own until the test ends.
func (v *env) runDispatch() {
	t := v.t
	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	queue := "test-placenow-" + hex.EncodeToString(b[:])
	client := asynq.NewClient(opt)
	log := slog.New(slog.DiscardHandler)
	disp := jobs.NewDispatcher(jobs.DispatchOptions{Store: v.st, AllowPrivateWebhooks: true, Queue: client, Location: time.UTC, Logger: log, QueueName: queue})
	w := jobs.NewWorker(opt, jobs.WorkerOptions{Concurrency: 2, ShutdownTimeout: 5 * time.Second, Logger: log,
		Queues: map[string]int{queue: 1}, Dispatch: disp})
	relay := jobs.NewRelay(jobs.RelayOptions{Store: v.st, Queue: client, Logger: log, QueueName: queue, Interval: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = w.Run(ctx); done <- struct{}{} }()
	go func() { _ = relay.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		_ = client.Close()
		ins := asynq.NewInspector(opt)
		defer ins.Close()
		_ = ins.DeleteQueue(queue, true)
		dropQueueKeys(opt, queue)
	})
}

// today's window: the urgent demands of these tests may be done from today
// (testToday, a Monday) on.
func windowDays(from, to string) map[string]string { return map[string]string{"from": from, "to": to} }

// TestPlaceNowComplaint places a complaint at once: 201 with the published
// plan, the visit on the earliest feasible team-day, on the team's roster,
// and, once the relay and dispatcher have run, in its inspectors' inboxes.
func TestPlaceNowComplaint(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	id := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)

	r := v.placeNow("planner", id)
	expect(t, r, 201, "place a complaint now")
	var out planning.Placement
	r.json(t, &out)
	if out.Plan.Status != store.PlanPublished || out.Plan.UrgentDemandID == nil || *out.Plan.UrgentDemandID != id {
		t.Fatalf("plan %+v", out.Plan)
	}
	if want := fmt.Sprintf("/api/v1/plans/%d", out.Plan.ID); r.Header.Get("Location") != want {
		t.Fatalf("Location %q, want %q", r.Header.Get("Location"), want)
	}
	if out.Plan.From != "2026-11-23" || out.Plan.To != "2026-12-31" {
		t.Fatalf("horizon %s..%s", out.Plan.From, out.Plan.To)
	}
	if len(out.Visits) != 1 || len(out.Unplaced) != 0 {
		t.Fatalf("visits %+v unplaced %+v", out.Visits, out.Unplaced)
	}
	vis := out.Visits[0]
	if vis.USCC != v.bizA.USCC || vis.TeamID != v.team.ID || vis.Date != "2026-11-23" {
		t.Fatalf("visit %+v: want bizA, team %d, on the earliest day 2026-11-23", vis, v.team.ID)
	}
	// The plan was made like any plan: seed committed, draws recorded, audited.
	ver, err := v.plans.Verify(context.Background(), out.Plan.ID)
	if err != nil || !ver.OK() || ver.Draws == nil {
		t.Fatalf("verify: %+v %v", ver, err)
	}
	audit, err := v.st.ListAudit(context.Background(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range audit {
		seen[e.Action+" "+e.Object+" "+e.Outcome] = true
	}
	for _, want := range []string{
		fmt.Sprintf("plan.create plan/%d ok", out.Plan.ID), fmt.Sprintf("plan.draft plan/%d ok", out.Plan.ID),
		fmt.Sprintf("plan.publish plan/%d ok", out.Plan.ID), fmt.Sprintf("demand.place_now demand/%d ok", id),
	} {
		if !seen[want] {
			t.Errorf("audit lacks %q", want)
		}
	}

	// On the team's roster for its date.
	r = v.do("admin", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, vis.Date), nil)
	expect(t, r, 200, "roster")
	var roster store.Roster
	r.json(t, &roster)
	found := false
	for _, rv := range roster.Visits {
		found = found || (rv.PlanID == out.Plan.ID && rv.VisitSeq == vis.Seq)
	}
	if !found {
		t.Fatalf("roster %s lacks visit %d/%d: %s", vis.Date, out.Plan.ID, vis.Seq, r.Body)
	}

	// Dispatched at once: the relay and handlers put it in the inboxes.
	v.runDispatch()
	// (Read through the admin's view of each inbox: the dispatcher stamps
	// visible_from with the real clock, which is after the API's test clock.)
	for _, a := range vis.Inspectors {
		path := fmt.Sprintf("/api/v1/notifications?recipient_kind=inspector&recipient_id=%d", a.InspectorID)
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			r = v.do("admin", "GET", path, nil)
			expect(t, r, 200, "inbox")
			var inbox listResponse[store.Notification]
			r.json(t, &inbox)
			got := false
			for _, n := range inbox.Items {
				got = got || (n.Kind == "assignment" && n.PlanID != nil && *n.PlanID == out.Plan.ID && n.VisitSeq != nil && *n.VisitSeq == vis.Seq)
			}
			if got {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("inspector %d's inbox lacks the visit: %s", a.InspectorID, r.Body)
			}
		}
	}

	// Placed: placing it again finds nothing left to place.
	r = v.placeNow("admin", id)
	expect(t, r, 409, "placed twice")
	if p := r.problem(t); p.EmptyPlan == nil || !strings.Contains(p.Detail, "could not be placed now") {
		t.Fatalf("second placement: %s", r.Body)
	}
}

// TestPlaceNowRefusals: only an urgent, open, list demand of the caller's
// department is placed now; the refusals say why and change no calendar.
func TestPlaceNowRefusals(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	w := windowDays("2026-11-23", "2026-12-31")
	routine := v.demand("planner", v.itemA.ID, "routine", 3, w, v.bizA.USCC)
	r := v.placeNow("planner", routine)
	expect(t, r, 409, "routine demand")
	if d := r.problem(t).Detail; !strings.Contains(d, "not urgent") {
		t.Fatalf("routine: %s", d)
	}

	cancelled := v.demand("planner", v.itemA.ID, "complaint", 0, w, v.bizA.USCC)
	expect(t, v.do("planner", "POST", fmt.Sprintf("/api/v1/demands/%d/cancel", cancelled), map[string]any{"reason": "withdrawn"}), 200, "cancel")
	r = v.placeNow("planner", cancelled)
	expect(t, r, 409, "cancelled demand")
	if d := r.problem(t).Detail; !strings.Contains(d, "cancelled") {
		t.Fatalf("cancelled: %s", d)
	}

	complaint := v.demand("planner", v.itemA.ID, "complaint", 0, w, v.bizB.USCC)
	expect(t, v.placeNow("plannerB", complaint), 404, "another department's demand")
	expect(t, v.placeNow("team_leader", complaint), 403, "team leader")
	expect(t, v.placeNow("planner", 999999), 404, "no such demand")

	// Priority 1 is urgent too, and goes on the earliest day like a complaint.
	body := v.demandBody(func(m map[string]any) {
		m["priority"], m["announce_days"], m["businesses"] = 1, 0, []string{v.bizB.USCC}
		m["window"] = w
	})
	r = v.do("planner", "POST", "/api/v1/demands", body)
	expect(t, r, 201, "priority-1 demand")
	var d struct{ ID int64 }
	r.json(t, &d)
	r = v.placeNow("planner", d.ID)
	expect(t, r, 201, "priority-1 placed now")
	var out planning.Placement
	r.json(t, &out)
	if len(out.Visits) != 1 || out.Visits[0].Date != "2026-11-23" {
		t.Fatalf("priority-1 visits %+v", out.Visits)
	}

	r = v.do("admin", "GET", "/api/v1/plans", nil)
	expect(t, r, 200, "plans")
	var plans listResponse[store.Plan]
	r.json(t, &plans)
	if len(plans.Items) != 1 || plans.Items[0].ID != out.Plan.ID {
		t.Fatalf("plans %s, want only the priority-1 placement's", r.Body)
	}
}

// TestPlaceNowRespectsBookedCapacity: team minutes held by published visits
// are taken. With room for one visit a day, a second complaint for the same
// day is refused with the capacity reason, and one whose window allows goes
// to the next day.
func TestPlaceNowRespectsBookedCapacity(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	first := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-11-23"), v.bizA.USCC)
	r := v.placeNow("planner", first)
	expect(t, r, 201, "first complaint")
	var out planning.Placement
	r.json(t, &out)
	vis := out.Visits[0]
	used := (vis.DurationMinutes + vis.TravelMinutes) * len(vis.Inspectors)
	// Room for one and a half such visits a day: without the booked visit a
	// second one would fit on 2026-11-23.
	team := v.team
	team.DailyCapacityMinutes = used * 3 / 2
	if err := v.st.UpdateTeam(context.Background(), "test", &team); err != nil {
		t.Fatal(err)
	}

	sameDay := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-11-23"), v.bizB.USCC)
	r = v.placeNow("planner", sameDay)
	expect(t, r, 409, "no capacity left that day")
	p := r.problem(t)
	if p.EmptyPlan == nil || p.EmptyPlan.UnplacedByReason["capacity"] == 0 || !strings.Contains(p.Detail, "capacity") {
		t.Fatalf("refusal: %s", r.Body)
	}
	r = v.do("admin", "GET", "/api/v1/plans?status=discarded", nil)
	expect(t, r, 200, "discarded plans")
	var plans listResponse[store.Plan]
	r.json(t, &plans)
	if len(plans.Items) != 1 || plans.Items[0].UrgentDemandID == nil || *plans.Items[0].UrgentDemandID != sameDay {
		t.Fatalf("the empty urgent plan is not kept as discarded: %s", r.Body)
	}

	nextDay := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-11-24"), v.bizB.USCC)
	r = v.placeNow("planner", nextDay)
	expect(t, r, 201, "a later day")
	r.json(t, &out)
	if len(out.Visits) != 1 || out.Visits[0].Date != "2026-11-24" {
		t.Fatalf("visits %+v, want one on 2026-11-24", out.Visits)
	}
}

// TestPlaceNowJoinsAVisitOnTheCalendar: a second complaint at a business
// that already has a published visit inside the complaint's window joins
// that visit instead of knocking again: 201 with the join and no new visit.
func TestPlaceNowJoinsAVisitOnTheCalendar(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	first := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)
	r := v.placeNow("planner", first)
	expect(t, r, 201, "place the first complaint")
	var one planning.Placement
	r.json(t, &one)
	if len(one.Visits) != 1 {
		t.Fatalf("first placement: %+v", one)
	}
	// Another department's complaint, so the visit gains an item.
	second := v.demand("plannerB", v.itemB.ID, "complaint", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)
	r = v.placeNow("plannerB", second)
	expect(t, r, 201, "place a second complaint at the same business")
	var two planning.Placement
	r.json(t, &two)
	if len(two.Visits) != 0 || len(two.Joins) != 1 || two.Joins[0].TargetPlanID != one.Plan.ID ||
		two.Joins[0].TargetVisitSeq != one.Visits[0].Seq {
		t.Fatalf("second placement should join visit %d/%d: %+v", one.Plan.ID, one.Visits[0].Seq, two)
	}
}
