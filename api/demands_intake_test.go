package api

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"inspectonce/domain"
)

// TestDemandPopulation counts a sampling rule's population as the planner
// filters it: sub-regions included, the leave-alone list left out, key-list
// members counted toward the expected sample; bad parameters are 422s naming
// the parameter, and only planners and admins may ask.
func TestDemandPopulation(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	// Two more restaurants in the grid: one on the leave-alone list, one key.
	for i, kind := range []string{domain.ListLeaveAlone, domain.ListKey} {
		b := domain.Business{USCC: mustUSCC(t, 10+i), Name: fmt.Sprintf("饭店%d", i), RegionID: v.grid.ID, IndustryCode: "H621",
			Lat: 30.72, Lng: 122.45, RiskCode: domain.RiskRed, ListKind: kind}
		if err := v.st.CreateBusiness(ctx, "test", &b); err != nil {
			t.Fatal(err)
		}
	}
	type est struct {
		Population, Matching, Key int
		LeaveAlone                int  `json:"leave_alone"`
		Expected                  *int `json:"expected"`
	}
	ask := func(who string, q url.Values) est {
		t.Helper()
		r := v.do(who, "GET", "/api/v1/demands/population?"+q.Encode(), nil)
		expect(t, r, 200, "population "+q.Encode())
		var e est
		r.json(t, &e)
		return e
	}
	for _, c := range []struct {
		name               string
		q                  url.Values
		pop, matching, key int
		expected           int // -1: none
	}{
		{"everything", url.Values{}, 3, 4, 1, -1},
		{"county reaches the grid", url.Values{"region_id": {fmt.Sprint(v.county.ID)}}, 3, 4, 1, -1},
		{"restaurants, comma list of risks", url.Values{"industry": {"H621"}, "risk": {"red,yellow"}}, 2, 3, 1, -1},
		// The key list is inspected on top of the n drawn from the rest.
		{"scenario's industries", url.Values{"scenario_id": {fmt.Sprint(v.scenario.ID)}, "count": {"1"}}, 2, 3, 1, 2},
		{"ratio of the rest rounds, at least one", url.Values{"ratio": {"0.1"}}, 3, 4, 1, 2},
		{"only the key list", url.Values{"risk": {"red"}, "count": {"1"}}, 1, 2, 1, 1},
		{"count capped at the frame", url.Values{"count": {"50"}}, 3, 4, 1, 3},
		{"nothing matches", url.Values{"industry": {"F5265"}, "count": {"5"}}, 0, 0, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := ask("planner", c.q)
			if e.Population != c.pop || e.Matching != c.matching || e.Key != c.key || e.LeaveAlone != c.matching-c.pop {
				t.Errorf("got %+v, want population %d matching %d key %d", e, c.pop, c.matching, c.key)
			}
			switch {
			case c.expected < 0 && e.Expected != nil:
				t.Errorf("expected %d without count or ratio", *e.Expected)
			case c.expected >= 0 && (e.Expected == nil || *e.Expected != c.expected):
				t.Errorf("expected %v, want %d", e.Expected, c.expected)
			}
		})
	}
	if e := ask("admin", url.Values{"region_id": {fmt.Sprint(v.town.ID)}}); e.Population != 3 {
		t.Errorf("admin: %+v", e)
	}
	for q, field := range map[string]string{
		"ratio=2":              "ratio",
		"count=0":              "count",
		"count=2&ratio=0.1":    "count",
		"risk=purple":          "risk[0]",
		"industry=restaurants": "industry[0]",
		"region_id=99999":      "region_id",
		"region_id=x":          "region_id",
		"scenario_id=99999":    "scenario_id",
	} {
		r := v.do("planner", "GET", "/api/v1/demands/population?"+q, nil)
		expect(t, r, 422, q)
		if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != field {
			t.Errorf("%s: errors %+v, want field %s", q, p.Errors, field)
		}
	}
	expect(t, v.do("inspector", "GET", "/api/v1/demands/population", nil), 403, "inspector")
	expect(t, v.do("", "GET", "/api/v1/demands/population", nil), 401, "anonymous")
}
