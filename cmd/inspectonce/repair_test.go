package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/internal/logbuf"
	"inspectonce/planner"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestRepairSurvivesSIGKILL (issue 17 (d)): 200 published visits fall on
// two days a typhoon closes. `inspectonce worker` starts repairing them and
// is killed with SIGKILL part-way; started again, it finishes. Every visit
// is moved off the closed days exactly once (or listed), none is lost or
// moved twice, and each move is told once to each of its people.
func TestRepairSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills and restarts a worker mid-repair")
	}
	t.Parallel()
	st, dsn := storetest.New(t)
	ctx := context.Background()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(cfg.Location())
	var days []time.Time
	for d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, 4); len(days) < 2; d = d.AddDate(0, 0, 1) {
		if cal.IsWorkingDay(d) {
			days = append(days, d)
		}
	}
	const visits = 200
	p := bigPlanWith(t, st, visits, func(pl *planner.Plan) {
		route := map[planner.Day]int{}
		for i := range pl.Visits {
			day := planner.DayOf(days[i%2])
			route[day]++
			pl.Visits[i].Date, pl.Visits[i].RouteOrder = day, route[day]
		}
	})
	var town int64
	if err := st.SQL().QueryRow(`SELECT id FROM regions WHERE code = 'C-T'`).Scan(&town); err != nil {
		t.Fatal(err)
	}
	c, err := st.CreateClosure(ctx, "coordinator", town, 0, days[0], days[1], "台风停航")
	if err != nil {
		t.Fatal(err)
	}

	redisURL := claimRedisDB(t)
	bin := buildBinary(t)
	env := append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+redisURL,
		"INSPECTONCE_WORKER_CONCURRENCY=4", "INSPECTONCE_LOG_LEVEL=info", "INSPECTONCE_WORKER_METRICS_ADDR=")
	start := func(logs *logbuf.Buffer) *exec.Cmd {
		cmd := exec.Command(bin, "worker")
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := st.SQL().QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	const repaired = `SELECT count(*) FROM visit_moves WHERE repair_id IS NOT NULL`

	var logs1 logbuf.Buffer
	w1 := start(&logs1)
	begin := time.Now()
	for count(repaired) < 20 {
		if time.Since(begin) > 90*time.Second {
			_ = w1.Process.Kill()
			t.Fatalf("no repair after 90 s:\n%s", logs1.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = w1.Wait()
	atKill := count(repaired)
	r, err := st.GetRepair(ctx, *c.RepairID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %v with %d of %d visits moved: %+v", time.Since(begin).Round(time.Millisecond), atKill, visits, r)
	if r.Status == store.RepairDone {
		t.Fatalf("the kill came after the repair had finished: %+v", r)
	}

	var logs2 logbuf.Buffer
	w2 := start(&logs2)
	defer func() { _ = w2.Process.Kill(); _ = w2.Wait() }()
	restart := time.Now()
	for {
		if r, err = st.GetRepair(ctx, *c.RepairID); err != nil {
			t.Fatal(err)
		}
		if r.Status == store.RepairDone {
			break
		}
		if time.Since(restart) > 4*time.Minute {
			t.Fatalf("repair not done 4 minutes after the restart: %+v\n%s", r, logs2.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("done %v after the restart: %+v", time.Since(restart).Round(time.Second), r)
	if r.Attempts < 2 || r.Moved+r.Unrepaired != visits || r.Moved == 0 {
		t.Fatalf("repair %+v: want %d visits moved or listed over at least two attempts", r, visits)
	}
	// None lost, none doubled: each visit moved by the repair at most once,
	// and each either off the closed days or listed.
	if n := count(`SELECT count(*) FROM (SELECT plan_id, visit_seq FROM visit_moves WHERE repair_id IS NOT NULL
		GROUP BY 1, 2 HAVING count(*) > 1) d`); n != 0 {
		t.Fatalf("%d visits moved twice", n)
	}
	var onClosed int
	if err := st.SQL().QueryRow(`SELECT count(*) FROM published_visits v WHERE v.plan_id = $1 AND v.date BETWEEN $2::date AND $3::date
		AND NOT EXISTS (SELECT 1 FROM repair_problems p WHERE p.plan_id = v.plan_id AND p.visit_seq = v.seq)`,
		p.ID, days[0].Format(time.DateOnly), days[1].Format(time.DateOnly)).Scan(&onClosed); err != nil {
		t.Fatal(err)
	}
	if onClosed != 0 {
		t.Fatalf("%d visits left on the closed days and not listed", onClosed)
	}
	// Each move told once to each of its people: 2 inspectors, the team and
	// the business (the demand is announced). Wait for the dispatch.
	want := 4 * r.Moved
	for {
		n := count(`SELECT count(*) FROM notifications WHERE kind = 'visit_moved'`)
		if n == want {
			break
		}
		if n > want || time.Since(restart) > 4*time.Minute {
			t.Fatalf("%d visit_moved notices, want %d", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := count(`SELECT count(*) FROM (SELECT effect_key FROM notifications GROUP BY 1 HAVING count(*) > 1) d`); n != 0 {
		t.Fatalf("%d notices written twice", n)
	}
}
