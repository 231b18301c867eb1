package api

import (
	"fmt"
	"testing"
)

func TestZZProbe(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	path := fmt.Sprintf("/api/v1/plans/%d/visits/%d/move", f.plan.ID, f.joint.Seq)
	r := f.do("admin", "POST", path, map[string]string{"date": "9999-12-31", "reason": "x"})
	t.Logf("move: %d %s", r.Status, r.Body)
	r = v.do("admin", "POST", "/api/v1/teams", map[string]any{"code": v.team.Code, "name": "x", "kind": "comprehensive", "base_lat": 30, "base_lng": 120, "daily_capacity_minutes": 100, "region_ids": []int64{v.town.ID}})
	t.Logf("team: %d %s", r.Status, r.Body)
	r = v.do("admin", "POST", "/api/v1/inspectors", map[string]any{"code": v.inspector.Code, "name": "x", "team_id": v.team.ID})
	t.Logf("insp: %d %s", r.Status, r.Body)
	ids := make([]int64, 100000)
	for i := range ids { ids[i] = int64(i + 1) }
	r = v.do("planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["item_ids"] = ids }))
	t.Logf("ids: %d %.300s", r.Status, r.Body)
	r = v.do("planner", "POST", "/api/v1/demands", v.demandBody(func(m map[string]any) { m["title"] = "a\x00b" }))
	t.Logf("nul: %d %.300s", r.Status, r.Body)
}
