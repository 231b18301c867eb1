package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// pageStatus fetches a server-rendered page with who's token, as a script
// would (pages take a bearer token as well as the session cookie), and
// returns the status. Pages are not in the OpenAPI document, so this does
// not go through v.do's response checker.
func (v *env) pageStatus(who, path string) int {
	v.t.Helper()
	status, _ := v.pageAs(who, path)
	return status
}

// pageAs fetches a page as pageStatus does and returns its status and body.
func (v *env) pageAs(who, path string) (int, string) {
	v.t.Helper()
	status, _, body := v.pageReq(who, http.MethodGet, path)
	return status, body
}

// pageReq sends a page request (not an /api/v1 route, so not checked
// against the OpenAPI document) with who's token, without following
// redirects, and returns the status, headers and body.
func (v *env) pageReq(who, method, path string) (int, http.Header, string) {
	v.t.Helper()
	req, err := http.NewRequest(method, v.srv.URL+path, nil)
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v.tokens[who])
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		v.t.Fatal(err)
	}
	return res.StatusCode, res.Header, string(body)
}

// token makes a token for (role, scope) under key.
func (v *env) token(key string, role domain.Role, scope string) {
	v.t.Helper()
	tok, _, err := v.st.CreateToken(context.Background(), "test", key, role, scope)
	if err != nil {
		v.t.Fatal(err)
	}
	v.tokens[key] = tok
}

// publishedCounty plans the fixture county (demands of both departments at
// bizA, of department A at bizB) and publishes the plan; it returns the
// plan's id and visits.
func (v *env) publishedCounty() (int64, []store.PlanVisit) {
	t := v.t
	t.Helper()
	v.planCounty()
	v.submit("planner", v.itemA.ID, v.bizA.USCC, v.bizB.USCC)
	v.submit("plannerB", v.itemB.ID, v.bizA.USCC)
	p := v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil), 200, "publish")
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits?limit=1000", p.ID), nil)
	expect(t, r, 200, "plan visits")
	var visits listResponse[store.PlanVisit]
	r.json(t, &visits)
	if len(visits.Items) == 0 {
		t.Fatal("the plan has no visits")
	}
	return p.ID, visits.Items
}

// TestInspectorRosterOnlyOnDaysItWorks: an inspector reads its team's roster
// (API and page), and a visit's code, only on a team-day it works; a member
// of the team on a day it does not work gets 404, as for any other object
// outside its scope.
func TestInspectorRosterOnlyOnDaysItWorks(t *testing.T) {
	v := newEnv(t)
	planID, visits := v.publishedCounty()
	vis := visits[0]
	if vis.TeamID != v.team.ID || len(vis.Inspectors) < 2 {
		t.Fatalf("visit %+v", vis)
	}
	// One inspector of the visit, and a member of the same team who works
	// no visit at all (it joins after the draw).
	v.token("working", domain.RoleInspector, fmt.Sprint(vis.Inspectors[0].InspectorID))
	idle := domain.Inspector{Code: "ZJ-0999", Name: "新队员", TeamID: v.team.ID, Domains: []string{"food_safety"}}
	if err := v.st.CreateInspector(context.Background(), "test", &idle); err != nil {
		t.Fatal(err)
	}
	v.token("idle", domain.RoleInspector, fmt.Sprint(idle.ID))
	// A day of the horizon the working inspector has no visit of the team on.
	works := map[string]bool{}
	for _, pv := range visits {
		for _, a := range pv.Inspectors {
			if a.InspectorID == vis.Inspectors[0].InspectorID {
				works[pv.Date] = true
			}
		}
	}
	off := ""
	for _, d := range []string{"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04",
		"2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-11"} {
		if !works[d] {
			off = d
			break
		}
	}

	roster := fmt.Sprintf("/teams/%d/rosters/%s", v.team.ID, vis.Date)
	code := fmt.Sprintf("/api/v1/plans/%d/visits/%d/code", planID, vis.Seq)
	cases := []struct {
		name, who, path string
		want            int
	}{
		{"API roster, a day it works", "working", "/api/v1" + roster, 200},
		{"API roster, a member on a day it does not work", "idle", "/api/v1" + roster, 404},
		{"API roster, the leader", "team_leader", "/api/v1" + roster, 200},
		{"visit code, a day it works", "working", code, 200},
		{"visit code, a member on a day it does not work", "idle", code, 404},
		{"API roster, a member on a day without visits", "idle", fmt.Sprintf("/api/v1/teams/%d/rosters/2026-12-06", v.team.ID), 404},
	}
	if off != "" {
		cases = append(cases, struct {
			name, who, path string
			want            int
		}{"API roster, a day it does not work", "working", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, off), 404})
	}
	for _, c := range cases {
		if r := v.do(c.who, "GET", c.path, nil); r.Status != c.want {
			t.Errorf("%s: %s answered %d, want %d", c.name, c.path, r.Status, c.want)
		}
	}
	for _, c := range []struct {
		name, who, path string
		want            int
	}{
		{"page roster, a day it works", "working", roster, 200},
		{"page roster, a member on a day it does not work", "idle", roster, 404},
		{"page roster, the leader", "team_leader", roster, 200},
	} {
		if got := v.pageStatus(c.who, c.path); got != c.want {
			t.Errorf("%s: %s answered %d, want %d", c.name, c.path, got, c.want)
		}
	}
	// The inspector's own calendar feed stays its own: it rotates it, and the
	// roster form that offers it is refused on a team-day it does not work.
	expect(t, v.do("idle", "POST", fmt.Sprintf("/api/v1/inspectors/%d/feed", idle.ID), nil), 201, "own feed")
	expect(t, v.do("idle", "POST", fmt.Sprintf("/api/v1/teams/%d/feed", v.team.ID), nil), 403, "team feed")
}

// TestContactDetailsScope: the business register is every staff role's to
// list, but contact names and phones only of businesses on the caller's own
// work (null elsewhere), in the list and the record alike; an admin sees all.
func TestContactDetailsScope(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	// A business on nobody's work.
	bizC := domain.Business{USCC: mustUSCC(t, 3), Name: "远洋冷库", RegionID: v.grid.ID, IndustryCode: "C1361",
		Lat: 30.74, Lng: 122.47, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
	if err := v.st.CreateBusiness(ctx, "test", &bizC); err != nil {
		t.Fatal(err)
	}
	phone := map[string]string{v.bizA.USCC: "13800000001", v.bizB.USCC: "13800000002", bizC.USCC: "13800000003"}
	for code, ph := range phone {
		if err := v.st.ExecForTest(ctx, fmt.Sprintf(`UPDATE businesses SET contact_name = '张三', contact_phone = '%s' WHERE uscc = '%s'`, ph, code)); err != nil {
			t.Fatal(err)
		}
	}
	_, visits := v.publishedCounty()
	var atA, atB store.PlanVisit
	for _, pv := range visits {
		switch pv.USCC {
		case v.bizA.USCC:
			atA = pv
		case v.bizB.USCC:
			atB = pv
		}
	}
	if atA.Seq == 0 || atB.Seq == 0 {
		t.Fatalf("visits %+v", visits)
	}
	// An inspector of the visit at bizA; and, if the draw gave it no visit at
	// bizB, bizB is outside its work.
	inA := atA.Inspectors[0].InspectorID
	v.token("inspA", domain.RoleInspector, fmt.Sprint(inA))
	onB := false
	for _, a := range atB.Inspectors {
		onB = onB || a.InspectorID == inA
	}
	// Another team's leader: nothing of its own.
	other := domain.Team{Code: "ZY", Name: "专业执法队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480, RegionIDs: []int64{v.town.ID}}
	if err := v.st.CreateTeam(ctx, "test", &other); err != nil {
		t.Fatal(err)
	}
	v.token("other_leader", domain.RoleTeamLeader, fmt.Sprint(other.ID))

	a, b, c := v.bizA.USCC, v.bizB.USCC, bizC.USCC
	cases := []struct {
		who   string
		shown map[string]bool
	}{
		{"admin", map[string]bool{a: true, b: true, c: true}},
		{"inspector", map[string]bool{a: false, b: false, c: false}}, // no visit: the draw took the others
		{"inspA", map[string]bool{a: true, b: onB, c: false}},
		{"team_leader", map[string]bool{a: true, b: true, c: false}},
		{"other_leader", map[string]bool{a: false, b: false, c: false}},
		{"planner", map[string]bool{a: true, b: true, c: false}}, // named A and B in its demand
		{"plannerB", map[string]bool{a: true, b: false, c: false}},
	}
	// The fixture's inspector may have been drawn; then it is not "nobody".
	for _, pv := range visits {
		for _, as := range pv.Inspectors {
			if as.InspectorID == v.inspector.ID {
				cases[1].shown[pv.USCC] = true
			}
		}
	}
	type contact struct {
		USCC         string  `json:"uscc"`
		Name         string  `json:"name"`
		ContactName  *string `json:"contact_name"`
		ContactPhone *string `json:"contact_phone"`
	}
	checkOne := func(t *testing.T, how string, got contact, want bool) {
		t.Helper()
		switch {
		case got.Name == "":
			t.Errorf("%s %s: no name", how, got.USCC)
		case want && (got.ContactPhone == nil || *got.ContactPhone != phone[got.USCC] || got.ContactName == nil || *got.ContactName != "张三"):
			t.Errorf("%s %s: contact %v %v, want shown", how, got.USCC, got.ContactName, got.ContactPhone)
		case !want && (got.ContactPhone != nil || got.ContactName != nil):
			t.Errorf("%s %s: contact %q %q, want null", how, got.USCC, *got.ContactName, *got.ContactPhone)
		}
	}
	for _, cs := range cases {
		t.Run(cs.who, func(t *testing.T) {
			r := v.do(cs.who, "GET", "/api/v1/businesses?limit=1000", nil)
			expect(t, r, 200, "list")
			var page struct{ Items []json.RawMessage }
			r.json(t, &page)
			seen := 0
			for _, raw := range page.Items {
				var got contact
				if err := json.Unmarshal(raw, &got); err != nil {
					t.Fatal(err)
				}
				if want, ok := cs.shown[got.USCC]; ok {
					seen++
					checkOne(t, "list", got, want)
				}
			}
			if seen != len(cs.shown) {
				t.Errorf("the list has %d of the %d businesses", seen, len(cs.shown))
			}
			for code, want := range cs.shown {
				r := v.do(cs.who, "GET", "/api/v1/businesses/"+code, nil)
				expect(t, r, 200, "get "+code)
				var got contact
				r.json(t, &got)
				checkOne(t, "get", got, want)
			}
		})
	}
	// A business reads its own contact.
	r := v.do("business", "GET", "/api/v1/businesses/"+a, nil)
	expect(t, r, 200, "own record")
	var own contact
	r.json(t, &own)
	checkOne(t, "own", own, true)

	// The roster hides the contact of a stop the inspector does not work.
	r = v.do("inspA", "GET", fmt.Sprintf("/api/v1/teams/%d/rosters/%s", v.team.ID, atA.Date), nil)
	expect(t, r, 200, "roster")
	var roster struct {
		Visits []struct {
			VisitSeq int     `json:"visit_seq"`
			Business contact `json:"business"`
		} `json:"visits"`
	}
	r.json(t, &roster)
	mine := map[int]bool{}
	for _, pv := range visits {
		for _, as := range pv.Inspectors {
			if as.InspectorID == inA {
				mine[pv.Seq] = true
			}
		}
	}
	for _, rv := range roster.Visits {
		// A business is shown when any of its visits is the inspector's.
		want := false
		for _, pv := range visits {
			want = want || (pv.USCC == rv.Business.USCC && mine[pv.Seq])
		}
		checkOne(t, "roster", rv.Business, want)
		// The printable roster page shows the same.
		status, body := v.pageAs("inspA", fmt.Sprintf("/teams/%d/rosters/%s", v.team.ID, atA.Date))
		if status != 200 {
			t.Fatalf("roster page: %d", status)
		}
		if got := strings.Contains(body, `class="phone">`+phone[rv.Business.USCC]+`<`); got != want {
			t.Errorf("roster page shows %s's phone: %v, want %v", rv.Business.USCC, got, want)
		}
		if !want && !strings.Contains(body, `class="muted contact-withheld">仅本户检查人员可见<`) {
			t.Errorf("roster page does not say %s's contact is withheld", rv.Business.USCC)
		}
	}
}
