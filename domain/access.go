package domain

import "strconv"

// Role is what a token holder is to the county.
type Role string

// Roles, from DESIGN.md §1.
const (
	RoleAdmin      Role = "admin"
	RolePlanner    Role = "planner"
	RoleTeamLeader Role = "team_leader"
	RoleInspector  Role = "inspector"
	RoleBusiness   Role = "business"
	// RoleWitness is an independent party (the 司法局 supervising
	// enforcement) whose only act is to enter the value that fixes a plan's
	// draw after its frames were committed (docs/draws.md §3.8).
	RoleWitness Role = "witness"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RolePlanner, RoleTeamLeader, RoleInspector, RoleBusiness, RoleWitness}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Principal is the authenticated caller of a request.
type Principal struct {
	TokenID int64
	Name    string
	Role    Role
	// Scope is the department code (planner), team id (team_leader), inspector id
	// (inspector) or USCC (business); empty for admin.
	Scope string
	// DepartmentID is resolved from Scope for planners.
	DepartmentID int64
}

// Actor names the principal in the audit log.
func (p Principal) Actor() string {
	if p.Scope == "" {
		return string(p.Role) + "#" + strconv.FormatInt(p.TokenID, 10) + ":" + p.Name
	}
	return string(p.Role) + "(" + p.Scope + ")#" + strconv.FormatInt(p.TokenID, 10) + ":" + p.Name
}

// The scope rules below say whether a principal whose role may use an
// operation at all may use it on one object. The API and the pages answer an
// object outside the caller's scope "not found", as if it did not exist.

// ActsForBusiness reports whether p may act on business uscc's own things
// (schedule, calendar feed): an admin on any, a business on its own.
func (p Principal) ActsForBusiness(uscc string) bool {
	return p.Role == RoleAdmin || (p.Role == RoleBusiness && p.Scope == uscc)
}

// LeadsTeam reports whether p may act for team teamID (its rosters and
// calendar): an admin for any, a team leader for its own.
func (p Principal) LeadsTeam(teamID int64) bool {
	return p.Role == RoleAdmin || (p.Role == RoleTeamLeader && p.Scope == strconv.FormatInt(teamID, 10))
}

// ActsForInspector reports whether p may act for inspector inspectorID (its
// calendar): an admin for any, an inspector for itself.
func (p Principal) ActsForInspector(inspectorID int64) bool {
	return p.Role == RoleAdmin || (p.Role == RoleInspector && p.Scope == strconv.FormatInt(inspectorID, 10))
}

// InspectorID is the inspector an inspector's token stands for; 0 for any
// other role (or a scope that is not an id).
func (p Principal) InspectorID() int64 {
	if p.Role != RoleInspector {
		return 0
	}
	id, err := strconv.ParseInt(p.Scope, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// TeamID is the team a team leader's token stands for; 0 for any other role
// (or a scope that is not an id).
func (p Principal) TeamID() int64 {
	if p.Role != RoleTeamLeader {
		return 0
	}
	id, err := strconv.ParseInt(p.Scope, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}
