package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/web"
)

// scheduleRoles may read a business's consolidated schedule: the business its
// own, an admin any. Staff read rosters and calendars instead.
var scheduleRoles = []domain.Role{domain.RoleAdmin, domain.RoleBusiness}

// ownBusiness checks that the caller may act on business code: an admin on
// any, a business on its own only. Another business's code is 404 with the
// very error an unknown one gets ("business <code>: not found"), so that a
// business cannot tell registered codes from unknown ones.
func ownBusiness(c echo.Context, what, code string) (domain.Principal, error) {
	p, err := allow(c, what, scheduleRoles...)
	if err != nil {
		return p, err
	}
	if !p.ActsForBusiness(code) {
		return p, fmt.Errorf("business %s: %w", code, domain.ErrNotFound)
	}
	return p, nil
}

// getBusinessSchedule is GET /api/v1/businesses/{uscc}/schedule: the one
// consolidated schedule of a business (store.BusinessSchedule), as it stands
// now in the configured zone: announced visits from their notice day on,
// unannounced ones only once they are past.
func (s *Server) getBusinessSchedule(c echo.Context) error {
	code := c.Param("uscc")
	if _, err := ownBusiness(c, "read business schedules", code); err != nil {
		return err
	}
	sched, err := s.store.BusinessSchedule(c.Request().Context(), code, s.now(), s.cfg.Location())
	if err != nil {
		return err
	}
	for i := range sched.Visits {
		sched.Visits[i].CodeURL = web.CodeURL(s.cfg.HTTP.PublicBaseURL, sched.Visits[i].Code)
	}
	return c.JSON(http.StatusOK, sched)
}

// today is the civil date of the server's clock in the configured zone, at
// UTC midnight (how the store compares civil dates).
func (s *Server) today() time.Time {
	y, m, d := s.now().In(s.cfg.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
