package api

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/configs"
)

// clientFrom is an HTTP client whose connections leave from the loopback
// address ip (127.0.0.2 …): to the server, another client. It does not follow
// redirects.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}
}

// send makes a request with client; API answers are checked against the
// OpenAPI document, pages are not in it.
func (v *env) send(client *http.Client, method, path string, body string, headers ...string) resp {
	t := v.t
	t.Helper()
	req, err := http.NewRequest(method, v.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/feeds/") {
		v.rc.check(t, req, []byte(body), res.StatusCode, res.Header, b)
	}
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// randomCode is a code-shaped text this service did not sign.
func randomCode(t testing.TB) string {
	b := make([]byte, 17)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// expect429 checks a refusal by a rate limit: 429, Retry-After in whole
// seconds, and a page or a problem as the route asks.
func expect429(t testing.TB, r resp, what string, problem bool) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("%s: status %d, want 429; body %.300s", what, r.Status, r.Body)
	}
	if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("%s: Retry-After %q, want whole seconds ≥ 1", what, r.Header.Get("Retry-After"))
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case problem && ct != "application/problem+json":
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	case !problem && !strings.HasPrefix(ct, "text/html"):
		t.Errorf("%s: Content-Type %q, want a page", what, ct)
	case !problem && !strings.Contains(string(r.Body), "请求过于频繁"):
		t.Errorf("%s: the page does not say why: %.300s", what, r.Body)
	}
}

func (v *env) scanCounts(t testing.TB) (rows, counted int64) {
	t.Helper()
	// Scans are written in batches, off the request: write them now.
	if err := v.st.FlushScans(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := v.st.SQL().QueryRow(`SELECT count(*) FROM visit_code_scans`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if err := v.st.SQL().QueryRow(`SELECT coalesce(sum(scans), 0) FROM visit_code_unknown_scans`).Scan(&counted); err != nil {
		t.Fatal(err)
	}
	return rows, counted
}

// TestRateLimitCodePage: with the default limits, a script guessing codes
// from one address meets 429 (with Retry-After, on a page) within a hundred
// requests; a forged X-Forwarded-For does not get it a fresh bucket; another
// address is not affected; the QR image shares the bucket.
func TestRateLimitCodePage(t *testing.T) {
	v := newEnv(t)
	guesser := clientFrom("127.0.0.1")
	limitedAt := 0
	var last resp
	for i := 1; i <= 300; i++ {
		last = v.send(guesser, "GET", "/v/"+randomCode(t), "")
		if last.Status == http.StatusTooManyRequests {
			limitedAt = i
			break
		}
		if last.Status != http.StatusNotFound {
			t.Fatalf("guess %d: status %d, want 404", i, last.Status)
		}
	}
	// The default bucket holds 60 and refills 2 a second.
	if limitedAt == 0 || limitedAt > 100 {
		t.Fatalf("first 429 at guess %d of 300, want within 100", limitedAt)
	}
	t.Logf("default limits: first 429 at guess %d", limitedAt)
	expect429(t, last, "guess past the limit", false)
	if v.send(guesser, "GET", "/v/"+randomCode(t)+"/qr.png", "").Status != http.StatusTooManyRequests {
		t.Error("the QR image is not limited with the page")
	}
	for _, xff := range []string{"203.0.113.9", "198.51.100.1, 203.0.113.10"} {
		r := v.send(guesser, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", xff, "X-Real-IP", "203.0.113.11")
		if r.Status != http.StatusTooManyRequests {
			t.Errorf("X-Forwarded-For %q (no trusted proxy configured) got past the limit: %d", xff, r.Status)
		}
	}
	// Nothing refused was recorded: only the guesses that got through are
	// counted.
	if rows, counted := v.scanCounts(t); rows != 0 || counted != int64(limitedAt-1) {
		t.Errorf("scan rows %d, counted %d; want 0 and %d", rows, counted, limitedAt-1)
	}
	other := clientFrom("127.0.0.2")
	if r := v.send(other, "GET", "/v/"+randomCode(t), ""); r.Status != http.StatusNotFound {
		t.Errorf("another client: status %d, want 404", r.Status)
	}
}

// TestRateLimitOffScansBounded: http.rate_limits.code_page.rate 0 turns the
// limit off; 500 made-up codes then add no scan row and are counted.
func TestRateLimitOffScansBounded(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_RATE=0")
	c := clientFrom("127.0.0.1")
	rows0, counted0 := v.scanCounts(t)
	const n = 500
	for i := range n {
		if r := v.send(c, "GET", "/v/"+randomCode(t), ""); r.Status != http.StatusNotFound {
			t.Fatalf("guess %d with the limit off: status %d, want 404", i+1, r.Status)
		}
	}
	rows, counted := v.scanCounts(t)
	t.Logf("%d made-up codes with the limit off: %d scan rows, %d counted", n, rows-rows0, counted-counted0)
	if rows != rows0 {
		t.Errorf("%d scan rows written for %d made-up codes, want none", rows-rows0, n)
	}
	if counted-counted0 != n {
		t.Errorf("%d made-up codes counted, want %d", counted-counted0, n)
	}
	var buckets int
	if err := v.st.SQL().QueryRow(`SELECT count(*) FROM visit_code_unknown_scans`).Scan(&buckets); err != nil {
		t.Fatal(err)
	}
	if buckets < 1 || buckets > 2 {
		t.Errorf("%d hourly rows for %d scans in a few seconds, want 1 (2 across an hour)", buckets, n)
	}
}

// TestRateLimitTrustedProxy: behind a configured proxy, clients are told
// apart by X-Forwarded-For.
func TestRateLimitTrustedProxy(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_TRUSTED_PROXIES=127.0.0.1/32",
		"INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_RATE=0.001", "INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_BURST=3")
	proxy := clientFrom("127.0.0.1")
	for i := range 3 {
		if r := v.send(proxy, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "203.0.113.7"); r.Status != http.StatusNotFound {
			t.Fatalf("request %d of 203.0.113.7: %d, want 404", i+1, r.Status)
		}
	}
	expect429(t, v.send(proxy, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "203.0.113.7"), "4th request of 203.0.113.7", false)
	// The client before the proxy, not the proxy, is the key; a client can
	// prepend what it likes, but the proxy's own entry is the one read.
	if r := v.send(proxy, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "203.0.113.8"); r.Status != http.StatusNotFound {
		t.Errorf("203.0.113.8 behind the same proxy: %d, want 404", r.Status)
	}
	expect429(t, v.send(proxy, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "10.9.9.9, 203.0.113.7"),
		"203.0.113.7 with a forged first entry", false)
	// The page speaks the reader's language.
	r := v.send(proxy, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "203.0.113.7", "Accept-Language", "en")
	if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "Too many requests. Please try again in ") {
		t.Errorf("English 429 page: %d %.400s", r.Status, r.Body)
	}
	// An address that is not a trusted proxy is believed about nothing.
	direct := clientFrom("127.0.0.3")
	for i := range 3 {
		v.send(direct, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "198.51.100."+strconv.Itoa(i+1))
	}
	expect429(t, v.send(direct, "GET", "/v/"+randomCode(t), "", "X-Forwarded-For", "198.51.100.200"),
		"untrusted peer with a new X-Forwarded-For", false)
}

// TestRateLimitWrites: a token's writes are limited per token (problem+json,
// Retry-After, in the OpenAPI document), its reads are not, another token is
// not, and the refusals write no audit rows.
func TestRateLimitWrites(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_RATE_LIMITS_WRITES_RATE=0.001", "INSPECTONCE_HTTP_RATE_LIMITS_WRITES_BURST=3")
	for i := range 3 {
		r := v.do("admin", "POST", "/api/v1/departments", map[string]string{"code": "D" + strconv.Itoa(i), "name": "部门"})
		expect(t, r, http.StatusCreated, "write within the limit")
	}
	var audit0 int
	if err := v.st.SQL().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&audit0); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r := v.do("admin", "POST", "/api/v1/departments", map[string]string{"code": "DX", "name": "部门"})
		expect429(t, r, "write past the limit", true)
		if p := r.problem(t); p.Status != http.StatusTooManyRequests || !strings.Contains(p.Detail, "writes") {
			t.Errorf("problem %+v", p)
		}
	}
	expect429(t, v.do("admin", "DELETE", "/api/v1/tokens/999", nil), "a DELETE past the limit", true)
	var audit int
	if err := v.st.SQL().QueryRow(`SELECT count(*) FROM audit_log`).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if audit != audit0 {
		t.Errorf("%d audit rows for refused writes, want none", audit-audit0)
	}
	expect(t, v.do("admin", "GET", "/api/v1/departments", nil), http.StatusOK, "a read past the write limit")
	// Another token has its own bucket (here a 422, not a 429).
	if r := v.do("planner", "POST", "/api/v1/demands", map[string]any{}); r.Status != http.StatusUnprocessableEntity {
		t.Errorf("another token's write: %d, want 422", r.Status)
	}
}

// TestRateLimitLogin: failed sign-ins are limited per address; a sign-in
// with a good token costs nothing, until the address is refused.
func TestRateLimitLogin(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=0.001", "INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_BURST=3")
	c := clientFrom("127.0.0.1")
	login := func(c *http.Client, token string) resp {
		return v.send(c, "POST", "/login", url.Values{"token": {token}, "next": {"/"}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "Origin", v.srv.URL)
	}
	for i := range 5 {
		if r := login(c, v.tokens["admin"]); r.Status != http.StatusSeeOther {
			t.Fatalf("good sign-in %d: %d, want 303", i+1, r.Status)
		}
	}
	for i := range 3 {
		if r := login(c, "io_wrong"); r.Status != http.StatusUnauthorized {
			t.Fatalf("bad sign-in %d: %d, want 401", i+1, r.Status)
		}
	}
	expect429(t, login(c, "io_wrong"), "4th bad sign-in", false)
	expect429(t, login(c, v.tokens["admin"]), "a good sign-in from a refused address", false)
	if r := login(clientFrom("127.0.0.2"), "io_wrong"); r.Status != http.StatusUnauthorized {
		t.Errorf("bad sign-in from another address: %d, want 401", r.Status)
	}
}

// TestRateLimitOpenData: the open data, the public results page and the
// calendar feeds share a per-address bucket.
func TestRateLimitOpenData(t *testing.T) {
	v := newEnvWith(t, "INSPECTONCE_HTTP_RATE_LIMITS_OPEN_DATA_RATE=0.001", "INSPECTONCE_HTTP_RATE_LIMITS_OPEN_DATA_BURST=3")
	c := clientFrom("127.0.0.1")
	expect(t, v.send(c, "GET", "/api/v1/open-data/results.json", ""), http.StatusOK, "open data")
	expect(t, v.send(c, "GET", "/api/v1/open-data/results.csv", ""), http.StatusOK, "open data CSV")
	expect(t, v.send(c, "GET", "/feeds/"+strings.Repeat("A", 43)+".ics", ""), http.StatusNotFound, "unknown feed")
	expect429(t, v.send(c, "GET", "/api/v1/open-data/results.json", ""), "open data past the limit", true)
	expect429(t, v.send(c, "GET", "/feeds/"+strings.Repeat("B", 43)+".ics", ""), "feed past the limit", true)
	expect429(t, v.send(c, "GET", "/results", ""), "results page past the limit", false)
	expect(t, v.send(clientFrom("127.0.0.2"), "GET", "/api/v1/open-data/results.json", ""), http.StatusOK, "another address")
	// The refusals are counted by class.
	r := v.do("admin", "GET", "/metrics", nil)
	expect(t, r, http.StatusOK, "metrics")
	if !strings.Contains(string(r.Body), `inspectonce_http_rate_limited_total{class="open_data"} 3`) {
		t.Errorf("metrics do not count the 3 refusals of open_data")
	}
}

// TestMetricsNotPublic: /metrics on the main listener answers 401 without a
// token, 403 to a token that is not an admin's, and the metrics to an admin;
// with http.metrics_addr set it is not there at all.
func TestMetricsNotPublic(t *testing.T) {
	v := newEnv(t)
	r := v.do("", "GET", "/metrics", nil)
	expect(t, r, http.StatusUnauthorized, "anonymous /metrics")
	if strings.Contains(string(r.Body), "inspectonce_http_requests_total") {
		t.Error("anonymous /metrics shows metrics")
	}
	expect(t, v.do("planner", "GET", "/metrics", nil), http.StatusForbidden, "planner's /metrics")
	r = v.do("admin", "GET", "/metrics", nil)
	expect(t, r, http.StatusOK, "admin's /metrics")
	if !strings.Contains(string(r.Body), "inspectonce_http_requests_total") {
		t.Errorf("admin's /metrics: %.300s", r.Body)
	}

	sep := newEnvWith(t, "INSPECTONCE_HTTP_METRICS_ADDR=127.0.0.1:0")
	for _, who := range []string{"", "admin"} {
		req, err := http.NewRequestWithContext(context.Background(), "GET", sep.srv.URL+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if who != "" {
			req.Header.Set("Authorization", "Bearer "+sep.tokens[who])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("/metrics on the main listener with http.metrics_addr set, token %q: %d, want 404", who, res.StatusCode)
		}
	}
}

// TestClientKey: IPv4 addresses are keyed one by one, IPv6 by their /64 (a
// subscriber picks any address in its prefix).
func TestClientKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"203.0.113.7", "::ffff:203.0.113.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"},
	} {
		if clientKey(tc.a) != clientKey(tc.b) {
			t.Errorf("%s and %s have different keys: %s, %s", tc.a, tc.b, clientKey(tc.a), clientKey(tc.b))
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"203.0.113.7", "203.0.113.8"},
		{"2001:db8:1:2::1", "2001:db8:1:3::1"},
		{"", "not an address"},
	} {
		if clientKey(tc.a) == clientKey(tc.b) {
			t.Errorf("%s and %s share the key %s", tc.a, tc.b, clientKey(tc.a))
		}
	}
}

// TestKeyedLimiterBounded: many clients cost at most max_clients buckets;
// the one seen least recently is forgotten first.
func TestKeyedLimiterBounded(t *testing.T) {
	k, err := newKeyedLimiter(configs.RateLimit{Rate: 0.001, Burst: 1}, 10)
	if err != nil || k == nil {
		t.Fatal(k, err)
	}
	now := time.Now()
	if k.take("ip:keep", now) != 0 || k.take("ip:keep", now) == 0 {
		t.Fatal("a bucket of 1 allowed two requests")
	}
	for i := range 1000 {
		k.take("ip:"+strconv.Itoa(i), now)
		k.wait("ip:keep", now) // seen: stays recent
	}
	if n := k.clients.Len(); n > 10 {
		t.Errorf("%d buckets for max_clients 10", n)
	}
	if k.take("ip:keep", now) == 0 {
		t.Error("a client seen all along lost its bucket to the flood")
	}
	off, err := newKeyedLimiter(configs.RateLimit{Rate: 0, Burst: 10}, 10)
	if err != nil || off != nil {
		t.Errorf("rate 0: %v %v, want no limiter", off, err)
	}
}
