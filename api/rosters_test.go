package api

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

func TestTeamRoster(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	v.planCounty()
	// Items carry their legal basis onto the checklist.
	v.itemA.LegalBasis = "《食品安全法》第五十四条"
	v.itemB.LegalBasis = "《消防法》第十六条"
	for _, it := range []*domain.Item{&v.itemA, &v.itemB} {
		if err := v.st.UpdateItem(ctx, "test", it); err != nil {
			t.Fatal(err)
		}
	}
	// Another team with its leader and an inspector of its own.
	other := domain.Team{Code: "ZY", Name: "专业执法队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480, RegionIDs: []int64{v.town.ID}}
	if err := v.st.CreateTeam(ctx, "test", &other); err != nil {
		t.Fatal(err)
	}
	outsider := domain.Inspector{Code: "ZY-0001", Name: "李强", TeamID: other.ID, Domains: []string{"food_safety"}}
	if err := v.st.CreateInspector(ctx, "test", &outsider); err != nil {
		t.Fatal(err)
	}
	for key, tok := range map[string]struct {
		role  domain.Role
		scope string
	}{
		"other_leader":    {domain.RoleTeamLeader, fmt.Sprint(other.ID)},
		"other_inspector": {domain.RoleInspector, fmt.Sprint(outsider.ID)},
	} {
		s, _, err := v.st.CreateToken(ctx, "test", key, tok.role, tok.scope)
		if err != nil {
			t.Fatal(err)
		}
		v.tokens[key] = s
	}

	v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)
	v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	p := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	if p.Status != store.PlanDraft {
		t.Fatalf("plan: %+v", p)
	}
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits", p.ID), nil)
	expect(t, r, 200, "plan visits")
	var planned listResponse[store.PlanVisit]
	r.json(t, &planned)
	var joint store.PlanVisit
	for _, pv := range planned.Items {
		if pv.USCC == v.bizA.USCC {
			joint = pv
		}
	}
	if joint.Seq == 0 {
		t.Fatalf("no visit to %s in %+v", v.bizA.USCC, planned.Items)
	}
	path := fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, joint.Date)
	roster := func(who string) store.Roster {
		t.Helper()
		r := v.do(who, "GET", path, nil)
		expect(t, r, 200, "roster as "+who)
		var out store.Roster
		r.json(t, &out)
		return out
	}

	// A draft plan is nobody's roster yet.
	if got := roster("team_leader"); len(got.Visits) != 0 || got.Totals != nil {
		t.Fatalf("roster of a draft plan: %+v", got)
	}
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil), 200, "publish")

	got := roster("team_leader")
	if got.Team.ID != v.team.ID || got.Team.Code != v.team.Code || got.Date != joint.Date || got.Totals == nil {
		t.Fatalf("roster head: %+v", got)
	}
	var want []store.PlanVisit
	for _, pv := range planned.Items {
		if pv.Date == joint.Date {
			want = append(want, pv)
		}
	}
	if len(got.Visits) != len(want) {
		t.Fatalf("roster has %d visits, the plan %d that day", len(got.Visits), len(want))
	}
	if !slices.IsSortedFunc(got.Visits, func(a, b store.RosterVisit) int { return a.RouteOrder - b.RouteOrder }) {
		t.Errorf("visits not in route order: %+v", got.Visits)
	}
	var seen bool
	for _, rv := range got.Visits {
		if rv.PlanID != p.ID || rv.Business.Name == "" || rv.Business.Lat == 0 || rv.Business.Lng == 0 {
			t.Errorf("visit %+v", rv)
		}
		if rv.Business.USCC != v.bizA.USCC {
			continue
		}
		seen = true
		v.expectCode(t, p.ID, rv.VisitSeq, rv.Code, rv.CodeURL)
		if rv.VisitSeq != joint.Seq || rv.RouteOrder != joint.RouteOrder || rv.DurationMinutes != joint.DurationMinutes {
			t.Errorf("joint visit %+v, plan says %+v", rv, joint)
		}
		bases := map[int64]string{}
		for _, it := range rv.Items {
			if it.Checked || it.DepartmentCode == "" || it.Minutes == 0 {
				t.Errorf("checklist item %+v", it)
			}
			bases[it.ID] = it.LegalBasis
		}
		if len(rv.Items) != 2 || bases[v.itemA.ID] != v.itemA.LegalBasis || bases[v.itemB.ID] != v.itemB.LegalBasis {
			t.Errorf("checklist %+v", rv.Items)
		}
		if len(rv.Inspectors) < 2 || rv.Inspectors[0].Role != "lead" || rv.Inspectors[1].Role != "member" || rv.Inspectors[0].Name == "" {
			t.Errorf("inspectors %+v", rv.Inspectors)
		}
		if len(rv.Inspectors) != len(joint.Inspectors) {
			t.Errorf("roster has %d inspectors, the plan %d", len(rv.Inspectors), len(joint.Inspectors))
		}
		for i, in := range rv.Inspectors {
			if i < len(joint.Inspectors) && in.ID != joint.Inspectors[i].InspectorID {
				t.Errorf("inspector %d is %d, the plan says %d", i, in.ID, joint.Inspectors[i].InspectorID)
			}
		}
	}
	if !seen {
		t.Fatalf("the joint visit is not on the roster: %+v", got.Visits)
	}
	if a := roster("admin"); len(a.Visits) != len(got.Visits) {
		t.Errorf("admin sees %d visits, the leader %d", len(a.Visits), len(got.Visits))
	}
	// An inspector of the joint visit works the day and reads the whole
	// roster; a member of the team does not, unless it works a visit that day.
	s, _, err := v.st.CreateToken(ctx, "test", "joint_inspector", domain.RoleInspector, fmt.Sprint(joint.Inspectors[0].InspectorID))
	if err != nil {
		t.Fatal(err)
	}
	v.tokens["joint_inspector"] = s
	if in := roster("joint_inspector"); len(in.Visits) != len(got.Visits) {
		t.Errorf("an inspector of the day sees %d visits, the leader %d", len(in.Visits), len(got.Visits))
	}
	works := false
	for _, pv := range want {
		for _, a := range pv.Inspectors {
			works = works || a.InspectorID == v.inspector.ID
		}
	}
	if works {
		roster("inspector")
	} else {
		expect(t, v.do("inspector", "GET", path, nil), 404, "a member of the team on a day it does not work")
	}

	// Out of scope: 404; roles without rosters: 403.
	expect(t, v.do("other_leader", "GET", path, nil), 404, "another team's leader")
	expect(t, v.do("other_inspector", "GET", path, nil), 404, "an inspector of another team")
	expect(t, v.do("planner", "GET", path, nil), 403, "planner")
	expect(t, v.do("business", "GET", path, nil), 403, "business")
	expect(t, v.do("", "GET", path, nil), 401, "anonymous")
	expect(t, v.do("admin", "GET", "/api/v1/teams/999999/rosters/"+joint.Date, nil), 404, "unknown team")
	// The other team's own (empty) roster is its leader's to read.
	expect(t, v.do("other_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", other.ID, joint.Date), nil), 200, "own team")

	// A bad date is 422 naming it.
	for _, bad := range []string{"2026-13-01", "tomorrow", "20261130"} {
		r := v.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, bad), nil)
		expect(t, r, 422, "date "+bad)
		if f := fieldsOf(t, r); !slices.Equal(f, []string{"date"}) {
			t.Errorf("date %s: fields %v", bad, f)
		}
	}

	// A day without visits (a Sunday in the horizon): 200, empty.
	r = v.do("team_leader", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/2026-12-06", v.team.ID), nil)
	expect(t, r, 200, "empty day")
	var empty store.Roster
	r.json(t, &empty)
	if len(empty.Visits) != 0 || empty.Visits == nil || empty.Date != "2026-12-06" || empty.Totals != nil {
		t.Errorf("empty day: %s", r.Body)
	}
}
