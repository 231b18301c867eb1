package jobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/calfeed"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// joinWorld is the dispatch fixture with plan 1 published on the calendar
// (visits at biz[1] and biz[3] by inspectors 0-3, who hold food and fire
// safety only) and a third department whose items need the "special"
// domain, which only an extra inspector of the team holds.
type joinWorld struct {
	dispatchFixture
	plan1         store.Plan
	d1, d2        time.Time // the working days of plan 1's visits
	deptD         int64
	itemS, itemS2 int64  // special items: announced (2 days) and unannounced demands
	nameS, nameS2 string // their names
	special       int64  // the inspector holding "special"
	cfg           *configs.Config
	cal           *calendar.Calendar
	seq2, seq3    int // plan 1's visits at biz[1] (d1) and biz[3] (d2)
	demE, demU    int64
}

func newJoinWorld(t *testing.T, st *store.Store) *joinWorld {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	w := &joinWorld{dispatchFixture: newDispatchFixture(t, st, 5), seq2: 2, seq3: 3}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	must(err)
	w.cfg = cfg
	w.cal, err = calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	must(err)
	now := time.Now().In(shanghai)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	working := func(d time.Time) time.Time {
		for !w.cal.IsWorkingDay(d) {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	w.d1 = working(today.AddDate(0, 0, 6))
	w.d2 = working(w.d1.AddDate(0, 0, 3))

	d := &domain.Department{Code: "TZSB", Name: "特种设备"}
	must(st.CreateDepartment(ctx, "test", d))
	s := &domain.Item{Code: "TZSB-01", DepartmentID: d.ID, Name: "电梯维保记录", Domain: "special", Minutes: 20, LegalBasis: "特种设备安全法"}
	s2 := &domain.Item{Code: "TZSB-02", DepartmentID: d.ID, Name: "压力容器暗访", Domain: "special", Minutes: 15, LegalBasis: "特种设备安全法"}
	must(st.CreateItem(ctx, "test", s))
	must(st.CreateItem(ctx, "test", s2))
	w.deptD, w.itemS, w.itemS2, w.nameS, w.nameS2 = d.ID, s.ID, s2.ID, s.Name, s2.Name
	in := &domain.Inspector{Code: "I9", Name: "特检员", TeamID: w.team, Domains: []string{"special"}}
	must(st.CreateInspector(ctx, "test", in))
	w.special = in.ID

	// Plan 1: biz[0] (the fixture demands A, B, C, so plan 2 finds them
	// served), biz[1] on d1 and biz[3] on d2, each announced (demand A).
	from, to := planner.DayOf(today.AddDate(0, 0, -1)), planner.DayOf(today.AddDate(0, 3, 0))
	task := func(dem, dept, item int64, b string) planner.Task {
		return planner.Task{DemandID: dem, DepartmentID: dept, USCC: b, ItemID: item, From: from, To: to, Priority: 3}
	}
	b0, b1, b3 := w.biz[0], w.biz[1], w.biz[3]
	p := &planner.Plan{Visits: []planner.Visit{
		{USCC: b0, Date: planner.DayOf(w.d1), TeamID: w.team, InspectorIDs: []int64{w.inspectors[0], w.inspectors[1]},
			Tasks:         []planner.Task{task(w.demA, w.deptA, w.itemA, b0), task(w.demB, w.deptB, w.itemB, b0), task(w.demC, w.deptB, w.itemB, b0)},
			DepartmentIDs: []int64{w.deptA, w.deptB}, DurationMinutes: 45, TravelMinutes: 5, RouteOrder: 1},
		{USCC: b1, Date: planner.DayOf(w.d1), TeamID: w.team, InspectorIDs: []int64{w.inspectors[2], w.inspectors[3]},
			Tasks: []planner.Task{task(w.demA, w.deptA, w.itemA, b1)}, DepartmentIDs: []int64{w.deptA},
			DurationMinutes: 45, TravelMinutes: 5, RouteOrder: 2},
		{USCC: b3, Date: planner.DayOf(w.d2), TeamID: w.team, InspectorIDs: []int64{w.inspectors[0], w.inspectors[1]},
			Tasks: []planner.Task{task(w.demA, w.deptA, w.itemA, b3)}, DepartmentIDs: []int64{w.deptA},
			DurationMinutes: 45, TravelMinutes: 5, RouteOrder: 1},
	}}
	p.Stats = planner.Stats{Tasks: 5, NaiveVisits: 4, LowerBound: 3, Visits: 3}
	year := time.Now().Year()
	if _, err := st.YearKey(ctx, "test", year); err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, 32)
	_, _ = rand.Read(seed)
	pl, err := st.CreatePlan(ctx, "test", store.NewPlan{From: today, To: today.AddDate(0, 1, 0), Mode: store.ModeCoordinated,
		Year: year, Seed: seed})
	must(err)
	must(st.SavePlanResult(ctx, pl.ID, p))
	w.plan1, err = st.PublishPlan(ctx, "test", pl.ID)
	must(err)
	return w
}

// addDemands files the other department's demands at biz[1] and biz[3]:
// E for item S (announced two days ahead) and U for item S2 (unannounced).
func (w *joinWorld) addDemands(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	from := time.Now().AddDate(0, 0, -1)
	to := time.Now().AddDate(0, 2, 0)
	for _, c := range []struct {
		item int64
		days int
		id   *int64
	}{{w.itemS, 2, &w.demE}, {w.itemS2, 0, &w.demU}} {
		d := &domain.Demand{DepartmentID: w.deptD, ItemIDs: []int64{c.item}, TargetKind: domain.TargetList,
			Businesses: []string{w.biz[1], w.biz[3]}, WindowFrom: from, WindowTo: to, Priority: 3,
			Source: domain.SourceRoutine, AnnounceDays: c.days, Title: "特种设备 " + strconv.Itoa(c.days)}
		if _, err := st.CreateDemand(ctx, "test", nil, d); err != nil {
			t.Fatal(err)
		}
		*c.id = d.ID
	}
}

// TestJoinsAmendVisitsOnTheCalendar is issue 16's (a), (b) and (c) against
// real PostgreSQL and Redis: after plan 1 is published, another
// department's demands for businesses with visits in their window are
// joined by plan 2 to those visits, with no new visit there; the item's
// domain is missing, so an inspector is added by a draw that draw verify
// recomputes. Publishing plan 2 amends the visits (same code, the items on
// the door view and the staff calendar, a longer duration, the added
// inspector assigned), and the amendment reaches the inspectors (the added
// one too), the lead team's roster and the business (the announced item
// only, never the unannounced one before the day), and raises the calendar
// SEQUENCE, once each.
func TestJoinsAmendVisitsOnTheCalendar(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	w := newJoinWorld(t, st)
	e := newDispatchEnv(t, st)
	e.start(t)
	waitDispatched(t, st, w.plan1.ID, 30*time.Second)
	// The rosters of both days go out before plan 2 (the morning run).
	for _, d := range []time.Time{w.d1, w.d2} {
		if n, err := e.disp.RostersFor(ctx, d); err != nil || n != 1 {
			t.Fatalf("roster of %s: %d, %v", d.Format(time.DateOnly), n, err)
		}
	}
	codeBefore, err := st.VisitCode(ctx, w.plan1.ID, w.seq2)
	if err != nil {
		t.Fatal(err)
	}

	w.addDemands(t, st)
	svc, err := planning.New(planning.Options{Store: st, Config: w.cfg, Calendar: w.cal})
	if err != nil {
		t.Fatal(err)
	}
	from := svc.NextWorkingDay()
	res, err := svc.Run(ctx, "test", planning.Request{From: from, To: from.AddDate(0, 0, 27)})
	if err != nil {
		t.Fatal(err)
	}
	st2 := res.Stats
	if st2.TasksJoined != 4 || st2.VisitsAmended != 2 || st2.DoorKnocksSaved != 2 {
		t.Fatalf("plan 2 joined %d tasks to %d visits, saving %d door-knocks; want 4, 2, 2 (stats %+v)",
			st2.TasksJoined, st2.VisitsAmended, st2.DoorKnocksSaved, st2)
	}
	visits, err := svc.Visits(ctx, res.PlanID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range visits.Items {
		if v.USCC == w.biz[1] || v.USCC == w.biz[3] {
			t.Errorf("plan 2 knocks again at %s on %s", v.USCC, v.Date)
		}
	}
	joins, err := svc.Joins(ctx, res.PlanID, 0, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(joins.Items) != 2 {
		t.Fatalf("%d joins listed: %+v", len(joins.Items), joins.Items)
	}
	for _, j := range joins.Items {
		if j.TargetPlanID != w.plan1.ID || len(j.Tasks) != 2 || !j.Unannounced ||
			!slices.Equal(j.AddedInspectors, []int64{w.special}) || j.AddedMinutes <= 0 {
			t.Errorf("join %+v", j)
		}
	}
	// A planner of another department sees none of them.
	if other, err := svc.Joins(ctx, res.PlanID, w.deptA, store.Page{}); err != nil || len(other.Items) != 0 {
		t.Errorf("department A sees joins %+v, %v", other.Items, err)
	}

	if _, err := svc.Publish(ctx, "test", res.PlanID); err != nil {
		t.Fatal(err)
	}

	// (b) The added inspector's draws replay from the revealed seed.
	ver, err := svc.Verify(ctx, res.PlanID)
	if err != nil {
		t.Fatal(err)
	}
	joinDraws := 0
	for _, d := range ver.Draws {
		if strings.Contains(d.VisitKey, "/join:") {
			joinDraws++
			if !d.Match || !slices.Equal(d.Result, []string{strconv.FormatInt(w.special, 10)}) {
				t.Errorf("join draw %+v", d)
			}
		}
	}
	if !ver.OK() || joinDraws != 2 {
		t.Fatalf("verify: ok %v, %d join draws, %d mismatches", ver.OK(), joinDraws, ver.Mismatches)
	}

	// The door view: same code, the added items, the added inspector.
	door, err := st.DoorVisit(ctx, w.plan1.ID, w.seq2, w.special)
	if err != nil {
		t.Fatal(err)
	}
	codeAfter, err := st.VisitCode(ctx, w.plan1.ID, w.seq2)
	if err != nil {
		t.Fatal(err)
	}
	if codeAfter.Code != codeBefore.Code || len(door.Tasks) != 3 || len(door.Inspectors) != 3 {
		t.Fatalf("amended door visit: code %q (was %q), %d tasks, %d inspectors", codeAfter.Code, codeBefore.Code,
			len(door.Tasks), len(door.Inspectors))
	}
	// The /v/ page, shown to anyone with the code, leaves the joined items
	// out before their notice (and the unannounced one before the day).
	check, err := st.VerifyVisitCode(ctx, codeAfter.Code, "test")
	if err != nil || check.Visit == nil {
		t.Fatalf("verify code: %+v, %v", check, err)
	}
	if len(check.Visit.Items) != 1 {
		t.Errorf("the /v/ page shows %d items before the day: %+v", len(check.Visit.Items), check.Visit.Items)
	}

	// The amendment is told once to each inspector (the added one too), the
	// lead team and the business (the announced item only).
	var keys []string
	for _, seq := range []int{w.seq2, w.seq3} {
		ins := []int64{w.inspectors[2], w.inspectors[3], w.special}
		if seq == w.seq3 {
			ins = []int64{w.inspectors[0], w.inspectors[1], w.special}
		}
		for _, id := range ins {
			keys = append(keys, store.AmendEffectKey(w.plan1.ID, seq, store.RecipientInspector, strconv.FormatInt(id, 10), res.PlanID))
		}
		keys = append(keys, store.AmendEffectKey(w.plan1.ID, seq, store.RecipientTeam, strconv.FormatInt(w.team, 10), res.PlanID))
		biz := w.biz[1]
		if seq == w.seq3 {
			biz = w.biz[3]
		}
		keys = append(keys, store.AmendEffectKey(w.plan1.ID, seq, store.RecipientBusiness, biz, res.PlanID))
	}
	got := waitNotices(t, st, store.NoticeVisitAmended, keys)
	for k, n := range got {
		body := string(n.Body)
		if n.RecipientKind == store.RecipientBusiness {
			if strings.Contains(body, w.nameS2) || strings.Contains(n.Title, w.nameS2) || !strings.Contains(body, w.nameS) {
				t.Errorf("business notice %s: %s", k, body)
			}
			if want := localDay(w.d1, shanghai).AddDate(0, 0, -2); n.VisitSeq != nil && *n.VisitSeq == w.seq2 &&
				!n.VisibleFrom.Equal(want) {
				t.Errorf("business notice %s visible from %v, want %v", k, n.VisibleFrom, want)
			}
		} else {
			var b amendBody
			if err := json.Unmarshal(n.Body, &b); err != nil || b.DurationMinutes != 45+b.Amendment.AddedMinutes ||
				b.Amendment.AddedMinutes <= 0 || !strings.Contains(body, w.nameS2) || !strings.Contains(body, w.nameS) {
				t.Errorf("staff notice %s lacks the added items or minutes: %s (%v)", k, body, err)
			}
		}
	}
	// The lead team gets an updated roster of each amended day.
	deadline := time.Now().Add(30 * time.Second)
	for {
		updated := 0
		for _, n := range ofKind(allNotifications(t, st), store.NoticeRoster) {
			var b rosterBody
			if json.Unmarshal(n.Body, &b) == nil && b.Updated {
				updated++
				for _, v := range b.Visits {
					if v.PlanID == w.plan1.ID && (v.VisitSeq == w.seq2 || v.VisitSeq == w.seq3) && len(v.Items) != 3 {
						t.Fatalf("updated roster lists visit %d with %d items", v.VisitSeq, len(v.Items))
					}
				}
			}
		}
		if updated == 2 {
			break
		}
		if updated > 2 || time.Now().After(deadline) {
			t.Fatalf("%d updated rosters, want 2", updated)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Told once: telling again writes nothing.
	if n, err := e.disp.TellAmendments(ctx, w.plan1.ID, w.seq2); err != nil || n != 0 {
		t.Fatalf("told again: %d, %v", n, err)
	}

	// The calendar feed: the amended visits' SEQUENCE goes up, their
	// duration grows.
	cal, err := st.TeamCalendar(ctx, w.team, w.d1, w.d2)
	if err != nil {
		t.Fatal(err)
	}
	amended := 0
	for _, v := range cal.Visits {
		if v.PlanID == w.plan1.ID && (v.VisitSeq == w.seq2 || v.VisitSeq == w.seq3) {
			amended++
			if v.Amendments != 1 || v.DurationMinutes <= 45 || v.ItemCount != 3 {
				t.Errorf("calendar visit %d: amendments %d, %d minutes, %d items", v.VisitSeq, v.Amendments, v.DurationMinutes, v.ItemCount)
			}
		}
	}
	feed, err := calfeed.Staff(cal, shanghai, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var ics bytes.Buffer
	if err := calfeed.Encode(&ics, feed); err != nil {
		t.Fatal(err)
	}
	if amended != 2 || strings.Count(ics.String(), "SEQUENCE:1") != 2 {
		t.Fatalf("%d amended visits on the team calendar; feed:\n%s", amended, ics.String())
	}

	// (c) The business: the day before the visit its schedule (JSON and
	// feed) shows the announced added item, never the unannounced one; on
	// the day it may.
	for _, c := range []struct {
		now    time.Time
		hidden bool
	}{{localDay(w.d1, shanghai).AddDate(0, 0, -1).Add(10 * time.Hour), true}, {localDay(w.d1, shanghai).Add(10 * time.Hour), false}} {
		sch, err := st.BusinessSchedule(ctx, w.biz[1], c.now, shanghai)
		if err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(sch)
		feed, err := calfeed.Business(sch, shanghai, c.now)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := calfeed.Encode(&b, feed); err != nil {
			t.Fatal(err)
		}
		if len(sch.Visits) != 1 || !sch.Visits[0].Announced {
			t.Fatalf("business schedule on %v: %s", c.now, js)
		}
		if shown := strings.Contains(string(js), w.nameS2); shown == c.hidden || strings.Contains(b.String(), w.nameS2) == c.hidden {
			t.Errorf("on %v the unannounced joined item is shown %v, want %v:\n%s\n%s", c.now, shown, !c.hidden, js, b.String())
		}
		if !strings.Contains(string(js), w.nameS) || !strings.Contains(b.String(), w.nameS) {
			t.Errorf("on %v the announced joined item is missing: %s", c.now, js)
		}
	}
}
