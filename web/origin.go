package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// CheckOrigin refuses (403) a state-changing request (POST, PUT, PATCH,
// DELETE) that a browser could have been made to send by another site: one
// authenticated by the session cookie, and the login form (which would
// otherwise let a site sign a victim in as someone else). Such a request must
// come from this site: its Origin header — or, when a browser sends none, its
// Referer — must be http.public_base_url or the request's own host; with
// neither header it is refused. A request with a bearer token is not checked:
// no other site can make a browser send one. It is one middleware for the
// whole service (api.New installs it), so no page route can forget it.
func (p *Pages) CheckOrigin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return next(c)
		}
		if _, ok := bearerToken(r); ok {
			return next(c)
		}
		if _, err := r.Cookie(sessionCookie); err != nil && r.URL.Path != "/login" {
			return next(c)
		}
		if p.sameOrigin(r) {
			return next(c)
		}
		p.log.WarnContext(r.Context(), "cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "referer_set", r.Header.Get("Referer") != "",
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return p.refuseCrossOrigin(c)
	}
}

// sameOrigin says whether the request's Origin (or, without one, its
// Referer) is this site.
func (p *Pages) sameOrigin(r *http.Request) bool {
	from := r.Header.Get("Origin")
	if from == "" {
		from = r.Header.Get("Referer")
	}
	if from == "" || from == "null" {
		return false
	}
	u, err := url.Parse(from)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	scheme, host := u.Scheme, hostPort(u.Scheme, u.Host)
	if p.cfg != nil && p.cfg.HTTP.PublicBaseURL != "" {
		if b, err := url.Parse(p.cfg.HTTP.PublicBaseURL); err == nil && b.Scheme == scheme && hostPort(b.Scheme, b.Host) == host {
			return true
		}
	}
	// The host the browser addressed: behind a TLS-terminating proxy the
	// scheme here is not the browser's, so only the host is compared.
	return r.Host != "" && (hostPort("http", r.Host) == host || hostPort("https", r.Host) == host)
}

// hostPort lower-cases host and drops the scheme's default port, as
// browsers write an Origin.
func hostPort(scheme, host string) string {
	host = strings.ToLower(host)
	if scheme == "http" {
		return strings.TrimSuffix(host, ":80")
	}
	return strings.TrimSuffix(host, ":443")
}

// refuseCrossOrigin answers 403: as JSON to the phone page's script and API
// clients, as a page to a browser's form.
func (p *Pages) refuseCrossOrigin(c echo.Context) error {
	const detail = "cross-origin request refused: a signed-in write must come from this site's own pages (Origin or Referer)"
	path := c.Request().URL.Path
	switch {
	case strings.HasPrefix(path, "/api/"):
		c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
		return c.JSON(http.StatusForbidden, map[string]any{"type": "https://inspectonce.example/problems/cross-origin",
			"title": "Cross-origin request refused", "status": http.StatusForbidden, "detail": detail})
	case strings.HasPrefix(path, "/inspect/"):
		return c.JSON(http.StatusForbidden, doorError{Status: http.StatusForbidden, Detail: detail})
	}
	return p.render(c, http.StatusForbidden, "error", "error.title", errorData{Key: "error.cross_origin", Status: http.StatusForbidden})
}
