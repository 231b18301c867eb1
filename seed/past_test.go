package seed_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/jobs"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func tokenOf(t *testing.T, res seed.Result, role domain.Role) seed.Token {
	t.Helper()
	for _, tok := range res.Tokens {
		if tok.Role == role {
			return tok
		}
	}
	t.Fatalf("no %s token", role)
	return seed.Token{}
}

// pastCounts are the rows the past is made of: seeding again must not add any.
func pastCounts(t *testing.T, st *store.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"plans", "plan_visits", "visit_checkins", "task_results", "visit_confirmations",
		"visit_reports", "visit_moves", "visit_code_revocations", "risk_code_history", "demands", "outbox"} {
		out[table] = count(t, st, "SELECT count(*) FROM "+table)
	}
	return out
}

// checkDayZero checks that every seeded token has something to see on the
// day of the seed, through the store calls the pages make.
func checkDayZero(t *testing.T, st *store.Store, cfg *configs.Config, res seed.Result, now time.Time) {
	t.Helper()
	ctx := context.Background()
	loc := cfg.Location()
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)

	insp, err := strconv.ParseInt(tokenOf(t, res, domain.RoleInspector).Scope, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	visits, err := st.InspectorVisits(ctx, insp, today) // what /inspect shows
	if err != nil {
		t.Fatal(err)
	}
	if len(visits) == 0 {
		t.Errorf("the seeded inspector %d has no visit today (%s)", insp, today.Format(time.DateOnly))
	}
	team, err := strconv.ParseInt(tokenOf(t, res, domain.RoleTeamLeader).Scope, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	roster, err := st.Roster(ctx, domain.Principal{Role: domain.RoleTeamLeader, Scope: strconv.FormatInt(team, 10)}, team, today)
	if err != nil {
		t.Fatal(err)
	}
	if len(roster.Visits) == 0 {
		t.Errorf("the seeded leader's team %d has an empty roster today", team)
	}
	for _, v := range visits {
		if v.TeamID != team {
			t.Errorf("the seeded inspector's visit %d today is led by team %d, not the seeded leader's %d", v.VisitSeq, v.TeamID, team)
		}
	}

	sched, err := st.BusinessSchedule(ctx, tokenOf(t, res, domain.RoleBusiness).Scope, now, loc)
	if err != nil {
		t.Fatal(err)
	}
	var past, future int
	for _, v := range sched.Visits {
		switch vd := v.Date; {
		case vd < today.Format(time.DateOnly):
			past++
		case vd > today.Format(time.DateOnly):
			future++
		}
	}
	if past == 0 || future == 0 {
		t.Errorf("the seeded business's schedule has %d past and %d future visits, want both: %+v", past, future, sched.Visits)
	}

	pub, err := st.PublishedResults(ctx, store.ResultFilter{}, "", 1000) // open data, /results
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for _, r := range pub.Items {
		for _, it := range r.Items {
			outcomes[it.Outcome]++
		}
	}
	for _, o := range store.ResultOutcomes {
		if outcomes[o] == 0 {
			t.Errorf("no published result with outcome %s (published: %v)", o, outcomes)
		}
	}
	if res.Past.Published == 0 || len(pub.Items) != res.Past.Published {
		t.Errorf("%d results published, the seed says %d", len(pub.Items), res.Past.Published)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	dash, err := st.PublicationStatus(ctx, store.PublicationQuery{Today: today, AddWorkingDays: cal.AddWorkingDays})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/publication: due %d, on time %d, late %d, overdue unpublished %d, overdue unreported %d",
		dash.Due, dash.PublishedOnTime, dash.PublishedLate, dash.OverdueUnpublished, dash.OverdueUnreported)
	// Published now: on time only when now is the real clock's today.
	if time.Since(now).Abs() < time.Hour && (dash.PublishedOnTime != res.Past.Published || dash.PublishedLate != 0) {
		t.Errorf("/publication: %d published on time and %d late, want all %d on time", dash.PublishedOnTime, dash.PublishedLate, res.Past.Published)
	}

	for _, c := range []struct {
		what  string
		query string
	}{
		{"revoked codes with a reason", "SELECT count(*) FROM visit_code_revocations WHERE reason <> ''"},
		{"moved visits with a reason", "SELECT count(*) FROM visit_moves WHERE reason <> ''"},
		{"risk codes set by a result", `SELECT count(*) FROM risk_code_history h JOIN task_results r ON r.id = h.result_id
			JOIN businesses b ON b.uscc = h.uscc WHERE b.risk_set_at >= h.set_at`},
		{"follow-up demands", "SELECT count(*) FROM demands WHERE origin_kind IS NOT NULL"},
		{"visits confirmed by two", `SELECT count(*) FROM visit_reports r WHERE
			(SELECT count(*) FROM visit_confirmations c WHERE c.plan_id = r.plan_id AND c.visit_seq = r.visit_seq) >= 2`},
		{"checked-in reports", "SELECT count(*) FROM visit_reports WHERE checked_in_at IS NOT NULL"},
	} {
		if n := count(t, st, c.query); n == 0 {
			t.Errorf("%s: none", c.what)
		}
	}
	if n := count(t, st, `SELECT count(*) FROM visit_reports r WHERE NOT EXISTS (SELECT 1 FROM plan_tasks t
		WHERE t.plan_id = r.plan_id AND t.visit_seq = r.visit_seq AND NOT EXISTS (
			SELECT 1 FROM current_task_results c WHERE c.plan_id = t.plan_id AND c.task_seq = t.seq))`); n != res.Past.Reported {
		t.Errorf("%d reports with a result for every task, the seed says %d reports", n, res.Past.Reported)
	}
	if res.Past.Unreported == 0 || res.Past.Awaiting == 0 || res.Past.Moved == 0 || res.Past.Revoked == 0 {
		t.Errorf("past %+v: want an overdue visit, one awaiting confirmation, a move and a revocation", res.Past)
	}
}

// The seeded county has a past on day 0, on a working day and on a
// weekend, and seeding again adds nothing to it.
func TestLoadPast(t *testing.T) {
	ctx := context.Background()
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		now  time.Time
	}{
		{"today", time.Now()},
		{"a Saturday", time.Date(2026, 11, 14, 10, 0, 0, 0, cfg.Location())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := storetest.New(t)
			start := time.Now()
			res, err := seed.LoadConfig(ctx, st, cfg, tc.now)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("seeded in %v: past %+v", time.Since(start), res.Past)
			checkTokens(t, st, res.Tokens)
			checkDayZero(t, st, cfg, res, tc.now)

			before := pastCounts(t, st)
			again, err := seed.LoadConfig(ctx, st, cfg, tc.now)
			if !errors.Is(err, seed.ErrAlreadySeeded) {
				t.Fatalf("second load: %v, want ErrAlreadySeeded", err)
			}
			if after := pastCounts(t, st); !mapsEqual(before, after) {
				t.Errorf("seeding again changed the past: %v, then %v", before, after)
			}
			for i, tok := range again.Tokens {
				if tok.Scope != res.Tokens[i].Scope {
					t.Errorf("second load scopes %s to %q, the first to %q", tok.Role, tok.Scope, res.Tokens[i].Scope)
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// futureFigures seeds a database as of now and plans the next 28 days as a
// dry run, with the planning service's clock at now.
func futureFigures(t *testing.T, cfg *configs.Config, now time.Time) (*store.Store, seed.Result, store.PlanStats) {
	t.Helper()
	ctx := context.Background()
	st, _ := storetest.New(t)
	res, err := seed.LoadConfig(ctx, st, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	from := svc.NextWorkingDay()
	run, err := svc.Run(ctx, "test", planning.Request{From: from, To: from.AddDate(0, 0, 27), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, res, run.Stats
}

// The plan of the next 28 days keeps its figures whatever day the county is
// seeded on: the past adds its follow-ups (one task each) and nothing else.
// 997 tasks: key-list businesses no longer use up their samples' n (they
// are taken apart, docs/draws.md §3.2), so the samples give 78 more than
// the 919 they gave when they did.
// Its visits vary a little with the year's key (a fresh database draws its
// own), so only their bounds are checked.
func TestFutureFiguresAfterPast(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds three databases")
	}
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{
		time.Date(2026, 12, 8, 9, 0, 0, 0, cfg.Location()),  // a Tuesday
		time.Date(2026, 3, 13, 16, 0, 0, 0, cfg.Location()), // a Friday
		time.Date(2026, 9, 26, 11, 0, 0, 0, cfg.Location()), // a Saturday, in the National Day holidays
	} {
		st, res, s := futureFigures(t, cfg, now)
		followUpTasks := count(t, st, `SELECT count(*) FROM demand_items di JOIN demands d ON d.id = di.demand_id
			WHERE d.origin_kind IS NOT NULL`)
		t.Logf("seeded %s: past plan %d visits (%d today), %d follow-ups; next 28 days: %d tasks, %d naive visits, "+
			"lower bound %d, %d visits, joint %.0f %%, %d unplaced; independent %d",
			now.Format("Mon 2006-01-02"), res.Past.Visits, res.Past.Today, res.Past.FollowUps, s.Tasks, s.NaiveVisits,
			s.LowerBound, s.Visits, 100*s.JointVisitRate, s.Unplaced, independentVisits(s))
		if s.Tasks != 997+followUpTasks {
			t.Errorf("seeded %s: %d tasks, want 997 and the %d follow-up tasks", now.Format(time.DateOnly), s.Tasks, followUpTasks)
		}
		if s.Unplaced != 0 || s.Visits != s.LowerBound || s.Visits < 250 || s.Visits > 300 {
			t.Errorf("seeded %s: %d visits (lower bound %d), %d unplaced", now.Format(time.DateOnly), s.Visits, s.LowerBound, s.Unplaced)
		}
	}
}

func independentVisits(s store.PlanStats) int {
	if s.Independent == nil {
		return 0
	}
	return s.Independent.Visits
}

// The past plan is dispatched like any plan, through its outbox rows; its
// visits already past by then tell only their inspectors (their record of
// the visit): no business hears of a visit after it took place, and no
// leader of one gone by. Every visit counts as dispatched.
func TestPastDispatch(t *testing.T) {
	ctx := context.Background()
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := storetest.New(t)
	now := time.Now()
	res, err := seed.LoadConfig(ctx, st, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := st.OutboxRows(ctx, res.Past.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, r := range rows {
		if r.Kind == store.OutboxDispatchVisit {
			seqs = append(seqs, r.VisitSeq)
		}
	}
	if len(seqs) != res.Past.Visits {
		t.Fatalf("%d dispatch rows in the outbox for %d visits", len(seqs), res.Past.Visits)
	}
	d := jobs.NewDispatcher(jobs.DispatchOptions{Store: st, Location: cfg.Location(), Now: func() time.Time { return now }})
	r, err := d.DispatchVisits(ctx, res.Past.PlanID, seqs)
	if err != nil || len(r.Refused) > 0 {
		t.Fatalf("dispatch: %+v, %v", r, err)
	}
	status, err := st.PlanDispatchStatus(ctx, res.Past.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	if status.Dispatched != int64(res.Past.Visits) {
		t.Errorf("%d of %d visits dispatched", status.Dispatched, res.Past.Visits)
	}
	y, m, dd := now.In(cfg.Location()).Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	late := count(t, st, `SELECT count(*) FROM notifications n JOIN published_visits v ON v.plan_id = n.plan_id AND v.seq = n.visit_seq
		WHERE v.date < $1::date AND n.kind <> 'assignment'`, today)
	if late != 0 {
		t.Errorf("%d notices other than assignments about visits already past", late)
	}
	current := count(t, st, `SELECT count(*) FROM notifications n JOIN published_visits v ON v.plan_id = n.plan_id AND v.seq = n.visit_seq
		WHERE v.date >= $1::date AND n.kind = 'team_visit'`, today)
	if current == 0 {
		t.Error("no team_visit notice about today's and coming visits")
	}
	moved := count(t, st, `SELECT min(visit_seq) FROM visit_moves WHERE plan_id = $1 AND to_date < $2::date`, res.Past.PlanID, today)
	if _, err := d.TellMoves(ctx, res.Past.PlanID, moved); err != nil {
		t.Fatal(err)
	}
	if n := count(t, st, `SELECT count(*) FROM notifications WHERE plan_id = $1 AND visit_seq = $2 AND kind = 'visit_moved'`,
		res.Past.PlanID, moved); n == 0 {
		t.Error("the inspectors of the past visit moved were not told")
	}
	if n := count(t, st, `SELECT count(*) FROM notifications WHERE plan_id = $1 AND visit_seq = $2 AND kind = 'visit_moved'
		AND recipient_kind <> 'inspector'`, res.Past.PlanID, moved); n != 0 {
		t.Errorf("%d notices to others than its inspectors of the move of a visit already past", n)
	}
	t.Logf("dispatch status %+v", status)
}
