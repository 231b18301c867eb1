package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"inspectonce/domain"
	"inspectonce/jobs"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// planWindow is a fortnight of working days after testToday (a Monday).
var planWindow = map[string]string{"from": "2026-11-30", "to": "2026-12-11"}

// planCounty adds what a plan needs to place visits in the small county:
// inspectors of both domains (a visit takes two), and a business on the
// 无事不扰 list, which a routine demand cannot reach.
func (v *env) planCounty() (leaveAlone domain.Business) {
	t, ctx := v.t, context.Background()
	t.Helper()
	for i, doms := range [][]string{{"food_safety", "fire_safety"}, {"fire_safety"}, {"food_safety"}} {
		in := domain.Inspector{Code: fmt.Sprintf("ZJ-01%02d", i), Name: fmt.Sprintf("检查员%d", i), TeamID: v.team.ID, Domains: doms}
		if err := v.st.CreateInspector(ctx, "test", &in); err != nil {
			t.Fatal(err)
		}
	}
	leaveAlone = domain.Business{USCC: mustUSCC(t, 301), Name: "无事不扰小店", RegionID: v.grid.ID, IndustryCode: "H621",
		Lat: 30.721, Lng: 122.451, RiskCode: domain.RiskGreen, ListKind: domain.ListLeaveAlone}
	if err := v.st.CreateBusiness(ctx, "test", &leaveAlone); err != nil {
		t.Fatal(err)
	}
	return leaveAlone
}

// submit posts a list demand as who and returns its id.
func (v *env) submit(who string, item int64, businesses ...string) int64 {
	v.t.Helper()
	r := v.do(who, "POST", "/api/v1/demands", map[string]any{
		"item_ids": []int64{item}, "businesses": businesses, "window": planWindow, "source": "routine",
	})
	expect(v.t, r, 201, "submit demand as "+who)
	var d struct{ ID int64 }
	r.json(v.t, &d)
	return d.ID
}

// startPlan posts a plan request as admin and returns the running plan.
func (v *env) startPlan(body map[string]any) store.Plan {
	v.t.Helper()
	r := v.do("admin", "POST", "/api/v1/plans", body)
	expect(v.t, r, 202, "start plan")
	var p store.Plan
	r.json(v.t, &p)
	if want := fmt.Sprintf("/api/v1/plans/%d", p.ID); r.Header.Get("Location") != want {
		v.t.Fatalf("Location = %q, want %q", r.Header.Get("Location"), want)
	}
	if strings.Contains(string(r.Body), `"seed":`) || p.Seed != nil {
		v.t.Fatalf("a running plan shows its seed: %s", r.Body)
	}
	return p
}

// waitPlan polls the plan until it is no longer running.
func (v *env) waitPlan(id int64) store.Plan {
	v.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d", id), nil)
		expect(v.t, r, 200, "get plan")
		var p store.Plan
		r.json(v.t, &p)
		if p.Status != store.PlanRunning {
			return p
		}
		if time.Now().After(deadline) {
			v.t.Fatalf("plan %d still running at progress %d (%s)", id, p.Progress, p.ProgressNote)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func fieldsOf(t *testing.T, r resp) []string {
	t.Helper()
	var out []string
	for _, f := range r.problem(t).Errors {
		out = append(out, f.Field)
	}
	return out
}

func TestPlanLifecycle(t *testing.T) {
	v := newEnv(t)
	leaveAlone := v.planCounty()
	// Department A inspects both businesses, B only the first: one joint visit.
	demandA := v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)
	demandB := v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	refused := v.submit("planner", v.itemA.ID, leaveAlone.USCC)

	started := v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"})
	if started.Status != store.PlanRunning || len(started.SeedHash) != sha256.Size || started.Stats != nil ||
		started.From != "2026-11-30" || started.To != "2026-12-11" || started.Mode != store.ModeCoordinated {
		t.Fatalf("started plan: %+v", started)
	}
	p := v.waitPlan(started.ID)
	if p.Status != store.PlanDraft || p.Progress != 100 || p.Stats == nil || p.Seed != nil {
		t.Fatalf("finished plan: %+v (failure %q)", p, p.Failure)
	}
	st := p.Stats
	t.Logf("stats: %+v", *st)
	if st.Visits != 2 || st.NaiveVisits != 3 || st.NaiveVisits < st.Visits || st.JointVisits != 1 || st.JointVisitRate != 0.5 {
		t.Errorf("stats: visits %d naive %d joint %d rate %v; want 2, 3, 1, 0.5", st.Visits, st.NaiveVisits, st.JointVisits, st.JointVisitRate)
	}
	if st.Unplaced != 1 || st.UnplacedByReason["leave_alone"] != 1 {
		t.Errorf("unplaced %d by reason %v; want the leave-alone business", st.Unplaced, st.UnplacedByReason)
	}
	// Two visits: the busiest day holds one or both, and some team has load.
	if st.BusiestDay < "2026-11-30" || st.BusiestDay > "2026-12-11" || (st.BusiestDayShare != 0.5 && st.BusiestDayShare != 1) || len(st.TeamLoad) == 0 {
		t.Errorf("spread: busiest %q at %v, team loads %v", st.BusiestDay, st.BusiestDayShare, st.TeamLoad)
	}

	// Planners read plans too; other roles do not.
	r := v.do("planner", "GET", "/api/v1/plans?status=draft&year=2026", nil)
	expect(t, r, 200, "list plans")
	var plans listResponse[store.Plan]
	r.json(t, &plans)
	if len(plans.Items) != 1 || plans.Items[0].ID != p.ID {
		t.Fatalf("listed %+v", plans.Items)
	}
	r = v.do("admin", "GET", "/api/v1/plans?status=published", nil)
	r.json(t, &plans)
	if len(plans.Items) != 0 {
		t.Fatalf("published plans: %+v", plans.Items)
	}

	visits := func(who string) []store.PlanVisit {
		t.Helper()
		r := v.do(who, "GET", fmt.Sprintf("/api/v1/plans/%d/visits?limit=1", p.ID), nil)
		expect(t, r, 200, "visits as "+who)
		var out []store.PlanVisit
		for {
			var page listResponse[store.PlanVisit]
			r.json(t, &page)
			out = append(out, page.Items...)
			if page.NextCursor == "" {
				return out
			}
			r = v.do(who, "GET", fmt.Sprintf("/api/v1/plans/%d/visits?limit=1&after=%s", p.ID, page.NextCursor), nil)
			expect(t, r, 200, "next page")
		}
	}
	deptsOfTasks := func(vs []store.PlanVisit) map[string][]int64 {
		out := map[string][]int64{}
		for _, vi := range vs {
			if len(vi.Inspectors) < 2 {
				t.Errorf("visit %d has %d inspectors", vi.Seq, len(vi.Inspectors))
			}
			for _, task := range vi.Tasks {
				out[vi.USCC] = append(out[vi.USCC], task.DepartmentID)
			}
		}
		return out
	}
	all := deptsOfTasks(visits("admin"))
	if len(all) != 2 || len(all[v.bizA.USCC]) != 2 || len(all[v.bizB.USCC]) != 1 {
		t.Fatalf("admin sees %v", all)
	}
	a := deptsOfTasks(visits("planner"))
	if len(a) != 2 || !slices.Equal(a[v.bizA.USCC], []int64{v.deptA.ID}) || !slices.Equal(a[v.bizB.USCC], []int64{v.deptA.ID}) {
		t.Errorf("planner A sees %v, want both visits with only A's tasks", a)
	}
	b := deptsOfTasks(visits("plannerB"))
	if len(b) != 1 || !slices.Equal(b[v.bizA.USCC], []int64{v.deptB.ID}) {
		t.Errorf("planner B sees %v, want the joint visit with only B's task", b)
	}

	// The leave-alone business is unplaced with its reason, in A's view only.
	unplaced := func(who string) []store.PlanTask {
		r := v.do(who, "GET", fmt.Sprintf("/api/v1/plans/%d/unplaced", p.ID), nil)
		expect(t, r, 200, "unplaced as "+who)
		var page listResponse[store.PlanTask]
		r.json(t, &page)
		return page.Items
	}
	u := unplaced("admin")
	if len(u) != 1 || u[0].DemandID != refused || u[0].USCC != leaveAlone.USCC || u[0].UnplacedReason != "leave_alone" || u[0].VisitSeq != nil {
		t.Fatalf("unplaced: %+v", u)
	}
	if u := unplaced("planner"); len(u) != 1 {
		t.Errorf("planner A sees %d unplaced, want 1", len(u))
	}
	if u := unplaced("plannerB"); len(u) != 0 {
		t.Errorf("planner B sees %+v", u)
	}
	_, _ = demandA, demandB

	// Draws: admin only.
	r = v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/draws", p.ID), nil)
	expect(t, r, 200, "draws")
	var draws listResponse[store.PlanDraw]
	r.json(t, &draws)
	if len(draws.Items) != st.InspectorDraws+st.TargetDraws || len(draws.Items) == 0 {
		t.Errorf("%d draws listed, stats say %d + %d", len(draws.Items), st.TargetDraws, st.InspectorDraws)
	}
	expect(t, v.do("planner", "GET", fmt.Sprintf("/api/v1/plans/%d/draws", p.ID), nil), 403, "draws as planner")

	// Publish reveals the seed, which hashes to the commitment.
	r = v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil)
	expect(t, r, 200, "publish")
	var pub store.Plan
	r.json(t, &pub)
	sum := sha256.Sum256(pub.Seed)
	if pub.Status != store.PlanPublished || pub.PublishedAt == nil || len(pub.Seed) != 32 || hex.EncodeToString(sum[:]) != started.SeedHash.String() {
		t.Fatalf("published: %+v", pub)
	}
	r = v.do("planner", "GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil)
	expect(t, r, 200, "get published")
	var got store.Plan
	r.json(t, &got)
	if got.Seed.String() != pub.Seed.String() {
		t.Errorf("GET shows seed %s, publish said %s", got.Seed, pub.Seed)
	}
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil), 409, "publish twice")
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/discard", p.ID), nil), 409, "discard a published plan")

	// A draft can be discarded and the cycle run again.
	second := v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11", "independent": true, "region_ids": []int64{v.town.ID}})
	if second.Mode != store.ModeIndependent || !slices.Equal(second.RegionIDs, []int64{v.town.ID}) {
		t.Fatalf("second plan: %+v", second)
	}
	r = v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/discard", second.ID), nil)
	expect(t, r, 200, "discard")
	var disc store.Plan
	r.json(t, &disc)
	if disc.Status != store.PlanDiscarded || disc.DiscardedAt == nil {
		t.Fatalf("discarded: %+v", disc)
	}
	if p := v.waitPlan(second.ID); p.Status != store.PlanDiscarded {
		t.Fatalf("a discarded run came back as %s", p.Status)
	}
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/discard", second.ID), nil), 409, "discard twice")
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", second.ID), nil), 409, "publish a discarded plan")
	third := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	if third.Status != store.PlanDraft {
		t.Fatalf("re-run: %+v", third)
	}
}

func TestPlanRequestsRefused(t *testing.T) {
	v := newEnv(t)
	cases := []struct {
		name   string
		body   any
		status int
		field  string
		reason string
	}{
		{"empty horizon", map[string]any{"from": "2026-12-10", "to": "2026-12-01"}, 422, "horizon", "empty"},
		{"horizon over the maximum", map[string]any{"from": "2026-12-01", "to": "2027-06-30"}, 422, "horizon", "92"},
		{"horizon in the past", map[string]any{"from": "2026-11-02", "to": "2026-11-30"}, 422, "horizon", "past"},
		{"horizon without a working day", map[string]any{"from": "2026-11-28", "to": "2026-11-29"}, 422, "horizon", "working day"},
		{"unknown region", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "region_ids": []int64{v.town.ID, 999999}}, 422, "region_ids", "999999"},
		{"bad region id", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "region_ids": []int64{0}}, 422, "region_ids[0]", ""},
		{"repeated region", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "region_ids": []int64{v.town.ID, v.town.ID}}, 422, "region_ids[1]", ""},
		{"no from", map[string]any{"to": "2026-12-11"}, 422, "from", "required"},
		{"bad date", map[string]any{"from": "2026-12-01", "to": "2026-12-32"}, 422, "to", "YYYY-MM-DD"},
		{"unknown field", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "dry_run": true}, 422, "dry_run", ""},
		{"wrong type", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "independent": "yes"}, 422, "independent", ""},
		{"not json", []byte("from=2026-12-01"), 422, "body", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := v.do("admin", "POST", "/api/v1/plans", tc.body)
			expect(t, r, tc.status, tc.name)
			pr := r.problem(t)
			if !slices.Contains(fieldsOf(t, r), tc.field) {
				t.Fatalf("fields %v, want %q: %s", fieldsOf(t, r), tc.field, r.Body)
			}
			for _, f := range pr.Errors {
				if f.Field == tc.field && !strings.Contains(f.Reason, tc.reason) {
					t.Errorf("reason %q does not mention %q", f.Reason, tc.reason)
				}
			}
		})
	}
	expect(t, v.do("admin", "POST", "/api/v1/plans", "{}", "Content-Type", "text/plain"), 415, "not JSON")
	// Nothing was started.
	r := v.do("admin", "GET", "/api/v1/plans", nil)
	var plans listResponse[store.Plan]
	r.json(t, &plans)
	if len(plans.Items) != 0 {
		t.Fatalf("refused requests made plans: %+v", plans.Items)
	}
	for _, path := range []string{"/api/v1/plans/999", "/api/v1/plans/x", "/api/v1/plans/999/visits", "/api/v1/plans/999/unplaced", "/api/v1/plans/999/draws"} {
		expect(t, v.do("admin", "GET", path, nil), 404, path)
	}
	expect(t, v.do("admin", "POST", "/api/v1/plans/999/publish", nil), 404, "publish unknown")
	expect(t, v.do("admin", "POST", "/api/v1/plans/999/discard", nil), 404, "discard unknown")
	expect(t, v.do("admin", "GET", "/api/v1/plans?status=finished", nil), 422, "bad status")
	expect(t, v.do("admin", "GET", "/api/v1/plans?year=0", nil), 422, "bad year")
	p := v.startPlan(map[string]any{"from": "2026-12-01", "to": "2026-12-11"})
	expect(t, v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits?after=x", p.ID), nil), 422, "bad cursor")
	expect(t, v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/unplaced?limit=0", p.ID), nil), 422, "bad limit")
	if p := v.waitPlan(p.ID); p.Status != store.PlanDraft || p.Stats.Visits != 0 {
		t.Fatalf("a plan without demands: %+v", p)
	}
}

// TestPlanRunsOnAsynqWorker dispatches the run as the service does: an asynq
// task on the test Redis, handled by a real worker (on a queue of its own, so
// that other tests' workers never take it).
func TestPlanRunsOnAsynqWorker(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC)
	v.submit("plannerB", v.itemB.ID, v.bizA.USCC)

	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	queue := "test-plans-" + hex.EncodeToString(b[:])
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	var queued []int64
	v.enqueue = func(ctx context.Context, planID int64) error {
		queued = append(queued, planID)
		return jobs.EnqueuePlanRun(ctx, client, planID, asynq.Queue(queue))
	}
	w := jobs.NewWorker(opt, jobs.WorkerOptions{Concurrency: 2, ShutdownTimeout: 10 * time.Second,
		Logger: slog.New(slog.DiscardHandler), Plans: v.plans, Queues: map[string]int{queue: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		ins := asynq.NewInspector(opt)
		defer ins.Close()
		_ = ins.DeleteQueue(queue, true)
		dropQueueKeys(opt, queue)
	})

	p := v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"})
	if !slices.Equal(queued, []int64{p.ID}) {
		t.Fatalf("queued %v", queued)
	}
	p = v.waitPlan(p.ID)
	if p.Status != store.PlanDraft || p.Progress != 100 || p.ProgressNote != "done" || p.Stats.Visits != 1 || p.Stats.NaiveVisits != 2 {
		t.Fatalf("plan run by the worker: %+v (failure %q, stats %+v)", p, p.Failure, p.Stats)
	}
	// Queueing it again (a retried request) changes nothing.
	if err := jobs.EnqueuePlanRun(context.Background(), client, p.ID, asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if again := v.waitPlan(p.ID); again.Status != store.PlanDraft || again.Stats.Visits != 1 {
		t.Fatalf("after a second delivery: %+v", again)
	}
}

// dropQueueKeys deletes what asynq keeps of a deleted queue (its counters).
func dropQueueKeys(opt asynq.RedisConnOpt, queue string) {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return
	}
	defer c.Close()
	ctx := context.Background()
	keys, _ := c.Keys(ctx, "asynq:{"+queue+"}:*").Result()
	if len(keys) > 0 {
		c.Del(ctx, keys...)
	}
	c.SRem(ctx, "asynq:queues", queue)
}

// TestPlanJoinsListed: after plan 1 is published, plan 2's task at a
// business plan 1 visits in its window joins that visit: the draft's stats
// count it, GET /plans/{id}/joins lists it (a planner sees only its
// department's), and publishing the plan amends the visit.
func TestPlanJoinsListed(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC)
	p1 := v.waitPlan(v.startPlan(map[string]any{"from": planWindow["from"], "to": planWindow["to"]}).ID)
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p1.ID), nil), 200, "publish plan 1")

	demand := v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	p2 := v.waitPlan(v.startPlan(map[string]any{"from": planWindow["from"], "to": planWindow["to"]}).ID)
	if p2.Status != store.PlanDraft || p2.Stats == nil || p2.Stats.TasksJoined != 1 || p2.Stats.VisitsAmended != 1 ||
		p2.Stats.Visits != 0 {
		t.Fatalf("plan 2: %+v (stats %+v)", p2, p2.Stats)
	}
	joins := func(who string) []store.PlanJoin {
		t.Helper()
		r := v.do(who, "GET", fmt.Sprintf("/api/v1/plans/%d/joins", p2.ID), nil)
		expect(t, r, 200, "joins as "+who)
		var page listResponse[store.PlanJoin]
		r.json(t, &page)
		return page.Items
	}
	j := joins("admin")
	if len(j) != 1 || j[0].TargetPlanID != p1.ID || j[0].USCC != v.bizA.USCC || len(j[0].Tasks) != 1 ||
		j[0].Tasks[0].DemandID != demand || j[0].Tasks[0].VisitSeq != nil {
		t.Fatalf("joins: %+v", j)
	}
	if b := joins("plannerB"); len(b) != 1 {
		t.Errorf("planner B sees %d joins, want 1", len(b))
	}
	if a := joins("planner"); len(a) != 0 {
		t.Errorf("planner A sees joins %+v", a)
	}
	expect(t, v.do("admin", "GET", "/api/v1/plans/999999/joins", nil), 404, "joins of no plan")
	// A plan whose only work is joins is not empty: it publishes.
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p2.ID), nil), 200, "publish plan 2")
}
