package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []domain.FieldError `json:"errors,omitempty"`
	// EmptyPlan (an extension member) says why a plan refused for having
	// no visits is empty.
	EmptyPlan *store.EmptyPlan `json:"empty_plan,omitempty"`
}

const problemBase = "https://inspectonce.example/problems/"

// retryAfterSeconds is the Retry-After of a 503: long enough for a restarted
// PostgreSQL or Redis to accept connections again, short enough for a person.
const retryAfterSeconds = "5"

// problemFor maps any error, wrapped domain errors included, to a problem.
func problemFor(err error) Problem {
	var ve *domain.ValidationError
	var he *echo.HTTPError
	var tm *errTooManyRequests
	var ov *errOverloaded
	switch {
	case errors.As(err, &ve):
		return Problem{Type: problemBase + "validation", Title: "Request is not valid", Status: http.StatusUnprocessableEntity,
			Detail: "see errors for each field that was refused", Errors: ve.Fields}
	case errors.Is(err, domain.ErrUnavailable), store.Unavailable(err):
		return Problem{Type: problemBase + "unavailable", Title: "Service Unavailable", Status: http.StatusServiceUnavailable,
			Detail: "the database or the job queue cannot be reached right now; nothing was changed, try again after Retry-After seconds"}
	case errors.Is(err, domain.ErrUnauthenticated):
		return Problem{Type: problemBase + "unauthenticated", Title: "Authentication required", Status: http.StatusUnauthorized,
			Detail: "send a valid token as Authorization: Bearer <token>"}
	case errors.Is(err, domain.ErrForbidden):
		return Problem{Type: problemBase + "forbidden", Title: "Not allowed for your role", Status: http.StatusForbidden, Detail: err.Error()}
	case errors.Is(err, domain.ErrNotFound):
		return Problem{Type: problemBase + "not-found", Title: "Not found", Status: http.StatusNotFound, Detail: err.Error()}
	case errors.Is(err, domain.ErrConflict):
		p := Problem{Type: problemBase + "conflict", Title: "Conflict", Status: http.StatusConflict, Detail: err.Error()}
		if ep := (*store.EmptyPlanError)(nil); errors.As(err, &ep) {
			p.Type, p.EmptyPlan = problemBase+"empty-plan", &ep.EmptyPlan
		}
		return p
	case errors.As(err, &ov):
		return Problem{Type: problemBase + "overloaded", Title: "Service Unavailable", Status: http.StatusServiceUnavailable, Detail: ov.detail}
	case errors.As(err, &tm):
		return Problem{Type: problemBase + "rate-limited", Title: "Too many requests", Status: http.StatusTooManyRequests,
			Detail: fmt.Sprintf("this client sent more requests than the %s limit allows; retry after %d seconds (Retry-After)", tm.class, tm.retryAfter)}
	case errors.As(err, &he):
		p := Problem{Type: "about:blank", Title: http.StatusText(he.Code), Status: he.Code}
		if m, ok := he.Message.(string); ok && m != p.Title {
			p.Detail = m
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			p.Type = problemBase + "too-large"
			p.Detail = "the request body is larger than this endpoint accepts"
		}
		return p
	}
	return Problem{Type: "about:blank", Title: "Internal Server Error", Status: http.StatusInternalServerError,
		Detail: "the server could not answer; the error is logged with the request id"}
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	// A page's query refused before its handler ran (cleanParams) is told
	// to the browser as a page in its language, not as problem+json; the
	// API, feeds and the phone page's JSON calls (/inspect/...) keep JSON.
	var ve *domain.ValidationError
	if path := c.Request().URL.Path; (errors.As(err, &ve) || errors.Is(err, domain.ErrNotFound)) && s.pages != nil && c.Path() != "" && c.Path() != "/*" &&
		!strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/feeds/") && !strings.HasPrefix(path, "/inspect/") {
		if perr := s.pages.Fail(c, err); perr == nil {
			return
		}
	}
	p := problemFor(err)
	p.Instance = c.Request().URL.Path
	p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
	if p.Status >= 500 {
		s.log.ErrorContext(c.Request().Context(), "request failed", "err", err, "path", p.Instance, "request_id", p.RequestID)
	}
	if p.Status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
		c.Response().Header().Set("Retry-After", retryAfterSeconds)
	}
	if p.Status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="inspectonce"`)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	if c.Request().Method == http.MethodHead {
		return
	}
	if err := jsonEncode(c.Response(), p); err != nil {
		s.log.Warn("write problem", "err", err)
	}
}

// forbidden is the error for a role that may never use an operation.
func forbidden(role domain.Role, what string) error {
	return fmt.Errorf("a %s may not %s: %w", strings.ReplaceAll(string(role), "_", " "), what, domain.ErrForbidden)
}
