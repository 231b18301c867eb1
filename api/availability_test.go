package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// availFields are the fields a 422 names.
func availFields(t *testing.T, r resp) []string {
	t.Helper()
	expect(t, r, 422, "validation")
	var out []string
	for _, f := range r.problem(t).Errors {
		out = append(out, f.Field)
	}
	return out
}

// Issue 17 part 1: unavailability and closures through the API, with
// validation, roles (a leader writes only its own members', a planner
// reads but does not write) and an audit row for every write.
func TestAvailabilityAPI(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	other := domain.Team{Code: "ZY", Name: "专业执法队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480, RegionIDs: []int64{v.town.ID}}
	if err := v.st.CreateTeam(ctx, "test", &other); err != nil {
		t.Fatal(err)
	}
	outsider := domain.Inspector{Code: "ZY-0001", Name: "李强", TeamID: other.ID, Domains: []string{"food_safety"}}
	if err := v.st.CreateInspector(ctx, "test", &outsider); err != nil {
		t.Fatal(err)
	}
	tok, _, err := v.st.CreateToken(ctx, "test", "other_leader", domain.RoleTeamLeader, fmt.Sprint(other.ID))
	if err != nil {
		t.Fatal(err)
	}
	v.tokens["other_leader"] = tok

	own := fmt.Sprintf("/api/v1/inspectors/%d/unavailability", v.inspector.ID)
	theirs := fmt.Sprintf("/api/v1/inspectors/%d/unavailability", outsider.ID)
	leave := map[string]any{"from": "2026-12-01", "to": "2026-12-03", "reason": "年休假"}

	// Validation: field-level 422s.
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"to": "2026-12-03", "reason": "x"}, "from"},
		{map[string]any{"from": "2026-12-03", "to": "2026-12-01", "reason": "x"}, "to"},
		{map[string]any{"from": "2026-13-01", "to": "2026-12-03", "reason": "x"}, "from"},
		{map[string]any{"from": "1899-12-01", "to": "1899-12-03", "reason": "x"}, "from"},
		{map[string]any{"from": "2026-01-01", "to": "2027-01-02", "reason": "x"}, "to"},
		{map[string]any{"from": "2026-12-01", "to": "2026-12-03", "reason": "   "}, "reason"},
		{map[string]any{"from": "2026-12-01", "to": "2026-12-03", "reason": strings.Repeat("假", 501)}, "reason"},
		{map[string]any{"from": "2026-12-01", "to": "2026-12-03"}, "reason"},
	} {
		if got := availFields(t, v.do("admin", "POST", own, c.body)); !slices.Contains(got, c.want) {
			t.Errorf("%v: fields %v, want %s", c.body, got, c.want)
		}
	}
	expect(t, v.do("admin", "POST", "/api/v1/inspectors/999999/unavailability", leave), 404, "unknown inspector")

	// Roles: the leader of the inspector's team writes, another team's leader
	// gets 404, a planner or an inspector 403.
	expect(t, v.do("planner", "POST", own, leave), 403, "planner writes leave")
	expect(t, v.do("inspector", "POST", own, leave), 403, "inspector writes leave")
	expect(t, v.do("other_leader", "POST", own, leave), 404, "another team's leader writes leave")
	r := v.do("team_leader", "POST", own, leave)
	expect(t, r, 201, "leader writes its member's leave")
	var u store.Unavailability
	r.json(t, &u)
	if u.InspectorID != v.inspector.ID || u.From != "2026-12-01" || u.To != "2026-12-03" || u.Reason != "年休假" || u.TeamID != v.team.ID {
		t.Fatalf("stored %+v", u)
	}
	r = v.do("admin", "POST", theirs, map[string]any{"from": "2026-12-02", "to": "2026-12-02", "reason": "培训"})
	expect(t, r, 201, "admin writes any inspector's leave")
	var u2 store.Unavailability
	r.json(t, &u2)

	// Reads: staff roles; date filters overlap.
	for _, who := range []string{"admin", "planner", "team_leader", "inspector", "other_leader"} {
		r := v.do(who, "GET", own, nil)
		expect(t, r, 200, who+" reads leave")
		var l listResponse[store.Unavailability]
		r.json(t, &l)
		if len(l.Items) != 1 || l.Items[0].ID != u.ID {
			t.Fatalf("%s reads %+v", who, l.Items)
		}
	}
	expect(t, v.do("business", "GET", own, nil), 403, "business reads leave")
	var l listResponse[store.Unavailability]
	r = v.do("admin", "GET", own+"?from=2026-12-04", nil)
	expect(t, r, 200, "after")
	if r.json(t, &l); len(l.Items) != 0 {
		t.Fatalf("leave ending 12-03 overlaps from=12-04: %+v", l.Items)
	}
	r = v.do("admin", "GET", own+"?from=2026-12-03&to=2026-12-10", nil)
	expect(t, r, 200, "overlap")
	if r.json(t, &l); len(l.Items) != 1 {
		t.Fatalf("leave to 12-03 must overlap 12-03..12-10: %+v", l.Items)
	}
	if got := availFields(t, v.do("admin", "GET", own+"?from=2026-12-10&to=2026-12-01", nil)); !slices.Contains(got, "to") {
		t.Fatalf("to before from: %v", got)
	}

	// Deletes: another team's leader 404, another inspector's id 404.
	expect(t, v.do("other_leader", "DELETE", fmt.Sprintf("%s/%d", own, u.ID), nil), 404, "other leader deletes")
	expect(t, v.do("planner", "DELETE", fmt.Sprintf("%s/%d", own, u.ID), nil), 403, "planner deletes")
	expect(t, v.do("admin", "DELETE", fmt.Sprintf("%s/%d", own, u2.ID), nil), 404, "another inspector's leave by this path")
	expect(t, v.do("team_leader", "DELETE", fmt.Sprintf("%s/%d", theirs, u2.ID), nil), 404, "leader deletes another team's")
	expect(t, v.do("team_leader", "DELETE", fmt.Sprintf("%s/%d", own, u.ID), nil), 204, "leader deletes its member's")
	expect(t, v.do("team_leader", "DELETE", fmt.Sprintf("%s/%d", own, u.ID), nil), 404, "deleted twice")

	// Closures: admins only; exactly one of region and team; ids exist.
	typhoon := map[string]any{"region_id": v.town.ID, "from": "2026-12-01", "to": "2026-12-02", "reason": "台风停航"}
	for _, c := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"from": "2026-12-01", "to": "2026-12-02", "reason": "x"}, "region_id"},
		{map[string]any{"region_id": v.town.ID, "team_id": v.team.ID, "from": "2026-12-01", "to": "2026-12-02", "reason": "x"}, "team_id"},
		{map[string]any{"region_id": 999999, "from": "2026-12-01", "to": "2026-12-02", "reason": "x"}, "region_id"},
		{map[string]any{"team_id": 999999, "from": "2026-12-01", "to": "2026-12-02", "reason": "x"}, "team_id"},
		{map[string]any{"team_id": v.team.ID, "from": "2026-12-02", "to": "2026-12-01", "reason": "x"}, "to"},
		{map[string]any{"team_id": v.team.ID, "from": "2026-12-01", "to": "2026-12-02", "reason": ""}, "reason"},
	} {
		if got := availFields(t, v.do("admin", "POST", "/api/v1/closures", c.body)); !slices.Contains(got, c.want) {
			t.Errorf("%v: fields %v, want %s", c.body, got, c.want)
		}
	}
	expect(t, v.do("planner", "POST", "/api/v1/closures", typhoon), 403, "planner closes")
	expect(t, v.do("team_leader", "POST", "/api/v1/closures", typhoon), 403, "leader closes")
	r = v.do("admin", "POST", "/api/v1/closures", typhoon)
	expect(t, r, 201, "admin closes a township")
	var cl store.Closure
	r.json(t, &cl)
	if cl.RegionID == nil || *cl.RegionID != v.town.ID || cl.TeamID != nil || cl.Reason != "台风停航" {
		t.Fatalf("closure %+v", cl)
	}
	r = v.do("admin", "POST", "/api/v1/closures", map[string]any{"team_id": other.ID, "from": "2026-12-05", "to": "2026-12-05", "reason": "节日值班"})
	expect(t, r, 201, "admin closes a team")
	var cl2 store.Closure
	r.json(t, &cl2)
	var cls listResponse[store.Closure]
	r = v.do("planner", "GET", fmt.Sprintf("/api/v1/closures?region_id=%d", v.town.ID), nil)
	expect(t, r, 200, "planner reads closures")
	if r.json(t, &cls); len(cls.Items) != 1 || cls.Items[0].ID != cl.ID {
		t.Fatalf("closures of the township: %+v", cls.Items)
	}
	r = v.do("inspector", "GET", "/api/v1/closures?from=2026-12-03", nil)
	expect(t, r, 200, "inspector reads closures")
	if r.json(t, &cls); len(cls.Items) != 1 || cls.Items[0].ID != cl2.ID {
		t.Fatalf("closures from 12-03: %+v", cls.Items)
	}
	expect(t, v.do("business", "GET", "/api/v1/closures", nil), 403, "business reads closures")
	expect(t, v.do("planner", "DELETE", fmt.Sprintf("/api/v1/closures/%d", cl2.ID), nil), 403, "planner lifts")
	expect(t, v.do("admin", "DELETE", fmt.Sprintf("/api/v1/closures/%d", cl2.ID), nil), 204, "admin lifts")
	expect(t, v.do("admin", "DELETE", fmt.Sprintf("/api/v1/closures/%d", cl2.ID), nil), 404, "lifted twice")

	// Every write is in the audit log with its reason.
	entries, err := v.st.ListAudit(ctx, 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "unavailability.") || strings.HasPrefix(e.Action, "closure.") {
			count[e.Action]++
			if !strings.Contains(e.Detail, "reason") {
				t.Errorf("audit %s without the reason: %s", e.Action, e.Detail)
			}
		}
	}
	want := map[string]int{"unavailability.create": 2, "unavailability.delete": 1, "closure.create": 2, "closure.delete": 1}
	for a, n := range want {
		if count[a] != n {
			t.Errorf("audit %s: %d rows, want %d (all: %v)", a, count[a], n, count)
		}
	}
	var typhoonAudit bool
	for _, e := range entries {
		if e.Action == "closure.create" && strings.Contains(e.Detail, "台风停航") {
			typhoonAudit = true
		}
	}
	if !typhoonAudit {
		t.Error("the closure's reason is not in its audit row")
	}
}
