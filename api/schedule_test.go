package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/internal/logbuf"
	"inspectonce/store"
)

// testClock is a clock the test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// midnight is the start of day (YYYY-MM-DD) plus days, in Shanghai (the
// configured zone).
func midnight(day string, days int) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, day, shanghai)
	if err != nil {
		panic(err)
	}
	return d.AddDate(0, 0, days)
}

// scheduleFixture is a published plan over the small county in which
// business A has an announced joint visit (departments A and B, notice 3 and
// 5 days: the business learns of it 3 days ahead) and an unannounced
// complaint visit a week later; business B has an announced visit of
// department A. The API under test runs on clock, whose time the test sets,
// and logs into logs.
type scheduleFixture struct {
	*env
	clock  *testClock
	logs   *logbuf.Buffer
	plan   store.Plan
	joint  store.PlanVisit // business A, announced
	silent store.PlanVisit // business A, unannounced
	other  store.PlanVisit // business B
}

func newScheduleFixture(t *testing.T) *scheduleFixture {
	v := newEnv(t)
	f := &scheduleFixture{env: v, clock: &testClock{t: testToday}, logs: &logbuf.Buffer{}}
	// The same application on the same database, with a clock of its own.
	cfg, err := configs.Load("", []string{"INSPECTONCE_HTTP_BODY_LIMIT_BYTES=65536", "INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Store: v.st, Config: cfg, Calendar: cal, Now: f.clock.now, Logger: slog.New(slog.NewTextHandler(f.logs, nil)),
		Planning: v.plans, Enqueue: func(ctx context.Context, planID int64) error { return v.enqueue(ctx, planID) }})
	v.srv = httptest.NewServer(e)
	t.Cleanup(v.srv.Close)

	v.planCounty()
	early := map[string]string{"from": "2026-11-30", "to": "2026-12-04"}
	late := map[string]string{"from": "2026-12-07", "to": "2026-12-11"}
	v.demand("planner", v.itemA.ID, "routine", 3, early, v.bizA.USCC, v.bizB.USCC)
	v.demand("plannerB", v.itemB.ID, "routine", 5, early, v.bizA.USCC)
	v.demand("plannerB", v.itemB.ID, "complaint", 0, late, v.bizA.USCC)
	f.plan = v.waitPlan(v.startPlan(map[string]any{"from": "2026-11-30", "to": "2026-12-11"}).ID)
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", f.plan.ID), nil), 200, "publish")
	for _, pv := range v.planVisits(f.plan.ID) {
		switch {
		case pv.USCC == v.bizB.USCC:
			f.other = pv
		case pv.USCC == v.bizA.USCC && pv.Date <= "2026-12-04":
			f.joint = pv
		case pv.USCC == v.bizA.USCC:
			f.silent = pv
		}
	}
	if f.joint.Seq == 0 || f.silent.Seq == 0 || f.other.Seq == 0 || len(f.joint.DepartmentIDs) != 2 {
		t.Fatalf("the plan does not have the visits the test needs: joint %+v, silent %+v, other %+v", f.joint, f.silent, f.other)
	}
	return f
}

// demand submits a list demand as who and returns its id.
func (v *env) demand(who string, item int64, source string, announce int, window map[string]string, businesses ...string) int64 {
	v.t.Helper()
	r := v.do(who, "POST", "/api/v1/demands", map[string]any{
		"item_ids": []int64{item}, "businesses": businesses, "window": window, "source": source, "announce_days": announce,
	})
	expect(v.t, r, 201, "submit demand as "+who)
	var d struct{ ID int64 }
	r.json(v.t, &d)
	return d.ID
}

// planVisits lists the visits of a plan.
func (v *env) planVisits(planID int64) []store.PlanVisit {
	v.t.Helper()
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits?limit=1000", planID), nil)
	expect(v.t, r, 200, "plan visits")
	var out listResponse[store.PlanVisit]
	r.json(v.t, &out)
	return out.Items
}

// schedule reads a business's schedule as who.
func (f *scheduleFixture) schedule(who, uscc string) store.BusinessSchedule {
	f.t.Helper()
	r := f.do(who, "GET", "/api/v1/businesses/"+uscc+"/schedule", nil)
	expect(f.t, r, 200, "schedule of "+uscc+" as "+who)
	var s store.BusinessSchedule
	r.json(f.t, &s)
	return s
}

func scheduleSeqs(s store.BusinessSchedule) []int {
	out := []int{}
	for _, v := range s.Visits {
		out = append(out, v.VisitSeq)
	}
	return out
}

func TestBusinessScheduleThroughAPI(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	joint, silent := f.joint.Seq, f.silent.Seq
	after := func(d string) time.Time { return midnight(d, 1) }
	for _, c := range []struct {
		name string
		now  time.Time
		want []int
	}{
		{"a week before", testToday, []int{}},
		{"the evening before the notice", midnight(f.joint.Date, -3).Add(-time.Minute), []int{}},
		// Notice 3 days (the least of 3 and 5), from midnight in Shanghai.
		{"notice day", midnight(f.joint.Date, -3), []int{joint}},
		{"the day of the unannounced visit", midnight(f.silent.Date, 0).Add(15 * time.Hour), []int{joint}},
		{"the day after it", after(f.silent.Date), []int{joint, silent}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.clock.set(c.now)
			s := f.schedule("business", v.bizA.USCC)
			if got := scheduleSeqs(s); !slices.Equal(got, c.want) {
				t.Fatalf("visits %v, want %v", got, c.want)
			}
			if s.Business.USCC != v.bizA.USCC || s.Business.Name != v.bizA.Name {
				t.Errorf("business %+v", s.Business)
			}
			// The admin sees what the business sees.
			if got := scheduleSeqs(f.schedule("admin", v.bizA.USCC)); !slices.Equal(got, c.want) {
				t.Errorf("admin sees %v, want %v", got, c.want)
			}
		})
	}

	f.clock.set(after(f.silent.Date))
	s := f.schedule("business", v.bizA.USCC)
	jv := s.Visits[0]
	if jv.PlanID != f.plan.ID || jv.UID != store.VisitUID(f.plan.ID, joint) || jv.Date != f.joint.Date || !jv.Announced ||
		jv.Status != store.VisitPast || jv.StartTime != "09:00" || jv.EndTime != "17:00" || jv.LeadTeam.ID != v.team.ID ||
		jv.LeadInspector == "" || len(jv.Departments) != 2 {
		t.Errorf("joint visit %+v", jv)
	}
	v.expectCode(t, f.plan.ID, joint, jv.Code, jv.CodeURL)
	var names []string
	for _, d := range jv.Departments {
		for _, it := range d.Items {
			names = append(names, d.Code+"/"+it.Code)
		}
	}
	slices.Sort(names)
	if want := []string{"SCJG/" + v.itemA.Code, "XFJY/" + v.itemB.Code}; !slices.Equal(names, want) {
		t.Errorf("joint visit checks %v, want %v", names, want)
	}
	if sv := s.Visits[1]; sv.Announced || sv.UID != store.VisitUID(f.plan.ID, silent) {
		t.Errorf("unannounced visit %+v", sv)
	}

	// A business reads its own schedule only: another business's, registered
	// or not, is the same 404.
	unknown := mustUSCC(t, 999)
	for _, code := range []string{v.bizB.USCC, unknown} {
		r := f.do("business", "GET", "/api/v1/businesses/"+code+"/schedule", nil)
		expect(t, r, 404, "business reading "+code)
		if d := r.problem(t).Detail; d != "business "+code+": not found" {
			t.Errorf("404 for %s says %q", code, d)
		}
	}
	expect(t, f.do("admin", "GET", "/api/v1/businesses/"+unknown+"/schedule", nil), 404, "admin, unknown business")
	if got := scheduleSeqs(f.schedule("admin", v.bizB.USCC)); !slices.Equal(got, []int{f.other.Seq}) {
		t.Errorf("business B's schedule %v", got)
	}
	for _, who := range []string{"planner", "team_leader", "inspector"} {
		expect(t, f.do(who, "GET", "/api/v1/businesses/"+v.bizA.USCC+"/schedule", nil), 403, who)
	}
	expect(t, f.do("", "GET", "/api/v1/businesses/"+v.bizA.USCC+"/schedule", nil), 401, "anonymous")
	if strings.Contains(f.logs.String(), "level=ERROR") {
		t.Errorf("errors logged:\n%s", f.logs.String())
	}
}
