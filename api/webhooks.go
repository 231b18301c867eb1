package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/internal/netguard"
)

type webhookRequest struct {
	RecipientKind string `json:"recipient_kind"`
	URL           string `json:"url"`
	Secret        string `json:"secret"`
}

type webhookActiveRequest struct {
	Active *bool `json:"active"`
}

// listWebhooks is GET /api/v1/webhooks (admin).
func (s *Server) listWebhooks(c echo.Context) error {
	if _, err := allow(c, "list webhooks", adminOnly...); err != nil {
		return err
	}
	q := query{c: c}
	p := q.page()
	if err := q.errs.Err(); err != nil {
		return err
	}
	out, err := s.store.ListWebhooks(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return list(c, out)
}

// createWebhook is POST /api/v1/webhooks (admin): every notification to the
// recipient kind is then delivered there, signed with the secret, which is
// never shown again.
func (s *Server) createWebhook(c echo.Context) error {
	p, err := allow(c, "register webhooks", adminOnly...)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	var v checker
	v.text("url", req.URL, true, maxWebhookURLLen)
	v.text("secret", req.Secret, true, maxWebhookSecretLen)
	if err := v.Err(); err != nil {
		return err
	}
	if !s.cfg.Webhooks.AllowPrivate && (strings.HasPrefix(req.URL, "http://") || strings.HasPrefix(req.URL, "https://")) {
		// Deliveries check the address again at every dial; refusing here
		// tells the admin now rather than in a failed delivery.
		if err := netguard.CheckURL(c.Request().Context(), req.URL, nil); err != nil {
			v.Add("url", "must reach a public address (webhooks.allow_private is off): %v", err)
			return v.Err()
		}
	}
	w, err := s.store.CreateWebhook(c.Request().Context(), p.Actor(), req.RecipientKind, req.URL, req.Secret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, w)
}

// setWebhookActive is PUT /api/v1/webhooks/{id}/active (admin): a webhook is
// switched off (or on again) rather than deleted, so its deliveries keep
// their history.
func (s *Server) setWebhookActive(c echo.Context) error {
	p, err := allow(c, "change webhooks", adminOnly...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req webhookActiveRequest
	if err := c.Bind(&req); err != nil {
		return err
	}
	if req.Active == nil {
		var v checker
		v.Add("active", "is required (true or false)")
		return v.Err()
	}
	if err := s.store.SetWebhookActive(c.Request().Context(), p.Actor(), id, *req.Active); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
