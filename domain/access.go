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
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RolePlanner, RoleTeamLeader, RoleInspector, RoleBusiness}

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
