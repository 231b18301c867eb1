package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// Repairs of the calendar (issue 17 part 2): each new unavailability or
// closure repairs the published visits it hits; coordinators follow the
// repairs and what they could not mend here.

// repairRoles read repairs: coordinators (admins), planners and team
// leaders, whose teams' visits they change.
var repairRoles = []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader}

// repairDetail is GET /api/v1/repairs/{id}: the repair with its progress
// and the inspectors it replaced.
type repairDetail struct {
	store.CalendarRepair
	Substitutions []store.VisitSubstitution `json:"substitutions"`
}

// listRepairs is GET /api/v1/repairs.
func (s *Server) listRepairs(c echo.Context) error {
	if _, err := allow(c, "read calendar repairs", repairRoles...); err != nil {
		return err
	}
	q := query{c: c}
	f := store.RepairFilter{Status: q.oneOf("status", store.RepairPending, store.RepairRunning, store.RepairDone),
		WithProblems: q.boolean("with_problems")}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.ListRepairs(c.Request().Context(), f, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

// getRepair is GET /api/v1/repairs/{id}.
func (s *Server) getRepair(c echo.Context) error {
	if _, err := allow(c, "read calendar repairs", repairRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	r, err := s.store.GetRepair(ctx, id)
	if err != nil {
		return err
	}
	subs, err := s.store.RepairSubstitutions(ctx, id)
	if err != nil {
		return err
	}
	if subs == nil {
		subs = []store.VisitSubstitution{}
	}
	return c.JSON(http.StatusOK, repairDetail{CalendarRepair: r, Substitutions: subs})
}

// listRepairProblems is GET /api/v1/repairs/{id}/problems; id 0 is not a
// repair, so GET /api/v1/repair-problems lists every repair's.
func (s *Server) listRepairProblems(c echo.Context) error {
	if _, err := allow(c, "read calendar repairs", repairRoles...); err != nil {
		return err
	}
	var id int64
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c, "id"); err != nil {
			return err
		}
		if _, err := s.store.GetRepair(c.Request().Context(), id); err != nil {
			return err
		}
	}
	q := query{c: c}
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.RepairProblems(c.Request().Context(), id, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

// verifyRepair is GET /api/v1/repairs/{id}/verify (admins): every
// replacement draw of the repair replayed from its seed.
func (s *Server) verifyRepair(c echo.Context) error {
	if _, err := allow(c, "verify repair draws", adminOnly...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := s.plans.VerifyRepair(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// restoreRepair is POST /api/v1/repairs/{id}/restore (admins): once a
// repair's cause is lifted, its moved visits go back to their days where
// they can (a repair of cause restore, run by the worker).
func (s *Server) restoreRepair(c echo.Context) error {
	p, err := allow(c, "undo repairs", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := s.store.OpenRestore(c.Request().Context(), p.Actor(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, r)
}
