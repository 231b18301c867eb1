package csvimport

import (
	"context"
	"fmt"
	"io"
	"slices"

	"inspectonce/domain"
	"inspectonce/store"
)

// Kinds are the files an import takes, in the order the imports page offers
// them.
var Kinds = []string{store.ImportBusinesses, store.ImportInspectors, store.ImportUnavailability, store.ImportClosures}

// Runner is one kind of import as one principal may run it: the API
// (POST /api/v1/imports/{kind}) and the imports page both go through For, so
// that who may import what, and within which scope, is decided once.
type Runner struct {
	Kind   string
	Import func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error)
	DryRun func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (Report, error)
}

// Roles are the roles that may run an import of kind: an admin any kind, a
// team leader its own members' days away (as POST
// /inspectors/{id}/unavailability allows). Nil for an unknown kind.
func Roles(kind string) []domain.Role {
	switch kind {
	case store.ImportBusinesses, store.ImportInspectors, store.ImportClosures:
		return []domain.Role{domain.RoleAdmin}
	case store.ImportUnavailability:
		return []domain.Role{domain.RoleAdmin, domain.RoleTeamLeader}
	}
	return nil
}

// For returns the import of kind as p may run it: ErrNotFound for a kind
// there is none of, ErrForbidden for a role Roles does not list or a team
// leader without a team. A team leader's unavailability import sees only its
// own members (Scope).
func For(kind string, p domain.Principal) (Runner, error) {
	roles := Roles(kind)
	if roles == nil {
		return Runner{}, fmt.Errorf("import kind %q: %w", kind, domain.ErrNotFound)
	}
	if !slices.Contains(roles, p.Role) {
		return Runner{}, fmt.Errorf("role %s may not import %s: %w", p.Role, kind, domain.ErrForbidden)
	}
	switch kind {
	case store.ImportBusinesses:
		return Runner{Kind: kind, Import: Businesses, DryRun: DryRunBusinesses}, nil
	case store.ImportInspectors:
		return Runner{Kind: kind, Import: Inspectors, DryRun: DryRunInspectors}, nil
	case store.ImportClosures:
		return Runner{Kind: kind, Import: Closures, DryRun: DryRunClosures}, nil
	}
	scope := Scope{}
	if p.Role == domain.RoleTeamLeader {
		if scope.TeamID = p.TeamID(); scope.TeamID == 0 {
			return Runner{}, fmt.Errorf("team leader token without a team: %w", domain.ErrForbidden)
		}
	}
	return Runner{Kind: kind,
		Import: func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
			return Unavailability(ctx, st, actor, scope, r, opt)
		},
		DryRun: func(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (Report, error) {
			return DryRunUnavailability(ctx, st, actor, scope, r, opt)
		}}, nil
}
