package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"inspectonce/api"
	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func init() {
	browserScenarios["dashboard_planner"] = browserDashboardPlanner
	browserScenarios["dashboard_admin"] = browserDashboardAdmin
	browserScenarios["dashboard_running"] = browserDashboardRunning
	browserScenarios["plans_forbidden"] = browserPlansForbidden
	browserScenarios["queues_admin"] = browserQueuesAdmin
}

// dashInts runs a query of one integer column.
func dashInts(t *testing.T, b *benv, q string, args ...any) []int {
	t.Helper()
	rows, err := b.st.SQL().QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatalf("scan %s: %v", q, err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func atois(t *testing.T, ss []string) []int {
	t.Helper()
	out := make([]int, len(ss))
	for i, s := range ss {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("not a number: %q", s)
		}
		out[i] = n
	}
	return out
}

func sortedInts(xs []int) []int {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}

// statText is the value of the dashboard's stat card name.
func (b *benv) statText(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	got := b.Texts(t, ctx, fmt.Sprintf(`[data-stat=%q] .value`, name))
	if len(got) != 1 {
		t.Fatalf("stat %s: %q", name, got)
	}
	return got[0]
}

func deptID(t *testing.T, b *benv, code string) int64 {
	t.Helper()
	ds, err := b.st.ListDepartments(context.Background(), store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		if d.Code == code {
			return d.ID
		}
	}
	t.Fatalf("no department %s", code)
	return 0
}

// checkStats compares the stat cards with the stored figures.
func checkStats(t *testing.T, b *benv, ctx context.Context, st *store.PlanStats) {
	t.Helper()
	pct := func(f float64) string { return fmt.Sprintf("%.1f %%", f*100) }
	for name, want := range map[string]string{
		"tasks": strconv.Itoa(st.Tasks), "naive_visits": strconv.Itoa(st.NaiveVisits), "lower_bound": strconv.Itoa(st.LowerBound),
		"visits": strconv.Itoa(st.Visits), "joint_visits": strconv.Itoa(st.JointVisits), "joint_visit_rate": pct(st.JointVisitRate),
		"visit_reduction": pct(st.VisitReduction), "unplaced": strconv.Itoa(st.Unplaced), "travel_km": fmt.Sprintf("%.1f", st.TravelKm),
		"busiest_day_share": pct(st.BusiestDayShare),
	} {
		if got := b.statText(t, ctx, name); got != want {
			t.Errorf("stat %s shows %q, store says %q", name, got, want)
		}
	}
	met := b.Attrs(t, ctx, "#targets li", "data-met")
	if want := []string{strconv.FormatBool(st.JointVisitRate >= 0.6), strconv.FormatBool(st.VisitReduction >= 0.25)}; !slices.Equal(met, want) {
		t.Errorf("targets met %v, want %v (joint rate %.3f, reduction %.3f)", met, want, st.JointVisitRate, st.VisitReduction)
	}
	reasons := b.Attrs(t, ctx, "#unplaced tr[data-reason]", "data-reason")
	if len(reasons) != len(st.UnplacedByReason) {
		t.Errorf("unplaced reasons %v, store %v", reasons, st.UnplacedByReason)
	}
	teams := b.Attrs(t, ctx, "#utilisation tr[data-team]", "data-team")
	if len(teams) != len(st.Utilisation) {
		t.Errorf("utilisation rows for teams %v, store has %d teams", teams, len(st.Utilisation))
	}
	if peaks := b.Texts(t, ctx, `#utilisation td[data-load="peak"]`); len(peaks) != len(st.TeamLoad) {
		t.Errorf("peak-day cells %q, store has loads of %d teams", peaks, len(st.TeamLoad))
	}
	if means := b.Texts(t, ctx, `#utilisation td[data-load="mean"]`); len(means) != len(st.TeamLoad) {
		t.Errorf("mean-day cells %q, store has loads of %d teams", means, len(st.TeamLoad))
	}
	for _, name := range b.Texts(t, ctx, "#utilisation tr[data-team] td:first-child") {
		if name == "" || strings.HasPrefix(name, "#") {
			t.Errorf("utilisation row without a team name: %q", name)
		}
	}
}

// browserDashboardPlanner: the SCJG planner lands on the plans list, opens the
// published plan: the stat cards show the stored figures, every visit row and
// every dot carries an SCJG task (checked against plan_tasks), one dot per
// visit; a township filter chosen in the form narrows table and map to that
// township.
func browserDashboardPlanner(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RolePlanner)
	if loc := b.Location(t, ctx); !strings.HasSuffix(loc, "/plans") {
		t.Fatalf("planner landed on %s, want /plans", loc)
	}
	id := strconv.FormatInt(b.Plan.ID, 10)
	if rows := b.Attrs(t, ctx, "tr.plan", "data-plan"); !slices.Contains(rows, id) {
		t.Fatalf("plans list rows %v lack plan %s", rows, id)
	}
	b.Open(t, ctx, "/plans/"+id)
	if s := b.Status(t, ctx); s != 0 {
		t.Fatalf("dashboard answered error page %d", s)
	}
	pl, err := b.st.GetPlan(context.Background(), b.Plan.ID)
	if err != nil || pl.Stats == nil {
		t.Fatalf("plan %+v: %v", pl, err)
	}
	checkStats(t, b, ctx, pl.Stats)
	if len(b.Texts(t, ctx, "#scope-note")) != 1 {
		t.Error("no note that the planner sees its department's visits only")
	}

	scjg := deptID(t, b, "SCJG")
	want := dashInts(t, b, `SELECT DISTINCT visit_seq FROM plan_tasks WHERE plan_id = $1 AND department_id = $2 AND visit_seq IS NOT NULL ORDER BY 1`,
		b.Plan.ID, scjg)
	all := dashInts(t, b, `SELECT count(*) FROM plan_visits WHERE plan_id = $1`, b.Plan.ID)[0]
	if len(want) == 0 || len(want) == all {
		t.Fatalf("SCJG has %d of %d visits; the test needs some but not all", len(want), all)
	}
	total := atois(t, b.Attrs(t, ctx, "#visit-count", "data-total"))
	if len(total) != 1 || total[0] != len(want) {
		t.Errorf("visit count %v, SCJG visits %d", total, len(want))
	}
	rows := atois(t, b.Attrs(t, ctx, "tr.pl-visit", "data-seq"))
	if len(rows) != min(len(want), 200) {
		t.Errorf("%d table rows, want %d", len(rows), min(len(want), 200))
	}
	for _, seq := range rows {
		if _, ok := slices.BinarySearch(want, seq); !ok {
			t.Errorf("table row of visit %d, which carries no SCJG task", seq)
		}
	}
	for _, ds := range b.Attrs(t, ctx, "tr.pl-visit", "data-departments") {
		if !slices.Contains(strings.Split(ds, ","), strconv.FormatInt(scjg, 10)) {
			t.Errorf("table row with departments %q, without SCJG", ds)
		}
	}
	dots := sortedInts(atois(t, b.Attrs(t, ctx, "svg.plan-map circle.pl-visit", "data-seq")))
	if !slices.Equal(dots, want) {
		t.Errorf("map dots %d, SCJG visits %d (one dot per visit)", len(dots), len(want))
	}
	if n := len(b.Attrs(t, ctx, "svg.plan-map polyline.pl-route", "points")); n == 0 {
		t.Error("no route drawn")
	}
	b.Screenshot(t, ctx, "dashboard-planner")

	// Filter by the township of the first map through the form.
	towns := b.Attrs(t, ctx, "figure.plan-map", "data-township")
	if len(towns) < 2 {
		t.Fatalf("maps for townships %v; the demo county should spread the visits over several", towns)
	}
	town := towns[0]
	if town == "0" {
		town = towns[1]
	}
	if err := chromedp.Run(ctx,
		chromedp.SetValue(`select[name="township"]`, town, chromedp.ByQuery),
		chromedp.Click(`#filter-apply`, chromedp.ByQuery),
		chromedp.WaitReady(`select[name="township"] option[selected]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("filter by township: %v", err)
	}
	if loc := b.Location(t, ctx); !strings.Contains(loc, "township="+town) {
		t.Fatalf("after filtering the page is %s", loc)
	}
	inTown := dashInts(t, b, `SELECT DISTINCT v.seq FROM plan_visits v JOIN businesses bz ON bz.uscc = v.uscc
		JOIN plan_tasks t ON t.plan_id = v.plan_id AND t.visit_seq = v.seq AND t.department_id = $2
		WHERE v.plan_id = $1 AND bz.region_id IN (WITH RECURSIVE sub(id) AS (SELECT $3::bigint UNION
			SELECT r.id FROM regions r JOIN sub ON r.parent_id = sub.id) SELECT id FROM sub) ORDER BY 1`, b.Plan.ID, scjg, town)
	if len(inTown) == 0 || len(inTown) >= len(want) {
		t.Fatalf("township %s holds %d of %d SCJG visits", town, len(inTown), len(want))
	}
	if got := sortedInts(atois(t, b.Attrs(t, ctx, "tr.pl-visit", "data-seq"))); !slices.Equal(got, inTown[:min(len(inTown), 200)]) && len(inTown) <= 200 {
		t.Errorf("filtered table %v, want %v", got, inTown)
	}
	for _, tw := range b.Attrs(t, ctx, "tr.pl-visit", "data-township") {
		if tw != town {
			t.Errorf("filtered table has a row of township %s", tw)
		}
	}
	if got := sortedInts(atois(t, b.Attrs(t, ctx, "svg.plan-map circle.pl-visit", "data-seq"))); !slices.Equal(got, inTown) {
		t.Errorf("filtered map dots %v, want %v", got, inTown)
	}
	if maps := b.Attrs(t, ctx, "figure.plan-map", "data-township"); !slices.Equal(maps, []string{town}) {
		t.Errorf("filtered maps %v, want only %s", maps, town)
	}
	b.Screenshot(t, ctx, "dashboard-planner-township")

	// A township id that is not one is a bad request, not an empty page.
	b.Open(t, ctx, "/plans/"+id+"?township=999999")
	if s := b.Status(t, ctx); s != 400 {
		t.Errorf("unknown township: status %d, want 400", s)
	}
	b.Open(t, ctx, "/plans/999999")
	if s := b.Status(t, ctx); s != 404 {
		t.Errorf("unknown plan: status %d, want 404", s)
	}
}

// browserDashboardAdmin: the admin's plans list links to the dashboard, which
// shows every visit, the comparison with independent sampling as stored, and
// the commitments: the revealed seed hashes to the seed commitment, the year
// key's hash is the stored one and the key is still secret.
func browserDashboardAdmin(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RoleAdmin)
	id := strconv.FormatInt(b.Plan.ID, 10)
	status := b.Attrs(t, ctx, fmt.Sprintf(`tr.plan[data-plan=%q]`, id), "data-status")
	if len(status) != 1 || status[0] != store.PlanPublished {
		t.Fatalf("plans list shows plan %s as %v", id, status)
	}
	b.Screenshot(t, ctx, "plans-list")
	if err := chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`tr.plan[data-plan=%q] a`, id), chromedp.ByQuery),
		chromedp.WaitReady(`#comparison`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("open the dashboard from the list: %v", err)
	}
	pl, err := b.st.GetPlan(context.Background(), b.Plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, b, ctx, pl.Stats)
	c := pl.Stats.Independent
	if c == nil {
		t.Fatal("the published coordinated plan keeps no comparison")
	}
	for fig, want := range map[string]int{"tasks": c.Tasks, "naive_visits": c.NaiveVisits, "lower_bound": c.LowerBound, "visits": c.Visits} {
		got := b.Texts(t, ctx, fmt.Sprintf(`#comparison tr[data-figure=%q] td[data-mode="independent"]`, fig))
		if len(got) != 1 || got[0] != strconv.Itoa(want) {
			t.Errorf("comparison %s independent %v, stored %d", fig, got, want)
		}
	}
	if got := b.Texts(t, ctx, `#comparison td[data-ratio="visits"]`); len(got) != 1 || got[0] != fmt.Sprintf("%.1f %%", c.VisitRatio*100) {
		t.Errorf("visit ratio %v, stored %v", got, c.VisitRatio)
	}

	seed, hash := b.Texts(t, ctx, "#seed"), b.Texts(t, ctx, "#seed-hash")
	if len(seed) != 1 || len(hash) != 1 {
		t.Fatalf("seed %v, hash %v", seed, hash)
	}
	raw, err := hex.DecodeString(seed[0])
	if sum := sha256.Sum256(raw); err != nil || hex.EncodeToString(sum[:]) != hash[0] || hash[0] != pl.SeedHash.String() {
		t.Errorf("seed %s does not hash to the commitment %s (%v)", seed[0], hash[0], err)
	}
	k, err := b.st.RevealedYearKey(context.Background(), pl.Year)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Texts(t, ctx, "#year-key-hash"); len(got) != 1 || got[0] != k.KeyHash.String() {
		t.Errorf("year key hash %v, stored %s", got, k.KeyHash)
	}
	if got := b.Attrs(t, ctx, "#year-key", "data-revealed"); len(got) != 1 || got[0] != "false" {
		t.Errorf("year key revealed %v, want false", got)
	}
	if got := b.Texts(t, ctx, "#verify-command"); len(got) != 1 || got[0] != "inspectonce draw verify --plan "+id {
		t.Errorf("verify command %v", got)
	}
	for sel, want := range map[string]int{`[data-draws="target"]`: pl.Stats.TargetDraws, `[data-draws="inspector"]`: pl.Stats.InspectorDraws} {
		if got := b.Texts(t, ctx, sel); len(got) != 1 || got[0] != strconv.Itoa(want) {
			t.Errorf("draws %s: %v, want %d", sel, got, want)
		}
	}
	all := dashInts(t, b, `SELECT count(*) FROM plan_visits WHERE plan_id = $1`, b.Plan.ID)[0]
	if dots := b.Attrs(t, ctx, "svg.plan-map circle.pl-visit", "data-seq"); len(dots) != all {
		t.Errorf("%d dots for %d visits", len(dots), all)
	}
	if rows := b.Attrs(t, ctx, "tr.pl-visit", "data-seq"); len(rows) != min(all, 200) {
		t.Errorf("%d rows for %d visits", len(rows), all)
	}
	if all > 200 && len(b.Texts(t, ctx, "#visits-more")) != 1 {
		t.Error("no note of the visits left out of the table")
	}
	b.Screenshot(t, ctx, "dashboard-admin")

	// In English too, with weekdays in the dates.
	b.Open(t, ctx, "/plans/"+id+"?lang=en")
	if h := b.Texts(t, ctx, "h1"); len(h) != 1 || !strings.HasPrefix(h[0], "Plan "+id) {
		t.Errorf("English heading %v", h)
	}
	if d := b.Texts(t, ctx, "tr.pl-visit td:first-child"); len(d) == 0 || !strings.ContainsAny(d[0][:3], "MTWFS") {
		t.Errorf("English dates %v", d[:min(len(d), 2)])
	}
	b.Screenshot(t, ctx, "dashboard-admin-en")
}

// browserDashboardRunning: a running plan shows its progress bar and note, and
// the page reloads itself; the list does too.
func browserDashboardRunning(t *testing.T, b *benv) {
	bg := context.Background()
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		t.Fatal(err)
	}
	pl, err := b.st.CreatePlan(bg, "test", store.NewPlan{From: b.Today.AddDate(0, 0, 1), To: b.Today.AddDate(0, 0, 7),
		Mode: store.ModeCoordinated, Year: b.Today.Year(), Shift: 0, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	// Nothing carries it out: discard it so no other scenario sees it running.
	t.Cleanup(func() {
		if _, err := b.st.DiscardPlan(bg, "test", pl.ID); err != nil {
			t.Errorf("discard the running plan: %v", err)
		}
	})
	if err := b.st.UpdatePlanProgress(bg, pl.ID, 40, "planning"); err != nil {
		t.Fatal(err)
	}
	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RoleAdmin)
	if got := b.Attrs(t, ctx, `meta[http-equiv="refresh"]`, "content"); len(got) != 1 {
		t.Errorf("the list with a running plan does not reload: %v", got)
	}
	b.Open(t, ctx, fmt.Sprintf("/plans/%d", pl.ID))
	if got := b.Attrs(t, ctx, "#progress progress", "value"); len(got) != 1 || got[0] != "40" {
		t.Errorf("progress bar %v, want 40", got)
	}
	if got := b.Texts(t, ctx, "#progress .pl-progress-note"); len(got) != 1 || !strings.Contains(got[0], "40 %") || !strings.Contains(got[0], "正在编排") {
		t.Errorf("progress note %v", got)
	}
	if got := b.Attrs(t, ctx, `meta[http-equiv="refresh"]`, "content"); len(got) != 1 || got[0] != "2" {
		t.Errorf("running dashboard refresh %v, want 2", got)
	}
	if got := b.Texts(t, ctx, "#seed"); len(got) != 0 {
		t.Errorf("a running plan shows its seed: %v", got)
	}
	if len(b.Texts(t, ctx, "#seed-secret")) != 1 || len(b.Texts(t, ctx, "#no-stats")) != 1 {
		t.Error("a running plan lacks the secret-seed or no-figures notes")
	}
	b.Screenshot(t, ctx, "dashboard-running")
}

// browserPlansForbidden: roles other than admin and planner get the 403 page
// for the plans and the queues; a planner for the queues.
func browserPlansForbidden(t *testing.T, b *benv) {
	id := strconv.FormatInt(b.Plan.ID, 10)
	for role, paths := range map[domain.Role][]string{
		domain.RoleTeamLeader: {"/plans", "/plans/" + id, "/admin/queues"},
		domain.RoleBusiness:   {"/plans", "/plans/" + id, "/admin/queues"},
		domain.RoleInspector:  {"/plans", "/admin/queues"},
		domain.RolePlanner:    {"/admin/queues"},
	} {
		ctx := b.Browser(t)
		b.Login(t, ctx, role)
		for _, p := range paths {
			b.Open(t, ctx, p)
			if s := b.Status(t, ctx); s != 403 {
				t.Errorf("%s on %s: status %d, want 403", role, p, s)
			}
			if n := len(b.Texts(t, ctx, "tr.plan, tr.pl-visit, tr.queue, #draws")); n != 0 {
				t.Errorf("%s on %s: the 403 page shows %d rows of the page", role, p, n)
			}
		}
		if role == domain.RoleTeamLeader {
			b.Screenshot(t, ctx, "plans-forbidden")
		}
	}
}

// queueServer is a second service on the harness's database whose queue page
// reads Redis through a real asynq Inspector, with one queue of the test's
// own holding three archived tasks: two archived by hand, one that failed in
// a worker.
func queueServer(t *testing.T, b *benv) (url, queue string, ids []string, ins *asynq.Inspector) {
	t.Helper()
	opt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	queue = "test-web-queues-" + hex.EncodeToString(r[:])
	client := asynq.NewClient(opt)
	defer client.Close()
	ins = asynq.NewInspector(opt)
	t.Cleanup(func() {
		_ = ins.DeleteQueue(queue, true)
		_ = ins.Close()
	})
	for i := range 2 {
		info, err := client.Enqueue(asynq.NewTask("test:queue-page", fmt.Appendf(nil, `{"n":%d,"note":"<b>not bold</b>"}`, i)),
			asynq.Queue(queue), asynq.MaxRetry(0))
		if err != nil {
			t.Fatal(err)
		}
		if err := ins.ArchiveTask(queue, info.ID); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, info.ID)
	}
	// A third task fails for real in a worker, so it is archived with its
	// error and failure time.
	info, err := client.Enqueue(asynq.NewTask("test:queue-page-fails", []byte(`{"n":2}`)), asynq.Queue(queue), asynq.MaxRetry(0))
	if err != nil {
		t.Fatal(err)
	}
	ids = append(ids, info.ID)
	worker := asynq.NewServer(opt, asynq.Config{Queues: map[string]int{queue: 1}, Concurrency: 1, LogLevel: asynq.FatalLevel,
		TaskCheckInterval: 50 * time.Millisecond})
	if err := worker.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		return errors.New("boom: <script>alert(1)</script>")
	})); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		qi, err := ins.GetQueueInfo(queue)
		if err == nil && qi.Archived == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failing task was not archived: %+v %v", qi, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	worker.Shutdown()

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := api.New(api.Options{Store: b.st, Config: b.cfg, Calendar: b.cal, Logger: log, Now: func() time.Time { return *b.clock.Load() },
		Queues: ins, QueueNames: []string{queue, "default"}})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv.URL, queue, ids, ins
}

// browserQueuesAdmin: without an inspector the queue page says so; with one
// it lists the test queue's counts and archived tasks (payload escaped), and
// Retry and Delete act on them, audited like the API's.
func browserQueuesAdmin(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RoleAdmin)
	b.Open(t, ctx, "/admin/queues")
	if s := b.Status(t, ctx); s != 0 {
		t.Fatalf("queue page without an inspector: error page %d", s)
	}
	if len(b.Texts(t, ctx, "#no-inspector")) != 1 {
		t.Error("no note that the queues are out of reach")
	}
	b.Screenshot(t, ctx, "queues-no-inspector")
	if os.Getenv(storetest.EnvRedisURL) == "" {
		t.Skip("no Redis: the page with a live inspector is not tried")
	}

	url, queue, ids, ins := queueServer(t, b)
	ctx = b.Browser(t) // the other server's cookie lives on its own port
	if err := chromedp.Run(ctx,
		chromedp.Navigate(url+"/login?next=/admin/queues"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, b.Tokens[domain.RoleAdmin], chromedp.ByID),
		chromedp.Click(`#login-submit`, chromedp.ByID),
		chromedp.WaitReady(`#queues`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("queue page with an inspector: %v", err)
	}
	row := fmt.Sprintf(`tr.queue[data-queue=%q]`, queue)
	if got := b.Attrs(t, ctx, row, "data-archived"); len(got) != 1 || got[0] != "3" {
		t.Fatalf("queue row archived %v, want 3", got)
	}
	if got := b.Attrs(t, ctx, `tr.queue[data-queue="default"]`, "data-queue"); len(got) != 1 {
		t.Error("the configured queue default is not listed")
	}
	tasks := b.Attrs(t, ctx, fmt.Sprintf(`section.pl-archived[data-queue=%q] tr.archived-task`, queue), "data-task")
	if !slices.Equal(sortedStrings(tasks), sortedStrings(ids)) {
		t.Fatalf("archived tasks %v, want %v", tasks, ids)
	}
	if got := b.Texts(t, ctx, "code.pl-payload"); len(got) != 3 || !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "<b>not bold</b>") }) {
		t.Errorf("payloads %q (shown as text)", got)
	}
	failed := fmt.Sprintf(`tr.archived-task[data-task=%q]`, ids[2])
	if got := b.Texts(t, ctx, failed+" td.error"); len(got) != 1 || got[0] != "boom: <script>alert(1)</script>" {
		t.Errorf("last error %q (shown as text)", got)
	}
	if got := b.Texts(t, ctx, failed+" td:nth-child(5)"); len(got) != 1 || !strings.Contains(got[0], ":") {
		t.Errorf("last failed time %q", got)
	}
	b.Screenshot(t, ctx, "queues-admin")

	// Retry the first: back to pending, audited.
	if err := chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`tr.archived-task[data-task=%q] button.pl-retry`, ids[0]), chromedp.ByQuery),
		chromedp.WaitVisible(`#queue-done`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if info, err := ins.GetTaskInfo(queue, ids[0]); err != nil || info.State != asynq.TaskStatePending {
		t.Errorf("retried task: %+v %v", info, err)
	}
	if got := b.Texts(t, ctx, "#queue-done"); len(got) != 1 || !strings.Contains(got[0], ids[0]) {
		t.Errorf("retry notice %v", got)
	}
	b.Screenshot(t, ctx, "queues-admin-retried")
	// Delete the second: gone, audited.
	if err := chromedp.Run(ctx,
		chromedp.Click(fmt.Sprintf(`tr.archived-task[data-task=%q] button.pl-delete`, ids[1]), chromedp.ByQuery),
		// The retry's notice is still on the page: wait for the row to go.
		chromedp.WaitNotPresent(fmt.Sprintf(`tr.archived-task[data-task=%q]`, ids[1]), chromedp.ByQuery),
		chromedp.WaitVisible(`#queue-done`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := ins.GetTaskInfo(queue, ids[1]); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("deleted task: %v", err)
	}
	if got := b.Texts(t, ctx, "#queue-done"); len(got) != 1 || !strings.Contains(got[0], ids[1]) {
		t.Errorf("delete notice %v", got)
	}
	if got := b.Attrs(t, ctx, "tr.archived-task", "data-task"); !slices.Equal(got, ids[2:]) {
		t.Errorf("archived tasks after retry and delete: %v, want %v", got, ids[2:])
	}
	for i, action := range []string{"queue.task.retry", "queue.task.delete"} {
		n := dashInts(t, b, `SELECT count(*) FROM audit_log WHERE action = $1 AND object = $2 AND actor LIKE 'admin%'`,
			action, "queue:"+queue+"/task:"+ids[i])
		if n[0] != 1 {
			t.Errorf("%d audit entries %s of task %s", n[0], action, ids[i])
		}
	}
	// A task that is not archived (now pending) cannot be retried: 404.
	if err := chromedp.Run(ctx, chromedp.Navigate(url+"/admin/queues")); err != nil {
		t.Fatal(err)
	}
	var status int
	js := fmt.Sprintf(`fetch(%q, {method: "POST"}).then(r => r.status)`, fmt.Sprintf("/admin/queues/%s/archived/%s/retry", queue, ids[0]))
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	})); err != nil {
		t.Fatal(err)
	}
	if status != 404 {
		t.Errorf("retry of a pending task: %d, want 404", status)
	}
}

func sortedStrings(xs []string) []string {
	out := slices.Clone(xs)
	slices.Sort(out)
	return out
}
