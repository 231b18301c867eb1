package csvimport_test

import (
	"errors"
	"testing"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/store"
)

// TestForRoles: the API and the imports page share one rule of who may
// import what: an admin every kind, a team leader with a team only days
// away, nobody else anything; an unknown kind is not found.
func TestForRoles(t *testing.T) {
	admin := domain.Principal{Role: domain.RoleAdmin}
	leader := domain.Principal{Role: domain.RoleTeamLeader, Scope: "7"}
	noTeam := domain.Principal{Role: domain.RoleTeamLeader}
	planner := domain.Principal{Role: domain.RolePlanner, DepartmentID: 1}
	inspector := domain.Principal{Role: domain.RoleInspector, Scope: "3"}
	for _, c := range []struct {
		kind string
		p    domain.Principal
		want error
	}{
		{store.ImportBusinesses, admin, nil},
		{store.ImportInspectors, admin, nil},
		{store.ImportUnavailability, admin, nil},
		{store.ImportClosures, admin, nil},
		{store.ImportUnavailability, leader, nil},
		{store.ImportBusinesses, leader, domain.ErrForbidden},
		{store.ImportClosures, leader, domain.ErrForbidden},
		{store.ImportUnavailability, noTeam, domain.ErrForbidden},
		{store.ImportUnavailability, planner, domain.ErrForbidden},
		{store.ImportBusinesses, planner, domain.ErrForbidden},
		{store.ImportInspectors, inspector, domain.ErrForbidden},
		{"results", admin, domain.ErrNotFound},
		{"", admin, domain.ErrNotFound},
	} {
		run, err := csvimport.For(c.kind, c.p)
		if c.want == nil {
			if err != nil || run.Kind != c.kind || run.Import == nil || run.DryRun == nil {
				t.Errorf("%s by %s: %+v, %v", c.kind, c.p.Role, run, err)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s by %s: %v, want %v", c.kind, c.p.Role, err, c.want)
		}
	}
	for _, k := range csvimport.Kinds {
		if len(csvimport.Roles(k)) == 0 {
			t.Errorf("kind %s has no roles", k)
		}
	}
}
