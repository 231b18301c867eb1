package api

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"inspectonce/store"
)

func TestMoveVisitThroughAPI(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	path := fmt.Sprintf("/api/v1/plans/%d/visits/%d/move", f.plan.ID, f.joint.Seq)
	f.clock.set(midnight(f.joint.Date, -3))
	url := f.rotate("business", "/api/v1/businesses/"+v.bizA.USCC+"/feed")
	_, before := f.feed(url)
	if len(before) != 1 || before[0].Sequence != 0 {
		t.Fatalf("feed before the move: %+v", before)
	}

	// A draft plan, to be refused.
	draft := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	today := midnight(f.joint.Date, -3).Format(time.DateOnly)
	for _, c := range []struct {
		name   string
		who    string
		path   string
		body   any
		status int
		field  string
	}{
		{"a date that is not one", "admin", path, map[string]string{"date": "2026-13-01", "reason": "台风"}, 422, "date"},
		{"no date", "admin", path, map[string]string{"reason": "台风"}, 422, "date"},
		{"a Sunday", "admin", path, map[string]string{"date": "2026-12-13", "reason": "台风"}, 422, "date"},
		{"a holiday", "admin", path, map[string]string{"date": "2027-01-01", "reason": "台风"}, 422, "date"},
		{"before today", "admin", path, map[string]string{"date": "2026-11-20", "reason": "台风"}, 422, "date"},
		{"the visit's own date", "admin", path, map[string]string{"date": f.joint.Date, "reason": "台风"}, 422, "date"},
		{"no reason", "admin", path, map[string]string{"date": "2026-12-16"}, 422, "reason"},
		{"a blank reason", "admin", path, map[string]string{"date": "2026-12-16", "reason": "  "}, 422, "reason"},
		{"an unknown field", "admin", path, map[string]string{"date": "2026-12-16", "reason": "x", "team": "1"}, 422, "team"},
		{"a draft plan", "admin", fmt.Sprintf("/api/v1/plans/%d/visits/1/move", draft.ID),
			map[string]string{"date": "2026-12-16", "reason": "台风"}, 422, "id"},
		{"an unknown plan", "admin", "/api/v1/plans/999999/visits/1/move", map[string]string{"date": "2026-12-16", "reason": "x"}, 404, ""},
		{"an unknown visit", "admin", fmt.Sprintf("/api/v1/plans/%d/visits/999/move", f.plan.ID),
			map[string]string{"date": "2026-12-16", "reason": "x"}, 404, ""},
		{"a visit number too large", "admin", fmt.Sprintf("/api/v1/plans/%d/visits/99999999999/move", f.plan.ID),
			map[string]string{"date": "2026-12-16", "reason": "x"}, 404, ""},
		{"a planner", "planner", path, map[string]string{"date": "2026-12-16", "reason": "x"}, 403, ""},
		{"a team leader", "team_leader", path, map[string]string{"date": "2026-12-16", "reason": "x"}, 403, ""},
		{"the business", "business", path, map[string]string{"date": "2026-12-16", "reason": "x"}, 403, ""},
		{"anonymous", "", path, map[string]string{"date": "2026-12-16", "reason": "x"}, 401, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.who, "POST", c.path, c.body)
			expect(t, r, c.status, c.name)
			if c.field != "" {
				if got := fieldsOf(t, r); !slices.Equal(got, []string{c.field}) {
					t.Errorf("fields %v, want [%s] (today %s)", got, c.field, today)
				}
			}
		})
	}

	// Move the joint visit to Wednesday 2026-12-16.
	r := f.do("admin", "POST", path, map[string]string{"date": "2026-12-16", "reason": "企业停业装修"})
	expect(t, r, 200, "move")
	var m store.VisitMove
	r.json(t, &m)
	if m.PlanID != f.plan.ID || m.VisitSeq != f.joint.Seq || m.Revision != 1 || m.FromDate != f.joint.Date ||
		m.ToDate != "2026-12-16" || m.OriginalDate != f.joint.Date || m.Reason != "企业停业装修" || m.MovedBy == "" {
		t.Fatalf("move %+v", m)
	}

	// The feed: the same UID, the new day, SEQUENCE 1.
	_, after := f.feed(url)
	if len(after) != 1 || after[0].UID != before[0].UID || after[0].Sequence != 1 ||
		!after[0].Start.Equal(midnight("2026-12-16", 0).Add(9*time.Hour)) {
		t.Fatalf("feed after the move: %+v (before %+v)", after, before)
	}
	// The schedule shows the new date and the plan's.
	s := f.schedule("business", v.bizA.USCC)
	if len(s.Visits) != 1 || s.Visits[0].Date != "2026-12-16" || s.Visits[0].OriginalDate != f.joint.Date || s.Visits[0].Revision != 1 {
		t.Fatalf("schedule after the move: %+v", s.Visits)
	}
	// The roster moves with it.
	roster := func(day string) store.Roster {
		t.Helper()
		r := f.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, day), nil)
		expect(t, r, 200, "roster of "+day)
		var out store.Roster
		r.json(t, &out)
		return out
	}
	for _, rv := range roster(f.joint.Date).Visits {
		if rv.VisitSeq == f.joint.Seq {
			t.Errorf("the moved visit is still on its old day's roster")
		}
	}
	if moved := roster("2026-12-16"); len(moved.Visits) != 1 || moved.Visits[0].VisitSeq != f.joint.Seq ||
		moved.Visits[0].OriginalDate != f.joint.Date || moved.Visits[0].Revision != 1 {
		t.Fatalf("roster of the new day: %+v", moved.Visits)
	}

	// Once the visit's day is past it cannot be moved.
	f.clock.set(midnight("2026-12-17", 0))
	r = f.do("admin", "POST", path, map[string]string{"date": "2026-12-21", "reason": "补查"})
	expect(t, r, 409, "moving a past visit")
}
