package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// sessionCookie holds the caller's access token. It is HttpOnly (no script
// reads it) and SameSite=Strict (no other site's form can post with it), so a
// separate CSRF token is not needed for the few forms the pages have.
const sessionCookie = "io_session"

const viewerKey = "web.viewer"

// sessionLifetime bounds how long a browser keeps the token.
const sessionLifetime = 12 * time.Hour

// requireLogin resolves the session cookie (or a bearer token, for scripts)
// to a principal. A browser without one is sent to /login and comes back.
func (p *Pages) requireLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		// echo gives a group with middleware a catch-all not-found route
		// ("/*"), and this group's prefix is "": without this, every unknown
		// path of the service (/favicon.ico, a mistyped /api/v1 path) would
		// be sent to the login page instead of answering 404.
		if route := c.Path(); route == "/*" || route == "" {
			return next(c)
		}
		token := ""
		if ck, err := c.Cookie(sessionCookie); err == nil {
			token = ck.Value
		}
		if h, ok := strings.CutPrefix(c.Request().Header.Get(echo.HeaderAuthorization), "Bearer "); ok {
			token = strings.TrimSpace(h)
		}
		if token == "" {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		pr, err := p.store.Authenticate(c.Request().Context(), token)
		if errors.Is(err, domain.ErrUnauthenticated) {
			clearSession(c)
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if err != nil {
			return p.fail(c, err)
		}
		c.Set(viewerKey, pr)
		return next(c)
	}
}

// viewer is the signed-in principal.
func viewer(c echo.Context) domain.Principal {
	v, _ := c.Get(viewerKey).(domain.Principal)
	return v
}

// allow answers ErrForbidden unless the viewer's role is one of roles.
func allow(c echo.Context, roles ...domain.Role) (domain.Principal, error) {
	v := viewer(c)
	if !slices.Contains(roles, v.Role) {
		return v, fmt.Errorf("role %s: %w", v.Role, domain.ErrForbidden)
	}
	return v, nil
}

type loginData struct {
	Next  string
	Error string
}

func (p *Pages) loginForm(c echo.Context) error {
	return p.render(c, http.StatusOK, "login", "login.title", loginData{Next: safeNext(c.QueryParam("next"))})
}

// login checks the token and keeps it in the session cookie.
func (p *Pages) login(c echo.Context) error {
	token := strings.TrimSpace(c.FormValue("token"))
	next := safeNext(c.FormValue("next"))
	if _, err := p.store.Authenticate(c.Request().Context(), token); err != nil {
		if errors.Is(err, domain.ErrUnauthenticated) {
			return p.render(c, http.StatusUnauthorized, "login", "login.title", loginData{Next: next, Error: "login.bad_token"})
		}
		return p.fail(c, err)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil, MaxAge: int(sessionLifetime.Seconds())})
	return c.Redirect(http.StatusSeeOther, next)
}

func (p *Pages) logout(c echo.Context) error {
	clearSession(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

func clearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// safeNext keeps redirects after login on this site: only a local path.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
}

// home sends each role to its page.
func (p *Pages) home(c echo.Context) error {
	v := viewer(c)
	today := p.now().In(p.loc).Format(time.DateOnly)
	switch v.Role {
	case domain.RoleBusiness:
		return c.Redirect(http.StatusSeeOther, "/businesses/"+url.PathEscape(v.Scope)+"/schedule")
	case domain.RoleTeamLeader:
		return c.Redirect(http.StatusSeeOther, "/teams/"+url.PathEscape(v.Scope)+"/rosters/"+today)
	case domain.RoleAdmin, domain.RolePlanner:
		return c.Redirect(http.StatusSeeOther, "/plans")
	case domain.RoleInspector:
		return c.Redirect(http.StatusSeeOther, "/inspect")
	}
	return p.render(c, http.StatusOK, "home", "home.title", nil)
}

// fail renders err as an error page with the status the API would give.
func (p *Pages) fail(c echo.Context, err error) error {
	status, key := http.StatusInternalServerError, "error.internal"
	detail := ""
	var ve *domain.ValidationError
	switch {
	case errors.As(err, &ve):
		status, key, detail = http.StatusBadRequest, "error.bad_request", ve.Error()
	case errors.Is(err, domain.ErrUnavailable), store.Unavailable(err):
		status, key = http.StatusServiceUnavailable, "error.unavailable"
		c.Response().Header().Set("Retry-After", "5")
	case errors.Is(err, domain.ErrNotFound):
		status, key = http.StatusNotFound, "error.not_found"
	case errors.Is(err, domain.ErrForbidden):
		status, key = http.StatusForbidden, "error.forbidden"
	case errors.Is(err, domain.ErrUnauthenticated):
		return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
	case errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil:
		// The browser dropped the request (a navigation cancels what is
		// pending): nobody reads an answer and nothing on our side failed.
		return nil
	default:
		p.log.ErrorContext(c.Request().Context(), "page failed", "err", err, "path", c.Request().URL.Path,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
	}
	if rerr := p.render(c, status, "error", "error.title", errorData{Key: key, Detail: detail, Status: status}); rerr != nil {
		return fmt.Errorf("render error page for %w: %v", err, rerr)
	}
	return nil
}

type errorData struct {
	Key    string
	Detail string
	Status int
}

// page wraps a handler so that its errors become error pages, not problem+json.
func (p *Pages) page(fn echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := fn(c); err != nil {
			return p.fail(c, err)
		}
		return nil
	}
}

// pathInt64 reads a numeric path parameter; a bad one is "not found", as an
// unknown object would be.
func pathInt64(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q: %w", name, c.Param(name), domain.ErrNotFound)
	}
	return id, nil
}
