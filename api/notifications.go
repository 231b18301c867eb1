package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// inboxRoles read an inbox: their own (admin: anyone's). Planners have none.
var inboxRoles = []domain.Role{domain.RoleAdmin, domain.RoleTeamLeader, domain.RoleInspector, domain.RoleBusiness}

// listNotifications is GET /api/v1/notifications: the caller's inbox, oldest
// first. An inspector reads the notices to its inspector id, a business those
// to its USCC, a team leader those to its team; none sees a notice before its
// visible_from. An admin reads every notice (visible or not), or one inbox
// with recipient_kind and recipient_id.
func (s *Server) listNotifications(c echo.Context) error {
	p, err := allow(c, "read notifications", inboxRoles...)
	if err != nil {
		return err
	}
	q := query{c: c}
	kind := q.oneOf("recipient_kind", store.RecipientInspector, store.RecipientBusiness, store.RecipientTeam)
	id := c.QueryParam("recipient_id")
	var f store.NotificationFilter
	if p.Role == domain.RoleAdmin {
		if len(id) > 64 {
			q.errs.Add("recipient_id", "must be at most 64 characters")
		}
		f.RecipientKind, f.RecipientID = kind, id
	} else {
		for _, name := range []string{"recipient_kind", "recipient_id"} {
			if c.QueryParam(name) != "" {
				q.errs.Add(name, "only an admin chooses the inbox; leave it out to read yours")
			}
		}
		f.RecipientID, f.VisibleAt = p.Scope, s.now()
		switch p.Role {
		case domain.RoleInspector:
			f.RecipientKind = store.RecipientInspector
		case domain.RoleBusiness:
			f.RecipientKind = store.RecipientBusiness
		case domain.RoleTeamLeader:
			f.RecipientKind = store.RecipientTeam
		}
	}
	f.Kind = q.oneOf("kind", store.NoticeKinds...)
	pg := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.ListNotifications(c.Request().Context(), f, pg)
	if err != nil {
		return err
	}
	return list(c, out)
}

// dispatchStatus is the answer of GET /api/v1/plans/{id}/dispatch.
type dispatchStatus struct {
	store.DispatchStatus
	// Failed counts the visits whose dispatch task spent its retries and was
	// archived (they are also counted in pending).
	Failed     int    `json:"failed"`
	FailedNote string `json:"failed_note,omitempty"`
}

// DispatchFailures counts a plan's archived dispatch tasks (jobs.ArchivedDispatches).
type DispatchFailures func(ctx context.Context, planID int64) (int, error)

// getPlanDispatch is GET /api/v1/plans/{id}/dispatch: how far the dispatch
// of a published plan has got (the figures of `inspectonce dispatch status`).
func (s *Server) getPlanDispatch(c echo.Context) error {
	if _, err := allow(c, "read the dispatch of plans", planRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	st, err := s.store.PlanDispatchStatus(ctx, id)
	if err != nil {
		return err
	}
	out := dispatchStatus{DispatchStatus: st}
	switch {
	case s.failures == nil:
		out.FailedNote = "this process does not inspect the queue; failed is not known"
	default:
		n, err := s.failures(ctx, id)
		if err != nil {
			out.FailedNote = "the queue could not be read: " + err.Error()
		}
		out.Failed = n
	}
	return c.JSON(http.StatusOK, out)
}
