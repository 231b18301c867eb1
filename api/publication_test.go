package api

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"inspectonce/csvout"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// publishedVisitWithResults publishes a plan of one joint visit to bizA
// (item A from a list demand, item B from a sample demand that drew it), by
// the fixture's inspector and a second one with a phone, records a
// violation for A and compliance for B, and confirms the visit (plain SQL,
// as the results API would leave it) dated the day before testToday.
func (v *env) publishedVisitWithResults() int64 {
	t, ctx, st := v.t, context.Background(), v.st
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	second := domain.Inspector{Code: "ZJ-0002", Name: "李强", TeamID: v.team.ID, Domains: []string{"fire_safety"}, Phone: "13800000002"}
	must(st.CreateInspector(ctx, "test", &second))
	from, to := testToday.AddDate(0, 0, -10), testToday.AddDate(0, 0, 10)
	list := &domain.Demand{DepartmentID: v.deptA.ID, ItemIDs: []int64{v.itemA.ID}, TargetKind: domain.TargetList,
		Businesses: []string{v.bizA.USCC}, WindowFrom: from, WindowTo: to, Priority: 3, Source: domain.SourceRoutine}
	_, err := st.CreateDemand(ctx, "test", nil, list)
	must(err)
	ratio := 0.5
	sample := &domain.Demand{DepartmentID: v.deptB.ID, ItemIDs: []int64{v.itemB.ID}, TargetKind: domain.TargetSample,
		Sample: &domain.SampleRule{IndustryCodes: []string{"H621"}, Ratio: &ratio}, WindowFrom: from, WindowTo: to, Priority: 3,
		Source: domain.SourceRoutine}
	_, err = st.CreateDemand(ctx, "test", nil, sample)
	must(err)
	_, err = st.YearKey(ctx, "test", 2026)
	must(err)
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	p, err := st.CreatePlan(ctx, "test", store.NewPlan{From: from, To: to, Mode: store.ModeCoordinated, Year: 2026, Seed: seed})
	must(err)
	d := planner.DayOf(testToday.AddDate(0, 0, -1))
	pf, pt := planner.DayOf(from), planner.DayOf(to)
	plan := &planner.Plan{
		Visits: []planner.Visit{{USCC: v.bizA.USCC, Date: d, TeamID: v.team.ID, InspectorIDs: []int64{v.inspector.ID, second.ID},
			Tasks: []planner.Task{
				{DemandID: list.ID, DepartmentID: v.deptA.ID, USCC: v.bizA.USCC, ItemID: v.itemA.ID, From: pf, To: pt, Priority: 3},
				{DemandID: sample.ID, DepartmentID: v.deptB.ID, USCC: v.bizA.USCC, ItemID: v.itemB.ID, From: pf, To: pt, Priority: 3},
			}, DepartmentIDs: []int64{v.deptA.ID, v.deptB.ID}, DurationMinutes: 45, RouteOrder: 1}},
		TeamDays: []planner.TeamDay{{TeamID: v.team.ID, Date: d, Visits: []int{0}, WorkMinutes: 45}},
		Draws: []planner.Draw{{Kind: planner.DrawTargets, DemandID: sample.ID, N: 1, Shift: 0.25, FrameHash: "f00d",
			Frame: []planner.Candidate{{Key: v.bizA.USCC, Weight: 2}}, Result: []string{v.bizA.USCC}}},
		Stats: planner.Stats{Tasks: 2, NaiveVisits: 2, LowerBound: 1, Visits: 1, JointVisits: 1, JointVisitRate: 1},
	}
	must(st.SavePlanResult(ctx, p.ID, plan))
	_, err = st.PublishPlan(ctx, "test", p.ID)
	must(err)
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO task_results (plan_id, task_seq, visit_seq, uscc, demand_id, department_id, item_id, outcome,
			rule_cited, rectify_by, recorded_by, client_id)
			SELECT plan_id, seq, visit_seq, uscc, demand_id, department_id, item_id, 'violation', '《食品安全法》第一百二十六条',
				DATE '2026-12-31', %d, gen_random_uuid() FROM plan_tasks WHERE plan_id = %d AND department_id = %d`, v.inspector.ID, p.ID, v.deptA.ID),
		fmt.Sprintf(`INSERT INTO task_results (plan_id, task_seq, visit_seq, uscc, demand_id, department_id, item_id, outcome,
			recorded_by, client_id)
			SELECT plan_id, seq, visit_seq, uscc, demand_id, department_id, item_id, 'compliant', %d, gen_random_uuid()
			FROM plan_tasks WHERE plan_id = %d AND department_id = %d`, second.ID, p.ID, v.deptB.ID),
		fmt.Sprintf(`INSERT INTO visit_reports (plan_id, visit_seq, uscc, visit_date, team_id, department_ids, performed_tasks,
			not_done_tasks, publish_due) SELECT plan_id, seq, uscc, date, team_id, department_ids, 2, 0, date + 28
			FROM plan_visits WHERE plan_id = %d`, p.ID),
	} {
		must(st.ExecForTest(ctx, q))
	}
	return p.ID
}

// TestPublicationAPI: a confirmed visit shows on the dashboard as due, is
// not public until published, then is in the JSON and CSV open data (with
// the draw that selected the business, and no certificate numbers or
// phones) and on the public page; the figures count it.
func TestPublicationAPI(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	planID := v.publishedVisitWithResults()

	r := v.do("admin", "GET", "/api/v1/publication", nil)
	expect(t, r, 200, "dashboard")
	var dash store.PublicationDashboard
	r.json(t, &dash)
	if dash.Due != 1 || dash.OverdueUnpublished != 0 || len(dash.DueVisits) != 1 || dash.DueVisits[0].PlanID != planID {
		t.Fatalf("dashboard before publication: %+v", dash)
	}
	expect(t, v.do("business", "GET", "/api/v1/publication", nil), 403, "business reads the dashboard")
	expect(t, v.do("", "GET", "/api/v1/publication", nil), 401, "no token")

	r = v.do("", "GET", "/api/v1/open-data/results.json", nil)
	expect(t, r, 200, "open data before publication")
	var page struct {
		Items []store.PublishedResult `json:"items"`
	}
	r.json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("unpublished results are public: %s", r.Body)
	}

	if n, err := v.st.PublishReports(ctx, "publisher", 100); err != nil || n != 1 {
		t.Fatalf("publish: %d %v", n, err)
	}
	r = v.do("", "GET", "/api/v1/open-data/results.json?from=2026-11-01&to=2026-11-30", nil)
	expect(t, r, 200, "open data JSON")
	r.json(t, &page)
	if len(page.Items) != 1 || len(page.Items[0].Items) != 2 || len(page.Items[0].Draws) != 1 ||
		strings.Join(page.Items[0].Inspectors, ",") != "王芳,李强" {
		t.Fatalf("open data JSON: %s", r.Body)
	}
	r = v.do("", "GET", "/api/v1/open-data/results.csv", nil)
	expect(t, r, 200, "open data CSV")
	rows, err := csv.NewReader(csvout.StripBOM(strings.NewReader(string(r.Body)))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != strings.Join(ResultsCSVHeader, ",") {
		t.Fatalf("CSV rows %q", rows)
	}
	if rows[1][10] != "violation" || rows[1][11] == "" || rows[1][12] != "2026-12-31" || rows[2][10] != "compliant" ||
		!strings.Contains(rows[2][18], "f00d") || rows[1][1] != v.bizA.USCC {
		t.Fatalf("CSV rows %q", rows[1:])
	}
	for _, secret := range []string{"ZJ-0001", "ZJ-0002", "13800000002"} {
		if strings.Contains(string(r.Body), secret) {
			t.Fatalf("the CSV carries %q", secret)
		}
	}
	expect(t, v.do("", "GET", "/api/v1/open-data/results.csv?from=2026-11-30&to=2026-11-01", nil), 422, "to before from")
	expect(t, v.do("", "GET", "/api/v1/open-data/results.json?after=bogus", nil), 422, "bad cursor")

	r = v.do("admin", "GET", "/api/v1/publication", nil)
	r.json(t, &dash)
	if dash.Due != 0 || dash.PublishedOnTime != 1 {
		t.Fatalf("dashboard after publication: %+v", dash)
	}
	r = v.do("planner", "GET", "/api/v1/figures?from=2026-11-01&to=2026-11-30", nil)
	expect(t, r, 200, "figures")
	var figs store.Figures
	r.json(t, &figs)
	if figs.VisitsPlanned != 1 || figs.VisitsDone != 1 || figs.JointVisits != 1 || figs.ResultsByOutcome["violation"] != 1 ||
		figs.ResultsByOutcome["compliant"] != 0 || figs.PublishedOnTime != 1 {
		t.Fatalf("planner A's figures: %+v", figs)
	}
	expect(t, v.do("admin", "GET", "/api/v1/figures?from=2026-11-01", nil), 422, "figures without to")

	// The public page: no login.
	res := v.page("/results")
	if !strings.Contains(res, v.bizA.Name) || !strings.Contains(res, "李强") || strings.Contains(res, "13800000002") {
		t.Fatalf("public results page: %s", res)
	}
	if res := v.page("/publication"); !strings.Contains(res, "login") {
		t.Fatalf("the dashboard page is open without login")
	}
	req, err := http.NewRequest("GET", v.srv.URL+"/publication?from=2026-11-01&to=2026-11-30", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v.tokens["admin"])
	res2, err := v.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res2.Body)
	res2.Body.Close()
	if res2.StatusCode != 200 || !strings.Contains(string(body), `id="fig-planned">1<`) || !strings.Contains(string(body), `id="fig-on-time">1<`) {
		t.Fatalf("dashboard page %d: %s", res2.StatusCode, body)
	}
}

// page fetches an HTML page with no token and returns its body.
func (v *env) page(path string) string {
	v.t.Helper()
	res, err := v.srv.Client().Get(v.srv.URL + path)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	return string(b)
}
