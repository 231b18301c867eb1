package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	"fmt"
	"inspectonce/configs"
	"net/http"
	"strings"
	"sync"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestRegistryRoundTrips(t *testing.T) {
	v := newEnv(t)
	cases := []struct {
		name, path      string
		create, update  map[string]any
		key             string // field holding the id in answers
		checkField      string // field whose update must read back
		updatedValue    any
		listQuery       string
		listMustContain bool
	}{
		{name: "department", path: "/api/v1/departments", key: "id",
			create: map[string]any{"code": "WSJK", "name": "卫生健康局"},
			update: map[string]any{"code": "WSJK", "name": "卫生健康委员会"}, checkField: "name", updatedValue: "卫生健康委员会"},
		{name: "item", path: "/api/v1/items", key: "id",
			create:     map[string]any{"code": "SCJG-09", "department_id": v.deptA.ID, "name": "价格公示", "domain": "pricing", "minutes": 10, "legal_basis": "《价格法》"},
			update:     map[string]any{"code": "SCJG-09", "department_id": v.deptA.ID, "name": "明码标价", "domain": "pricing", "minutes": 15},
			checkField: "minutes", updatedValue: 15.0, listQuery: fmt.Sprintf("?department_id=%d", v.deptA.ID)},
		{name: "scenario", path: "/api/v1/scenarios", key: "id",
			create:     map[string]any{"code": "MS", "name": "民宿", "industry_codes": []string{"H611"}, "item_ids": []int64{v.itemA.ID}},
			update:     map[string]any{"code": "MS", "name": "民宿", "industry_codes": []string{"H611"}, "item_ids": []int64{v.itemA.ID, v.itemB.ID}},
			checkField: "item_ids", updatedValue: []any{float64(v.itemA.ID), float64(v.itemB.ID)}},
		{name: "region", path: "/api/v1/regions", key: "id",
			create:     map[string]any{"code": "SS-SS", "name": "嵊山镇", "level": "township", "parent_id": v.county.ID},
			update:     map[string]any{"code": "SS-SS", "name": "嵊山镇（更名）", "level": "township", "parent_id": v.county.ID},
			checkField: "name", updatedValue: "嵊山镇（更名）", listQuery: fmt.Sprintf("?parent_id=%d", v.county.ID)},
		{name: "team", path: "/api/v1/teams", key: "id",
			create: map[string]any{"code": "SCJG-T", "name": "市场监管执法队", "kind": "professional", "department_id": v.deptA.ID,
				"base_lat": 30.7, "base_lng": 122.4, "daily_capacity_minutes": 1440, "region_ids": []int64{v.town.ID}},
			update: map[string]any{"code": "SCJG-T", "name": "市场监管执法队", "kind": "professional", "department_id": v.deptA.ID,
				"base_lat": 30.7, "base_lng": 122.4, "daily_capacity_minutes": 1920, "region_ids": []int64{v.town.ID, v.grid.ID}},
			checkField: "daily_capacity_minutes", updatedValue: 1920.0, listQuery: "?kind=professional"},
		{name: "inspector", path: "/api/v1/inspectors", key: "id",
			create: map[string]any{"code": "ZJ-0002", "name": "李强", "team_id": v.team.ID, "domains": []string{"fire_safety"}},
			update: map[string]any{"code": "ZJ-0002", "name": "李强", "team_id": v.team.ID, "domains": []string{"fire_safety", "food_safety"},
				"conflicts": []string{v.bizB.USCC}},
			checkField: "conflicts", updatedValue: []any{v.bizB.USCC}, listQuery: fmt.Sprintf("?team_id=%d", v.team.ID)},
		{name: "business", path: "/api/v1/businesses", key: "uscc",
			create: map[string]any{"uscc": mustUSCC(t, 3), "name": "加油站", "region_id": v.grid.ID, "industry_code": "F526",
				"lat": 30.71, "lng": 122.44, "risk_code": "red", "risk_reason": "危化品"},
			update: map[string]any{"name": "加油站", "region_id": v.grid.ID, "industry_code": "F526",
				"lat": 30.71, "lng": 122.44, "risk_code": "yellow", "risk_reason": "整改完成"},
			checkField: "risk_code", updatedValue: "yellow", listQuery: fmt.Sprintf("?region_id=%d&risk_code=yellow", v.county.ID)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := v.do("admin", "POST", tc.path, tc.create)
			expect(t, r, http.StatusCreated, "create")
			var created map[string]any
			r.json(t, &created)
			id := fmt.Sprint(created[tc.key])
			if tc.key == "id" {
				id = fmt.Sprintf("%.0f", created["id"].(float64))
			}
			r = v.do("admin", "GET", tc.path+"/"+id, nil)
			expect(t, r, http.StatusOK, "get")
			r = v.do("admin", "PUT", tc.path+"/"+id, tc.update)
			expect(t, r, http.StatusOK, "update")
			r = v.do("planner", "GET", tc.path+"/"+id, nil)
			expect(t, r, http.StatusOK, "get after update")
			var got map[string]any
			r.json(t, &got)
			if fmt.Sprint(got[tc.checkField]) != fmt.Sprint(tc.updatedValue) {
				t.Fatalf("%s after update = %v, want %v", tc.checkField, got[tc.checkField], tc.updatedValue)
			}
			r = v.do("team_leader", "GET", tc.path+tc.listQuery, nil)
			expect(t, r, http.StatusOK, "list")
			var page struct{ Items []map[string]any }
			r.json(t, &page)
			found := false
			for _, it := range page.Items {
				found = found || fmt.Sprint(it[tc.key]) == fmt.Sprint(created[tc.key])
			}
			if !found {
				t.Fatalf("list %s%s does not contain the created %s", tc.path, tc.listQuery, tc.name)
			}
		})
	}
	// The risk change above is in the business's history, oldest first.
	r := v.do("admin", "GET", "/api/v1/businesses/"+mustUSCC(t, 3)+"/risk-history", nil)
	expect(t, r, http.StatusOK, "risk history")
	var h struct{ History []domain.RiskChange }
	r.json(t, &h)
	if len(h.History) != 2 || h.History[0].RiskCode != "red" || h.History[1].RiskCode != "yellow" {
		t.Fatalf("risk history = %+v, want red then yellow", h.History)
	}
}

func TestPagination(t *testing.T) {
	v := newEnv(t)
	for i := range 5 {
		expect(t, v.do("admin", "POST", "/api/v1/departments", map[string]any{"code": fmt.Sprintf("PG%d", i), "name": "x"}), 201, "create")
	}
	seen := map[string]bool{}
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
		r := v.do("admin", "GET", "/api/v1/departments?limit=2&after="+after, nil)
		expect(t, r, 200, "page")
		var p struct {
			Items      []domain.Department
			NextCursor string `json:"next_cursor"`
		}
		r.json(t, &p)
		for _, d := range p.Items {
			if seen[d.Code] {
				t.Fatalf("%s on two pages", d.Code)
			}
			seen[d.Code] = true
		}
		if p.NextCursor == "" {
			break
		}
		after = p.NextCursor
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d departments, want 7", len(seen))
	}
	expect(t, v.do("admin", "GET", "/api/v1/departments?limit=0", nil), 422, "limit 0")
}

// counts is what a refused request must leave unchanged.
func (v *env) counts() [3]int {
	v.t.Helper()
	ctx := context.Background()
	d, err := v.st.ListDemands(ctx, store.DemandFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		v.t.Fatal(err)
	}
	b, err := v.st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		v.t.Fatal(err)
	}
	it, err := v.st.ListItems(ctx, store.ItemFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		v.t.Fatal(err)
	}
	return [3]int{len(d.Items), len(b.Items), len(it.Items)}
}

func (v *env) demandBody(mod func(m map[string]any)) map[string]any {
	m := map[string]any{
		"title":         "冬季食品安全检查",
		"item_ids":      []int64{v.itemA.ID},
		"businesses":    []string{v.bizA.USCC},
		"window":        map[string]string{"from": "2026-12-01", "to": "2026-12-31"},
		"priority":      2,
		"source":        "routine",
		"announce_days": 3,
	}
	if mod != nil {
		mod(m)
	}
	return m
}

func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	v := newEnv(t)
	before := v.counts()
	big := `{"code":"BIG","name":"` + strings.Repeat("x", 70000) + `"}`
	cases := []struct {
		name, who, method, path string
		body                    any
		status                  int
		field                   string
	}{
		{"wrong USCC check character", "admin", "POST", "/api/v1/businesses", map[string]any{"uscc": v.bizA.USCC[:17] + "0", "name": "x",
			"region_id": v.grid.ID, "industry_code": "H621", "lat": 30.7, "lng": 122.4}, 422, "uscc"},
		{"USCC of wrong length", "admin", "POST", "/api/v1/businesses", map[string]any{"uscc": "123", "name": "x",
			"region_id": v.grid.ID, "industry_code": "H621", "lat": 30.7, "lng": 122.4}, 422, "uscc"},
		{"wrong USCC in a demand", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["businesses"] = []string{"91330922000000001X"}
		}), 422, "businesses[0]"},
		{"item of another department", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["item_ids"] = []int64{v.itemB.ID}
		}), 422, "item_ids[0]"},
		{"window ending before it starts", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["window"] = map[string]string{"from": "2026-12-10", "to": "2026-12-01"}
		}), 422, "window.to"},
		{"window with no working day", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["window"] = map[string]string{"from": "2026-12-05", "to": "2026-12-06"}
		}), 422, "window"},
		{"window in the past", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["window"] = map[string]string{"from": "2026-10-12", "to": "2026-10-16"}
		}), 422, "window.to"},
		{"planner submitting for another department", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			m["department_id"] = v.deptB.ID
		}), 422, "department_id"},
		{"sample with count and ratio", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			delete(m, "businesses")
			m["sample"] = map[string]any{"count": 3, "ratio": 0.1}
		}), 422, "sample"},
		{"complaint drawn by sample", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) {
			delete(m, "businesses")
			m["source"] = "complaint"
			m["sample"] = map[string]any{"ratio": 0.1}
		}), 422, "sample"},
		{"unknown field", "planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["status"] = "cancelled" }), 422, "status"},
		{"wrong type", "admin", "POST", "/api/v1/items", map[string]any{"code": "X1", "department_id": "one", "name": "x", "domain": "a", "minutes": 5}, 422, "department_id"},
		{"item minutes out of range", "admin", "POST", "/api/v1/items", map[string]any{"code": "X1", "department_id": v.deptA.ID, "name": "x", "domain": "a", "minutes": 0}, 422, "minutes"},
		{"item of unknown department", "admin", "POST", "/api/v1/items", map[string]any{"code": "X1", "department_id": 999, "name": "x", "domain": "a", "minutes": 5}, 422, "department_id"},
		{"not JSON", "admin", "POST", "/api/v1/departments", "{", 422, "body"},
		{"oversized body", "admin", "POST", "/api/v1/departments", big, 413, ""},
		{"duplicate item code", "admin", "POST", "/api/v1/items", map[string]any{"code": v.itemA.Code, "department_id": v.deptA.ID, "name": "x", "domain": "a", "minutes": 5}, 409, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := v.do(tc.who, tc.method, tc.path, tc.body)
			expect(t, r, tc.status, tc.name)
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q, want application/problem+json", ct)
			}
			p := r.problem(t)
			if p.Status != tc.status || p.Title == "" {
				t.Fatalf("problem %+v", p)
			}
			if tc.field != "" {
				found := false
				for _, f := range p.Errors {
					found = found || f.Field == tc.field
				}
				if !found {
					t.Fatalf("problem does not name field %q: %+v", tc.field, p.Errors)
				}
			}
		})
	}
	if after := v.counts(); after != before {
		t.Fatalf("refused requests changed the data: before %v after %v", before, after)
	}
	n, brk, err := v.st.VerifyAudit(context.Background())
	if err != nil || brk != nil {
		t.Fatalf("audit chain: %v %v", brk, err)
	}
	entries, err := v.st.ListAudit(context.Background(), 0, store.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for _, e := range entries {
		if e.Outcome == store.OutcomeRejected {
			rejected++
		}
	}
	// An oversized body is refused before the token is read, so it has no actor
	// to audit; every other refused write is in the log.
	if rejected != len(cases)-1 || int64(len(entries)) != n {
		t.Fatalf("audit has %d rejected entries, want %d (one per refused write)", rejected, len(cases)-1)
	}
}

func TestDemandLifecycleAndScope(t *testing.T) {
	v := newEnv(t)
	r := v.do("planner", "POST", "/api/v1/demands", v.demandBody(nil))
	expect(t, r, 201, "submit")
	var d struct {
		ID           int64
		DepartmentID int64 `json:"department_id"`
		Status       string
		Window       windowJSON
	}
	r.json(t, &d)
	if d.DepartmentID != v.deptA.ID || d.Status != "open" || d.Window.From != "2026-12-01" {
		t.Fatalf("submitted demand = %+v", d)
	}
	path := fmt.Sprintf("/api/v1/demands/%d", d.ID)
	// Another department's planner sees nothing: 404, not 403.
	expect(t, v.do("plannerB", "GET", path, nil), 404, "other planner get")
	expect(t, v.do("plannerB", "POST", path+"/cancel", map[string]string{"reason": "x"}), 404, "other planner cancel")
	r = v.do("plannerB", "GET", "/api/v1/demands", nil)
	var page struct{ Items []map[string]any }
	r.json(t, &page)
	if len(page.Items) != 0 {
		t.Fatalf("other planner lists %d demands", len(page.Items))
	}
	// A sample demand over the registry.
	r = v.do("plannerB", "POST", "/api/v1/demands", map[string]any{
		"item_ids": []int64{v.itemB.ID}, "sample": map[string]any{"region_ids": []int64{v.town.ID}, "risk_codes": []string{"red", "yellow"}, "ratio": 0.05},
		"window": map[string]string{"from": "2026-12-01", "to": "2027-02-26"}, "source": "campaign"})
	expect(t, r, 201, "sample demand")
	// Cancel, then cancel again.
	expect(t, v.do("planner", "POST", path+"/cancel", map[string]string{"reason": "合并到专项行动"}), 200, "cancel")
	expect(t, v.do("planner", "POST", path+"/cancel", map[string]string{"reason": "again"}), 409, "cancel twice")
	r = v.do("admin", "GET", "/api/v1/demands?status=cancelled", nil)
	r.json(t, &page)
	if len(page.Items) != 1 {
		t.Fatalf("admin lists %d cancelled demands, want 1", len(page.Items))
	}
}

func TestIdempotencyKeyCreatesOneDemand(t *testing.T) {
	v := newEnv(t)
	body := v.demandBody(nil)
	first := v.do("planner", "POST", "/api/v1/demands", body, "Idempotency-Key", "k-1")
	expect(t, first, 201, "first")
	again := v.do("planner", "POST", "/api/v1/demands", body, "Idempotency-Key", "k-1")
	expect(t, again, 201, "retry")
	var a, b struct{ ID int64 }
	first.json(t, &a)
	again.json(t, &b)
	if a.ID != b.ID || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry answered demand %d (replayed=%q), first was %d", b.ID, again.Header.Get("Idempotent-Replayed"), a.ID)
	}
	// Same key, different request: refused.
	other := v.do("planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["priority"] = 5 }), "Idempotency-Key", "k-1")
	expect(t, other, 422, "reused key")
	// Concurrent retries of one submission still make one demand.
	var wg sync.WaitGroup
	ids := make([]int64, 8)
	for i := range ids {
		wg.Go(func() {
			r := v.do("planner", "POST", "/api/v1/demands", body, "Idempotency-Key", "k-2")
			var d struct{ ID int64 }
			if r.Status == 201 {
				r.json(t, &d)
			}
			ids[i] = d.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == 0 || id != ids[0] {
			t.Fatalf("concurrent retries got ids %v, want one id", ids)
		}
	}
	if n := v.counts()[0]; n != 2 {
		t.Fatalf("%d demands stored, want 2 (one per key)", n)
	}
}

// TestReadyzReportsOutages points the API at a Postgres or a Redis where
// nothing listens (port 1): /readyz answers 503 and names the one that is down.
func TestReadyzReportsOutages(t *testing.T) {
	v := newEnv(t)
	expect(t, v.do("", "GET", "/readyz", nil), 200, "ready")
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	deadStore, err := store.Open("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer deadStore.Close()
	deadRedis := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer deadRedis.Close()
	ropt, err := redis.ParseURL(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	liveRedis := redis.NewClient(ropt)
	defer liveRedis.Close()

	for _, tc := range []struct {
		name  string
		st    *store.Store
		redis *redis.Client
		down  string
	}{
		{"redis down", v.st, deadRedis, "redis"},
		{"postgres down", deadStore, liveRedis, "postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Options{Store: tc.st, Redis: redisPing{tc.redis}, Config: cfg, Logger: slog.New(slog.DiscardHandler)}))
			defer srv.Close()
			res, err := http.Get(srv.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Ready  bool
				Checks map[string]string
			}
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			up := map[string]string{"redis": "postgres", "postgres": "redis"}[tc.down]
			if res.StatusCode != 503 || body.Ready || body.Checks[tc.down] == "ok" || body.Checks[up] != "ok" {
				t.Fatalf("readyz with %s: %d %+v", tc.name, res.StatusCode, body)
			}
		})
	}
}

func TestWebhookRegistration(t *testing.T) {
	v := newEnv(t)
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"recipient_kind": "planner", "url": "https://example.org/h", "secret": "0123456789abcdef"}, "recipient_kind"},
		{map[string]any{"recipient_kind": "inspector", "url": "ftp://example.org/h", "secret": "0123456789abcdef"}, "url"},
		{map[string]any{"recipient_kind": "inspector", "url": "https://example.org/h", "secret": "short"}, "secret"},
	} {
		r := v.do("admin", "POST", "/api/v1/webhooks", tc.body)
		expect(t, r, 422, "bad webhook")
		if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Fatalf("problem %+v, want field %s", p, tc.field)
		}
	}
	r := v.do("admin", "POST", "/api/v1/webhooks", map[string]any{"recipient_kind": "team", "url": "https://example.org/h", "secret": "0123456789abcdef"})
	expect(t, r, 201, "webhook")
	if strings.Contains(string(r.Body), "0123456789abcdef") {
		t.Fatal("the secret was shown")
	}
	var w struct {
		ID     int64
		Active bool
	}
	r.json(t, &w)
	expect(t, v.do("admin", "PUT", fmt.Sprintf("/api/v1/webhooks/%d/active", w.ID), map[string]any{}), 422, "no active")
	expect(t, v.do("admin", "PUT", fmt.Sprintf("/api/v1/webhooks/%d/active", w.ID), map[string]any{"active": false}), 204, "off")
	r = v.do("admin", "GET", "/api/v1/webhooks", nil)
	var page struct {
		Items []struct {
			ID     int64
			Active bool
		}
	}
	r.json(t, &page)
	if len(page.Items) != 1 || page.Items[0].Active {
		t.Fatalf("webhooks after switching off: %+v", page.Items)
	}
}
