package api

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// Issue 17: a roster names the team's members away that day and the closures
// touching the team's work that day (its own, of its township, of the
// county above, of a grid below), not another team's or another day's.
func TestRosterAwayAndClosures(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	other := domain.Team{Code: "ZY", Name: "专业执法队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480}
	if err := v.st.CreateTeam(ctx, "test", &other); err != nil {
		t.Fatal(err)
	}
	if _, err := v.st.CreateUnavailability(ctx, "test", v.inspector.ID, day("2026-12-07"), day("2026-12-09"), "年休假"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		region, team int64
		from, to     string
		reason       string
	}{
		{v.county.ID, 0, "2026-12-08", "2026-12-08", "台风停航"},
		{v.grid.ID, 0, "2026-12-08", "2026-12-10", "道路抢修"},
		{0, v.team.ID, "2026-12-06", "2026-12-08", "节日值班"},
		{0, other.ID, "2026-12-08", "2026-12-08", "别队培训"},
		{v.town.ID, 0, "2026-12-09", "2026-12-09", "另一天"},
	} {
		if _, err := v.st.CreateClosure(ctx, "test", c.region, c.team, day(c.from), day(c.to), c.reason); err != nil {
			t.Fatal(err)
		}
	}
	r := v.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/2026-12-08", v.team.ID), nil)
	expect(t, r, 200, "roster")
	var got struct {
		Away     []store.Away        `json:"away"`
		Closures []store.ClosureNote `json:"closures"`
	}
	r.json(t, &got)
	if len(got.Away) != 1 || got.Away[0].InspectorName != "王芳" || got.Away[0].Reason != "年休假" ||
		got.Away[0].From != "2026-12-07" || got.Away[0].To != "2026-12-09" {
		t.Fatalf("away %+v", got.Away)
	}
	var reasons []string
	for _, c := range got.Closures {
		reasons = append(reasons, c.Name+":"+c.Reason)
	}
	want := []string{"综合行政执法队:节日值班", "嵊泗县:台风停航", "一网格:道路抢修"}
	if fmt.Sprint(reasons) != fmt.Sprint(want) {
		t.Fatalf("closures %v, want %v", reasons, want)
	}
	// A day with neither: empty lists, not null.
	r = v.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/2026-12-14", v.team.ID), nil)
	expect(t, r, 200, "quiet day")
	if !strings.Contains(string(r.Body), `"away":[]`) || !strings.Contains(string(r.Body), `"closures":[]`) {
		t.Fatalf("quiet day: %s", r.Body)
	}
}
