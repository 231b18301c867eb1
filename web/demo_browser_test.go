package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"inspectonce/api"
	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store/storetest"
)

// TestBrowserSeededDemo is issue 15's "done when" read in a browser: a
// database seeded as `make run` seeds it (seed.LoadConfig with the built-in
// configuration and the real clock, so the county's past is laid out up to
// today), the service on it, and every seeded token signed in through the
// login form to see its page filled: the inspector's visits today on
// /inspect, the same visits on the leader's roster of today, past and coming
// visits on the business's schedule, published results on /publication and,
// with no sign-in, on /results for the last 30 days.
//
// It has its own database and clock, not TestBrowser's (whose county is
// seeded on a fixed Monday and given a second plan), so that it sees exactly
// what a newcomer sees after `make run`.
func TestBrowserSeededDemo(t *testing.T) {
	started := time.Now()
	chrome := chromiumPath(t)
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
	// One instant for the seed, the service and the checks: the county's
	// today (Asia/Shanghai) is not UTC's for eight hours of every day, and a
	// test running across the county's midnight must not see two todays.
	now := time.Now()
	loc := cfg.Location()
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	day := today.Format(time.DateOnly)

	res, err := seed.LoadConfig(ctx, st, cfg, now)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	seeded := time.Since(started)
	b := &benv{st: st, cfg: cfg, cal: cal, Tokens: map[domain.Role]string{}, Scopes: map[domain.Role]string{},
		Today: today, Loc: loc, start: now, chrome: chrome}
	b.SetNow(now)
	for _, tk := range res.Tokens {
		b.Tokens[tk.Role], b.Scopes[tk.Role] = tk.Token, tk.Scope
	}
	clock := func() time.Time { return *b.clock.Load() }
	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	b.srv = httptest.NewServer(api.New(api.Options{Store: st, Config: cfg, Calendar: cal, Logger: log, Now: clock, Planning: plans}))
	t.Cleanup(b.srv.Close)
	b.URL = b.srv.URL
	if b.outDir = os.Getenv("INSPECTONCE_TESTOUT"); b.outDir == "" {
		b.outDir = filepath.Join("..", "testout")
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// One browser, one tab: each role signs in after the cookies of the one
	// before are cleared, so no page is seen with another role's session.
	tab := b.Browser(t)
	signIn := func(role domain.Role) {
		t.Helper()
		if err := chromedp.Run(tab, network.ClearBrowserCookies()); err != nil {
			t.Fatal(err)
		}
		if role != "" {
			b.Login(t, tab, role)
		}
	}
	open := func(path string) {
		t.Helper()
		b.Open(t, tab, path)
		if s := b.Status(t, tab); s != 0 {
			t.Fatalf("%s answered error page %d", path, s)
		}
	}

	// Inspector: /inspect is today's visits, and shows every one the store
	// gives the door page (store.InspectorVisits), by key and business name.
	insp, err := strconv.ParseInt(b.Scopes[domain.RoleInspector], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.InspectorVisits(ctx, insp, today)
	if err != nil {
		t.Fatal(err)
	}
	signIn(domain.RoleInspector)
	open("/inspect")
	b.Screenshot(t, tab, "demo-inspector")
	if got := b.Attrs(t, tab, "#door", "data-date"); !slices.Equal(got, []string{day}) {
		t.Errorf("/inspect is for %v, want today %s", got, day)
	}
	names := b.Texts(t, tab, ".door-visit .door-biz")
	if len(names) == 0 || len(want) == 0 {
		t.Errorf("/inspect lists %d visits today (%s) for the seeded inspector %d, the store %d: the seed's past gave it none",
			len(names), day, insp, len(want))
	}
	for _, v := range want {
		sel := fmt.Sprintf(`.door-visit[data-plan="%d"][data-seq="%d"] .door-biz`, v.PlanID, v.VisitSeq)
		if got := b.Texts(t, tab, sel); !slices.Equal(got, []string{v.BusinessName}) {
			t.Errorf("/inspect shows %q for visit %d/%d today, want %q (page lists %q)", got, v.PlanID, v.VisitSeq, v.BusinessName, names)
		}
	}

	// Team leader: the roster of today lists the inspector's visits.
	team := b.Scopes[domain.RoleTeamLeader]
	signIn(domain.RoleTeamLeader)
	open("/teams/" + team + "/rosters/" + day)
	b.Screenshot(t, tab, "demo-team_leader")
	if got := b.Attrs(t, tab, "section.roster", "data-date"); !slices.Equal(got, []string{day}) {
		t.Errorf("the roster is of %v, want %s", got, day)
	}
	stops := b.Texts(t, tab, "article.visit h2")
	if len(stops) == 0 {
		t.Errorf("the seeded leader's team %s has an empty roster today (%s)", team, day)
	}
	for _, v := range want {
		sel := fmt.Sprintf(`article.visit[data-plan="%d"][data-seq="%d"] h2`, v.PlanID, v.VisitSeq)
		if got := b.Texts(t, tab, sel); !slices.Equal(got, []string{v.BusinessName}) {
			t.Errorf("the roster of team %s shows %q for the inspector's visit %d/%d, want %q (roster lists %q)",
				team, got, v.PlanID, v.VisitSeq, v.BusinessName, stops)
		}
	}

	// Business: its schedule has visits gone by and visits to come, each
	// in its group, by the date the page shows.
	uscc := b.Scopes[domain.RoleBusiness]
	signIn(domain.RoleBusiness)
	open("/businesses/" + uscc + "/schedule")
	b.Screenshot(t, tab, "demo-business")
	var shown []struct {
		Group string `json:"group"`
		Date  string `json:"date"`
		Shown string `json:"shown"`
	}
	if err := chromedp.Run(tab, chromedp.Evaluate(`Array.from(document.querySelectorAll('.sched-visit')).map(v => ({
		group: v.closest('.sched-group').dataset.group, date: v.dataset.date,
		shown: v.querySelector('.sched-date').textContent.trim()}))`, &shown)); err != nil {
		t.Fatal(err)
	}
	var past, upcoming int
	for _, v := range shown {
		d, err := shownDate(v.Shown)
		if err != nil || d != v.Date {
			t.Errorf("schedule shows %q for a visit dated %s (%v)", v.Shown, v.Date, err)
			continue
		}
		switch {
		case d < day && v.Group == "past":
			past++
		case d > day && v.Group == "upcoming":
			upcoming++
		case d == day:
		default:
			t.Errorf("schedule: a visit of %s among the %s visits (today %s)", d, v.Group, day)
		}
	}
	if past == 0 || upcoming == 0 {
		t.Errorf("the business's schedule shows %d past and %d upcoming visits, want both (today %s): %+v", past, upcoming, day, shown)
	}

	// Admin: /publication counts the results the seed published.
	signIn(domain.RoleAdmin)
	open("/publication")
	b.Screenshot(t, tab, "demo-admin")
	onTime, late := number(t, b.Texts(t, tab, "#pub-on-time .num")), number(t, b.Texts(t, tab, "#pub-late .num"))
	if onTime+late == 0 || onTime+late != res.Past.Published {
		t.Errorf("/publication shows %d published on time and %d late, the seed published %d", onTime, late, res.Past.Published)
	}

	// Anyone: /results has published results of the last 30 days.
	from := today.AddDate(0, 0, -30).Format(time.DateOnly)
	signIn("")
	open("/results?from=" + from + "&to=" + day)
	b.Screenshot(t, tab, "demo-public")
	dates := b.Texts(t, tab, "article.result .date")
	if len(dates) == 0 {
		t.Errorf("/results lists no published result from %s to %s", from, day)
	}
	for _, s := range dates {
		if d, err := shownDate(s); err != nil || d < from || d > day {
			t.Errorf("/results from %s to %s shows a result of %q (%v)", from, day, s, err)
		}
	}
	t.Logf("today %s: %d visits on /inspect, %d on the roster, schedule %d past and %d upcoming, %d+%d published, %d results on /results; seeded in %v, all in %v",
		day, len(names), len(stops), past, upcoming, onTime, late, len(dates), seeded.Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
}

var zhDate = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日`)

// shownDate reads a date as the Chinese pages show it (Lang.Date:
// 2026年11月23日 星期一) back as YYYY-MM-DD.
func shownDate(s string) (string, error) {
	m := zhDate.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("not a date: %q", s)
	}
	var n [3]int
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return time.Date(n[0], time.Month(n[1]), n[2], 0, 0, 0, 0, time.UTC).Format(time.DateOnly), nil
}

// number is the one figure texts holds.
func number(t *testing.T, texts []string) int {
	t.Helper()
	if len(texts) != 1 {
		t.Fatalf("want one figure, got %q", texts)
	}
	n, err := strconv.Atoi(texts[0])
	if err != nil {
		t.Fatalf("figure %q: %v", texts[0], err)
	}
	return n
}
