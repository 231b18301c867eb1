package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"inspectonce/store"
)

// TestPlaceNowButton: the plans page lists the complaints (and priority-1
// list demands) not yet placed, each with a "place now" button; pressing it
// publishes a plan for the demand and shows it, after which the demand is no
// longer listed. A routine demand is not listed, and a refusal is a page
// saying why.
func TestPlaceNowButton(t *testing.T) {
	v := newEnv(t)
	v.planCounty()
	complaint := v.demand("planner", v.itemA.ID, "complaint", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)
	routine := v.demand("planner", v.itemA.ID, "routine", 0, windowDays("2026-11-23", "2026-12-31"), v.bizA.USCC)

	listed := func(who string, id int64) bool {
		t.Helper()
		status, _, body := v.pageReq(who, "GET", "/plans")
		if status != 200 {
			t.Fatalf("/plans as %s: %d", who, status)
		}
		return strings.Contains(body, fmt.Sprintf(`data-demand="%d"`, id)) &&
			strings.Contains(body, fmt.Sprintf(`action="/demands/%d/place-now"`, id))
	}
	if !listed("admin", complaint) || !listed("planner", complaint) {
		t.Fatal("the complaint is not offered to place now on /plans")
	}
	if listed("admin", routine) {
		t.Fatal("a routine demand is offered to place now")
	}

	status, h, _ := v.pageReq("planner", "POST", fmt.Sprintf("/demands/%d/place-now", complaint))
	loc, _ := url.Parse(h.Get("Location"))
	if status != http.StatusSeeOther || loc == nil || !strings.HasPrefix(loc.Path, "/plans/") {
		t.Fatalf("place now: %d, Location %q", status, h.Get("Location"))
	}
	r := v.do("admin", "GET", "/api/v1"+loc.Path, nil)
	expect(t, r, 200, "the placed plan")
	var plan store.Plan
	r.json(t, &plan)
	if plan.Status != store.PlanPublished || plan.UrgentDemandID == nil || *plan.UrgentDemandID != complaint {
		t.Fatalf("placed plan %+v", plan)
	}
	if listed("admin", complaint) {
		t.Fatal("a placed complaint is still offered")
	}

	// A refusal is told on a page, in the reader's language.
	status, _, body := v.pageReq("admin", "POST", fmt.Sprintf("/demands/%d/place-now", routine))
	if status != http.StatusConflict || !strings.Contains(body, "无法完成") || !strings.Contains(body, "not urgent") {
		t.Fatalf("place a routine demand now: %d %.400s", status, body)
	}
}
