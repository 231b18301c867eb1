package api

import (
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// moveRequest is the body of POST /api/v1/plans/{id}/visits/{seq}/move.
type moveRequest struct {
	Date   string `json:"date"`
	Reason string `json:"reason"`
}

// moveVisit is POST /api/v1/plans/{id}/visits/{seq}/move: a coordinator
// (admin) moves a visit of a published plan to another working day, today or
// later, saying why (store.MoveVisit). The plan's rows stay as published; the
// visit's effective date, on schedules, rosters and feeds, is the new one, and
// its revision (the feeds' SEQUENCE) goes up by one.
func (s *Server) moveVisit(c echo.Context) error {
	p, err := allow(c, "move visits", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	seq, err := pathID(c, "seq")
	if err != nil {
		return err
	}
	if seq > math.MaxInt32 { // visit numbers are integers in the database
		return fmt.Errorf("visit %d of plan %d: %w", seq, id, domain.ErrNotFound)
	}
	var req moveRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	date := planDate(&v, "date", req.Date)
	// A move reschedules a visit, it does not park it: no further ahead than
	// a demand's window may reach (demands.max_window_days).
	if latest := s.today().AddDate(0, 0, s.cfg.Demands.MaxWindowDays); !date.IsZero() && date.After(latest) {
		v.Add("date", "must be at most %d days ahead (%s at the latest), got %s",
			s.cfg.Demands.MaxWindowDays, latest.Format(time.DateOnly), req.Date)
	}
	v.longText("reason", req.Reason, true, maxReasonLen)
	if err := v.Err(); err != nil {
		return err
	}
	m, err := s.store.MoveVisit(c.Request().Context(), p.Actor(), id, int(seq), date, req.Reason,
		store.MoveRules{Today: s.today(), WorkingDay: s.cal.IsWorkingDay})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}
