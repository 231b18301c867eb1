package web_test

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
	"inspectonce/store"
)

func init() {
	browserScenarios["schedule"] = browserSchedule
	browserScenarios["lang"] = browserLang
}

// sqlRows runs a query on the test database and returns every row with each
// column as text (cast dates with to_char: database/sql writes a time as
// RFC 3339). The browser tests compare pages with what the tables say,
// without going through the store code the pages use.
func sqlRows(t *testing.T, b *benv, q string, args ...any) [][]string {
	t.Helper()
	rows, err := b.st.SQL().QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("query %s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		row := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatalf("scan %s: %v", q, err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectedScheduleSQL lists the visits business $1 may see on day $2, by
// DESIGN.md §1 and the announce policy, straight from the plan tables: every
// visit of a published plan (at the date of its latest move, if any) that
// is announced (every demand of its own tasks gives notice: tasks a later
// plan joined to it do not change that) once the notice has started
// before the earliest date it was ever set for, and any visit once its day
// has passed. Each row: plan/seq@date.
const expectedScheduleSQL = `
WITH v AS (
	SELECT pv.plan_id, pv.seq,
		coalesce((SELECT m.to_date FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq
			ORDER BY m.seq DESC LIMIT 1), pv.date) AS eff,
		least(pv.date, (SELECT min(m.to_date) FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq)) AS earliest,
		(SELECT min(d.announce_days) FROM plan_tasks t JOIN demands d ON d.id = t.demand_id
			WHERE t.plan_id = pv.plan_id AND t.visit_seq = pv.seq AND t.added_by_plan_id IS NULL) AS notice
	FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id
	WHERE p.status = 'published' AND pv.uscc = $1)
SELECT plan_id || '/' || seq || '@' || to_char(eff, 'YYYY-MM-DD') FROM v
WHERE (notice > 0 AND earliest - notice <= $2::date) OR eff < $2::date
ORDER BY 1`

func (b *benv) expectedSchedule(t *testing.T, uscc string, now time.Time) []string {
	t.Helper()
	out := []string{}
	for _, r := range sqlRows(t, b, expectedScheduleSQL, uscc, now.In(b.Loc).Format(time.DateOnly)) {
		out = append(out, r[0])
	}
	return out
}

// shownSchedule reads the visit blocks of the schedule page as plan/seq@date.
func (b *benv) shownSchedule(t *testing.T, ctx context.Context) []string {
	t.Helper()
	plans := b.Attrs(t, ctx, "article.sched-visit", "data-plan")
	seqs := b.Attrs(t, ctx, "article.sched-visit", "data-seq")
	dates := b.Attrs(t, ctx, "article.sched-visit", "data-date")
	out := []string{}
	for i := range plans {
		out = append(out, plans[i]+"/"+seqs[i]+"@"+dates[i])
	}
	slices.Sort(out)
	return out
}

// demandVisit finds the visit that holds the tasks of the demand titled title:
// plan/seq and its (effective) date.
func (b *benv) demandVisit(t *testing.T, title string) (key string, date time.Time) {
	t.Helper()
	rows := sqlRows(t, b, `SELECT DISTINCT pv.plan_id || '/' || pv.seq, to_char(pv.date, 'YYYY-MM-DD')
		FROM plan_tasks t JOIN demands d ON d.id = t.demand_id
		JOIN plan_visits pv ON pv.plan_id = t.plan_id AND pv.seq = t.visit_seq
		JOIN plans p ON p.id = pv.plan_id
		WHERE d.title = $1 AND p.status = 'published'`, title)
	if len(rows) != 1 {
		t.Fatalf("demand %q is in %d visits of the published plan, want 1: %v", title, len(rows), rows)
	}
	d, err := time.Parse(time.DateOnly, rows[0][1])
	if err != nil {
		t.Fatal(err)
	}
	return rows[0][0], d
}

func keysOf(entries []string) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i], _, _ = strings.Cut(e, "@")
	}
	return out
}

// browserSchedule: the business sees exactly the visits the tables say it
// may see, announced ones ahead, the unannounced complaint only once it has
// happened; each visit is one block with its departments; the feed form
// shows a new URL once.
func browserSchedule(t *testing.T, b *benv) {
	uscc := b.Scopes[domain.RoleBusiness]
	announced, announcedDay := b.demandVisit(t, "浏览器测试：公告检查")
	complaint, complaintDay := b.demandVisit(t, "浏览器测试：举报核查")
	if announced == complaint {
		t.Fatalf("the announced and the complaint demand share visit %s; the env means them apart", announced)
	}

	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RoleBusiness)
	loc := b.Location(t, ctx)
	if want := "/businesses/" + uscc + "/schedule"; !strings.HasSuffix(loc, want) {
		t.Fatalf("business landed on %s, want %s", loc, want)
	}
	if lang := b.Attrs(t, ctx, "html", "lang"); len(lang) != 1 || lang[0] != "zh-CN" {
		t.Errorf("html lang %q, want zh-CN by default", lang)
	}
	if h := b.Texts(t, ctx, "h1"); len(h) != 1 || h[0] != "检查日程" {
		t.Errorf("heading %q, want 检查日程", h)
	}

	// Before the complaint's day: exactly the visible visits, without it.
	want := b.expectedSchedule(t, uscc, testStart)
	got := b.shownSchedule(t, ctx)
	if !slices.Equal(got, want) {
		t.Fatalf("schedule on %s shows %v, the tables say %v", testStart.Format(time.DateOnly), got, want)
	}
	if slices.Contains(keysOf(got), complaint) {
		t.Fatalf("the unannounced complaint visit %s is listed before it happened", complaint)
	}
	b.checkScheduleBlocks(t, ctx)
	b.Screenshot(t, ctx, "schedule")

	// Once the announced visit's notice has started (on its day at the
	// latest), it is listed, upcoming.
	notice := testStart
	if !slices.Contains(keysOf(got), announced) {
		notice = time.Date(announcedDay.Year(), announcedDay.Month(), announcedDay.Day(), 8, 0, 0, 0, b.Loc)
		b.SetNow(notice)
		b.Open(t, ctx, "/businesses/"+uscc+"/schedule")
	}
	if got, want := b.shownSchedule(t, ctx), b.expectedSchedule(t, uscc, notice); !slices.Equal(got, want) || !slices.Contains(keysOf(got), announced) {
		t.Fatalf("schedule on %s shows %v, want %v with the announced visit %s", notice, got, want, announced)
	}
	if st := b.Attrs(t, ctx, `article.sched-visit[data-plan="`+strings.Split(announced, "/")[0]+`"][data-seq="`+strings.Split(announced, "/")[1]+`"]`, "data-status"); len(st) != 1 || st[0] != "planned" {
		t.Errorf("announced visit %s status %q, want planned", announced, st)
	}

	// The day of the complaint visit: still hidden (it may be under way).
	b.SetNow(time.Date(complaintDay.Year(), complaintDay.Month(), complaintDay.Day(), 8, 30, 0, 0, b.Loc))
	b.Open(t, ctx, "/businesses/"+uscc+"/schedule")
	if got := b.shownSchedule(t, ctx); slices.Contains(keysOf(got), complaint) {
		t.Fatalf("the unannounced complaint visit %s is listed on its own day", complaint)
	}

	// The day after: listed, as past, with its department.
	after := time.Date(complaintDay.Year(), complaintDay.Month(), complaintDay.Day()+1, 8, 30, 0, 0, b.Loc)
	b.SetNow(after)
	b.Open(t, ctx, "/businesses/"+uscc+"/schedule")
	want = b.expectedSchedule(t, uscc, after)
	got = b.shownSchedule(t, ctx)
	if !slices.Equal(got, want) {
		t.Fatalf("schedule on %s shows %v, the tables say %v", after.Format(time.DateOnly), got, want)
	}
	if !slices.Contains(keysOf(got), complaint) || !slices.Contains(keysOf(got), announced) {
		t.Fatalf("schedule after the complaint visit shows %v, want both %s and %s", got, announced, complaint)
	}
	sel := `article.sched-visit[data-plan="` + strings.Split(complaint, "/")[0] + `"][data-seq="` + strings.Split(complaint, "/")[1] + `"]`
	if st := b.Attrs(t, ctx, sel, "data-status"); len(st) != 1 || st[0] != "past" {
		t.Errorf("complaint visit status %q, want past", st)
	}
	if g := b.Attrs(t, ctx, `section[data-group="past"] `+sel, "data-announced"); len(g) != 1 || g[0] != "false" {
		t.Errorf("complaint visit in the past group, unannounced: %q", g)
	}
	if d := b.Attrs(t, ctx, sel+" .sched-dept", "data-dept"); !slices.Contains(d, "XFJY") {
		t.Errorf("complaint visit departments %q, want XFJY among them", d)
	}
	b.checkScheduleBlocks(t, ctx)
	b.Screenshot(t, ctx, "schedule-after")

	// Calendar subscription: a new secret URL, shown once (a plain visit of
	// the page has none), different each time.
	rotate := func() string {
		b.Open(t, ctx, "/businesses/"+uscc+"/schedule")
		if n := len(b.Texts(t, ctx, "#feed-url")); n != 0 {
			t.Fatalf("a plain visit of the schedule shows a feed URL")
		}
		var url string
		if err := chromedp.Run(ctx,
			chromedp.Click(`#feed-rotate`, chromedp.ByID),
			chromedp.WaitVisible(`#feed-url`, chromedp.ByID),
			chromedp.Text(`#feed-url`, &url, chromedp.ByID),
		); err != nil {
			t.Fatalf("rotate feed: %v", err)
		}
		return strings.TrimSpace(url)
	}
	first := rotate()
	b.Screenshot(t, ctx, "schedule-feed")
	feedRE := regexp.MustCompile(`^` + regexp.QuoteMeta(b.URL) + `/feeds/[A-Za-z0-9_-]{43}\.ics$`)
	if !feedRE.MatchString(first) {
		t.Fatalf("feed URL %q, want %s/feeds/<secret>.ics", first, b.URL)
	}
	second := rotate()
	if second == first || !feedRE.MatchString(second) {
		t.Fatalf("second rotation gave %q after %q, want a new URL", second, first)
	}
	// The URL the page shows is the feed; the one before it stopped working.
	for _, f := range []struct {
		url    string
		status int
	}{{second, http.StatusOK}, {first, http.StatusNotFound}} {
		resp, err := http.Get(f.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != f.status {
			t.Errorf("GET %s: HTTP %d, want %d", f.url, resp.StatusCode, f.status)
		}
		if f.status == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
			t.Errorf("GET %s: Content-Type %q, want text/calendar", f.url, resp.Header.Get("Content-Type"))
		}
	}
	if got := b.shownSchedule(t, ctx); !slices.Equal(got, want) {
		t.Fatalf("the page answering the feed form shows %v, want %v", got, want)
	}

	// A joint visit (several departments, one door-knock) is one block
	// listing them all. An admin looks at a business that has one, after
	// the horizon, when every visit is past and listed.
	joint := sqlRows(t, b, `SELECT pv.uscc, pv.plan_id::text, pv.seq::text, count(DISTINCT it.department_id)::text
		FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id
		JOIN plan_tasks tk ON tk.plan_id = pv.plan_id AND tk.visit_seq = pv.seq JOIN items it ON it.id = tk.item_id
		WHERE p.status = 'published' GROUP BY pv.uscc, pv.plan_id, pv.seq
		HAVING count(DISTINCT it.department_id) > 1 ORDER BY count(DISTINCT it.department_id) DESC, pv.uscc LIMIT 1`)
	if len(joint) == 0 {
		t.Fatal("the published plan has no joint visit")
	}
	b.SetNow(time.Date(testStart.Year(), testStart.Month(), testStart.Day()+40, 8, 0, 0, 0, b.Loc)) // after the 28-day horizon
	admin := b.Browser(t)
	b.Login(t, admin, domain.RoleAdmin)
	b.Open(t, admin, "/businesses/"+joint[0][0]+"/schedule")
	sel = `article.sched-visit[data-plan="` + joint[0][1] + `"][data-seq="` + joint[0][2] + `"]`
	if n := len(b.Attrs(t, admin, sel, "data-uid")); n != 1 {
		t.Fatalf("joint visit %s/%s has %d blocks, want 1", joint[0][1], joint[0][2], n)
	}
	if d := b.Attrs(t, admin, sel+" .sched-dept", "data-dept"); strconv.Itoa(len(d)) != joint[0][3] {
		t.Errorf("joint visit lists departments %v, want %s of them", d, joint[0][3])
	}
	if j := b.Texts(t, admin, sel+" .badge.joint"); len(j) != 1 || !strings.Contains(j[0], joint[0][3]) {
		t.Errorf("joint visit badge %q", j)
	}
	b.checkScheduleBlocks(t, admin)
	b.Screenshot(t, admin, "schedule-joint")

	// A coordinator moves the announced visit: the business sees it once, at
	// its new date, marked as moved from the old one. (Last: the move stays.)
	b.SetNow(testStart)
	to := announcedDay.AddDate(0, 0, 1)
	for to.Weekday() == time.Saturday || to.Weekday() == time.Sunday {
		to = to.AddDate(0, 0, 1)
	}
	planID, _ := strconv.ParseInt(strings.Split(announced, "/")[0], 10, 64)
	seq, _ := strconv.Atoi(strings.Split(announced, "/")[1])
	if _, err := b.st.MoveVisit(context.Background(), "test", planID, seq, to, "浏览器测试：改期",
		store.MoveRules{Today: b.Today}); err != nil {
		t.Fatalf("move visit %s: %v", announced, err)
	}
	// Looked at the day before its new date: inside its notice whichever
	// day of its window the plan chose (the plan levels its days, so that
	// day varies with the seed), and not yet happened.
	seen := time.Date(to.Year(), to.Month(), to.Day()-1, 8, 0, 0, 0, b.Loc)
	b.SetNow(seen)
	b.Open(t, ctx, "/businesses/"+uscc+"/schedule")
	if got, want := b.shownSchedule(t, ctx), b.expectedSchedule(t, uscc, seen); !slices.Equal(got, want) {
		t.Fatalf("after the move the schedule shows %v, the tables say %v", got, want)
	}
	sel = `article.sched-visit[data-plan="` + strings.Split(announced, "/")[0] + `"][data-seq="` + strings.Split(announced, "/")[1] + `"]`
	if d := b.Attrs(t, ctx, sel, "data-date"); len(d) != 1 || d[0] != to.Format(time.DateOnly) {
		t.Errorf("moved visit date %q, want %s", d, to.Format(time.DateOnly))
	}
	if o := b.Attrs(t, ctx, sel, "data-original-date"); len(o) != 1 || o[0] != announcedDay.Format(time.DateOnly) {
		t.Errorf("moved visit original date %q, want %s", o, announcedDay.Format(time.DateOnly))
	}
	if m := b.Texts(t, ctx, sel+" .badge.moved"); len(m) != 1 || !strings.Contains(m[0], "原定") {
		t.Errorf("moved visit badge %q", m)
	}
	b.Screenshot(t, ctx, "schedule-moved")
}

// checkScheduleBlocks compares each visit block's departments with the
// visit's tasks: one block per visit, however many departments it joins.
func (b *benv) checkScheduleBlocks(t *testing.T, ctx context.Context) {
	t.Helper()
	plans := b.Attrs(t, ctx, "article.sched-visit", "data-plan")
	seqs := b.Attrs(t, ctx, "article.sched-visit", "data-seq")
	for i := range plans {
		sel := `article.sched-visit[data-plan="` + plans[i] + `"][data-seq="` + seqs[i] + `"]`
		if n := len(b.Attrs(t, ctx, sel, "data-uid")); n != 1 {
			t.Errorf("visit %s/%s has %d blocks, want 1", plans[i], seqs[i], n)
		}
		var want []string
		// A task a later plan joined to the visit shows from its own
		// notice (an unannounced one on the day), as the business may see it.
		day := b.clock.Load().In(b.Loc).Format(time.DateOnly)
		for _, r := range sqlRows(t, b, `SELECT DISTINCT d.code FROM plan_tasks t JOIN items it ON it.id = t.item_id
			JOIN departments d ON d.id = it.department_id JOIN demands dm ON dm.id = t.demand_id
			JOIN published_visits v ON v.plan_id = t.plan_id AND v.seq = t.visit_seq
			WHERE t.plan_id = $1 AND t.visit_seq = $2 AND (t.added_by_plan_id IS NULL OR v.date <= $3::date
				OR (dm.announce_days > 0 AND v.date - dm.announce_days <= $3::date)) ORDER BY 1`, plans[i], seqs[i], day) {
			want = append(want, r[0])
		}
		got := b.Attrs(t, ctx, sel+" .sched-dept", "data-dept")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("visit %s/%s lists departments %v, its tasks are of %v", plans[i], seqs[i], got, want)
		}
		team := b.Texts(t, ctx, sel+" .team")
		if len(team) != 1 || team[0] == "" {
			t.Errorf("visit %s/%s lead team %q", plans[i], seqs[i], team)
		}
	}
}

// browserLang: with Accept-Language: en the schedule is in English.
func browserLang(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Lang(t, ctx, "en")
	b.Login(t, ctx, domain.RoleBusiness)
	b.Open(t, ctx, "/businesses/"+b.Scopes[domain.RoleBusiness]+"/schedule")
	if lang := b.Attrs(t, ctx, "html", "lang"); len(lang) != 1 || lang[0] != "en" {
		t.Fatalf("html lang %q, want en", lang)
	}
	if h := b.Texts(t, ctx, "h1"); len(h) != 1 || h[0] != "Inspection schedule" {
		t.Errorf("heading %q, want Inspection schedule", h)
	}
	h2 := b.Texts(t, ctx, "section.sched-group h2")
	if len(h2) != 2 || !strings.HasPrefix(h2[0], "Upcoming") || !strings.HasPrefix(h2[1], "Past") {
		t.Errorf("group headings %q, want Upcoming, Past", h2)
	}
	// No Chinese label may remain outside the data (names, addresses, items).
	labels := strings.Join(append(b.Texts(t, ctx, "dt"), b.Texts(t, ctx, ".badge, #feed h2, #feed-rotate")...), " ")
	if regexp.MustCompile(`\p{Han}`).MatchString(labels) {
		t.Errorf("English page has Chinese labels: %s", labels)
	}
	dates := b.Texts(t, ctx, ".sched-date")
	for _, d := range dates {
		if !regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{4}$`).MatchString(d) {
			t.Errorf("date %q is not an English date with its weekday", d)
		}
	}
	b.Screenshot(t, ctx, "schedule-en")

	// The language switch overrides Accept-Language, also on the next page.
	if err := chromedp.Run(ctx, chromedp.Click(`header.site a.lang`, chromedp.ByQuery),
		chromedp.WaitVisible(`html[lang="zh-CN"] main`, chromedp.ByQuery)); err != nil {
		t.Fatalf("language switch: %v", err)
	}
	b.Open(t, ctx, "/businesses/"+b.Scopes[domain.RoleBusiness]+"/schedule")
	if h := b.Texts(t, ctx, "h1"); len(h) != 1 || h[0] != "检查日程" {
		t.Errorf("after switching to Chinese the next page's heading is %q", h)
	}
}
