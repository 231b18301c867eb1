package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

type tokenRequest struct {
	Role  string `json:"role"`
	Scope string `json:"scope"`
	Name  string `json:"name"`
}

type tokenResponse struct {
	ID    int64       `json:"id"`
	Token string      `json:"token"`
	Role  domain.Role `json:"role"`
	Scope string      `json:"scope"`
	Name  string      `json:"name"`
}

func (s *Server) createToken(c echo.Context) error {
	p, err := allow(c, "issue tokens", adminOnly...)
	if err != nil {
		return err
	}
	var req tokenRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	if !domain.Role(req.Role).Valid() {
		v.Add("role", "must be one of admin, planner, team_leader, inspector, business, witness")
	}
	v.text("name", req.Name, true, maxNameLen)
	v.text("scope", req.Scope, false, maxScopeLen)
	if err := v.Err(); err != nil {
		return err
	}
	token, id, err := s.store.CreateToken(c.Request().Context(), p.Actor(), req.Name, domain.Role(req.Role), req.Scope)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, tokenResponse{ID: id, Token: token, Role: domain.Role(req.Role), Scope: req.Scope, Name: req.Name})
}

func (s *Server) revokeToken(c echo.Context) error {
	p, err := allow(c, "revoke tokens", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.store.RevokeToken(c.Request().Context(), p.Actor(), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listAudit(c echo.Context) error {
	if _, err := allow(c, "read the audit log", adminOnly...); err != nil {
		return err
	}
	q := query{c: c}
	pg := q.page()
	var after int64
	if pg.After != "" {
		n, err := strconv.ParseInt(pg.After, 10, 64)
		if err != nil || n < 0 {
			q.errs.Add("after", "not a cursor returned by this list")
		}
		after = n
	}
	if err := q.errs.Err(); err != nil {
		return err
	}
	entries, err := s.store.ListAudit(c.Request().Context(), after, pg.Limit)
	if err != nil {
		return err
	}
	out := store.Paged[store.AuditEntry]{Items: entries}
	if n := len(entries); n > 0 && n == effectiveLimit(pg.Limit) {
		out.Next = strconv.FormatInt(entries[n-1].Seq, 10)
	}
	return list(c, out)
}

func effectiveLimit(n int) int {
	if n <= 0 {
		return store.DefaultLimit
	}
	return n
}

func (s *Server) verifyAudit(c echo.Context) error {
	if _, err := allow(c, "verify the audit log", adminOnly...); err != nil {
		return err
	}
	// The lag is read before verification chains what the sequencer left.
	lag, err := s.store.AuditLag(c.Request().Context())
	if err != nil {
		return err
	}
	n, brk, err := s.store.VerifyAudit(c.Request().Context())
	if err != nil {
		return err
	}
	resp := map[string]any{"records": n, "intact": brk == nil,
		"lag": map[string]any{"pending": lag.Pending, "oldest_seconds": lag.Oldest.Seconds()}}
	if brk != nil {
		resp["first_break"] = map[string]any{"seq": brk.Seq, "reason": brk.Reason}
	}
	return c.JSON(http.StatusOK, resp)
}

// auditRejected records refused writes (who tried what, and why) so the audit
// log shows attempts as well as changes. Unauthenticated requests have no actor
// and are left to the request log.
func (s *Server) auditRejected(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Request().Method == http.MethodGet || errors.Is(err, domain.ErrUnauthenticated) {
			return err
		}
		prob := problemFor(err)
		if prob.Status >= 500 {
			return err
		}
		p := principal(c)
		detail := map[string]any{"status": prob.Status, "detail": prob.Detail, "errors": prob.Errors}
		if aerr := s.store.Audit(c.Request().Context(), p.Actor(), c.Request().Method+" "+c.Path(), c.Request().URL.Path,
			store.OutcomeRejected, detail); aerr != nil {
			s.log.Warn("audit of a rejected write failed", "err", aerr)
		}
		return err
	}
}
