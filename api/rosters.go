package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/web"
)

// rosterRoles may read a team's roster: an admin any team's, a team leader its
// own team's, an inspector only a team-day it works (store.MayReadRoster).
var rosterRoles = []domain.Role{domain.RoleAdmin, domain.RoleTeamLeader, domain.RoleInspector}

// getRoster answers GET /api/v1/teams/{id}/rosters/{date}: the visits the team
// leads that day in published plans, in route order, with checklists and
// people. A team-day outside the caller's scope is 404, as if it did not
// exist; contact details of businesses outside the caller's work are null.
func (s *Server) getRoster(c echo.Context) error {
	p, err := allow(c, "read team rosters", rosterRoles...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var v checker
	date := planDate(&v, "date", c.Param("date"))
	if err := v.Err(); err != nil {
		return err
	}
	xlsx, err := wantsXLSX(c)
	if err != nil {
		return err
	}
	// Access, roster, days away and closures: one round trip.
	day, err := s.store.ReadRosterDay(c.Request().Context(), p, id, date)
	if err != nil {
		return err
	}
	roster := day.Roster
	if xlsx {
		return s.rosterXLSX(c, roster)
	}
	for i := range roster.Visits {
		roster.Visits[i].CodeURL = web.CodeURL(s.cfg.HTTP.PublicBaseURL, roster.Visits[i].Code)
	}
	resp := rosterResponse{Roster: roster, Away: day.Away, Closures: day.Closures}
	if prettyJSON(c) {
		return c.JSON(http.StatusOK, resp)
	}
	b, err := resp.appendJSON(make([]byte, 0, 8<<10))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.JSONBlob(http.StatusOK, b)
}

// appendJSON appends r as c.JSON writes it, newline included, the roster
// written by hand (store.Roster.AppendJSON; TestRosterResponseJSON).
func (r *rosterResponse) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	dst, err := r.Roster.AppendJSON(dst)
	if err != nil {
		return nil, err
	}
	dst = append(dst, `,"away":`...)
	if dst, err = appendMarshaled(dst, r.Away, len(r.Away)); err != nil {
		return nil, err
	}
	dst = append(dst, `,"closures":`...)
	if dst, err = appendMarshaled(dst, r.Closures, len(r.Closures)); err != nil {
		return nil, err
	}
	return append(dst, "}\n"...), nil
}

// appendMarshaled appends list's JSON: [] at once when empty (not nil), else
// through encoding/json.
func appendMarshaled(dst []byte, list any, n int) ([]byte, error) {
	if n == 0 && !reflect.ValueOf(list).IsNil() {
		return append(dst, "[]"...), nil
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// rosterResponse is a roster with who of the team is away that day and the
// closures touching the team's work that day (issue 17), so that a leader
// sees why the day is light.
type rosterResponse struct {
	store.Roster
	Away     []store.Away        `json:"away"`
	Closures []store.ClosureNote `json:"closures"`
}
