package api

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
)

// site is a second service on the fixture's database with its own
// configuration and a clock the test moves: the browser's side of the
// service (login form, session cookie, pages).
type site struct {
	*env
	URL   string
	srv   *httptest.Server
	clock atomic.Pointer[time.Time]
}

func newSite(t *testing.T, environ ...string) *site {
	t.Helper()
	return newSiteOn(t, newEnv(t), false, environ...)
}

func newSiteOn(t *testing.T, v *env, tls bool, environ ...string) *site {
	t.Helper()
	cfg, err := configs.Load("", append([]string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="}, environ...))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{env: v}
	start := testToday
	s.clock.Store(&start)
	e := New(Options{Store: v.st, Config: cfg, Calendar: cal, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return *s.clock.Load() }, Planning: v.plans})
	if tls {
		s.srv = httptest.NewTLSServer(e)
	} else {
		s.srv = httptest.NewServer(e)
	}
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// advance moves the service's clock.
func (s *site) advance(d time.Duration) {
	n := s.clock.Load().Add(d)
	s.clock.Store(&n)
}

// sqlDB is the fixture's database, for checks the API does not show.
func (s *site) sqlDB(*testing.T) *sql.DB { return s.st.SQL() }

// browserReq is one request as a browser sends it: no redirects followed,
// with the session cookie and headers given ("Origin", value, ...).
func (s *site) browserReq(t *testing.T, method, path, cookie string, form url.Values, headers ...string) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "io_session", Value: cookie})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := s.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// sessionCookie is the io_session cookie a response sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "io_session" {
			return c
		}
	}
	return nil
}

// login signs in through the form, as from the site's own login page, and
// returns the session cookie's value.
func (s *site) login(t *testing.T, token string) string {
	t.Helper()
	res := s.browserReq(t, "POST", "/login", "", url.Values{"token": {token}, "next": {"/"}}, "Origin", s.URL)
	ck := sessionCookie(res)
	if res.StatusCode != http.StatusSeeOther || ck == nil || ck.Value == "" {
		t.Fatalf("login: status %d, cookie %v", res.StatusCode, ck)
	}
	return ck.Value
}

// signedIn says whether cookie opens path (200) rather than being sent to
// the login page.
func (s *site) signedIn(t *testing.T, cookie, path string) bool {
	t.Helper()
	res := s.browserReq(t, "GET", path, cookie, nil)
	switch {
	case res.StatusCode == http.StatusOK:
		return true
	case res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login"):
		if c := sessionCookie(res); c == nil || c.MaxAge >= 0 {
			t.Errorf("a dead session's cookie was not cleared: %v", c)
		}
		return false
	}
	t.Fatalf("GET %s: status %d, location %q", path, res.StatusCode, res.Header.Get("Location"))
	return false
}

// TestSessionCookieHoldsNoToken: the cookie is a random session id, not the
// token; the server keeps only its hash; a cookie holding the token itself
// (what the service used to set) opens nothing.
func TestSessionCookieHoldsNoToken(t *testing.T) {
	s := newSite(t)
	tok := s.tokens["admin"]
	id := s.login(t, tok)
	if id == tok || strings.Contains(id, tok) || strings.HasPrefix(id, "io_") {
		t.Fatalf("the session cookie carries the token: %q", id)
	}
	if !s.signedIn(t, id, "/plans") {
		t.Fatal("a fresh session does not open /plans")
	}
	var n int
	sum := sha256.Sum256([]byte(id))
	if err := s.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = $1`, sum[:]).Scan(&n); err != nil || n != 1 {
		t.Fatalf("sessions with the id's hash: %d %v", n, err)
	}
	if err := s.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE encode(id_hash, 'escape') LIKE '%' || $1 || '%'`, id).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the raw session id is stored: %d %v", n, err)
	}
	if s.signedIn(t, tok, "/plans") {
		t.Fatal("a cookie holding the raw token still signs in")
	}
	// Two sign-ins are two sessions.
	if id2 := s.login(t, tok); id2 == id {
		t.Fatal("a second sign-in got the same session id")
	}
}

// TestLogoutRevokesSession: after sign-out the old cookie value, replayed,
// is sent to the login page; another session of the same token lives on.
func TestLogoutRevokesSession(t *testing.T) {
	s := newSite(t)
	id := s.login(t, s.tokens["admin"])
	other := s.login(t, s.tokens["admin"])
	if !s.signedIn(t, id, "/plans") {
		t.Fatal("not signed in")
	}
	res := s.browserReq(t, "POST", "/logout", id, url.Values{}, "Origin", s.URL)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if c := sessionCookie(res); c == nil || c.MaxAge >= 0 {
		t.Fatalf("logout did not clear the cookie: %v", c)
	}
	res = s.browserReq(t, "GET", "/plans", id, nil)
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login?next=") {
		t.Fatalf("replayed cookie after logout: %d %q, want the login page", res.StatusCode, res.Header.Get("Location"))
	}
	if !s.signedIn(t, other, "/plans") {
		t.Fatal("logging out one session ended another")
	}
}

// TestSessionExpires: a session ends after http.session.idle without a
// request and at http.session.absolute however busy; requests within the
// idle time keep it alive, and last_seen_at is written at most once a
// minute.
func TestSessionExpires(t *testing.T) {
	s := newSite(t, "INSPECTONCE_HTTP_SESSION_IDLE=30m", "INSPECTONCE_HTTP_SESSION_ABSOLUTE=2h")
	lastSeen := func(id string) time.Time {
		t.Helper()
		var ts time.Time
		sum := sha256.Sum256([]byte(id))
		if err := s.sqlDB(t).QueryRow(`SELECT last_seen_at FROM sessions WHERE id_hash = $1`, sum[:]).Scan(&ts); err != nil {
			t.Fatal(err)
		}
		return ts
	}

	t.Run("idle", func(t *testing.T) {
		s.clock.Store(&testToday)
		id := s.login(t, s.tokens["admin"])
		s.advance(29 * time.Minute)
		if !s.signedIn(t, id, "/plans") {
			t.Fatal("signed out within the idle time")
		}
		touched := lastSeen(id)
		if !touched.Equal(testToday.Add(29 * time.Minute)) {
			t.Fatalf("last_seen_at %v after a request at +29m", touched)
		}
		s.advance(30 * time.Second)
		if !s.signedIn(t, id, "/plans") {
			t.Fatal("signed out")
		}
		if got := lastSeen(id); !got.Equal(touched) {
			t.Fatalf("last_seen_at written again 30 s later: %v", got)
		}
		s.advance(29 * time.Minute) // 29.5 min since the last touch
		if !s.signedIn(t, id, "/plans") {
			t.Fatal("a request within the idle time of the last did not keep the session")
		}
		s.advance(31 * time.Minute)
		if s.signedIn(t, id, "/plans") {
			t.Fatal("a session idle for 31 minutes (idle 30m) still signs in")
		}
		var n int
		sum := sha256.Sum256([]byte(id))
		if err := s.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = $1`, sum[:]).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the expired session is still stored: %d %v", n, err)
		}
	})

	t.Run("absolute", func(t *testing.T) {
		s.clock.Store(&testToday)
		id := s.login(t, s.tokens["admin"])
		for range 5 { // +20m ... +1h40m, busy all along
			s.advance(20 * time.Minute)
			if !s.signedIn(t, id, "/plans") {
				t.Fatalf("a busy session ended at %v", s.clock.Load().Sub(testToday))
			}
		}
		s.advance(20 * time.Minute) // +2h
		if s.signedIn(t, id, "/plans") {
			t.Fatal("a session still signs in at its absolute expiry (2h)")
		}
	})

	t.Run("purged at sign-in", func(t *testing.T) {
		s.clock.Store(&testToday)
		stale := s.login(t, s.tokens["planner"])
		s.advance(3 * time.Hour)
		s.login(t, s.tokens["admin"])
		var n int
		sum := sha256.Sum256([]byte(stale))
		if err := s.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE id_hash = $1`, sum[:]).Scan(&n); err != nil || n != 0 {
			t.Fatalf("an expired session never used again is still stored after a sign-in: %d %v", n, err)
		}
	})
}

// TestRevokedTokenEndsSessions: revoking a token through the API ends every
// browser session signed in with it.
func TestRevokedTokenEndsSessions(t *testing.T) {
	s := newSite(t)
	r := s.do("admin", "POST", "/api/v1/tokens", map[string]any{"name": "temp", "role": "admin", "scope": ""})
	expect(t, r, 201, "token")
	var tk struct {
		ID    int64
		Token string
	}
	r.json(t, &tk)
	id := s.login(t, tk.Token)
	if !s.signedIn(t, id, "/plans") {
		t.Fatal("not signed in")
	}
	expect(t, s.do("admin", "DELETE", fmt.Sprintf("/api/v1/tokens/%d", tk.ID), nil), 204, "revoke")
	if s.signedIn(t, id, "/plans") {
		t.Fatal("a session of a revoked token still signs in")
	}
	var n int
	if err := s.sqlDB(t).QueryRow(`SELECT count(*) FROM sessions WHERE token_id = $1`, tk.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("sessions of the revoked token: %d %v", n, err)
	}
}

// TestCrossOriginWritesRefused: a cookie-authenticated write, the login form
// included, must come from this site (Origin, else Referer); a bearer-token
// write is not a browser's and is not checked.
func TestCrossOriginWritesRefused(t *testing.T) {
	s := newSite(t, "INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://inspect.example.gov.cn")
	biz := s.login(t, s.tokens["business"])
	insp := s.login(t, s.tokens["inspector"])
	feed := "/businesses/" + s.bizA.USCC + "/feed"
	result := "/inspect/plans/999/visits/1/tasks/1/result"
	evil := "https://evil.example"

	for _, tc := range []struct {
		name, method, path, cookie string
		form                       url.Values
		headers                    []string
		refused                    bool
	}{
		{"form, foreign Origin", "POST", feed, biz, url.Values{}, []string{"Origin", evil}, true},
		{"form, Origin null", "POST", feed, biz, url.Values{}, []string{"Origin", "null"}, true},
		{"form, sibling host", "POST", feed, biz, url.Values{}, []string{"Origin", "https://x.inspect.example.gov.cn"}, true},
		{"form, other port", "POST", feed, biz, url.Values{}, []string{"Origin", "http://127.0.0.1:1"}, true},
		{"form, no Origin, foreign Referer", "POST", feed, biz, url.Values{}, []string{"Referer", evil + "/page"}, true},
		{"form, neither header", "POST", feed, biz, url.Values{}, nil, true},
		{"form, own host", "POST", feed, biz, url.Values{}, []string{"Origin", s.URL}, false},
		{"form, public_base_url", "POST", feed, biz, url.Values{}, []string{"Origin", "https://inspect.example.gov.cn"}, false},
		{"form, public_base_url with default port", "POST", feed, biz, url.Values{}, []string{"Origin", "https://INSPECT.example.gov.cn:443"}, false},
		{"form, own Referer", "POST", feed, biz, url.Values{}, []string{"Referer", s.URL + "/businesses/" + s.bizA.USCC + "/schedule"}, false},
		{"logout, foreign Origin", "POST", "/logout", biz, url.Values{}, []string{"Origin", evil}, true},
		{"login form, foreign Origin", "POST", "/login", "", url.Values{"token": {s.tokens["admin"]}}, []string{"Origin", evil}, true},
		{"login form, neither header", "POST", "/login", "", url.Values{"token": {s.tokens["admin"]}}, nil, true},
		{"login form, own Referer", "POST", "/login", "", url.Values{"token": {s.tokens["admin"]}}, []string{"Referer", s.URL + "/login"}, false},
		{"door JSON, foreign Origin", "PUT", result, insp, nil, []string{"Origin", evil, "Content-Type", "application/json"}, true},
		{"door JSON, own Origin", "PUT", result, insp, nil, []string{"Origin", s.URL, "Content-Type", "application/json"}, false},
		{"bearer, foreign Origin", "POST", feed, "", url.Values{}, []string{"Origin", evil, "Authorization", "Bearer " + s.tokens["business"]}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.browserReq(t, tc.method, tc.path, tc.cookie, tc.form, tc.headers...)
			body, _ := io.ReadAll(res.Body)
			crossOrigin := res.StatusCode == http.StatusForbidden && (strings.Contains(string(body), "cross-origin") ||
				strings.Contains(string(body), "请求来自其他网站"))
			if crossOrigin != tc.refused {
				t.Fatalf("status %d, refused as cross-origin %v, want %v; body %.300s", res.StatusCode, crossOrigin, tc.refused, body)
			}
			if tc.refused && sessionCookie(res) != nil {
				t.Fatalf("a refused request set the session cookie: %v", sessionCookie(res))
			}
			if tc.refused && strings.HasPrefix(tc.path, "/inspect/") && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("door refusal is %s, want JSON for the page's script", res.Header.Get("Content-Type"))
			}
		})
	}
	// The refused logout left the session alive; the refused form rotated
	// nothing: the session still opens the schedule.
	if !s.signedIn(t, biz, "/businesses/"+s.bizA.USCC+"/schedule") {
		t.Fatal("a refused cross-origin logout ended the session")
	}
}

// TestLoginNextStaysOnSite: the page after sign-in is a path on this site,
// whatever next= a link carried.
func TestLoginNextStaysOnSite(t *testing.T) {
	s := newSite(t)
	for _, next := range []string{"/\t/evil.example", "/%09/evil.example", "/\\evil.example", "//evil.example",
		"https:evil.example", "/\n/evil.example", "https://evil.example/", "/%2F/evil.example"} {
		res := s.browserReq(t, "POST", "/login", "", url.Values{"token": {s.tokens["admin"]}, "next": {next}}, "Origin", s.URL)
		if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("next=%q: %d to %q, want /", next, res.StatusCode, loc)
		}
	}
	res := s.browserReq(t, "POST", "/login", "", url.Values{"token": {s.tokens["admin"]}, "next": {"/plans?x=1"}}, "Origin", s.URL)
	if loc := res.Header.Get("Location"); loc != "/plans?x=1" {
		t.Errorf("a local next went to %q", loc)
	}
}

// TestSecurityHeaders: every answer (API, page, static file, feed, error)
// says nosniff and a Referrer-Policy; every answer to a signed-in caller is
// no-store; public answers keep their caching; the visit-code page and feeds
// keep no-referrer.
func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	r := s.do("business", "POST", "/api/v1/businesses/"+s.bizA.USCC+"/feed", nil)
	expect(t, r, 201, "feed")
	var feed struct{ URL string }
	r.json(t, &feed)
	cookie := s.login(t, s.tokens["admin"])
	bearer := func(who string) []string { return []string{"Authorization", "Bearer " + s.tokens[who]} }

	for _, tc := range []struct {
		name, path, cookie string
		headers            []string
		status             int
		noStore            bool
		referrer           string
	}{
		{"healthz", "/healthz", "", nil, 200, false, ""},
		{"API, signed in", "/api/v1/me", "", bearer("admin"), 200, true, ""},
		{"API list, signed in", "/api/v1/departments", "", bearer("planner"), 200, true, ""},
		{"API, no token", "/api/v1/me", "", nil, 401, false, ""},
		{"OpenAPI", "/api/v1/openapi.yaml", "", nil, 200, false, ""},
		{"static", "/static/app.css", "", nil, 200, false, ""},
		{"login page", "/login", "", nil, 200, false, ""},
		{"page, session", "/plans", cookie, nil, 200, true, ""},
		{"page, bearer", "/plans", "", bearer("admin"), 200, true, ""},
		{"page, forbidden role", "/plans", "", bearer("business"), 403, true, ""},
		// A feed's secret URL is its credential, not a session: it keeps
		// its own caching (private, revalidated).
		{"feed", feed.URL, "", nil, 200, false, "no-referrer"},
		{"visit code page", "/v/ABCDEFGH", "", nil, 404, true, "no-referrer"},
		{"public results", "/results", "", nil, 200, false, ""},
		{"unknown path", "/nothing-here", "", nil, 404, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := s.browserReq(t, "GET", tc.path, tc.cookie, nil, tc.headers...)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			h := res.Header
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options %q", h.Get("X-Content-Type-Options"))
			}
			want := tc.referrer
			if want == "" {
				want = "strict-origin-when-cross-origin"
			}
			if got := h.Get("Referrer-Policy"); got != want {
				t.Errorf("Referrer-Policy %q, want %q", got, want)
			}
			if cc := h.Get("Cache-Control"); (cc == "no-store") != tc.noStore {
				t.Errorf("Cache-Control %q, want no-store %v", cc, tc.noStore)
			}
		})
	}
}

// TestSessionCookieSecure: http.secure_cookies decides the cookie's Secure
// attribute; auto follows the request's TLS and public_base_url's scheme.
func TestSessionCookieSecure(t *testing.T) {
	v := newEnv(t)
	for _, tc := range []struct {
		name    string
		tls     bool
		environ []string
		secure  bool
	}{
		{"auto, http", false, nil, false},
		{"auto, https public_base_url (TLS proxy)", false, []string{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://inspect.example.gov.cn"}, true},
		{"auto, TLS", true, nil, true},
		{"always", false, []string{"INSPECTONCE_HTTP_SECURE_COOKIES=always"}, true},
		{"never, https public_base_url", false, []string{"INSPECTONCE_HTTP_SECURE_COOKIES=never",
			"INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://inspect.example.gov.cn"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSiteOn(t, v, tc.tls, tc.environ...)
			res := s.browserReq(t, "POST", "/login", "", url.Values{"token": {v.tokens["admin"]}}, "Origin", s.URL)
			ck := sessionCookie(res)
			if ck == nil {
				t.Fatalf("no session cookie (status %d)", res.StatusCode)
			}
			if ck.Secure != tc.secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
				t.Fatalf("cookie Secure=%v HttpOnly=%v SameSite=%v, want Secure=%v, HttpOnly, Strict", ck.Secure, ck.HttpOnly, ck.SameSite, tc.secure)
			}
			out := s.browserReq(t, "POST", "/logout", ck.Value, url.Values{}, "Origin", s.URL)
			if c := sessionCookie(out); c == nil || c.Secure != tc.secure {
				t.Fatalf("clearing cookie %v, want Secure=%v", c, tc.secure)
			}
		})
	}
}

// TestWebhookPrivateURLRefused: a webhook aimed at the service's own network
// is 422 naming url and registers nothing, unless webhooks.allow_private.
func TestWebhookPrivateURLRefused(t *testing.T) {
	v := newEnv(t)
	for _, u := range []string{"http://127.0.0.1:9/h", "http://localhost:8080/h", "http://[::1]/h", "http://10.1.2.3/h",
		"http://172.16.0.1/h", "http://192.168.1.10/h", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/h",
		"http://0.0.0.0/h", "http://[fd00::1]/h", "http://[fe80::1]/h", "http://[::ffff:127.0.0.1]/h"} {
		r := v.do("admin", "POST", "/api/v1/webhooks", map[string]any{"recipient_kind": "team", "url": u, "secret": "0123456789abcdef"})
		expect(t, r, 422, u)
		if p := r.problem(t); len(p.Errors) != 1 || p.Errors[0].Field != "url" {
			t.Fatalf("%s: problem %+v, want one error naming url", u, p)
		}
	}
	r := v.do("admin", "GET", "/api/v1/webhooks", nil)
	var page struct{ Items []json.RawMessage }
	r.json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("refused webhooks were registered: %s", r.Body)
	}
	// Allowed by configuration.
	s := newSiteOn(t, v, false, "INSPECTONCE_WEBHOOKS_ALLOW_PRIVATE=true")
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/webhooks",
		strings.NewReader(`{"recipient_kind":"team","url":"http://127.0.0.1:9/h","secret":"0123456789abcdef"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+v.tokens["admin"])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("with webhooks.allow_private: %d, want 201", res.StatusCode)
	}
}
