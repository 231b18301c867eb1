package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestRoleRouteMatrix walks every route with every role (and no token) and
// checks the answer: allowed roles get their 2xx, others 403, objects outside a
// caller's scope 404, and no token 401.
func TestRoleRouteMatrix(t *testing.T) {
	v := newEnv(t)
	roles := []string{"admin", "planner", "team_leader", "inspector", "business"}
	staff := "admin planner team_leader inspector"
	type route struct {
		method, path string
		body         func(role string) any
		ok           int
		allowed      string         // roles that get ok
		special      map[string]int // role -> status overriding the rule
	}
	n := 0
	uniq := func(prefix string) string { n++; return fmt.Sprintf("%s%d", prefix, n) }
	id := func(x int64) string { return fmt.Sprint(x) }
	demand := func(string) any { return v.demandBody(nil) }
	// Inspectors enough for the plans below to place visits (a visit to move).
	v.planCounty()
	// A demand of department B: planner A must get 404 on it.
	r := v.do("plannerB", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["item_ids"] = []int64{v.itemB.ID} }))
	expect(t, r, 201, "setup demand")
	var other struct{ ID int64 }
	r.json(t, &other)
	mine := v.do("planner", "POST", "/api/v1/demands", v.demandBody(nil))
	var own struct{ ID int64 }
	mine.json(t, &own)
	// Plans: a draft to read and publish, another to discard.
	horizon := func(string) any { return map[string]any{"from": "2026-11-30", "to": "2026-12-11"} }
	draft := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	spare := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	plan := "/api/v1/plans/" + id(draft.ID)
	// Queues: two archived tasks, one to retry and one to delete.
	queue, archived, _ := archivedQueue(t, 2)
	queuePath := "/api/v1/admin/queues/" + queue + "/archived"
	csv := "uscc,name,region,industry,lat,lng\n" + mustUSCC(t, 77) + ",新店," + v.grid.Code + ",H621,30.7,122.4\n"
	routes := []route{
		{"GET", "/api/v1/me", nil, 200, staff + " business", nil},
		{"GET", "/api/v1/departments", nil, 200, staff, nil},
		{"POST", "/api/v1/departments", func(string) any { return map[string]any{"code": uniq("D"), "name": "x"} }, 201, "admin", nil},
		{"GET", "/api/v1/departments/" + id(v.deptA.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/departments/" + id(v.deptA.ID), func(string) any { return map[string]any{"code": "SCJG", "name": "市场监管局"} }, 200, "admin", nil},
		{"GET", "/api/v1/items", nil, 200, staff, nil},
		{"POST", "/api/v1/items", func(string) any {
			return map[string]any{"code": uniq("I"), "department_id": v.deptA.ID, "name": "x", "domain": "food_safety", "minutes": 5}
		}, 201, "admin", nil},
		{"GET", "/api/v1/items/" + id(v.itemA.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/items/" + id(v.itemA.ID), func(string) any {
			return map[string]any{"code": v.itemA.Code, "department_id": v.deptA.ID, "name": "食品贮存", "domain": "food_safety", "minutes": 30}
		}, 200, "admin", nil},
		{"GET", "/api/v1/scenarios", nil, 200, staff, nil},
		{"POST", "/api/v1/scenarios", func(string) any {
			return map[string]any{"code": uniq("S"), "name": "x", "industry_codes": []string{"H621"}, "item_ids": []int64{v.itemA.ID}}
		}, 201, "admin", nil},
		{"GET", "/api/v1/scenarios/" + id(v.scenario.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/scenarios/" + id(v.scenario.ID), func(string) any {
			return map[string]any{"code": "CY", "name": "餐饮", "industry_codes": []string{"H621"}, "item_ids": []int64{v.itemA.ID, v.itemB.ID}}
		}, 200, "admin", nil},
		{"GET", "/api/v1/regions", nil, 200, staff, nil},
		{"POST", "/api/v1/regions", func(string) any {
			return map[string]any{"code": uniq("R"), "name": "x", "level": "grid", "parent_id": v.town.ID}
		}, 201, "admin", nil},
		{"GET", "/api/v1/regions/" + id(v.town.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/regions/" + id(v.town.ID), func(string) any {
			return map[string]any{"code": "SS-CY", "name": "菜园镇", "level": "township", "parent_id": v.county.ID}
		}, 200, "admin", nil},
		{"GET", "/api/v1/teams", nil, 200, staff, nil},
		{"POST", "/api/v1/teams", func(string) any {
			return map[string]any{"code": uniq("T"), "name": "x", "kind": "township", "base_lat": 30.7, "base_lng": 122.4,
				"daily_capacity_minutes": 480, "region_ids": []int64{v.town.ID}}
		}, 201, "admin", nil},
		{"GET", "/api/v1/teams/" + id(v.team.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/teams/" + id(v.team.ID), func(string) any {
			return map[string]any{"code": "ZH", "name": "综合行政执法队", "kind": "comprehensive", "base_lat": 30.72, "base_lng": 122.45,
				"daily_capacity_minutes": 960, "region_ids": []int64{v.town.ID}}
		}, 200, "admin", nil},
		// No plan is published yet: the inspector, a member of the team, works
		// no visit that day and may not read the roster (TestInspectorRosterOnlyOnDaysItWorks
		// has the day it works).
		{"GET", "/api/v1/teams/" + id(v.team.ID) + "/rosters/2026-11-30", nil, 200, "admin team_leader", map[string]int{"inspector": 404}},
		{"GET", "/api/v1/teams/" + id(v.team.ID+1000) + "/rosters/2026-11-30", nil, 200, "admin", map[string]int{"admin": 404, "team_leader": 404, "inspector": 404}},
		{"GET", "/api/v1/inspectors", nil, 200, staff, nil},
		{"POST", "/api/v1/inspectors", func(string) any {
			return map[string]any{"code": uniq("ZJ-"), "name": "x", "team_id": v.team.ID, "domains": []string{"food_safety"}}
		}, 201, "admin", nil},
		{"GET", "/api/v1/inspectors/" + id(v.inspector.ID), nil, 200, staff, nil},
		{"PUT", "/api/v1/inspectors/" + id(v.inspector.ID), func(string) any {
			return map[string]any{"code": "ZJ-0001", "name": "王芳", "team_id": v.team.ID, "domains": []string{"food_safety"}}
		}, 200, "admin", nil},
		{"GET", "/api/v1/businesses", nil, 200, staff, nil},
		{"POST", "/api/v1/businesses", func(string) any {
			n++
			return map[string]any{"uscc": mustUSCC(t, 1000+n), "name": "x", "region_id": v.grid.ID, "industry_code": "H621", "lat": 30.7, "lng": 122.4}
		}, 201, "admin", nil},
		{"GET", "/api/v1/businesses/" + v.bizA.USCC, nil, 200, staff + " business", nil},
		{"GET", "/api/v1/businesses/" + v.bizB.USCC, nil, 200, staff, map[string]int{"business": 404}},
		{"GET", "/api/v1/businesses/" + v.bizA.USCC + "/risk-history", nil, 200, staff + " business", nil},
		{"GET", "/api/v1/businesses/" + v.bizB.USCC + "/risk-history", nil, 200, staff, map[string]int{"business": 404}},
		{"PUT", "/api/v1/businesses/" + v.bizA.USCC, func(string) any {
			return map[string]any{"name": "海鲜大排档", "region_id": v.grid.ID, "industry_code": "H621", "lat": 30.72, "lng": 122.45, "risk_code": "yellow"}
		}, 200, "admin", nil},
		{"POST", "/api/v1/imports/businesses", func(string) any { return csv }, 200, "admin", nil},
		{"POST", "/api/v1/imports/inspectors", func(string) any { return "code,name,team,domains\nZJ-9," + "张三,ZH,food_safety\n" }, 200, "admin", nil},
		{"POST", "/api/v1/imports/unavailability", func(string) any { return "inspector,from,to,reason\nZJ-0001,2027-03-01,2027-03-02,年休假\n" }, 200, "admin team_leader", nil},
		{"POST", "/api/v1/imports/closures", func(string) any { return "team,from,to,reason\nZH,2027-03-05,2027-03-05,节日值班\n" }, 200, "admin", nil},
		{"GET", "/api/v1/demands", nil, 200, "admin planner", nil},
		{"POST", "/api/v1/demands", demand, 201, "planner", map[string]int{"admin": 422}}, // admin must name the department
		{"GET", "/api/v1/demands/" + id(own.ID), nil, 200, "admin planner", nil},
		{"GET", "/api/v1/demands/" + id(other.ID), nil, 200, "admin", map[string]int{"planner": 404}},
		{"POST", "/api/v1/demands/" + id(other.ID) + "/cancel", func(string) any { return map[string]string{"reason": "x"} }, 200, "admin", map[string]int{"planner": 404}},
		{"GET", "/api/v1/plans", nil, 200, "admin planner", nil},
		{"POST", "/api/v1/plans", horizon, 202, "admin", nil},
		{"GET", plan, nil, 200, "admin planner", nil},
		{"GET", plan + "/visits", nil, 200, "admin planner", nil},
		{"GET", plan + "/unplaced", nil, 200, "admin planner", nil},
		{"GET", plan + "/draws", nil, 200, "admin", nil},
		{"POST", plan + "/publish", nil, 200, "admin", nil},
		{"POST", "/api/v1/plans/" + id(spare.ID) + "/discard", nil, 200, "admin", nil},
		{"GET", plan + "/dispatch", nil, 200, "admin planner", nil},
		{"GET", "/api/v1/notifications", nil, 200, "admin team_leader inspector business", nil},
		{"POST", "/api/v1/tokens", func(string) any { return map[string]string{"role": "planner", "scope": "SCJG", "name": "x"} }, 201, "admin", nil},
		{"GET", "/api/v1/audit", nil, 200, "admin", nil},
		{"GET", "/api/v1/audit/verify", nil, 200, "admin", nil},
		{"GET", "/api/v1/admin/queues", nil, 200, "admin", nil},
		{"GET", queuePath, nil, 200, "admin", nil},
		{"POST", queuePath + "/" + archived[0] + "/retry", nil, 204, "admin", nil},
		{"DELETE", queuePath + "/" + archived[1], nil, 204, "admin", nil},
	}
	// Import job and token revocation need an id made by the admin first.
	rj := v.do("admin", "POST", "/api/v1/imports/businesses", []byte(csv), "Content-Type", "text/csv")
	expect(t, rj, 200, "setup import")
	var job struct{ ID int64 }
	rj.json(t, &job)
	// A team leader reads only the jobs it started.
	routes = append(routes, route{"GET", "/api/v1/imports/" + id(job.ID), nil, 200, "admin", map[string]int{"team_leader": 404}})
	hook, err := v.st.CreateWebhook(context.Background(), "test", "inspector", "http://127.0.0.1:1/hook", "0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	routes = append(routes,
		route{"GET", "/api/v1/webhooks", nil, 200, "admin", nil},
		route{"POST", "/api/v1/webhooks", func(string) any {
			return map[string]string{"recipient_kind": "business", "url": "https://example.org/h", "secret": "0123456789abcdef"}
		}, 201, "admin", nil},
		route{"PUT", "/api/v1/webhooks/" + id(hook.ID) + "/active", func(string) any { return map[string]bool{"active": false} }, 204, "admin", nil},
		route{"PUT", "/api/v1/webhooks/999999/active", func(string) any { return map[string]bool{"active": true} }, 404, "admin", nil},
	)

	// Schedules, calendar feeds and moves. A feed answers whoever holds its
	// secret, token or not (calendar apps send none), so anonymous gets 200;
	// a revoked secret is 404 to everyone. The feed is of a business of its
	// own, so that the rotations below do not revoke it.
	feedBiz := domain.Business{USCC: mustUSCC(t, 78), Name: "订阅测试店", RegionID: v.grid.ID, IndustryCode: "H621",
		Lat: 30.72, Lng: 122.45, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
	if err := v.st.CreateBusiness(context.Background(), "test", &feedBiz); err != nil {
		t.Fatal(err)
	}
	revoked, err := v.st.RotateFeedToken(context.Background(), "test", store.FeedBusiness, feedBiz.USCC)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := v.st.RotateFeedToken(context.Background(), "test", store.FeedBusiness, feedBiz.USCC)
	if err != nil {
		t.Fatal(err)
	}
	everyone := map[string]int{"": 200}
	gone := map[string]int{"": 404, "admin": 404, "planner": 404, "team_leader": 404, "inspector": 404, "business": 404}
	move := func(string) any { return map[string]string{"date": "2026-12-21", "reason": "企业停业"} }
	routes = append(routes,
		route{"GET", "/api/v1/businesses/" + v.bizA.USCC + "/schedule", nil, 200, "admin business", nil},
		route{"GET", "/api/v1/businesses/" + v.bizB.USCC + "/schedule", nil, 200, "admin", map[string]int{"business": 404}},
		route{"POST", "/api/v1/businesses/" + v.bizA.USCC + "/feed", nil, 201, "admin business", nil},
		route{"POST", "/api/v1/businesses/" + v.bizB.USCC + "/feed", nil, 201, "admin", map[string]int{"business": 404}},
		route{"POST", "/api/v1/teams/" + id(v.team.ID) + "/feed", nil, 201, "admin team_leader", nil},
		route{"POST", "/api/v1/teams/" + id(v.team.ID+1000) + "/feed", nil, 201, "", map[string]int{"admin": 404, "team_leader": 404}},
		route{"POST", "/api/v1/inspectors/" + id(v.inspector.ID) + "/feed", nil, 201, "admin inspector", nil},
		route{"POST", "/api/v1/inspectors/" + id(v.inspector.ID+1000) + "/feed", nil, 201, "", map[string]int{"admin": 404, "inspector": 404}},
		route{"GET", "/feeds/" + secret + ".ics", nil, 200, "admin planner team_leader inspector business", everyone},
		route{"GET", "/feeds/" + revoked + ".ics", nil, 200, "", gone},
		// The plan was published above.
		route{"POST", plan + "/visits/1/move", move, 200, "admin", nil},
		route{"POST", plan + "/visits/999/move", move, 200, "", map[string]int{"admin": 404}},
	)

	for _, rt := range routes {
		for _, role := range append(roles, "") {
			name := role
			if name == "" {
				name = "anonymous"
			}
			t.Run(rt.method+" "+rt.path+" as "+name, func(t *testing.T) {
				want := http.StatusForbidden
				switch {
				case rt.special[role] != 0: // "" names anonymous
					want = rt.special[role]
				case role == "":
					want = http.StatusUnauthorized
				case strings.Contains(" "+rt.allowed+" ", " "+role+" "):
					want = rt.ok
				}
				var body any
				var headers []string
				if rt.body != nil {
					body = rt.body(role)
					if s, ok := body.(string); ok {
						body = []byte(s)
						headers = []string{"Content-Type", "text/csv"}
					}
				}
				r := v.do(role, rt.method, rt.path, body, headers...)
				if r.Status != want {
					t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
				}
			})
		}
	}

	// Revoking a token: admin only, and the token stops working.
	tr := v.do("admin", "POST", "/api/v1/tokens", map[string]string{"role": "inspector", "scope": id(v.inspector.ID), "name": "tmp"})
	expect(t, tr, 201, "token")
	var tok struct {
		ID    int64
		Token string
	}
	tr.json(t, &tok)
	expect(t, v.do(tok.Token, "GET", "/api/v1/me", nil), 200, "new token works")
	for _, role := range []string{"planner", "team_leader", "inspector", "business"} {
		expect(t, v.do(role, "DELETE", "/api/v1/tokens/"+id(tok.ID), nil), 403, "revoke as "+role)
	}
	expect(t, v.do("", "DELETE", "/api/v1/tokens/"+id(tok.ID), nil), 401, "revoke anonymously")
	expect(t, v.do("admin", "DELETE", "/api/v1/tokens/"+id(tok.ID), nil), 204, "revoke")
	expect(t, v.do(tok.Token, "GET", "/api/v1/me", nil), 401, "revoked token")
	expect(t, v.do("io_notatoken", "GET", "/api/v1/me", nil), 401, "unknown token")
}
