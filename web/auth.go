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

// sessionCookie holds the id of a server-side session (store.CreateSession),
// never a token: the server decides when it ends (idle and absolute expiry,
// logout, the token's revocation). It is HttpOnly (no script reads it) and
// SameSite=Strict; cookie-authenticated writes are also checked for their
// Origin (CheckOrigin).
const sessionCookie = "io_session"

const viewerKey = "web.viewer"

// Session lifetimes when the configuration gives none (pages built without
// one, in tests): the defaults of configs/default.yaml.
const (
	defaultSessionIdle     = 2 * time.Hour
	defaultSessionAbsolute = 12 * time.Hour
)

// sessionTimes are the configured session lifetimes.
func (p *Pages) sessionTimes() store.SessionTimes {
	t := store.SessionTimes{Idle: defaultSessionIdle, Absolute: defaultSessionAbsolute}
	if p.cfg != nil && p.cfg.HTTP.Session.Idle > 0 && p.cfg.HTTP.Session.Absolute > 0 {
		t = store.SessionTimes{Idle: p.cfg.HTTP.Session.Idle, Absolute: p.cfg.HTTP.Session.Absolute}
	}
	return t
}

// bearerToken is the request's bearer token, if it sends one: scripts use it
// instead of a session, and no other site can make a browser send it.
func bearerToken(r *http.Request) (string, bool) {
	h, ok := strings.CutPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ")
	return strings.TrimSpace(h), ok
}

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
		ctx := c.Request().Context()
		var pr domain.Principal
		var err error
		if token, ok := bearerToken(c.Request()); ok {
			pr, err = p.store.Authenticate(ctx, token)
		} else if ck, cerr := c.Cookie(sessionCookie); cerr == nil && ck.Value != "" {
			pr, err = p.store.SessionPrincipal(ctx, ck.Value, p.now(), p.sessionTimes().Idle)
			if errors.Is(err, domain.ErrUnauthenticated) {
				p.clearSession(c)
			}
		} else {
			err = domain.ErrUnauthenticated
		}
		if errors.Is(err, domain.ErrUnauthenticated) {
			return c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if err != nil {
			return p.fail(c, err)
		}
		c.Set(viewerKey, pr)
		return next(c)
	}
}

// SignedIn says whether the request was answered for a signed-in viewer (a
// session or a bearer token), so that the answer is not cached.
func SignedIn(c echo.Context) bool {
	_, ok := c.Get(viewerKey).(domain.Principal)
	return ok
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

// login checks the token and starts a session for it; the cookie gets the
// session's id. A session the browser already had is ended first, so an id
// planted before sign-in (session fixation) never becomes a signed-in one.
func (p *Pages) login(c echo.Context) error {
	token := strings.TrimSpace(c.FormValue("token"))
	next := safeNext(c.FormValue("next"))
	ctx := c.Request().Context()
	pr, err := p.store.Authenticate(ctx, token)
	if err != nil {
		if errors.Is(err, domain.ErrUnauthenticated) {
			return p.render(c, http.StatusUnauthorized, "login", "login.title", loginData{Next: next, Error: "login.bad_token"})
		}
		return p.fail(c, err)
	}
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := p.store.DeleteSession(ctx, ck.Value); err != nil {
			return p.fail(c, err)
		}
	}
	times := p.sessionTimes()
	id, err := p.store.CreateSession(ctx, pr.TokenID, p.now(), times)
	if err != nil {
		return p.fail(c, err)
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: p.cookieSecure(c), MaxAge: int(times.Absolute.Seconds())})
	return c.Redirect(http.StatusSeeOther, next)
}

// logout ends the session on the server, so the cookie's value is worthless
// even to whoever copied it, and clears the cookie.
func (p *Pages) logout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := p.store.DeleteSession(c.Request().Context(), ck.Value); err != nil {
			return p.fail(c, err)
		}
	}
	p.clearSession(c)
	return c.Redirect(http.StatusSeeOther, "/login")
}

func (p *Pages) clearSession(c echo.Context) {
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: p.cookieSecure(c), MaxAge: -1})
}

// cookieSecure applies http.secure_cookies to this request.
func (p *Pages) cookieSecure(c echo.Context) bool {
	tls := c.Request().TLS != nil
	if p.cfg == nil {
		return tls
	}
	return p.cfg.HTTP.CookieSecure(tls)
}

// safeNext keeps redirects after login on this site: only a local path.
// Browsers drop tabs and newlines from a URL and read a backslash as a
// slash, and a proxy may decode percent-escapes once more, so "/\t/evil",
// "/\\evil" and "/%09/evil" can all become "//evil" (another site) on the
// way: the value is judged in every form it may take.
func safeNext(next string) string {
	if next == "" || len(next) > 4096 ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return "/"
	}
	// Decoded until nothing changes; a value still changing after a few
	// rounds is no path of ours.
	for form, rounds := next, 0; ; rounds++ {
		if !localPath(form) || rounds > 4 {
			return "/"
		}
		dec, err := url.PathUnescape(form)
		if err != nil {
			return "/"
		}
		if dec == form {
			break
		}
		form = dec
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// localPath says whether s, cleaned as a browser would read it (ASCII tab,
// CR and LF removed, backslashes as slashes, leading spaces and controls
// trimmed), is a path on this site: one slash, then not another.
func localPath(s string) bool {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\r' || r == '\n':
			return -1
		case r == '\\':
			return '/'
		}
		return r
	}, s)
	s = strings.TrimLeftFunc(s, func(r rune) bool { return r <= 0x20 })
	return strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//")
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
	case domain.RoleWitness:
		return c.Redirect(http.StatusSeeOther, "/witness")
	}
	return p.render(c, http.StatusOK, "home", "home.title", nil)
}

// Fail renders err as an error page, for a refusal made before any page
// handler ran (a NUL in a page's query, refused for every route at once).
func (p *Pages) Fail(c echo.Context, err error) error { return p.fail(c, err) }

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
	case errors.Is(err, domain.ErrConflict):
		// A refusal the user can act on (a demand not urgent, already
		// placed, no room left): say what it is.
		status, key, detail = http.StatusConflict, "error.conflict", err.Error()
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
