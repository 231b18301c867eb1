package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/jobs"
	"inspectonce/store"
)

// rowCounts counts the rows a refused request must leave alone.
func (v *env) rowCounts() map[string]int {
	v.t.Helper()
	out := map[string]int{}
	for _, table := range []string{"departments", "items", "scenarios", "regions", "teams", "team_regions", "inspectors",
		"inspector_conflicts", "businesses", "demands", "demand_items", "plans", "visit_moves", "api_tokens", "webhooks", "scenario_items"} {
		var n int
		if err := v.st.SQL().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			v.t.Fatalf("count %s: %v", table, err)
		}
		out[table] = n
	}
	return out
}

// withServer swaps the API under test for one on the same database with the
// configuration overridden by env (e.g. a larger body limit).
func (v *env) withServer(env ...string) {
	t := v.t
	t.Helper()
	cfg, err := configs.Load("", append([]string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="}, env...))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Store: v.st, Config: cfg, Calendar: cal, Now: func() time.Time { return testToday },
		Logger: slog.New(slog.DiscardHandler), Planning: v.plans,
		Enqueue: func(ctx context.Context, planID int64) error { return v.enqueue(ctx, planID) }})
	v.srv = httptest.NewServer(e)
	t.Cleanup(v.srv.Close)
}

func ids(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i + 1)
	}
	return out
}

func strs(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// TestClientMistakesAre4xx sends each client mistake of issue 15 (point 4) to
// the real routes: each is a 4xx naming the field, and changes nothing.
func TestClientMistakesAre4xx(t *testing.T) {
	v := newEnv(t)
	// 100,000 ids need a body over the harness's 64 KiB (the default is 1 MiB).
	v.withServer("INSPECTONCE_HTTP_BODY_LIMIT_BYTES=2097152")
	team := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"code": "ZH2", "name": "二队", "kind": "comprehensive", "base_lat": 30.7, "base_lng": 122.4,
			"daily_capacity_minutes": 480, "region_ids": []int64{v.town.ID}}
		if mod != nil {
			mod(m)
		}
		return m
	}
	inspector := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"code": "ZJ-0999", "name": "李雷", "team_id": v.team.ID, "domains": []string{"food_safety"}}
		if mod != nil {
			mod(m)
		}
		return m
	}
	business := func(mod func(m map[string]any)) map[string]any {
		m := map[string]any{"uscc": mustUSCC(t, 77), "name": "新店", "region_id": v.grid.ID, "industry_code": "H621",
			"lat": 30.7, "lng": 122.4, "contact_name": "张三", "contact_phone": "0580-1234567"}
		if mod != nil {
			mod(m)
		}
		return m
	}
	bizPath := "/api/v1/businesses/" + v.bizA.USCC
	sample := func(mod func(s map[string]any)) map[string]any {
		return v.demandBody(func(m map[string]any) {
			delete(m, "businesses")
			s := map[string]any{"count": 1}
			mod(s)
			m["sample"] = s
		})
	}
	demandID := v.submit("planner", v.itemA.ID, v.bizA.USCC)
	before := v.rowCounts()

	cases := []struct {
		name, who, method, path string
		body                    any // []byte or string: sent as is
		status                  int
		field                   string // named in errors (422) or in detail (others)
	}{
		// NUL in any string of a body: refused by the body reader, by JSON path.
		{"NUL in a demand title", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["title"] = "冬季\x00检查" }), 422, "title"},
		{"NUL deep in a sample rule", "planner", "POST", "/api/v1/demands", sample(func(s map[string]any) { s["industry_codes"] = []string{"H621", "H6\x0021"} }), 422, "sample.industry_codes[1]"},
		{"NUL in a department name", "admin", "POST", "/api/v1/departments", map[string]any{"code": "NEWD", "name": "a\x00"}, 422, "name"},
		{"NUL in an item's legal basis", "admin", "PUT", fmt.Sprintf("/api/v1/items/%d", v.itemA.ID), map[string]any{"code": v.itemA.Code,
			"department_id": v.deptA.ID, "name": "x", "domain": "food_safety", "minutes": 30, "legal_basis": "《食品安全法》\x00"}, 422, "legal_basis"},
		{"NUL in a team code", "admin", "POST", "/api/v1/teams", team(func(m map[string]any) { m["code"] = "Z\x00" }), 422, "code"},
		{"NUL in an inspector's conflicts", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) { m["conflicts"] = []string{"\x00"} }), 422, "conflicts[0]"},
		{"NUL in a business contact", "admin", "PUT", bizPath, business(func(m map[string]any) { delete(m, "uscc"); m["contact_name"] = "\x00" }), 422, "contact_name"},
		{"NUL in a cancellation reason", "planner", "POST", fmt.Sprintf("/api/v1/demands/%d/cancel", demandID), map[string]any{"reason": "\x00"}, 422, "reason"},
		{"NUL in a token scope", "admin", "POST", "/api/v1/tokens", map[string]any{"role": "planner", "scope": "SCJG\x00", "name": "x"}, 422, "scope"},
		{"NUL in a webhook secret", "admin", "POST", "/api/v1/webhooks", map[string]any{"recipient_kind": "team", "url": "https://hooks.example/x", "secret": "s\x00"}, 422, "secret"},
		{"NUL in a region name", "admin", "POST", "/api/v1/regions", map[string]any{"code": "R9", "name": "\x00", "level": "grid", "parent_id": v.town.ID}, 422, "name"},
		{"NUL in a scenario's industry code", "admin", "POST", "/api/v1/scenarios", map[string]any{"code": "S9", "name": "x", "industry_codes": []string{"\x00"}, "item_ids": []int64{v.itemA.ID}}, 422, "industry_codes[0]"},
		{"NUL in a plan date", "admin", "POST", "/api/v1/plans", map[string]any{"from": "2026-12-01\x00", "to": "2026-12-11"}, 422, "from"},
		// Invalid UTF-8 (raw bytes) and lone surrogates are refused, not turned into U+FFFD.
		{"invalid UTF-8 in a name", "admin", "POST", "/api/v1/departments", []byte("{\"code\":\"NEWD\",\"name\":\"\xff\xfe\"}"), 422, "name"},
		{"invalid UTF-8 in a list", "planner", "POST", "/api/v1/demands", []byte(fmt.Sprintf(`{"item_ids":[%d],"businesses":["%s","%s"],"window":{"from":"2026-12-01","to":"2026-12-31"},"source":"routine"}`, v.itemA.ID, v.bizA.USCC, "\xc0\xaf")), 422, "businesses[1]"},
		{"a lone surrogate escape", "admin", "POST", "/api/v1/departments", `{"code":"NEWD","name":"\ud800x"}`, 422, "name"},
		// Duplicate codes: 409 like the other registries.
		{"a duplicate team code", "admin", "POST", "/api/v1/teams", team(func(m map[string]any) { m["code"] = v.team.Code }), 409, ""},
		{"a duplicate inspector code", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) { m["code"] = v.inspector.Code }), 409, ""},
		{"a duplicate department code", "admin", "POST", "/api/v1/departments", map[string]any{"code": v.deptA.Code, "name": "x"}, 409, ""},
		// Oversized lists: 422 before any lookup (PostgreSQL takes 65,535 parameters).
		{"100,000 item ids", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["item_ids"] = ids(100000) }), 422, "item_ids"},
		{"one item id too many", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["item_ids"] = ids(maxDemandItems + 1) }), 422, "item_ids"},
		{"one sample region too many", "planner", "POST", "/api/v1/demands", sample(func(s map[string]any) { s["region_ids"] = ids(maxRegionIDs + 1) }), 422, "sample.region_ids"},
		{"four risk codes", "planner", "POST", "/api/v1/demands", sample(func(s map[string]any) { s["risk_codes"] = []string{"red", "red", "red", "red"} }), 422, "sample.risk_codes"},
		{"one team region too many", "admin", "POST", "/api/v1/teams", team(func(m map[string]any) { m["region_ids"] = ids(maxRegionIDs + 1) }), 422, "region_ids"},
		{"one scenario item too many", "admin", "POST", "/api/v1/scenarios", map[string]any{"code": "S9", "name": "x", "item_ids": ids(maxScenarioItems + 1)}, 422, "item_ids"},
		{"one domain too many", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) {
			m["domains"] = strs(maxDomains+1, func(i int) string { return "d" + strconv.Itoa(i) })
		}), 422, "domains"},
		{"one conflict too many", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) { m["conflicts"] = strs(maxConflicts+1, func(int) string { return v.bizA.USCC }) }), 422, "conflicts"},
		{"one plan region too many", "admin", "POST", "/api/v1/plans", map[string]any{"from": "2026-12-01", "to": "2026-12-11", "region_ids": ids(maxRegionIDs + 1)}, 422, "region_ids"},
		{"a title one character too long", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["title"] = strings.Repeat("检", maxTitleLen+1) }), 422, "title"},
		{"a token scope too long", "admin", "POST", "/api/v1/tokens", map[string]any{"role": "planner", "scope": strings.Repeat("A", maxScopeLen+1), "name": "x"}, 422, "scope"},
		// Control characters and bidi overrides in names and titles.
		{"a bell in a department name", "admin", "POST", "/api/v1/departments", map[string]any{"code": "NEWD", "name": "市场\a监管"}, 422, "name"},
		{"a newline in a business name", "admin", "POST", "/api/v1/businesses", business(func(m map[string]any) { m["name"] = "新\n店" }), 422, "name"},
		{"a C1 control in an inspector name", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) { m["name"] = "李\u0085雷" }), 422, "name"},
		{"a right-to-left override in a business name", "admin", "POST", "/api/v1/businesses", business(func(m map[string]any) { m["name"] = "海鲜\u202e档排大" }), 422, "name"},
		{"an isolate in a team name", "admin", "POST", "/api/v1/teams", team(func(m map[string]any) { m["name"] = "\u2066二队\u2069" }), 422, "name"},
		{"DEL in a demand title", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["title"] = "x\x7f" }), 422, "title"},
		{"an escape in a cancellation reason", "planner", "POST", fmt.Sprintf("/api/v1/demands/%d/cancel", demandID), map[string]any{"reason": "ok\x1b[31m"}, 422, "reason"},
		// Dates far outside any sensible range.
		{"a window to 9999-12-31", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["window"] = map[string]string{"from": "2026-12-01", "to": "9999-12-31"} }), 422, "window.to"},
		{"a plan ending in 2101", "admin", "POST", "/api/v1/plans", map[string]any{"from": "2026-12-01", "to": "2101-01-03"}, 422, "to"},
		{"a roster of year 1", "admin", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/0001-01-01", v.team.ID), nil, 422, "date"},
		{"an inspector's visits in 9999", "admin", "GET", fmt.Sprintf("/api/v1/inspectors/%d/visits?date=9999-12-31", v.inspector.ID), nil, 422, "date"},
		// Blank (whitespace-only) titles, phones and contact names.
		{"a blank demand title", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["title"] = "   " }), 422, "title"},
		{"a blank contact phone", "admin", "POST", "/api/v1/businesses", business(func(m map[string]any) { m["contact_phone"] = " \t " }), 422, "contact_phone"},
		{"a blank contact name", "admin", "PUT", bizPath, business(func(m map[string]any) { delete(m, "uscc"); m["contact_name"] = "\u3000" }), 422, "contact_name"},
		{"a blank team phone", "admin", "POST", "/api/v1/teams", team(func(m map[string]any) { m["contact_phone"] = "  " }), 422, "contact_phone"},
		{"a blank inspector phone", "admin", "POST", "/api/v1/inspectors", inspector(func(m map[string]any) { m["phone"] = " " }), 422, "phone"},
		// NUL and invalid UTF-8 in query and path parameters.
		{"NUL in a query filter", "admin", "GET", "/api/v1/items?domain=food%00safety", nil, 422, "domain"},
		{"invalid UTF-8 in a query filter", "admin", "GET", "/api/v1/businesses?industry_code=%FF", nil, 422, "industry_code"},
		{"NUL in a cursor", "admin", "GET", "/api/v1/departments?after=%00", nil, 422, "after"},
		{"NUL in a path USCC", "admin", "GET", "/api/v1/businesses/%00", nil, 404, "uscc"},
		{"invalid UTF-8 in a path USCC", "admin", "PUT", "/api/v1/businesses/%FF", business(func(m map[string]any) { delete(m, "uscc") }), 404, "uscc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any = c.body
			if s, ok := c.body.(string); ok {
				body = []byte(s)
			}
			r := v.do(c.who, c.method, c.path, body)
			if r.Status != c.status {
				t.Fatalf("status %d, want %d: %.600s", r.Status, c.status, r.Body)
			}
			if c.status == 422 {
				if got := fieldsOf(t, r); !slices.Contains(got, c.field) {
					t.Errorf("fields %v, want %s named: %.600s", got, c.field, r.Body)
				}
			} else if c.field != "" && !strings.Contains(r.problem(t).Detail, c.field) {
				t.Errorf("detail does not name %s: %s", c.field, r.Body)
			}
			if after := v.rowCounts(); !maps.Equal(after, before) {
				t.Errorf("rows changed: before %v, after %v", before, after)
			}
		})
	}

	// Multi-line fields keep their newlines and tabs.
	r := v.do("planner", "POST", fmt.Sprintf("/api/v1/demands/%d/cancel", demandID), map[string]any{"reason": "企业已注销。\n\t见公告"})
	expect(t, r, 200, "a cancellation reason over two lines")
}

// TestMoveFarAwayIsRefused: a move to 9999-12-31, or beyond what a demand's
// window may reach, is a 422 naming the date, and records no move.
func TestMoveFarAwayIsRefused(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	path := fmt.Sprintf("/api/v1/plans/%d/visits/%d/move", f.plan.ID, f.joint.Seq)
	before := v.rowCounts()
	for _, date := range []string{"9999-12-31", "2101-01-01", "2028-12-01"} {
		r := f.do("admin", "POST", path, map[string]string{"date": date, "reason": "台风"})
		expect(t, r, 422, "move to "+date)
		if got := fieldsOf(t, r); !slices.Equal(got, []string{"date"}) {
			t.Errorf("move to %s: fields %v, want [date]", date, got)
		}
	}
	if after := v.rowCounts(); !maps.Equal(after, before) {
		t.Errorf("rows changed: before %v, after %v", before, after)
	}
}

// tcpProxy forwards a local port to PostgreSQL; cut closes the listener and
// every connection, which is to the server an outage of PostgreSQL (refused
// and reset connections), without stopping the shared test server.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
	// frozen holds every byte in flight, as a stopped PostgreSQL does: the
	// connections stay open and nothing answers.
	frozen atomic.Bool
}

// freeze stops the traffic without closing anything (kill -STOP, a
// half-open network); thaw lets it flow again.
func (p *tcpProxy) freeze() { p.frozen.Store(true) }
func (p *tcpProxy) thaw()   { p.frozen.Store(false) }

// pipe copies src to dst, holding each chunk while the proxy is frozen.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for p.frozen.Load() {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	p.listen("127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go p.pipe(s, c)
			go p.pipe(c, s)
		}
	}()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// restore listens again on the same port.
func (p *tcpProxy) restore() { p.listen(p.addr) }

// TestPostgresOutageIs503: while PostgreSQL cannot be reached, reads and
// writes answer 503 with Retry-After, and the service recovers by itself.
// proxiedEnv is an env whose server reaches its database through a TCP
// proxy the test can cut or freeze; cfg, when given, adjusts the server's
// configuration.
func proxiedEnv(t *testing.T, cfg func(*configs.Config)) (*env, *tcpProxy) {
	v := newEnv(t)
	// The env's database, reached through the proxy.
	var dbName string
	if err := v.st.SQL().QueryRowContext(context.Background(), "SELECT current_database()").Scan(&dbName); err != nil {
		t.Fatal(err)
	}
	var host, port string
	if err := v.st.SQL().QueryRowContext(context.Background(), "SELECT host(inet_server_addr()), inet_server_port()::text").Scan(&host, &port); err != nil {
		t.Fatal(err)
	}
	proxy := newTCPProxy(t, net.JoinHostPort(host, port))
	st, err := store.Open(fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable&connect_timeout=2", proxy.addr, dbName), store.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	conf, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	if cfg != nil {
		cfg(conf)
	}
	cal, err := calendar.New(conf.Calendar.Holidays, conf.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(Options{Store: st, Config: conf, Calendar: cal, Now: func() time.Time { return testToday },
		Logger: slog.New(slog.DiscardHandler)}))
	t.Cleanup(srv.Close)
	v.srv = srv
	return v, proxy
}

func TestPostgresOutageIs503(t *testing.T) {
	v, proxy := proxiedEnv(t, nil)
	expect(t, v.do("admin", "POST", "/api/v1/departments", map[string]any{"code": "UP1", "name": "在线"}), 201, "write while up")
	before := v.rowCounts()
	proxy.cut()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/departments", map[string]any{"code": "DOWN1", "name": "离线"}},
		{"GET", "/api/v1/departments", nil},
		{"POST", "/api/v1/demands", v.demandBody(nil)},
		{"GET", "/api/v1/businesses/" + v.bizA.USCC, nil},
	} {
		r := v.do("admin", c.method, c.path, c.body)
		if r.Status != 503 || r.Header.Get("Retry-After") != "5" {
			t.Errorf("%s %s while PostgreSQL is down: %d Retry-After %q: %s", c.method, c.path, r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	if after := v.rowCounts(); !maps.Equal(after, before) {
		t.Errorf("rows changed during the outage: before %v, after %v", before, after)
	}
	proxy.restore()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := v.do("admin", "POST", "/api/v1/departments", map[string]any{"code": "UP2", "name": "恢复"})
		if r.Status == 201 {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the outage: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// freeAddr is an address where nothing listens: a Redis that is down.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// TestPlanRunThatCannotBeQueued: with the job queue's Redis down (nothing
// listens at its address), POST /plans is a 503 with Retry-After and leaves
// no plan behind, neither running nor failed; the audit log says why.
func TestPlanRunThatCannotBeQueued(t *testing.T) {
	v := newEnv(t)
	q := asynq.NewClient(asynq.RedisClientOpt{Addr: freeAddr(t), DialTimeout: time.Second})
	t.Cleanup(func() { _ = q.Close() })
	v.enqueue = func(ctx context.Context, planID int64) error { return jobs.EnqueuePlanRun(ctx, q, planID) }
	before := v.rowCounts()
	r := v.do("admin", "POST", "/api/v1/plans", map[string]any{"from": "2026-12-01", "to": "2026-12-11"})
	expect(t, r, 503, "unqueued run")
	if r.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	r = v.do("admin", "GET", "/api/v1/plans", nil)
	var plans listResponse[store.Plan]
	r.json(t, &plans)
	if len(plans.Items) != 0 {
		t.Fatalf("a refused plan is left behind: %+v", plans.Items)
	}
	if after := v.rowCounts(); !maps.Equal(after, before) {
		t.Errorf("rows changed: before %v, after %v", before, after)
	}
	entries, err := v.st.ListAudit(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "plan.create") || !slices.Contains(actions, "plan.withdraw") {
		t.Errorf("audit actions %v, want plan.create and plan.withdraw", actions)
	}
}

// TestPagesRefuseNULAndBadDates: the pages (web/) share the parameter check,
// the body reader and the date parser: a NUL or invalid UTF-8 in a path,
// query or door body, or a date in year 9999, is a 4xx, not a 500.
func TestPagesRefuseNULAndBadDates(t *testing.T) {
	v := newEnv(t)
	login := func(who string) *http.Client {
		jar, err := cookiejar.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		req, _ := http.NewRequest("POST", v.srv.URL+"/login", strings.NewReader(url.Values{"token": {v.tokens[who]}, "next": {"/"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", v.srv.URL)
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login as %s: %d", who, res.StatusCode)
		}
		return c
	}
	admin, inspector := login("admin"), login("inspector")
	for _, c := range []struct {
		client       *http.Client
		method, path string
		body         string
	}{
		{admin, "GET", "/businesses/%00/schedule", ""},
		{admin, "GET", "/businesses/%FF/schedule", ""},
		{admin, "GET", fmt.Sprintf("/teams/%d/rosters/9999-12-31", v.team.ID), ""},
		{inspector, "GET", "/inspect?date=9999-12-31", ""},
		{inspector, "POST", "/inspect/plans/1/visits/1/check-in", `{"client_id":"\u0000"}`},
		{http.DefaultClient, "GET", "/results?from=2026-01-01%00", ""},
		{http.DefaultClient, "GET", "/results?from=%FF", ""},
		{inspector, "GET", "/inspect?date=%00", ""},
	} {
		req, err := http.NewRequest(c.method, v.srv.URL+c.path, strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Origin", v.srv.URL)
		}
		res, err := c.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode < 400 || res.StatusCode >= 500 {
			t.Errorf("%s %s: %d, want a 4xx: %.300s", c.method, c.path, res.StatusCode, body)
		}
		// A browser is answered with a page in its language, not JSON.
		if ct := res.Header.Get("Content-Type"); c.method == "GET" && !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s %s: %s, want a page", c.method, c.path, ct)
		}
	}
}

// TestPostgresHangIs503: a PostgreSQL that hangs instead of refusing (kill
// -STOP, a half-open network) does not hold requests forever: past
// http.request_timeout they answer 503 with Retry-After, change nothing, and
// the service works again once it answers.
func TestPostgresHangIs503(t *testing.T) {
	v, proxy := proxiedEnv(t, func(c *configs.Config) { c.HTTP.RequestTimeout = 2 * time.Second })
	expect(t, v.do("admin", "POST", "/api/v1/departments", map[string]any{"code": "UP1", "name": "在线"}), 201, "write while up")
	before := v.rowCounts()
	proxy.freeze()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/v1/departments", map[string]any{"code": "HANG1", "name": "挂起"}},
		{"GET", "/api/v1/departments", nil},
	} {
		start := time.Now()
		r := v.do("admin", c.method, c.path, c.body)
		if took := time.Since(start); r.Status != 503 || r.Header.Get("Retry-After") == "" || took > 15*time.Second {
			t.Errorf("%s %s while PostgreSQL hangs: %d Retry-After %q after %s: %s", c.method, c.path, r.Status,
				r.Header.Get("Retry-After"), took, r.Body)
		}
	}
	proxy.thaw()
	if after := v.rowCounts(); !maps.Equal(after, before) {
		t.Errorf("rows changed while PostgreSQL hung: before %v, after %v", before, after)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := v.do("admin", "POST", "/api/v1/departments", map[string]any{"code": "UP2", "name": "恢复"})
		if r.Status == 201 {
			break
		}
		if r.Status != 503 || time.Now().After(deadline) {
			t.Fatalf("after the hang: %d %s", r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
