package api

import (
	"fmt"
	"math"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/store"
)

// The door (掌上执法): the inspectors of a visit of a published plan check
// in, record each task's result and confirm them from their phones. Every
// submission carries a client-generated id (client_id, a UUID): the first
// answer is 201, a retry with the same id 200 with the stored record, so a
// retried upload from a bad connection records once; the same id with other
// content is 409.

// resultRules are the rules results are recorded by today, from the
// configuration: today's date in the configured zone, the working-day
// calendar, the risk rule and the follow-up windows (web.resultRules is the
// same for the phone page).
func (s *Server) resultRules() store.ResultRules {
	r := store.ResultRules{Today: s.today(), Calendar: s.cal}
	if s.cfg != nil {
		r.Risk = s.cfg.Risk.Rule
		r.Language = configs.Lang(s.cfg.Language)
		r.PublishWithinWorkingDays = s.cfg.Results.PublishWithinWorkingDays
		r.RedoMinWindowWorkingDays = s.cfg.Results.RedoMinWindowWorkingDays
		r.ReinspectionWindowWorkingDays = s.cfg.Results.ReinspectionWindowWorkingDays
		r.MaxRectifyDays = s.cfg.Results.MaxRectifyDays
	}
	return r
}

// doorPath reads the plan and visit numbers of a door route.
func doorPath(c echo.Context) (int64, int, error) {
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

// doorInspector is the inspector an inspector's token stands for; only an
// inspector records at the door (an admin reads).
func doorInspector(c echo.Context, what string) (domain.Principal, int64, error) {
	p, err := allow(c, what, domain.RoleInspector)
	if err != nil {
		return p, 0, err
	}
	id := p.InspectorID()
	if id == 0 {
		return p, 0, fmt.Errorf("token scope %q names no inspector: %w", p.Scope, domain.ErrForbidden)
	}
	return p, id, nil
}

// replayStatus is 200 for a replayed submission, 201 for a new one.
func replayStatus(replayed bool) int {
	if replayed {
		return http.StatusOK
	}
	return http.StatusCreated
}

// getDoorVisit is GET /api/v1/plans/{id}/visits/{seq}/door: the visit as its
// inspectors see it at the door (store.DoorVisit): an inspector assigned to
// it, or an admin.
func (s *Server) getDoorVisit(c echo.Context) error {
	p, err := allow(c, "read visits at the door", domain.RoleInspector, domain.RoleAdmin)
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	insp := p.InspectorID()
	if p.Role == domain.RoleInspector && insp == 0 {
		return fmt.Errorf("visit %d of plan %d: %w", seq, id, domain.ErrNotFound)
	}
	v, err := s.store.DoorVisit(c.Request().Context(), id, seq, insp)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// listInspectorVisits is GET /api/v1/inspectors/{id}/visits?date=: an
// inspector's visits on a day (today by default) as DoorVisit gives them.
func (s *Server) listInspectorVisits(c echo.Context) error {
	p, err := allow(c, "read an inspector's visits", domain.RoleInspector, domain.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if !p.ActsForInspector(id) {
		return fmt.Errorf("inspector %d: %w", id, domain.ErrNotFound)
	}
	date := s.today()
	if q := c.QueryParam("date"); q != "" {
		var v checker
		date = planDate(&v, "date", q)
		if err := v.Err(); err != nil {
			return err
		}
	}
	visits, err := s.store.InspectorVisits(c.Request().Context(), id, date)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"date": date.Format("2006-01-02"), "items": visits})
}

// recordCheckIn is POST /api/v1/plans/{id}/visits/{seq}/check-ins.
func (s *Server) recordCheckIn(c echo.Context) error {
	_, insp, err := doorInspector(c, "check in at visits")
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	var req store.CheckInInput
	if err := c.Bind(&req); err != nil {
		return err
	}
	ci, replayed, err := s.store.RecordCheckIn(c.Request().Context(), id, seq, insp, req, s.resultRules())
	if err != nil {
		return err
	}
	return c.JSON(replayStatus(replayed), ci)
}

// recordResult is PUT /api/v1/plans/{id}/visits/{seq}/tasks/{task}/result.
func (s *Server) recordResult(c echo.Context) error {
	_, insp, err := doorInspector(c, "record results")
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	task, err := pathID(c, "task")
	if err != nil {
		return err
	}
	if task > math.MaxInt32 {
		return fmt.Errorf("task %d: %w", task, domain.ErrNotFound)
	}
	var req store.ResultInput
	if err := c.Bind(&req); err != nil {
		return err
	}
	r, replayed, err := s.store.RecordResult(c.Request().Context(), id, seq, int(task), insp, req, s.resultRules())
	if err != nil {
		return err
	}
	return c.JSON(replayStatus(replayed), r)
}

// confirmRequest is the body of POST /api/v1/plans/{id}/visits/{seq}/confirm.
type confirmRequest struct {
	ClientID string `json:"client_id"`
}

// confirmVisit is POST /api/v1/plans/{id}/visits/{seq}/confirm: the second
// assigned inspector confirming the current results writes the visit's
// report, with its risk code and follow-up demands (store.ConfirmVisit).
func (s *Server) confirmVisit(c echo.Context) error {
	p, insp, err := doorInspector(c, "confirm results")
	if err != nil {
		return err
	}
	id, seq, err := doorPath(c)
	if err != nil {
		return err
	}
	var req confirmRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	out, replayed, err := s.store.ConfirmVisit(c.Request().Context(), p.Actor(), id, seq, insp, req.ClientID, s.resultRules())
	if err != nil {
		return err
	}
	return c.JSON(replayStatus(replayed), out)
}
