package api

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestReadRosterDayMatchesParts: the roster route's one-batch read
// (store.ReadRosterDay) gives what its parts give one query at a time —
// Roster, ListAway and ClosuresAffecting — and refuses what MayReadRoster
// refuses, as not found.
func TestReadRosterDayMatchesParts(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	if _, err := v.st.CreateUnavailability(ctx, "test", v.inspector.ID, day("2026-12-07"), day("2026-12-09"), "年休假"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		region, team int64
		from, to     string
	}{{v.county.ID, 0, "2026-12-08", "2026-12-08"}, {v.grid.ID, 0, "2026-12-08", "2026-12-10"}, {0, v.team.ID, "2026-12-06", "2026-12-08"}} {
		if _, err := v.st.CreateClosure(ctx, "test", c.region, c.team, day(c.from), day(c.to), "原因"); err != nil {
			t.Fatal(err)
		}
	}
	leader := domain.Principal{Role: domain.RoleTeamLeader, Scope: strconv.FormatInt(v.team.ID, 10)}
	js := func(x any) string { b, _ := json.Marshal(x); return string(b) }
	for _, d := range []string{"2026-12-08", "2026-12-14"} {
		got, err := v.st.ReadRosterDay(ctx, leader, v.team.ID, day(d))
		if err != nil {
			t.Fatal(err)
		}
		roster, err1 := v.st.Roster(ctx, leader, v.team.ID, day(d))
		away, err2 := v.st.ListAway(ctx, store.AwayFilter{TeamID: v.team.ID, From: day(d), To: day(d)})
		closures, err3 := v.st.ClosuresAffecting(ctx, v.team.ID, day(d), day(d))
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if js(got.Roster) != js(roster) || js(got.Away) != js(away) || js(got.Closures) != js(closures) {
			t.Errorf("%s: one batch %s %s %s\nparts %s %s %s", d, js(got.Roster), js(got.Away), js(got.Closures),
				js(roster), js(away), js(closures))
		}
	}
	for _, p := range []domain.Principal{
		{Role: domain.RoleTeamLeader, Scope: strconv.FormatInt(v.team.ID+1000, 10)},
		{Role: domain.RoleInspector, Scope: strconv.FormatInt(v.inspector.ID, 10)},
		{Role: domain.RoleBusiness, Scope: "x"},
	} {
		if _, err := v.st.ReadRosterDay(ctx, p, v.team.ID, day("2026-12-08")); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("%s %s: %v, want not found", p.Role, p.Scope, err)
		}
	}
}
