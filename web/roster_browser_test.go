package web_test

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
)

func init() {
	browserScenarios["roster"] = browserRoster
	browserScenarios["access"] = browserAccess
}

// effectiveVisitsSQL is every visit of a published plan at its effective
// date (its latest move's, else the plan's), with whether it was moved: a
// CTE for the roster queries, so that a scenario moving a visit does not
// upset another's expectations.
const effectiveVisitsSQL = `WITH ev AS (
	SELECT pv.plan_id, pv.seq, pv.uscc, pv.team_id, pv.route_order,
		coalesce((SELECT m.to_date FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq
			ORDER BY m.seq DESC LIMIT 1), pv.date) AS date,
		EXISTS (SELECT 1 FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq) AS moved
	FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id WHERE p.status = 'published') `

// busiestTeamDay is the team and day with the most visits in the published
// plan.
func (b *benv) busiestTeamDay(t *testing.T) (team, day string) {
	t.Helper()
	rows := sqlRows(t, b, effectiveVisitsSQL+`SELECT team_id::text, to_char(date, 'YYYY-MM-DD') FROM ev
		GROUP BY team_id, date ORDER BY count(*) DESC, date, team_id LIMIT 1`)
	if len(rows) == 0 {
		t.Fatal("the published plan has no visits")
	}
	return rows[0][0], rows[0][1]
}

// leaderToken issues a team_leader token for team unless it is the demo
// leader's: the busiest team-day need not be the demo leader's team.
func (b *benv) leaderToken(t *testing.T, team string) string {
	t.Helper()
	if team == b.Scopes[domain.RoleTeamLeader] {
		return b.Tokens[domain.RoleTeamLeader]
	}
	tok, _, err := b.st.CreateToken(context.Background(), "test", "browser test leader", domain.RoleTeamLeader, team)
	if err != nil {
		t.Fatalf("team leader token for team %s: %v", team, err)
	}
	return tok
}

// busiestDay is the day team teamID leads the most visits in the published
// plan, and how many.
func (b *benv) busiestDay(t *testing.T, teamID string) (string, int) {
	t.Helper()
	rows := sqlRows(t, b, effectiveVisitsSQL+`SELECT to_char(date, 'YYYY-MM-DD'), count(*) FROM ev
		WHERE team_id::text = $1 GROUP BY date ORDER BY count(*) DESC, date LIMIT 1`, teamID)
	if len(rows) == 0 {
		t.Fatalf("team %s leads no visit in the published plan; visits by team: %v", teamID,
			sqlRows(t, b, `SELECT team_id::text, count(*)::text FROM plan_visits GROUP BY 1 ORDER BY 1`))
	}
	n, _ := strconv.Atoi(rows[0][1])
	return rows[0][0], n
}

// browserRoster: the team leader's roster of its busiest day has one block
// per visit in route order with its checklist and a numbered route map; the
// A4 print has every visit's USCC once, no block split over two pages and no
// navigation.
func browserRoster(t *testing.T, b *benv) {
	team, _ := b.busiestTeamDay(t)
	day, n := b.busiestDay(t, team)
	if n < 2 {
		t.Fatalf("the busiest day of team %s has %d visits; the env should give it several", team, n)
	}
	var wantUSCC []string
	wantItems := 0
	// Route order; visits moved to the day come after the planned route.
	for _, r := range sqlRows(t, b, effectiveVisitsSQL+`SELECT ev.uscc, (SELECT count(DISTINCT t.item_id) FROM plan_tasks t
			WHERE t.plan_id = ev.plan_id AND t.visit_seq = ev.seq)
		FROM ev WHERE ev.team_id::text = $1 AND ev.date = $2::date
		ORDER BY ev.plan_id, ev.moved, ev.route_order, ev.seq`, team, day) {
		wantUSCC = append(wantUSCC, r[0])
		k, _ := strconv.Atoi(r[1])
		wantItems += k
	}

	ctx := b.Browser(t)
	b.LoginToken(t, ctx, b.leaderToken(t, team))
	loc := b.Location(t, ctx)
	if want := "/teams/" + team + "/rosters/" + testStart.Format(time.DateOnly); !strings.HasSuffix(loc, want) {
		t.Errorf("team leader landed on %s, want %s", loc, want)
	}
	path := "/teams/" + team + "/rosters/" + day
	b.Open(t, ctx, path)
	if s := b.Status(t, ctx); s != 0 {
		t.Fatalf("roster %s: error page %d", path, s)
	}
	got := b.Attrs(t, ctx, "article.visit", "data-uscc")
	if !slices.Equal(got, wantUSCC) {
		t.Fatalf("roster %s shows visits %v, the plan has %v in route order", path, got, wantUSCC)
	}
	stops := b.Attrs(t, ctx, "article.visit", "data-stop")
	for i, s := range stops {
		if s != strconv.Itoa(i+1) {
			t.Errorf("visit block %d is stop %q", i+1, s)
		}
	}
	if k := len(b.Attrs(t, ctx, "article.visit table.checklist tr[data-item]", "data-item")); k != wantItems {
		t.Errorf("checklists have %d items, the visits' tasks %d", k, wantItems)
	}
	if boxes := b.Texts(t, ctx, "article.visit td.box"); len(boxes) != wantItems || slices.ContainsFunc(boxes, func(s string) bool { return s != "☐" }) {
		t.Errorf("checkboxes %q, want %d empty ones", boxes, wantItems)
	}
	if k := len(b.Attrs(t, ctx, "svg.route g.stop", "data-stop")); k != n {
		t.Errorf("route map has %d stops, want %d", k, n)
	}
	if tot := b.Texts(t, ctx, "#total-visits"); len(tot) != 1 || tot[0] != strconv.Itoa(n) {
		t.Errorf("day total %q visits, want %d", tot, n)
	}
	for _, sel := range []string{"ul.members li", "article.visit .inspector"} {
		if len(b.Texts(t, ctx, sel)) == 0 {
			t.Errorf("no %s on the roster", sel)
		}
	}
	// print.js (served by the service, allowed by the CSP) shows the button.
	var hidden bool
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelector("[data-print]").hidden`, &hidden)); err != nil {
		t.Fatal(err)
	}
	if hidden {
		t.Error("the print button is still hidden: /static/print.js did not run")
	}
	b.Screenshot(t, ctx, "roster")

	// Day links.
	var next string
	if err := chromedp.Run(ctx, chromedp.AttributeValue(`#roster-next`, "href", &next, nil, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(next, "/teams/"+team+"/rosters/") || next[len(next)-10:] <= day {
		t.Errorf("next-day link %q", next)
	}

	// Print: A4 PDF.
	text := b.PDFText(t, ctx, "roster")
	pages := strings.Split(text, "\f")
	t.Logf("roster PDF: %d pages", strings.Count(text, "\f"))
	for _, u := range wantUSCC {
		want := 0
		for _, w := range wantUSCC {
			if w == u {
				want++
			}
		}
		if c := strings.Count(text, u); c != want {
			t.Errorf("PDF has USCC %s %d times, want %d", u, c, want)
		}
	}
	// No block straddles a page: each stop's USCC (its head) and signature
	// line (its foot) are on the same page.
	pageOf := func(s string) int {
		for i, p := range pages {
			if strings.Contains(p, s) {
				return i
			}
		}
		return -1
	}
	for i, u := range wantUSCC {
		foot := fmt.Sprintf("（第 %d 站）", i+1)
		if hp, fp := pageOf(u), pageOf(foot); hp < 0 || hp != fp {
			t.Errorf("stop %d: head on page %d, foot on page %d", i+1, hp+1, fp+1)
		}
	}
	for _, nav := range []string{"前一工作日", "后一工作日", "退出"} {
		if strings.Contains(text, nav) {
			t.Errorf("the print has navigation %q", nav)
		}
	}

	// Pictures of the print itself: its first two pages as PNG.
	b.PDFPagePNG(t, "roster", 1, "roster-print")
	b.PDFPagePNG(t, "roster", 2, "roster-print-2")

	// The team's calendar feed, from the roster.
	var url string
	if err := chromedp.Run(ctx,
		chromedp.Click(`#feed-rotate-team`, chromedp.ByID),
		chromedp.WaitVisible(`#feed-url`, chromedp.ByID),
		chromedp.Text(`#feed-url`, &url, chromedp.ByID),
	); err != nil {
		t.Fatalf("rotate team feed: %v", err)
	}
	if !strings.HasPrefix(url, b.URL+"/feeds/") || !strings.HasSuffix(url, ".ics") {
		t.Errorf("team feed URL %q", url)
	}
	if got := b.Attrs(t, ctx, "article.visit", "data-uscc"); !slices.Equal(got, wantUSCC) {
		t.Errorf("after the feed form the roster shows %v, want %v", got, wantUSCC)
	}

	// An inspector on the roster of a team-day it works makes its own feed,
	// not the team's.
	insp := b.Browser(t)
	b.Login(t, insp, domain.RoleInspector)
	worked := sqlRows(t, b, effectiveVisitsSQL+`SELECT ev.team_id::text, to_char(ev.date, 'YYYY-MM-DD') FROM ev
		JOIN plan_assignments a ON a.plan_id = ev.plan_id AND a.visit_seq = ev.seq
		WHERE a.inspector_id::text = $1 ORDER BY ev.date, ev.team_id LIMIT 1`, b.Scopes[domain.RoleInspector])
	if len(worked) == 0 {
		t.Fatal("the seeded inspector works no visit of the published plan")
	}
	b.Open(t, insp, "/teams/"+worked[0][0]+"/rosters/"+worked[0][1])
	if s := b.Status(t, insp); s != 0 {
		t.Fatalf("inspector on the roster of a team-day it works: error page %d", s)
	}
	if n := len(b.Texts(t, insp, "#feed-rotate-team")); n != 0 {
		t.Error("an inspector is offered the team's feed")
	}
	if err := chromedp.Run(insp,
		chromedp.Click(`#feed-rotate-inspector`, chromedp.ByID),
		chromedp.WaitVisible(`#feed-url`, chromedp.ByID),
		chromedp.Text(`#feed-url`, &url, chromedp.ByID),
	); err != nil {
		t.Fatalf("rotate inspector feed: %v", err)
	}
	if kind := b.Attrs(t, insp, ".feed-new", "data-kind"); !strings.HasPrefix(url, b.URL+"/feeds/") || len(kind) != 1 || kind[0] != "inspector" {
		t.Errorf("inspector feed URL %q kind %q", url, kind)
	}
}

// browserAccess: no role opens another's page. The browser sees the error
// page; a script with the same token gets the same status.
func browserAccess(t *testing.T, b *benv) {
	own := b.Scopes[domain.RoleBusiness]
	other := sqlRows(t, b, `SELECT uscc FROM businesses WHERE uscc <> $1 ORDER BY uscc LIMIT 1`, own)[0][0]
	team := b.Scopes[domain.RoleTeamLeader]
	day := testStart.AddDate(0, 0, 1).Format(time.DateOnly)
	otherTeam, otherDay := b.busiestTeamDay(t)
	if otherTeam == team {
		otherTeam = sqlRows(t, b, `SELECT id::text FROM teams WHERE id::text <> $1 ORDER BY id LIMIT 1`, team)[0][0]
	}
	// The inspector's own team on a day it does not work (the team has visits
	// then if the plan gives such a day, else none): not its to read.
	ownTeam := sqlRows(t, b, `SELECT team_id::text FROM inspectors WHERE id::text = $1`, b.Scopes[domain.RoleInspector])[0][0]
	idleDay := day
	if rows := sqlRows(t, b, effectiveVisitsSQL+`SELECT to_char(ev.date, 'YYYY-MM-DD') FROM ev
		WHERE ev.team_id::text = $1 AND NOT EXISTS (SELECT 1 FROM ev w JOIN plan_assignments a ON a.plan_id = w.plan_id AND a.visit_seq = w.seq
			WHERE a.inspector_id::text = $2 AND w.team_id = ev.team_id AND w.date = ev.date)
		ORDER BY ev.date LIMIT 1`, ownTeam, b.Scopes[domain.RoleInspector]); len(rows) > 0 {
		idleDay = rows[0][0]
	} else if rows := sqlRows(t, b, effectiveVisitsSQL+`SELECT 1 FROM ev JOIN plan_assignments a ON a.plan_id = ev.plan_id AND a.visit_seq = ev.seq
		WHERE a.inspector_id::text = $1 AND ev.team_id::text = $2 AND ev.date = $3::date`, b.Scopes[domain.RoleInspector], ownTeam, day); len(rows) > 0 {
		idleDay = "2026-11-29" // a Sunday before the plan: no visits at all
	}
	// A team the inspector neither belongs to nor works with that day.
	strange := sqlRows(t, b, effectiveVisitsSQL+`SELECT tm.id::text FROM teams tm
		WHERE NOT EXISTS (SELECT 1 FROM inspectors i WHERE i.id::text = $1 AND i.team_id = tm.id)
		AND NOT EXISTS (SELECT 1 FROM plan_assignments a JOIN ev ON ev.plan_id = a.plan_id AND ev.seq = a.visit_seq
			WHERE a.inspector_id::text = $1 AND ev.team_id = tm.id AND ev.date = $2::date) ORDER BY tm.id LIMIT 1`,
		b.Scopes[domain.RoleInspector], day)[0][0]

	cases := []struct {
		name   string
		role   domain.Role
		path   string
		status int
	}{
		{"business: own schedule", domain.RoleBusiness, "/businesses/" + own + "/schedule", 0},
		{"business: another business's schedule", domain.RoleBusiness, "/businesses/" + other + "/schedule", 404},
		{"business: an unknown business's schedule", domain.RoleBusiness, "/businesses/91330000000000000X/schedule", 404},
		{"business: a team roster", domain.RoleBusiness, "/teams/" + team + "/rosters/" + day, 403},
		{"team leader: own roster", domain.RoleTeamLeader, "/teams/" + team + "/rosters/" + day, 0},
		{"team leader: another team's roster", domain.RoleTeamLeader, "/teams/" + otherTeam + "/rosters/" + otherDay, 404},
		{"team leader: a business schedule", domain.RoleTeamLeader, "/businesses/" + own + "/schedule", 403},
		{"planner: a business schedule", domain.RolePlanner, "/businesses/" + own + "/schedule", 403},
		{"planner: a team roster", domain.RolePlanner, "/teams/" + team + "/rosters/" + day, 403},
		{"inspector: a team it has nothing to do with", domain.RoleInspector, "/teams/" + strange + "/rosters/" + day, 404},
		{"inspector: its own team on a day it does not work", domain.RoleInspector, "/teams/" + ownTeam + "/rosters/" + idleDay, 404},
		{"admin: any schedule", domain.RoleAdmin, "/businesses/" + other + "/schedule", 0},
		{"admin: any roster", domain.RoleAdmin, "/teams/" + otherTeam + "/rosters/" + otherDay, 0},
		{"admin: a bad date", domain.RoleAdmin, "/teams/" + team + "/rosters/2026-13-01", 400},
	}
	ctx := b.Browser(t)
	var signedIn domain.Role
	notFoundText := map[domain.Role]string{}
	for _, tc := range cases {
		if signedIn != tc.role {
			b.Login(t, ctx, tc.role)
			signedIn = tc.role
		}
		b.Open(t, ctx, tc.path)
		if got := b.Status(t, ctx); got != tc.status {
			t.Errorf("%s (%s): page status %d, want %d", tc.name, tc.path, got, tc.status)
		}
		if tc.status == 404 {
			// Another's page and a page that does not exist look the same.
			txt := strings.Join(b.Texts(t, ctx, ".error-page"), "")
			if prev, ok := notFoundText[tc.role]; ok && prev != txt {
				t.Errorf("%s: 404 page %q differs from the role's other 404 page %q", tc.name, txt, prev)
			}
			notFoundText[tc.role] = txt
		}
		if tc.name == "business: another business's schedule" {
			b.Screenshot(t, ctx, "access-404")
		}
		if tc.name == "planner: a business schedule" {
			b.Screenshot(t, ctx, "access-403")
		}
		if got, want := b.httpStatus(t, tc.role, tc.path), max(tc.status, 200); got != want {
			t.Errorf("%s (%s): HTTP %d, want %d", tc.name, tc.path, got, want)
		}
	}
	// A path that is no page is 404 for anyone, not a detour to the login.
	for _, path := range []string{"/favicon.ico", "/no-such-page"} {
		resp, err := http.Get(b.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("anonymous GET %s: HTTP %d, want 404", path, resp.StatusCode)
		}
	}
	// Feed forms follow the page rules.
	for _, tc := range []struct {
		role   domain.Role
		path   string
		status int
	}{
		{domain.RoleBusiness, "/businesses/" + other + "/feed", 404},
		{domain.RolePlanner, "/businesses/" + own + "/feed", 403},
		{domain.RoleTeamLeader, "/teams/" + otherTeam + "/feed", 404},
		{domain.RoleInspector, "/teams/" + team + "/feed", 403},
		{domain.RoleBusiness, "/inspectors/" + b.Scopes[domain.RoleInspector] + "/feed", 403},
	} {
		if got := b.httpPost(t, tc.role, tc.path); got != tc.status {
			t.Errorf("%s POST %s: HTTP %d, want %d", tc.role, tc.path, got, tc.status)
		}
	}
}

// PDFPagePNG renders page of testout/<pdf>.pdf (written by PDFText) to
// testout/<name>.png with pdftoppm (poppler-utils), to look at the print as
// it comes out of the printer.
func (b *benv) PDFPagePNG(t *testing.T, pdf string, page int, name string) {
	t.Helper()
	p := strconv.Itoa(page)
	out, err := exec.Command("pdftoppm", "-png", "-r", "96", "-f", p, "-l", p, "-singlefile",
		filepath.Join(b.outDir, pdf+".pdf"), filepath.Join(b.outDir, name)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v: %s", err, out)
	}
	t.Logf("print page %d: %s", page, filepath.Join(b.outDir, name+".png"))
}

// httpStatus fetches path as role with a bearer token (the pages accept one
// for scripts) and returns the HTTP status.
func (b *benv) httpStatus(t *testing.T, role domain.Role, path string) int {
	t.Helper()
	return b.httpDo(t, role, http.MethodGet, path)
}

func (b *benv) httpPost(t *testing.T, role domain.Role, path string) int {
	t.Helper()
	return b.httpDo(t, role, http.MethodPost, path)
}

func (b *benv) httpDo(t *testing.T, role domain.Role, method, path string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.Tokens[role])
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
