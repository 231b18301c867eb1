package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
)

func init() {
	browserScenarios["availability"] = browserAvailability
}

// browserAvailability (issue 17): a member of the demo leader's team is on
// leave over two days and the team is closed for a typhoon on the first; a
// township the team does not cover is closed too. The leader's roster of
// that day shows the member away (name, dates, reason, a badge by the name)
// and the team's closure but not the other township's; the member's phone
// page shows its own leave and the closure in the coming days, and nothing
// on a day beyond them; the plan dashboard lists all of it for the horizon.
// Both languages. The leave and closures are removed afterwards, so that
// other scenarios' plans are not changed by them.
func browserAvailability(t *testing.T, b *benv) {
	ctx := context.Background()
	team := b.Scopes[domain.RoleTeamLeader]
	teamID, err := strconv.ParseInt(team, 10, 64)
	if err != nil {
		t.Fatalf("leader scope %q: %v", team, err)
	}
	rows := sqlRows(t, b, `SELECT id::text, name FROM inspectors WHERE team_id::text = $1 AND NOT is_leader ORDER BY id LIMIT 1`, team)
	if len(rows) == 0 {
		t.Fatalf("team %s has no member", team)
	}
	memberID, _ := strconv.ParseInt(rows[0][0], 10, 64)
	memberName := rows[0][1]
	rows = sqlRows(t, b, `SELECT r.id::text, r.name FROM regions r WHERE r.level = 'township'
		AND NOT EXISTS (SELECT 1 FROM team_regions tr WHERE tr.team_id::text = $1 AND tr.region_id = r.id)
		AND NOT EXISTS (SELECT 1 FROM team_regions tr JOIN regions g ON g.id = tr.region_id
			WHERE tr.team_id::text = $1 AND g.parent_id = r.id) ORDER BY r.id LIMIT 1`, team)
	if len(rows) == 0 {
		t.Fatal("every township is the team's")
	}
	elsewhere, _ := strconv.ParseInt(rows[0][0], 10, 64)

	// The first working day at least three days ahead, inside the plan.
	day := b.Today.AddDate(0, 0, 3)
	for !b.cal.IsWorkingDay(day) {
		day = day.AddDate(0, 0, 1)
	}
	next := day.AddDate(0, 0, 1)
	leave, err := b.st.CreateUnavailability(ctx, "test", memberID, day, next, "年休假")
	if err != nil {
		t.Fatal(err)
	}
	typhoon, err := b.st.CreateClosure(ctx, "test", 0, teamID, day, day, "台风停航")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.st.CreateClosure(ctx, "test", elsewhere, 0, day, day, "渡轮检修")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, err := range []error{
			func() error { _, err := b.st.DeleteUnavailability(ctx, "test", memberID, leave.ID); return err }(),
			func() error { _, err := b.st.DeleteClosure(ctx, "test", typhoon.ID); return err }(),
			func() error { _, err := b.st.DeleteClosure(ctx, "test", other.ID); return err }(),
		} {
			if err != nil {
				t.Errorf("clean up: %v", err)
			}
		}
	})
	dayS, nextS := day.Format(time.DateOnly), next.Format(time.DateOnly)
	zhDay := func(d time.Time) string { return fmt.Sprintf("%d年%d月%d日", d.Year(), d.Month(), d.Day()) }
	// The span as the pages write it: "<first> 至 <last>", each with its weekday.
	hasSpan := func(s string) bool {
		i, j, k := strings.Index(s, zhDay(day)), strings.Index(s, " 至 "), strings.Index(s, zhDay(next))
		return i >= 0 && j > i && k > j
	}

	// The roster of the day, as the leader.
	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleTeamLeader)
	b.Open(t, tab, "/teams/"+team+"/rosters/"+dayS)
	if s := b.Status(t, tab); s != 0 {
		t.Fatalf("roster: error page %d", s)
	}
	away := b.Texts(t, tab, "#roster-availability ul.away li")
	if len(away) != 1 || !strings.Contains(away[0], memberName) || !strings.Contains(away[0], "年休假") {
		t.Fatalf("roster away %q, want %s on 年休假", away, memberName)
	}
	if !hasSpan(away[0]) {
		t.Errorf("roster away %q: want the dates %s to %s", away[0], dayS, nextS)
	}
	closed := b.Texts(t, tab, "#roster-availability ul.closures li")
	if len(closed) != 1 || !strings.Contains(closed[0], "台风停航") {
		t.Fatalf("roster closures %q, want only the team's typhoon", closed)
	}
	if h := b.Texts(t, tab, "#roster-availability h2"); strings.Join(h, "|") != "停工|不在岗人员" {
		t.Errorf("roster headings %q", h)
	}
	if badge := b.Texts(t, tab, fmt.Sprintf(`ul.members li[data-inspector="%d"] .away-badge`, memberID)); len(badge) != 1 {
		t.Errorf("no away badge by %s on the members list: %q", memberName, badge)
	}
	b.Screenshot(t, tab, "availability-roster")
	// A day without either shows no such section.
	b.Open(t, tab, "/teams/"+team+"/rosters/"+day.AddDate(0, 0, -1).Format(time.DateOnly))
	if s := b.Texts(t, tab, "#roster-availability"); len(s) != 0 {
		t.Errorf("the day before shows %q", s)
	}
	b.Open(t, tab, "/teams/"+team+"/rosters/"+dayS+"?lang=en")
	if h := b.Texts(t, tab, "#roster-availability h2"); strings.Join(h, "|") != "Closed|Away" {
		t.Errorf("English roster headings %q", h)
	}
	if away := b.Texts(t, tab, "#roster-availability ul.away li"); len(away) != 1 || !strings.Contains(away[0], " to ") {
		t.Errorf("English roster away %q", away)
	}

	// The member's phone page, two days before: its leave and the closure.
	tok, _, err := b.st.CreateToken(ctx, "test", "away phone", domain.RoleInspector, strconv.FormatInt(memberID, 10))
	if err != nil {
		t.Fatal(err)
	}
	b.SetNow(day.AddDate(0, 0, -2).Add(9 * time.Hour))
	phone := b.Browser(t)
	b.LoginToken(t, phone, tok)
	b.Open(t, phone, "/inspect")
	mine := b.Texts(t, phone, "#door-availability ul.away li")
	if len(mine) != 1 || !strings.Contains(mine[0], "年休假") || !hasSpan(mine[0]) {
		t.Fatalf("phone page leave %q", mine)
	}
	if cl := b.Texts(t, phone, "#door-availability ul.closures li"); len(cl) != 1 || !strings.Contains(cl[0], "台风停航") {
		t.Fatalf("phone page closures %q, want the team's typhoon only", cl)
	}
	if h := b.Texts(t, phone, "#door-availability h3"); len(h) != 2 || !strings.Contains(h[0], "我的请假") {
		t.Errorf("phone page headings %q", h)
	}
	b.Screenshot(t, phone, "availability-phone")
	b.Open(t, phone, "/inspect?date="+day.AddDate(0, 0, 20).Format(time.DateOnly))
	if s := b.Texts(t, phone, "#door-availability"); len(s) != 0 {
		t.Errorf("three weeks later the phone page still shows %q", s)
	}
	b.Open(t, phone, "/inspect?lang=en")
	if h := b.Texts(t, phone, "#door-availability h3"); len(h) != 2 || !strings.HasPrefix(h[0], "My leave") {
		t.Errorf("English phone page headings %q", h)
	}

	// The plan dashboard: every leave and closure in the horizon.
	admin := b.Browser(t)
	b.Login(t, admin, domain.RoleAdmin)
	b.Open(t, admin, fmt.Sprintf("/plans/%d", b.Plan.ID))
	reasons := b.Texts(t, admin, "#availability td.reason")
	joined := strings.Join(reasons, "|")
	for _, want := range []string{"年休假", "台风停航", "渡轮检修"} {
		if !strings.Contains(joined, want) {
			t.Errorf("dashboard reasons %q lack %s", reasons, want)
		}
	}
	if who := b.Texts(t, admin, fmt.Sprintf(`#availability tr[data-inspector="%d"]`, memberID)); len(who) != 1 ||
		!strings.Contains(who[0], memberName) || !strings.Contains(who[0], nextS[:4]) {
		t.Errorf("dashboard row of %s: %q", memberName, who)
	}
}
