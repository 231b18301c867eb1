package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestInspectorReadsOnlyTeamDaysItWorks: an inspector reads a team's roster
// of a day only when it is assigned to one of the visits the team leads that
// day (effective date, after moves); being a member of the team is not
// enough, and a leader reads its own team's any day.
func TestInspectorReadsOnlyTeamDaysItWorks(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	// Visits (scheduleFixture): 1 on 03-10 (inspectors 0 and the outsider),
	// 2 on 03-12 (1, 2), 3 on 03-10 (1, 2), 4 on 03-11 (2, 0).
	insp := func(id int64) domain.Principal {
		return domain.Principal{Role: domain.RoleInspector, Scope: fmt.Sprint(id)}
	}
	leader := domain.Principal{Role: domain.RoleTeamLeader, Scope: fmt.Sprint(f.team)}
	check := func(when string, cases []struct {
		who  domain.Principal
		day  string
		want bool
	}) {
		t.Helper()
		for _, c := range cases {
			got, err := st.MayReadRoster(ctx, c.who, f.team, day(c.day))
			if err != nil || got != c.want {
				t.Errorf("%s: %s %s reads team %d's roster of %s: %v %v, want %v", when, c.who.Role, c.who.Scope, f.team, c.day, got, err, c.want)
			}
		}
	}
	type cell = struct {
		who  domain.Principal
		day  string
		want bool
	}
	check("as planned", []cell{
		{insp(f.inspectors[0]), "2026-03-10", true},
		{insp(f.inspectors[0]), "2026-03-11", true},
		{insp(f.inspectors[0]), "2026-03-12", false}, // a member, not on visit 2
		{insp(f.inspectors[1]), "2026-03-11", false}, // a member, not on visit 4
		{insp(f.inspectors[1]), "2026-03-12", true},
		{insp(f.inspectors[1]), "2026-03-13", false}, // no visits at all
		{insp(f.outsider), "2026-03-10", true},       // another team's inspector on visit 1
		{insp(f.outsider), "2026-03-11", false},
		{leader, "2026-03-13", true},
		{domain.Principal{Role: domain.RoleTeamLeader, Scope: fmt.Sprint(f.otherTeam)}, "2026-03-10", false},
		{domain.Principal{Role: domain.RolePlanner, Scope: "SCJG", DepartmentID: f.deptA}, "2026-03-10", false},
	})
	// Visit 2 moves to 03-13: inspector 1 works 03-13 now, no longer 03-12.
	if _, err := st.MoveVisit(ctx, "admin", f.plan.ID, 2, day("2026-03-13"), "改期", store.MoveRules{Today: day("2026-03-09")}); err != nil {
		t.Fatal(err)
	}
	check("after the move", []cell{
		{insp(f.inspectors[1]), "2026-03-12", false},
		{insp(f.inspectors[1]), "2026-03-13", true},
	})
}

// TestContactScope: each role sees a business's contact name and phone only
// for businesses on its own work (published plans), in the list and the
// record alike; elsewhere they are withheld, null in JSON. The registry's own
// reads (no viewer) keep them.
func TestContactScope(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)
	for i, b := range f.biz {
		if err := st.ExecForTest(ctx, fmt.Sprintf(`UPDATE businesses SET contact_name = '联系人%d', contact_phone = '1380000000%d' WHERE uscc = '%s'`, i, i, b)); err != nil {
			t.Fatal(err)
		}
	}
	// A draft plan's visit to biz[2] by the team and inspector 0 is nobody's
	// work yet.
	draft, _ := createPlan(t, st, 2026, 0.125, "2026-03-02", "2026-03-27", nil)
	pl := f.plannerPlan()
	pl.Visits[0].USCC = f.biz[2]
	if err := st.SavePlanResult(ctx, draft.ID, pl); err != nil {
		t.Fatal(err)
	}
	// Department B names nobody in its demands and has tasks only at biz[0];
	// department A named all three businesses in its list demand.
	insp := func(id int64) domain.Principal {
		return domain.Principal{Role: domain.RoleInspector, Scope: fmt.Sprint(id)}
	}
	all := []bool{true, true, true}
	cases := []struct {
		name string
		who  domain.Principal
		want []bool // per f.biz: contact shown
	}{
		{"admin", domain.Principal{Role: domain.RoleAdmin}, all},
		{"inspector 0 (visits 1, 4 at biz 0)", insp(f.inspectors[0]), []bool{true, false, false}},
		{"inspector 1 (visits 2 at biz 0, 3 at biz 1)", insp(f.inspectors[1]), []bool{true, true, false}},
		{"outsider (visit 1 of another team)", insp(f.outsider), []bool{true, false, false}},
		{"inspector without a token scope", domain.Principal{Role: domain.RoleInspector, Scope: "x"}, []bool{false, false, false}},
		{"leader of the team", domain.Principal{Role: domain.RoleTeamLeader, Scope: fmt.Sprint(f.team)}, []bool{true, true, false}},
		{"leader of another team", domain.Principal{Role: domain.RoleTeamLeader, Scope: fmt.Sprint(f.otherTeam)}, []bool{false, false, false}},
		{"planner A (named all in a demand)", domain.Principal{Role: domain.RolePlanner, Scope: "SCJG", DepartmentID: f.deptA}, all},
		{"planner B (tasks at biz 0)", domain.Principal{Role: domain.RolePlanner, Scope: "XFJY", DepartmentID: f.deptB}, []bool{true, false, false}},
		{"business 1 (itself)", domain.Principal{Role: domain.RoleBusiness, Scope: f.biz[1]}, []bool{false, true, false}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			who := c.who
			page, err := st.ListBusinesses(ctx, store.BusinessFilter{Viewer: &who}, store.Page{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]domain.Business{}
			for _, b := range page.Items {
				listed[b.USCC] = b
			}
			if len(listed) != len(f.biz) {
				t.Fatalf("listed %d businesses, want all %d: contact scope must not filter the register", len(listed), len(f.biz))
			}
			for i, code := range f.biz {
				one, err := st.GetBusinessAs(ctx, who, code)
				if err != nil {
					t.Fatal(err)
				}
				for how, b := range map[string]domain.Business{"list": listed[code], "get": one} {
					shown := b.ContactName == fmt.Sprintf("联系人%d", i) && b.ContactPhone == fmt.Sprintf("1380000000%d", i) && !b.ContactWithheld
					hidden := b.ContactName == "" && b.ContactPhone == "" && b.ContactWithheld
					if c.want[i] && !shown || !c.want[i] && !hidden {
						t.Errorf("%s biz %d: contact %q %q withheld=%v, want shown=%v", how, i, b.ContactName, b.ContactPhone, b.ContactWithheld, c.want[i])
					}
					if b.Name == "" {
						t.Errorf("%s biz %d: no name", how, i)
					}
				}
			}
		})
	}
	// Withheld is null in JSON, shown is the string; the service's own reads
	// see everything.
	hidden, err := st.GetBusinessAs(ctx, insp(f.inspectors[0]), f.biz[2])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	raw, _ := json.Marshal(hidden)
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["contact_name"]; !ok || v != nil {
		t.Errorf("withheld contact_name in JSON: %s", raw)
	}
	if v, ok := m["contact_phone"]; !ok || v != nil {
		t.Errorf("withheld contact_phone in JSON: %s", raw)
	}
	if _, ok := m["contact_withheld"]; ok {
		t.Errorf("JSON carries the internal flag: %s", raw)
	}
	own, err := st.GetBusiness(ctx, f.biz[2])
	if err != nil || own.ContactPhone != "13800000002" || own.ContactWithheld {
		t.Errorf("unscoped read: %+v %v", own, err)
	}
	raw, _ = json.Marshal(own)
	if err := json.Unmarshal(raw, &m); err != nil || m["contact_phone"] != "13800000002" {
		t.Errorf("shown contact in JSON: %s", raw)
	}

	// The roster applies the same scope per stop: inspector 0 works visit 1
	// (biz 0) on 03-10 and reads the day's roster, whose other stop (visit 3,
	// biz 1) it sees without the contact. The leader sees both.
	r, err := st.Roster(ctx, insp(f.inspectors[0]), f.team, day("2026-03-10"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Visits) != 2 {
		t.Fatalf("roster of 03-10: %+v", r.Visits)
	}
	for _, v := range r.Visits {
		wantShown := v.Business.USCC == f.biz[0]
		if shown := v.Business.ContactPhone != "" && !v.Business.ContactWithheld; shown != wantShown {
			t.Errorf("inspector 0's roster, stop %s: contact %+v, want shown=%v", v.Business.USCC, v.Business, wantShown)
		}
		raw, _ := json.Marshal(v.Business)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if !wantShown && (m["contact_phone"] != nil || m["contact_name"] != nil) {
			t.Errorf("withheld roster contact in JSON: %s", raw)
		}
	}
	lr, err := st.Roster(ctx, domain.Principal{Role: domain.RoleTeamLeader, Scope: fmt.Sprint(f.team)}, f.team, day("2026-03-10"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range lr.Visits {
		if v.Business.ContactPhone == "" || v.Business.ContactWithheld {
			t.Errorf("leader's roster, stop %s: contact withheld", v.Business.USCC)
		}
	}
}
