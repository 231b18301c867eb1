package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"inspectonce/domain"
	"inspectonce/internal/logbuf"
	"inspectonce/jobs"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

// claimRedisDB returns the URL of a Redis database (1 to 15) of the test's
// own, emptied: a worker run by the test serves the real queue names
// (critical, default, low), which it must not share with the workers of
// other tests — nor of the same test run concurrently by another checkout on
// the same Redis. A database is claimed by a key in database 0 (SET NX with
// an expiry), released when the test ends.
func claimRedisDB(t testing.TB) string {
	t.Helper()
	ctx := context.Background()
	base, err := redis.ParseURL(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	base.DB = 0
	locks := redis.NewClient(base)
	t.Cleanup(func() { _ = locks.Close() })
	var token [8]byte
	_, _ = rand.Read(token[:])
	tok := fmt.Sprintf("%x", token)
	first := int(token[0]) % 15
	for k := range 15 {
		db := 1 + (first+k)%15
		key := fmt.Sprintf("inspectonce:test:redis-db:%d", db)
		ok, err := locks.SetNX(ctx, key, tok, 30*time.Minute).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		u, err := url.Parse(os.Getenv(storetest.EnvRedisURL))
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + strconv.Itoa(db)
		opt := *base
		opt.DB = db
		rdb := redis.NewClient(&opt)
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = rdb.FlushDB(ctx).Err()
			_ = rdb.Close()
			if v, _ := locks.Get(ctx, key).Result(); v == tok {
				locks.Del(ctx, key)
			}
		})
		return u.String()
	}
	t.Fatal("no Redis database 1-15 is free for this test")
	return ""
}

// bigPlan publishes a plan of n visits over a small registry: 100
// businesses, one team of four inspectors (the first its leader), one demand
// announced 2 days ahead. Each visit has a lead and a member, so it makes 4
// notices: 2 assignments, 1 team_visit, 1 visit_notice.
func bigPlan(t testing.TB, st *store.Store, n int) store.Plan {
	t.Helper()
	return bigPlanWith(t, st, n, nil)
}

// bigPlanWith is bigPlan with edit applied to the plan before it is saved.
func bigPlanWith(t testing.TB, st *store.Store, n int, edit func(*planner.Plan)) store.Plan {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	dept := &domain.Department{Code: "SCJG", Name: "市场监管"}
	must(st.CreateDepartment(ctx, "test", dept))
	item := &domain.Item{Code: "SCJG-01", DepartmentID: dept.ID, Name: "食品", Domain: "food_safety", Minutes: 30, LegalBasis: "食品安全法"}
	must(st.CreateItem(ctx, "test", item))
	county := &domain.Region{Code: "C", Name: "县", Level: domain.LevelCounty}
	must(st.CreateRegion(ctx, "test", county))
	town := &domain.Region{Code: "C-T", Name: "镇", Level: domain.LevelTownship, ParentID: &county.ID}
	must(st.CreateRegion(ctx, "test", town))
	grid := &domain.Region{Code: "C-T-G", Name: "网格", Level: domain.LevelGrid, ParentID: &town.ID}
	must(st.CreateRegion(ctx, "test", grid))
	team := &domain.Team{Code: "T1", Name: "队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 960, RegionIDs: []int64{town.ID}}
	must(st.CreateTeam(ctx, "test", team))
	var inspectors []int64
	for i := range 4 {
		in := &domain.Inspector{Code: fmt.Sprintf("I%d", i), Name: fmt.Sprintf("人%d", i), TeamID: team.ID,
			Domains: []string{"food_safety"}, IsLeader: i == 0}
		must(st.CreateInspector(ctx, "test", in))
		inspectors = append(inspectors, in.ID)
	}
	var biz []string
	for i := range 100 {
		code, err := uscc.Complete(fmt.Sprintf("91330922%09d", i+1))
		must(err)
		must(st.CreateBusiness(ctx, "test", &domain.Business{USCC: code, Name: fmt.Sprintf("店%d", i), RegionID: grid.ID,
			IndustryCode: "H6210", Lat: 30.7, Lng: 122.4, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}))
		biz = append(biz, code)
	}
	from, to := time.Now().AddDate(0, 0, 1), time.Now().AddDate(0, 2, 0)
	d := &domain.Demand{DepartmentID: dept.ID, ItemIDs: []int64{item.ID}, TargetKind: domain.TargetList, Businesses: biz,
		WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine, AnnounceDays: 2}
	_, err := st.CreateDemand(ctx, "test", nil, d)
	must(err)

	p := &planner.Plan{}
	route := map[planner.Day]int{}
	for i := range n {
		b := biz[i%len(biz)]
		day := planner.DayOf(from.AddDate(0, 0, i%40))
		route[day]++
		p.Visits = append(p.Visits, planner.Visit{USCC: b, Date: day, TeamID: team.ID,
			InspectorIDs: []int64{inspectors[i%4], inspectors[(i+1)%4]}, DepartmentIDs: []int64{dept.ID},
			Tasks: []planner.Task{{DemandID: d.ID, DepartmentID: dept.ID, USCC: b, ItemID: item.ID,
				From: planner.DayOf(from), To: planner.DayOf(to), Priority: 3}},
			DurationMinutes: 30, TravelMinutes: 5, RouteOrder: route[day]})
	}
	p.Stats = planner.Stats{Tasks: n, NaiveVisits: n, LowerBound: n, Visits: n}
	if edit != nil {
		edit(p)
	}
	year := time.Now().Year()
	_, err = st.YearKey(ctx, "test", year)
	must(err)
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	plan, err := st.CreatePlan(ctx, "test", store.NewPlan{From: from, To: to, Mode: store.ModeCoordinated, Year: year, Seed: seed})
	must(err)
	must(st.SavePlanResult(ctx, plan.ID, p))
	pub, err := st.PublishPlan(ctx, "test", plan.ID)
	must(err)
	return pub
}

// TestDispatchSurvivesSIGKILL publishes a plan of 10,000 visits while no
// worker runs (the dispatch waits in the outbox), starts `inspectonce
// worker`, kills it with SIGKILL part-way, starts it again, and checks that
// every expected notification exists exactly once.
func TestDispatchSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills and restarts a worker over 10,000 visits")
	}
	st, dsn := storetest.New(t)
	ctx := context.Background()
	const visits = 10000
	const perVisit = 4
	p := bigPlan(t, st, visits)

	redisURL := claimRedisDB(t)

	bin := buildBinary(t)
	// No metrics listener: TestWorkerServesMetrics covers it, and the
	// default port may be taken by another test's worker.
	env := append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+redisURL,
		"INSPECTONCE_WORKER_CONCURRENCY=20", "INSPECTONCE_LOG_LEVEL=info", "INSPECTONCE_WORKER_METRICS_ADDR=")
	status := func() dispatchOutput {
		t.Helper()
		cmd := exec.Command(bin, "dispatch", "status", "--plan", strconv.FormatInt(p.ID, 10), "--json")
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("dispatch status: %v\n%s", err, out)
		}
		var o dispatchOutput
		if err := json.Unmarshal(out, &o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return o
	}
	if s := status(); s.Visits != visits || s.Outbox != visits || s.PendingRelay != visits || s.Dispatched != 0 || s.FailedNote != "" {
		t.Fatalf("before any worker: %+v", s)
	}

	start := func(logs *logbuf.Buffer) *exec.Cmd {
		cmd := exec.Command(bin, "worker")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// killWhen runs a worker until the count query reaches at, then kills it
	// with SIGKILL.
	killWhen := func(name, count string, at int64) dispatchOutput {
		t.Helper()
		var logs logbuf.Buffer
		w := start(&logs)
		begin := time.Now()
		for {
			var c int64
			if err := st.SQL().QueryRowContext(ctx, count).Scan(&c); err != nil {
				t.Fatal(err)
			}
			if c >= at {
				break
			}
			if time.Since(begin) > 90*time.Second {
				_ = w.Process.Kill()
				t.Fatalf("%s: %d after 90 s:\n%s", name, c, logs.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = w.Wait()
		s := status()
		t.Logf("%s: killed after %v: %+v", name, time.Since(begin).Round(time.Millisecond), s)
		return s
	}
	// First while the relay moves the outbox into the queue, then while the
	// handlers write the notices.
	first := killWhen("during relay", `SELECT count(*) FROM outbox WHERE relayed_at IS NOT NULL`, 1)
	if first.Relayed == visits {
		t.Logf("the first kill came after the relay had moved everything")
	}
	second := killWhen("during dispatch", `SELECT count(*) FROM notifications`, int64(visits*perVisit/5))
	if second.Dispatched >= visits {
		t.Fatalf("the kill came too late to test anything: %+v", second)
	}

	var logs2 logbuf.Buffer
	w2 := start(&logs2)
	done := make(chan error, 1)
	go func() { done <- w2.Wait() }()
	defer func() { _ = w2.Process.Kill() }()
	restart := time.Now()
	// Tasks the killed worker held come back when their lease expires (asynq
	// checks every minute), so this may take a couple of minutes.
	var final dispatchOutput
	for {
		final = status()
		if final.Dispatched == visits && final.Pending == 0 {
			break
		}
		if time.Since(restart) > 4*time.Minute {
			t.Fatalf("not dispatched 4 minutes after the restart: %+v\n%s", final, logs2.String())
		}
		time.Sleep(time.Second)
	}
	t.Logf("dispatched %v after the restart: %+v", time.Since(restart).Round(time.Second), final)
	// The tasks the killed workers held run again once asynq finds their
	// leases expired (it looks every minute): wait until the queue is empty,
	// so that the checks below also cover those late redeliveries.
	qopt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ins := asynq.NewInspector(qopt)
	defer ins.Close()
	for {
		qi, err := ins.GetQueueInfo(jobs.DispatchQueue)
		if err != nil {
			t.Fatal(err)
		}
		if qi.Pending+qi.Active+qi.Retry+qi.Scheduled == 0 {
			t.Logf("queue drained %v after the restart: %d done, %d archived", time.Since(restart).Round(time.Second), qi.Completed, qi.Archived)
			break
		}
		if time.Since(restart) > 4*time.Minute {
			t.Fatalf("queue not drained 4 minutes after the restart: %+v", qi)
		}
		time.Sleep(time.Second)
	}
	// The relay made batch tasks only, which carry every visit between them.
	carried := map[int]bool{}
	batches := 0
	for page := 1; ; page++ {
		tasks, err := ins.ListCompletedTasks(jobs.DispatchQueue, asynq.Page(page), asynq.PageSize(1000))
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range tasks {
			if ti.Type != jobs.TypeDispatchVisits {
				t.Fatalf("the relay queued a %s task: %+v", ti.Type, ti)
			}
			var pl jobs.DispatchVisitsPayload
			if err := json.Unmarshal(ti.Payload, &pl); err != nil {
				t.Fatal(err)
			}
			for _, r := range pl.Seqs {
				for q := r[0]; q <= r[1]; q++ {
					carried[q] = true
				}
			}
			batches++
		}
		if len(tasks) < 1000 {
			break
		}
	}
	if len(carried) != visits || batches > 2*visits/jobs.DefaultPerTask {
		t.Fatalf("%d completed batch tasks carried %d visits", batches, len(carried))
	}
	t.Logf("%d batch tasks for %d visits", batches, visits)
	final = status()
	if final.Notifications != visits*perVisit || final.NotificationsByKind["assignment"] != 2*visits ||
		final.NotificationsByKind["team_visit"] != visits || final.NotificationsByKind["visit_notice"] != visits ||
		final.Failed != 0 || final.FailedNote != "" || final.Relayed != visits {
		t.Fatalf("final: %+v", final)
	}
	// Exactly once: one notice per (visit, recipient, kind), every one there.
	var dup, missing int64
	if err := st.SQL().QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM (SELECT plan_id, visit_seq, recipient_kind, recipient_id, kind FROM notifications
			GROUP BY 1, 2, 3, 4, 5 HAVING count(*) > 1) d),
		(SELECT count(*) FROM plan_assignments a WHERE a.plan_id = $1 AND NOT EXISTS (SELECT 1 FROM notifications n
			WHERE n.plan_id = a.plan_id AND n.visit_seq = a.visit_seq AND n.recipient_id = a.inspector_id::text AND n.kind = 'assignment'))`,
		p.ID).Scan(&dup, &missing); err != nil {
		t.Fatal(err)
	}
	if dup != 0 || missing != 0 {
		t.Fatalf("%d effects written more than once, %d assignments without their notice", dup, missing)
	}

	stopGracefully(t, w2, done, &logs2)
	for _, want := range []string{"outbox relay stopped", "worker stopped"} {
		if !strings.Contains(logs2.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

func TestDispatchStatusCommand(t *testing.T) {
	st, dsn := storetest.New(t)
	p := bigPlan(t, st, 3)
	bin := buildBinary(t)
	run := func(env []string, wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if (err == nil) != wantOK {
			t.Fatalf("inspectonce %s: %v, want ok=%v\n%s%s", strings.Join(args, " "), err, wantOK, out, stderr.String())
		}
		return string(out) + stderr.String()
	}
	good := []string{"INSPECTONCE_DATABASE_URL=" + dsn, "INSPECTONCE_REDIS_URL=" + os.Getenv(storetest.EnvRedisURL)}
	id := strconv.FormatInt(p.ID, 10)
	human := run(good, true, "dispatch", "status", "--plan", id)
	for _, want := range []string{"visits", "dispatched", "pending", "failed", "notifications"} {
		if !strings.Contains(human, want) {
			t.Errorf("dispatch status lacks %q:\n%s", want, human)
		}
	}
	// Redis away: failed is 0 with a note, the rest still answers.
	away := []string{"INSPECTONCE_DATABASE_URL=" + dsn, "INSPECTONCE_REDIS_URL=redis://127.0.0.1:1/0"}
	var o dispatchOutput
	cmd := exec.Command(bin, "dispatch", "status", "--plan", id, "--json")
	cmd.Env = append(os.Environ(), away...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	if o.Visits != 3 || o.Pending != 3 || o.Failed != 0 || !strings.Contains(o.FailedNote, "redis") {
		t.Fatalf("with redis away: %+v", o)
	}
	for _, bad := range [][]string{{"dispatch"}, {"dispatch", "status"}, {"dispatch", "status", "--plan", "x"}} {
		run(good, false, bad...)
	}
	if out := run(good, false, "dispatch", "status", "--plan", "999999"); !strings.Contains(out, "not found") {
		t.Errorf("unknown plan: %s", out)
	}
}

// TestWorkerServesMetrics runs `inspectonce worker` alone (no API in the
// process) over a plan whose second visit has no inspector: the worker serves
// /metrics on worker.metrics_addr with the queue collector and the task and
// dispatch metrics, and the refused visit shows as failed in `dispatch
// status` and, with its error, among the archived tasks of the queue view.
func TestWorkerServesMetrics(t *testing.T) {
	st, dsn := storetest.New(t)
	p := bigPlanWith(t, st, 3, func(p *planner.Plan) { p.Visits[1].InspectorIDs = nil })
	redisURL := claimRedisDB(t)
	bin := buildBinary(t)
	addr := freePort(t)
	env := append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+redisURL,
		"INSPECTONCE_WORKER_CONCURRENCY=4", "INSPECTONCE_WORKER_METRICS_ADDR="+addr)

	// A bad address, or one taken, stops start-up naming the key.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, bad := range []string{"nonsense", "127.0.0.1:99999", taken.Addr().String()} {
		cmd := exec.Command(bin, "worker")
		cmd.Env = append(slices.Clone(env), "INSPECTONCE_WORKER_METRICS_ADDR="+bad)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "metrics_addr") {
			t.Fatalf("worker.metrics_addr=%s: %v\n%s", bad, err, out)
		}
	}

	var logs logbuf.Buffer
	cmd := exec.Command(bin, "worker")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	scrape := func() string {
		c := http.Client{Timeout: 3 * time.Second}
		res, err := c.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			return ""
		}
		return string(b)
	}
	want := []string{
		"inspectonce_queue_up 1",
		`inspectonce_queue_tasks{queue="critical",state="archived"} 1`,
		`inspectonce_dispatch_visits_total{outcome="dispatched"} 2`,
		`inspectonce_dispatch_visits_total{outcome="refused"} 1`,
		`inspectonce_task_runs_total{outcome="ok",type="dispatch:visits"} 1`,
		`inspectonce_task_runs_total{outcome="error",type="dispatch:visits"} 1`,
		`inspectonce_task_duration_seconds_count{type="dispatch:visits"} 2`,
		`inspectonce_dispatch_effects_total{task="dispatch:visits"} 8`,
		"inspectonce_outbox_relayed_total 3",
		"inspectonce_outbox_tasks_total 1",
		"inspectonce_outbox_unrelayed 0",
		"go_goroutines",
	}
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; {
		body = scrape()
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w+"\n") && !strings.Contains(body, w+" ") {
				missing = w
				break
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks %q after 30 s:\n%s\nlogs:\n%s", missing, body, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	// What the admin sees: failed 1 in `dispatch status`, and the archived
	// task with its error in the queue view.
	st2 := exec.Command(bin, "dispatch", "status", "--plan", strconv.FormatInt(p.ID, 10), "--json")
	st2.Env = env
	out, err := st2.Output()
	if err != nil {
		t.Fatalf("dispatch status: %v\n%s", err, out)
	}
	var o dispatchOutput
	if err := json.Unmarshal(out, &o); err != nil {
		t.Fatal(err)
	}
	if o.Visits != 3 || o.Dispatched != 2 || o.Failed != 1 || o.Pending != 1 || o.FailedNote != "" {
		t.Fatalf("dispatch status: %+v", o)
	}
	qopt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	ins := asynq.NewInspector(qopt)
	defer ins.Close()
	archived, err := ins.ListArchivedTasks(jobs.DispatchQueue)
	if err != nil || len(archived) != 1 || !strings.Contains(archived[0].LastErr, "visit 2: the visit has no lead inspector") {
		t.Fatalf("archived %+v %v", archived, err)
	}

	stopGracefully(t, cmd, done, &logs)
	if scrape() != "" {
		t.Fatal("/metrics still answers after the worker stopped")
	}
}
