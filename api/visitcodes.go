package api

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/web"
)

// visitCodeAnswer is a visit's current code with its page and QR image.
type visitCodeAnswer struct {
	store.VisitCodeInfo
	// URL is the public page the QR code opens (<public base URL>/v/<code>).
	URL string `json:"url"`
	// QR is the path of the QR image (PNG) of URL.
	QR string `json:"qr"`
}

func (s *Server) codeAnswer(c store.VisitCodeInfo) visitCodeAnswer {
	return visitCodeAnswer{VisitCodeInfo: c, URL: web.CodeURL(s.cfg.HTTP.PublicBaseURL, c.Code), QR: "/v/" + c.Code + "/qr.png"}
}

// visitPath reads {id} and {seq}; a seq beyond the database's integers is not
// found, as an unknown visit is.
func visitPath(c echo.Context) (int64, int, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, 0, err
	}
	seq, err := pathID(c, "seq")
	if err != nil {
		return 0, 0, err
	}
	if seq > math.MaxInt32 {
		return 0, 0, fmt.Errorf("visit %d of plan %d: %w", seq, id, domain.ErrNotFound)
	}
	return id, int(seq), nil
}

// getVisitCode is GET /api/v1/plans/{id}/visits/{seq}/code: the current code
// (行政行为码) of a visit of a published plan, for the staff who may read the
// roster it is on (an admin, the team's leader, an inspector who works that
// team-day: store.MayReadRoster). Any other visit is not found.
func (s *Server) getVisitCode(c echo.Context) error {
	p, err := allow(c, "read visit codes", rosterRoles...)
	if err != nil {
		return err
	}
	id, seq, err := visitPath(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := s.store.DoorVisit(ctx, id, seq, 0)
	if err != nil {
		return err
	}
	day, err := time.Parse(time.DateOnly, v.Date)
	if err != nil {
		return fmt.Errorf("visit %d of plan %d: date %q: %w", seq, id, v.Date, err)
	}
	ok, err := s.store.MayReadRoster(ctx, p, v.TeamID, day)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("visit %d of plan %d: %w", seq, id, domain.ErrNotFound)
	}
	code, err := s.store.VisitCode(ctx, id, seq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.codeAnswer(code))
}

// revokeRequest is the body of POST /api/v1/plans/{id}/visits/{seq}/code/revoke.
type revokeRequest struct {
	Reason string `json:"reason"`
}

// revokeAnswer is a revocation with the visit's new code.
type revokeAnswer struct {
	store.VisitCodeRevocation
	Current visitCodeAnswer `json:"current"`
}

// revokeVisitCode is POST /api/v1/plans/{id}/visits/{seq}/code/revoke: an
// admin, or a planner of a department with items on the visit, revokes the
// visit's current code (a notice lost, a code misused) and gets the new one.
// The old code's page then says it is revoked.
func (s *Server) revokeVisitCode(c echo.Context) error {
	p, err := allow(c, "revoke visit codes", demandRoles...)
	if err != nil {
		return err
	}
	id, seq, err := visitPath(c)
	if err != nil {
		return err
	}
	var req revokeRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.longText("reason", req.Reason, true, maxReasonLen)
	if err := v.Err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if p.Role == domain.RolePlanner {
		dv, err := s.store.DoorVisit(ctx, id, seq, 0)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(dv.Tasks, func(t store.DoorTask) bool { return t.DepartmentID == p.DepartmentID }) {
			return fmt.Errorf("visit %d of plan %d has no items of department %d: %w", seq, id, p.DepartmentID, domain.ErrForbidden)
		}
	}
	r, err := s.store.RevokeVisitCode(ctx, p.Actor(), id, seq, req.Reason)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, revokeAnswer{VisitCodeRevocation: r, Current: s.codeAnswer(r.Current)})
}
