package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/api"
	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestBrowserRegistry (issue 18, a coordinator's workspace) runs on a demo
// county of its own, since its import changes a business the other
// scenarios read. A coordinator searches the register, opens the demo
// business and sees its risk-code history and its published visits; reads
// the teams and inspectors (one of whom is away); then uploads a CSV with a
// bad row as a dry run, sees the field-by-field diff and the refused line
// (nothing written), imports it for real and follows the job to its end.
func TestBrowserRegistry(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()
	code := b.Scopes[domain.RoleBusiness]
	biz, err := b.st.GetBusiness(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	// A second entry in its risk history, with its reason.
	newRisk := domain.RiskRed
	if biz.RiskCode == domain.RiskRed {
		newRisk = domain.RiskYellow
	}
	biz.RiskCode, biz.RiskReason = newRisk, "投诉核查后调整"
	if err := b.st.UpdateBusiness(ctx, "test", &biz); err != nil {
		t.Fatal(err)
	}
	// An inspector away from today, for the availability column.
	ins, err := b.st.ListInspectors(ctx, store.InspectorFilter{}, store.Page{Limit: 1})
	if err != nil || len(ins.Items) == 0 {
		t.Fatalf("inspectors: %v", err)
	}
	away := ins.Items[0]
	if _, err := b.st.CreateUnavailability(ctx, "test", away.ID, b.Today, b.Today.AddDate(0, 0, 3), "年休假"); err != nil {
		t.Fatal(err)
	}

	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleAdmin)
	b.Open(t, tab, "/plans")
	if links := b.Attrs(t, tab, `header.site nav a[href="/registry/businesses"]`, "href"); len(links) != 1 {
		t.Fatalf("no registries link in the admin's menu")
	}
	// Search by part of the name (its first two characters are the county's).
	part := string([]rune(biz.Name)[2:])
	b.Open(t, tab, "/registry/businesses")
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#q`, part, chromedp.ByID),
		chromedp.Click(`#reg-search-submit`, chromedp.ByID),
		// The unfiltered first page is visible until the answer comes.
		chromedp.WaitVisible(fmt.Sprintf(`#reg-businesses tr.reg-business[data-uscc=%q]`, code), chromedp.ByQuery),
	); err != nil {
		t.Fatalf("search: %v", err)
	}
	found := b.Attrs(t, tab, "#reg-businesses tr.reg-business", "data-uscc")
	if !slices.Contains(found, code) || len(found) > 3 {
		t.Fatalf("searching %q found %v, want %s (and few others)", part, found, code)
	}
	// And by the start of the USCC.
	b.Open(t, tab, "/registry/businesses?q="+code[:12])
	if found := b.Attrs(t, tab, "#reg-businesses tr.reg-business", "data-uscc"); !slices.Contains(found, code) {
		t.Fatalf("searching %q found %v", code[:12], found)
	}
	if err := chromedp.Run(tab,
		chromedp.Click(fmt.Sprintf(`tr.reg-business[data-uscc=%q] a`, code), chromedp.ByQuery),
		chromedp.WaitVisible(`#reg-biz-record`, chromedp.ByID),
	); err != nil {
		t.Fatalf("open the business: %v", err)
	}
	if s := b.Status(t, tab); s != 0 {
		t.Fatalf("business page: error %d", s)
	}
	if got := b.Texts(t, tab, "#reg-biz-name"); len(got) != 1 || got[0] != biz.Name {
		t.Errorf("business page title %q", got)
	}
	risks := b.Attrs(t, tab, "#reg-risk-history tr.reg-risk", "data-risk")
	if len(risks) < 2 || risks[0] != newRisk {
		t.Errorf("risk history %v, want %s first", risks, newRisk)
	}
	if cells := b.Texts(t, tab, "#reg-risk-history tr.reg-risk:first-child td"); len(cells) < 3 || !strings.Contains(cells[2], "投诉核查后调整") {
		t.Errorf("latest risk change %q lacks its reason", cells)
	}
	visits := b.Attrs(t, tab, "article.reg-visit", "data-date")
	want := sqlRows(t, b, `SELECT count(*)::text FROM published_visits WHERE uscc = $1`, code)
	if strconv.Itoa(len(visits)) != want[0][0] || len(visits) < 2 {
		t.Errorf("visits %v, want %s (the announced and the unannounced one)", visits, want[0][0])
	}
	if contact := b.Attrs(t, tab, "#reg-biz-contact", "data-withheld"); len(contact) != 1 || contact[0] != "false" {
		t.Errorf("an admin sees the contact details: withheld=%v", contact)
	}
	b.Screenshot(t, tab, "registry-business")

	// Teams and inspectors.
	b.Open(t, tab, "/registry/teams")
	teams := b.Attrs(t, tab, "#reg-teams tr.reg-team", "data-id")
	if len(teams) == 0 || b.Status(t, tab) != 0 {
		t.Fatalf("teams page: %v", teams)
	}
	b.Open(t, tab, "/registry/teams/"+strconv.FormatInt(away.TeamID, 10))
	if ids := b.Attrs(t, tab, `#reg-members tr.reg-inspector[data-away="true"]`, "data-id"); !slices.Contains(ids, strconv.FormatInt(away.ID, 10)) {
		t.Errorf("team page: inspector %d not shown away (%v)", away.ID, ids)
	}
	b.Open(t, tab, "/registry/inspectors")
	rows := b.Attrs(t, tab, "#reg-inspectors tr.reg-inspector", "data-id")
	if len(rows) < 2 {
		t.Fatalf("inspectors page lists %d", len(rows))
	}
	if ids := b.Attrs(t, tab, `#reg-inspectors tr.reg-inspector[data-away="true"]`, "data-id"); len(ids) != 1 || ids[0] != strconv.FormatInt(away.ID, 10) {
		t.Errorf("inspectors away %v, want [%d]", ids, away.ID)
	}
	for _, path := range []string{"/registry/regions", "/registry/items", "/registry/scenarios"} {
		b.Open(t, tab, path)
		if s := b.Status(t, tab); s != 0 {
			t.Errorf("%s: error %d", path, s)
		}
	}
	if n := len(b.Attrs(t, tab, "article.reg-scenario", "data-id")); n == 0 {
		t.Errorf("no scenario listed")
	}

	// Imports: a file that changes the demo business's address (line 2) and
	// carries a USCC with a bad checksum (line 3).
	bad := code[:17] + map[bool]string{true: "0", false: "1"}[code[17] != '0']
	csv := filepath.Join(t.TempDir(), "businesses.csv")
	if err := os.WriteFile(csv, []byte("统一社会信用代码,地址\n"+code+",菜园镇新街9号\n"+bad+",某地\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Open(t, tab, "/imports")
	if err := chromedp.Run(tab,
		chromedp.SetValue(`#imp-kind`, "businesses", chromedp.ByID),
		chromedp.SetUploadFiles(`#imp-file`, []string{csv}, chromedp.ByID),
		chromedp.Click(`#imp-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#imp-report`, chromedp.ByID),
	); err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if got := b.Attrs(t, tab, "#imp-report", "data-changed"); len(got) != 1 || got[0] != "1" {
		t.Errorf("dry run changed %v, want 1", got)
	}
	change := b.Texts(t, tab, `#imp-diff tr.imp-change[data-line="2"][data-field="address"] td`)
	if len(change) < 3 || change[len(change)-1] != "菜园镇新街9号" || change[len(change)-2] != biz.Address {
		t.Errorf("diff of line 2: %q, want %q → 菜园镇新街9号", change, biz.Address)
	}
	if lines := b.Attrs(t, tab, "#imp-errors tr.imp-error", "data-line"); len(lines) != 1 || lines[0] != "3" {
		t.Errorf("refused lines %v, want [3]", lines)
	}
	b.Screenshot(t, tab, "imports-dryrun")
	if after, err := b.st.GetBusiness(ctx, code); err != nil || after.Address != biz.Address {
		t.Fatalf("the dry run wrote: %q, %v", after.Address, err)
	}

	// For real: the file the dry run read, without a second upload.
	if err := chromedp.Run(tab,
		chromedp.Click(`#imp-confirm-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#imp-job[data-status="done"]`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("import: %v", err)
	}
	if loc := b.Location(t, tab); !strings.Contains(loc, "/imports/") {
		t.Errorf("after the import the page is %s, want the job's", loc)
	}
	job := b.Attrs(t, tab, "#imp-job", "data-loaded")
	if len(job) != 1 || job[0] != "1" {
		t.Errorf("job loaded %v, want 1", job)
	}
	if lines := b.Attrs(t, tab, "#imp-errors tr.imp-error", "data-line"); len(lines) != 1 || lines[0] != "3" {
		t.Errorf("job's refused lines %v, want [3]", lines)
	}
	if v := b.Attrs(t, tab, "#imp-progress", "value"); len(v) != 1 || v[0] != "2" {
		t.Errorf("progress %v, want 2 of 2", v)
	}
	b.Screenshot(t, tab, "imports-job")
	if after, err := b.st.GetBusiness(ctx, code); err != nil || after.Address != "菜园镇新街9号" {
		t.Fatalf("after the import: %q, %v", after.Address, err)
	}

	// At 360 px the business page still fits: nothing wider than the screen
	// but the tables' own scrolling boxes.
	if err := chromedp.Run(tab, chromedp.EmulateViewport(360, 740)); err != nil {
		t.Fatal(err)
	}
	b.Open(t, tab, "/registry/businesses/"+code)
	var width int
	if err := chromedp.Run(tab, chromedp.Evaluate(`document.documentElement.scrollWidth`, &width)); err != nil {
		t.Fatal(err)
	}
	if width > 360 {
		t.Errorf("at 360 px the business page is %d px wide", width)
	}
	b.Screenshot(t, tab, "registry-business-360")
}

// TestRegistryPageRoles: the registry and imports pages answer 403 to an
// inspector and a business; a team leader reads the registry but not the
// contact details of a business outside its team's visits, nor its members'
// phones of another team; a planner may not import.
func TestRegistryPageRoles(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return testStart }
	res, err := seed.LoadAt(ctx, st, testStart)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	tokens, scopes := map[domain.Role]string{}, map[domain.Role]string{}
	for _, tk := range res.Tokens {
		tokens[tk.Role], scopes[tk.Role] = tk.Token, tk.Scope
	}
	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	today := time.Date(testStart.Year(), testStart.Month(), testStart.Day(), 0, 0, 0, 0, time.UTC)
	run, err := plans.Run(ctx, "test", planning.Request{From: today.AddDate(0, 0, 1), To: today.AddDate(0, 0, 14)})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	approveAll(t, plans, run.PlanID)
	if _, err := plans.Publish(ctx, "test", run.PlanID); err != nil {
		t.Fatalf("publish: %v", err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httptest.NewServer(api.New(api.Options{Store: st, Config: cfg, Calendar: cal, Logger: log, Now: now, Planning: plans}))
	t.Cleanup(srv.Close)

	get := func(role domain.Role, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	leaderTeam, _ := strconv.ParseInt(scopes[domain.RoleTeamLeader], 10, 64)
	var mine, theirs string
	var otherTeam int64
	err = st.SQL().QueryRowContext(ctx, `SELECT
			(SELECT uscc FROM published_visits WHERE team_id = $1 ORDER BY uscc LIMIT 1),
			(SELECT uscc FROM published_visits v WHERE team_id <> $1
				AND NOT EXISTS (SELECT 1 FROM published_visits w WHERE w.uscc = v.uscc AND w.team_id = $1) ORDER BY uscc LIMIT 1),
			(SELECT team_id FROM inspectors WHERE team_id <> $1 ORDER BY id LIMIT 1)`, leaderTeam).Scan(&mine, &theirs, &otherTeam)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/registry/businesses", "/registry/businesses/" + theirs, "/registry/teams",
		"/registry/teams/" + strconv.FormatInt(leaderTeam, 10), "/registry/inspectors", "/registry/regions",
		"/registry/items", "/registry/scenarios"}
	for _, role := range []domain.Role{domain.RoleInspector, domain.RoleBusiness} {
		for _, p := range append(paths, "/imports") {
			if s, _ := get(role, p); s != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", role, p, s)
			}
		}
	}
	for _, role := range []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader} {
		for _, p := range paths {
			if s, _ := get(role, p); s != http.StatusOK {
				t.Errorf("%s GET %s: %d, want 200", role, p, s)
			}
		}
	}
	if s, _ := get(domain.RoleAdmin, "/registry/items?department=abc"); s != http.StatusBadRequest {
		t.Errorf("items of department abc: %d, want 400", s)
	}
	if s, _ := get(domain.RoleAdmin, "/registry/businesses?q="+strings.Repeat("x", 101)); s != http.StatusBadRequest {
		t.Errorf("a 101-character search: %d, want 400", s)
	}
	if s, body := get(domain.RoleAdmin, "/registry/items?domain=food_safety"); s != http.StatusOK || !strings.Contains(body, `class="reg-item"`) ||
		strings.Contains(body, "<td>消防安全</td>") {
		t.Errorf("items of food_safety: %d, or another domain's item listed", s)
	}
	if _, body := get(domain.RoleAdmin, "/registry/teams?lang=en"); !strings.Contains(body, "Daily capacity") || strings.Contains(body, "每日工作量") {
		t.Errorf("the teams page in English is not")
	}
	if s, _ := get(domain.RolePlanner, "/imports"); s != http.StatusForbidden {
		t.Errorf("planner GET /imports: %d, want 403", s)
	}
	if s, body := get(domain.RoleTeamLeader, "/imports"); s != http.StatusOK || strings.Contains(body, `value="businesses"`) ||
		!strings.Contains(body, `value="unavailability"`) {
		t.Errorf("team leader's imports page: %d, offers businesses or not unavailability", s)
	}

	// Posting the form: a team leader may not import businesses; a file
	// that is missing or an option the kind does not take is named at its
	// field, and nothing starts.
	post := func(role domain.Role, fields map[string]string, file string) (int, string) {
		t.Helper()
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
		if file != "" {
			fw, err := w.CreateFormFile("file", "f.csv")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.WriteString(fw, file); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/imports", &buf)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+tokens[role])
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if s, _ := post(domain.RoleTeamLeader, map[string]string{"kind": "businesses"}, "uscc,address\n"); s != http.StatusForbidden {
		t.Errorf("team leader posting businesses: %d, want 403", s)
	}
	if s, body := post(domain.RoleAdmin, map[string]string{"kind": "businesses", "dry_run": "true"}, ""); s != http.StatusBadRequest ||
		!strings.Contains(body, `data-field="file"`) {
		t.Errorf("no file: %d", s)
	}
	if s, body := post(domain.RoleAdmin, map[string]string{"kind": "closures", "empty": "clear"}, "region,from,to,reason\n"); s != http.StatusBadRequest ||
		!strings.Contains(body, `data-field="empty"`) {
		t.Errorf("closures with empty=clear: %d", s)
	}
	var jobs int
	if err := st.SQL().QueryRowContext(ctx, `SELECT count(*) FROM import_jobs`).Scan(&jobs); err != nil || jobs != 0 {
		t.Fatalf("refused uploads started %d jobs (%v)", jobs, err)
	}

	// A team leader imports its own member's leave for real: 303 to the
	// job, which ends done with the row loaded.
	var memberCode string
	if err := st.SQL().QueryRowContext(ctx, `SELECT code FROM inspectors WHERE team_id = $1 ORDER BY id LIMIT 1`, leaderTeam).Scan(&memberCode); err != nil {
		t.Fatal(err)
	}
	leave := "执法证号,开始日期,结束日期,原因\n" + memberCode + ",2027-01-04,2027-01-05,培训\n"
	s, body := post(domain.RoleTeamLeader, map[string]string{"kind": "unavailability"}, leave)
	if s != http.StatusOK && s != http.StatusSeeOther {
		t.Fatalf("team leader's leave import: %d %s", s, body)
	}
	var leaveJob int64
	for range 100 {
		var status string
		if err := st.SQL().QueryRowContext(ctx, `SELECT id, status FROM import_jobs ORDER BY id DESC LIMIT 1`).Scan(&leaveJob, &status); err == nil && status != store.ImportRunning {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, body = get(domain.RoleTeamLeader, "/imports/"+strconv.FormatInt(leaveJob, 10))
	if s != http.StatusOK || !strings.Contains(body, `data-status="done" data-read="1" data-loaded="1" data-rejected="0"`) {
		t.Errorf("team leader's leave job: %d\n%s", s, body)
	}

	// A running job's page shows its progress and reloads itself; a team
	// leader does not see a job it did not start.
	id, err := st.CreateImportJob(ctx, "admin#1:demo admin", store.ImportBusinesses, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpdateImportProgress(ctx, id, 40, 30, 10, []store.ImportRowError{{Line: 7, Field: "uscc", Reason: "bad"}}); err != nil {
		t.Fatal(err)
	}
	jobPath := "/imports/" + strconv.FormatInt(id, 10)
	s, body = get(domain.RoleAdmin, jobPath)
	if s != http.StatusOK || !strings.Contains(body, `<progress id="imp-progress"`) || !strings.Contains(body, `http-equiv="refresh"`) ||
		!strings.Contains(body, `data-status="running" data-read="40" data-loaded="30" data-rejected="10"`) ||
		!strings.Contains(body, `<tr class="imp-error" data-line="7"`) {
		t.Errorf("running job page: %d\n%s", s, body)
	}
	if s, _ := get(domain.RoleTeamLeader, jobPath); s != http.StatusNotFound {
		t.Errorf("team leader reading another's job: %d, want 404", s)
	}

	withheld := func(role domain.Role, uscc string) string {
		t.Helper()
		_, body := get(role, "/registry/businesses/"+uscc)
		i := strings.Index(body, `id="reg-biz-contact" data-withheld="`)
		if i < 0 {
			t.Fatalf("%s: no contact on the page of %s", role, uscc)
		}
		rest := body[i+len(`id="reg-biz-contact" data-withheld="`):]
		return rest[:strings.IndexByte(rest, '"')]
	}
	if w := withheld(domain.RoleTeamLeader, mine); w != "false" {
		t.Errorf("team leader, business its team visits: withheld=%s", w)
	}
	if w := withheld(domain.RoleTeamLeader, theirs); w != "true" {
		t.Errorf("team leader, business of another team: withheld=%s", w)
	}
	if w := withheld(domain.RoleAdmin, theirs); w != "false" {
		t.Errorf("admin: withheld=%s", w)
	}
	theirsBiz, err := st.GetBusiness(ctx, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if _, body := get(domain.RoleTeamLeader, "/registry/businesses/"+theirs); theirsBiz.ContactPhone != "" && strings.Contains(body, theirsBiz.ContactPhone) {
		t.Errorf("team leader sees the phone %s of another team's business", theirsBiz.ContactPhone)
	}
	// Its list shows the same, and another team's members' phones are not shown.
	if _, body := get(domain.RoleTeamLeader, "/registry/businesses?q="+theirs); !strings.Contains(body, `data-uscc="`+theirs+`" data-withheld="true"`) {
		t.Errorf("team leader's search row of %s does not withhold the contact", theirs)
	}
	members, err := st.ListInspectors(ctx, store.InspectorFilter{TeamID: otherTeam}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	_, other := get(domain.RoleTeamLeader, "/registry/teams/"+strconv.FormatInt(otherTeam, 10))
	_, adminView := get(domain.RoleAdmin, "/registry/teams/"+strconv.FormatInt(otherTeam, 10))
	phones := 0
	for _, m := range members.Items {
		if m.Phone == "" {
			continue
		}
		phones++
		if strings.Contains(other, m.Phone) {
			t.Errorf("team leader sees the phone of %s of another team", m.Name)
		}
		if !strings.Contains(adminView, m.Phone) {
			t.Errorf("admin does not see the phone of %s", m.Name)
		}
	}
	if phones == 0 {
		t.Fatalf("team %d has no member with a phone: the test reads nothing", otherTeam)
	}
}
