package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// Availability and closures (issue 17 part 1): an inspector's days away and
// the closure of a region or a team. The planner places nothing on them.

const (
	// maxAvailabilityReasonLen bounds the reason of an unavailability or a
	// closure (the CHECK of migrations/00015).
	maxAvailabilityReasonLen = 500
	// maxAvailabilityDays is the longest span, both days included.
	maxAvailabilityDays = 366
)

type unavailabilityRequest struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
}

type closureRequest struct {
	RegionID *int64 `json:"region_id"`
	TeamID   *int64 `json:"team_id"`
	From     string `json:"from"`
	To       string `json:"to"`
	Reason   string `json:"reason"`
}

// unavailabilityWriteRoles may write unavailability: an admin any
// inspector's, a team leader its own team's members'.
var unavailabilityWriteRoles = []domain.Role{domain.RoleAdmin, domain.RoleTeamLeader}

// span checks from, to and reason of a request: dates (bounded years), to
// not before from, at most maxAvailabilityDays days, and a reason.
func span(v *checker, from, to, reason string) (time.Time, time.Time) {
	var f, t time.Time
	var err error
	if from == "" {
		v.Add("from", "is required")
	} else if f, err = domain.ParseDate(from, time.UTC); err != nil {
		v.Add("from", "%v", err)
	}
	if to == "" {
		v.Add("to", "is required")
	} else if t, err = domain.ParseDate(to, time.UTC); err != nil {
		v.Add("to", "%v", err)
	}
	if !f.IsZero() && !t.IsZero() {
		switch days := int(t.Sub(f).Hours()/24) + 1; {
		case t.Before(f):
			v.Add("to", "must not be before from (%s), got %s", from, to)
		case days > maxAvailabilityDays:
			v.Add("to", "the span must be at most %d days, got %d", maxAvailabilityDays, days)
		}
	}
	v.longText("reason", reason, true, maxAvailabilityReasonLen)
	return f, t
}

// writableInspector resolves the inspector of an unavailability write: it
// must exist, and a team leader may write only its own team's members' (any
// other inspector is 404, as if it did not exist).
func (s *Server) writableInspector(c echo.Context, what string) (domain.Principal, int64, error) {
	p, err := allow(c, what, unavailabilityWriteRoles...)
	if err != nil {
		return p, 0, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return p, 0, err
	}
	in, err := s.store.GetInspector(c.Request().Context(), id)
	if err != nil {
		return p, 0, err
	}
	if !p.LeadsTeam(in.TeamID) {
		return p, 0, fmt.Errorf("inspector %d: %w", id, domain.ErrNotFound)
	}
	return p, id, nil
}

// createUnavailability is POST /api/v1/inspectors/{id}/unavailability.
func (s *Server) createUnavailability(c echo.Context) error {
	p, id, err := s.writableInspector(c, "record inspectors' unavailability")
	if err != nil {
		return err
	}
	var req unavailabilityRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	from, to := span(&v, req.From, req.To, req.Reason)
	if err := v.Err(); err != nil {
		return err
	}
	u, err := s.store.CreateUnavailability(c.Request().Context(), p.Actor(), id, from, to, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, u)
}

// listUnavailability is GET /api/v1/inspectors/{id}/unavailability.
func (s *Server) listUnavailability(c echo.Context) error {
	if _, err := allow(c, "read inspectors' unavailability", staffRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.store.GetInspector(ctx, id); err != nil {
		return err
	}
	q := query{c: c}
	f := store.UnavailabilityFilter{InspectorID: id}
	f.From, f.To = q.dateRange()
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.ListUnavailability(ctx, f, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

// deleteUnavailability is DELETE /api/v1/inspectors/{id}/unavailability/{uid}.
func (s *Server) deleteUnavailability(c echo.Context) error {
	p, id, err := s.writableInspector(c, "delete inspectors' unavailability")
	if err != nil {
		return err
	}
	uid, err := pathID(c, "uid")
	if err != nil {
		return err
	}
	if _, err := s.store.DeleteUnavailability(c.Request().Context(), p.Actor(), id, uid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// createClosure is POST /api/v1/closures (admins).
func (s *Server) createClosure(c echo.Context) error {
	p, err := allow(c, "close regions or teams", adminOnly...)
	if err != nil {
		return err
	}
	var req closureRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var v checker
	var regionID, teamID int64
	switch {
	case req.RegionID == nil && req.TeamID == nil:
		v.Add("region_id", "give exactly one of region_id and team_id")
	case req.RegionID != nil && req.TeamID != nil:
		v.Add("team_id", "give exactly one of region_id and team_id, not both")
	case req.RegionID != nil:
		if regionID = *req.RegionID; regionID <= 0 {
			v.Add("region_id", "must be a positive id")
		} else if err := s.missing(ctx, &v, "region_id", "regions", regionID); err != nil {
			return err
		}
	default:
		if teamID = *req.TeamID; teamID <= 0 {
			v.Add("team_id", "must be a positive id")
		} else if err := s.missing(ctx, &v, "team_id", "teams", teamID); err != nil {
			return err
		}
	}
	from, to := span(&v, req.From, req.To, req.Reason)
	if err := v.Err(); err != nil {
		return err
	}
	cl, err := s.store.CreateClosure(ctx, p.Actor(), regionID, teamID, from, to, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cl)
}

// listClosures is GET /api/v1/closures.
func (s *Server) listClosures(c echo.Context) error {
	return listOf(c, "read closures", func(q *query) store.ClosureFilter {
		f := store.ClosureFilter{RegionID: q.int64("region_id"), TeamID: q.int64("team_id")}
		f.From, f.To = q.dateRange()
		return f
	}, s.store.ListClosures)
}

// deleteClosure is DELETE /api/v1/closures/{id} (admins): the closure is
// lifted for plans made from now on.
func (s *Server) deleteClosure(c echo.Context) error {
	p, err := allow(c, "lift closures", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := s.store.DeleteClosure(c.Request().Context(), p.Actor(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// dateRange reads the optional from and to query dates of a list (those
// overlapping [from, to]); to must not be before from.
func (q *query) dateRange() (from, to time.Time) {
	read := func(name string) time.Time {
		s := q.c.QueryParam(name)
		if s == "" {
			return time.Time{}
		}
		d, err := domain.ParseDate(s, time.UTC)
		if err != nil {
			q.errs.Add(name, "%v", err)
		}
		return d
	}
	from, to = read("from"), read("to")
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		q.errs.Add("to", "must not be before from")
	}
	return from, to
}
