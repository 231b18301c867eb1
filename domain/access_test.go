package domain

import "testing"

func TestScopeRules(t *testing.T) {
	const uscc, other = "91330922LL6ML79RPP", "91330922MA2A0000X1"
	admin := Principal{Role: RoleAdmin}
	biz := Principal{Role: RoleBusiness, Scope: uscc}
	leader := Principal{Role: RoleTeamLeader, Scope: "7"}
	insp := Principal{Role: RoleInspector, Scope: "12"}
	planner := Principal{Role: RolePlanner, Scope: "7"}
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"admin, any business", admin.ActsForBusiness(other), true},
		{"business, its own", biz.ActsForBusiness(uscc), true},
		{"business, another", biz.ActsForBusiness(other), false},
		{"leader scoped like a business code", Principal{Role: RoleTeamLeader, Scope: uscc}.ActsForBusiness(uscc), false},
		{"admin, any team", admin.LeadsTeam(3), true},
		{"leader, its team", leader.LeadsTeam(7), true},
		{"leader, another team", leader.LeadsTeam(8), false},
		{"planner whose department scope reads 7", planner.LeadsTeam(7), false},
		{"inspector whose scope reads 7 is no leader", Principal{Role: RoleInspector, Scope: "7"}.LeadsTeam(7), false},
		{"admin, any inspector", admin.ActsForInspector(5), true},
		{"inspector, itself", insp.ActsForInspector(12), true},
		{"inspector, another", insp.ActsForInspector(13), false},
		{"leader whose scope reads 12", Principal{Role: RoleTeamLeader, Scope: "12"}.ActsForInspector(12), false},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	for _, tc := range []struct {
		p    Principal
		want int64
	}{
		{insp, 12}, {leader, 0}, {admin, 0}, {Principal{Role: RoleInspector, Scope: "x"}, 0}, {Principal{Role: RoleInspector, Scope: "-3"}, 0},
	} {
		if got := tc.p.InspectorID(); got != tc.want {
			t.Errorf("InspectorID of %+v: %d, want %d", tc.p, got, tc.want)
		}
	}
}
