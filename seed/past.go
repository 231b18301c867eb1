package seed

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/jobs"
	"inspectonce/planning"
	"inspectonce/store"
)

// PastDays is how many days before today the demo county's past plan was
// made: its first visits are three weeks old or a little more. Not older:
// results are published within 20 working days of the visit (一公开), and the
// seed's publication run, today, must find every reported visit still within
// its deadline, as a publication run after each confirmation would have.
const PastDays = 24

// PastResult is what LoadAt put into the demo county's past: one published
// plan made PastDays ago over the weeks up to today (and two weeks beyond),
// its visits performed through the store operations the phone page uses,
// and what followed from them.
type PastResult struct {
	PlanID int64
	// Visits counts the plan's visits; Today those dated today.
	Visits int
	Today  int
	// Reported counts the visits two inspectors confirmed (visit reports),
	// Published those the publication run made public, Awaiting the past
	// visits with results and one confirmation, and Unreported the past
	// visits nobody recorded anything for (overdue for publication).
	Reported, Published, Awaiting, Unreported int
	// Outcomes counts the current task results by outcome.
	Outcomes map[string]int
	// RiskChanges counts the risk codes the reports changed; FollowUps the
	// redo and re-inspection demands they created.
	RiskChanges, FollowUps int
	// Moved and Revoked count the visits moved and the codes revoked.
	Moved, Revoked int
}

// pastDemand is a demand of the past plan.
type pastDemand struct {
	Demand
	anchor bool // the demo business's visits
}

// pastTimeline is the dates the past is laid out on, all civil (UTC midnight).
type pastTimeline struct {
	today, asOf time.Time
	// weeks are the working days from the plan's first day to yesterday,
	// split into five runs.
	weeks [][]time.Time
	// todayDay is today, or the next working day when today is not one: the
	// visits planned for it are then moved to today.
	todayDay time.Time
	// anchorFrom and anchorTo bound the demo business's announced visit.
	anchorFrom, anchorTo time.Time
}

func newTimeline(today time.Time, cal *calendar.Calendar, from time.Time) pastTimeline {
	t := pastTimeline{today: today, asOf: today.AddDate(0, 0, -PastDays)}
	var days []time.Time
	for d := from; d.Before(today); d = d.AddDate(0, 0, 1) {
		if cal.IsWorkingDay(d) {
			days = append(days, d)
		}
	}
	const n = 5
	for i := range n {
		if w := days[i*len(days)/n : (i+1)*len(days)/n]; len(w) > 0 {
			t.weeks = append(t.weeks, w)
		}
	}
	t.todayDay = today
	if !cal.IsWorkingDay(today) {
		t.todayDay = cal.AddWorkingDays(today, 1)
	}
	t.anchorFrom, t.anchorTo = cal.AddWorkingDays(today, 5), cal.AddWorkingDays(today, 9)
	return t
}

// pastDemands are the demands of the past plan: joint list demands, one
// group a week, in turn over the townships, plus today's visits for the 菜园
// squad and an announced visit to the demo business in the coming weeks.
// They name their businesses and use only items no demand of County.Demands
// uses, so the past sets no cool-down and no yearly cap on what the open
// demands draw: the plan of the next 28 days stays what it is without the
// past (its follow-ups apart).
func (c *County) pastDemands(t pastTimeline) []pastDemand {
	anchor := c.DemoAnchors().Business
	used := map[string]bool{anchor: true}
	pick := func(n int, town string, industries ...string) []string {
		var out []string
		for _, b := range c.Businesses {
			if len(out) == n {
				break
			}
			if used[b.USCC] || b.ListKind == domain.ListLeaveAlone || !slices.Contains(industries, b.IndustryCode) ||
				!strings.HasPrefix(b.Grid, town+"-") {
				continue
			}
			used[b.USCC] = true
			out = append(out, b.USCC)
		}
		return out
	}
	var out []pastDemand
	add := func(dept, title string, announce int, from, to time.Time, items []string, targets []string, anchor bool) {
		if len(targets) == 0 {
			return
		}
		out = append(out, pastDemand{Demand: Demand{Demand: domain.Demand{Title: title, Source: domain.SourceRoutine,
			Priority: 3, AnnounceDays: announce, TargetKind: domain.TargetList, WindowFrom: from, WindowTo: to,
			Businesses: targets}, Department: dept, Items: items}, anchor: anchor})
	}
	towns := []string{"SS-CY", "SS-SH", "SS-CY", "SS-YS", "SS-CY"}
	for i, w := range t.weeks {
		town := towns[i%len(towns)]
		from, to := w[0], w[len(w)-1]
		food := pick(4, town, "H6210", "H6220", "H6291")
		if i == 1 {
			food = append([]string{anchor}, food[:3]...)
		}
		add("SCJG", "网络餐饮服务信息公示检查", 3, from, to, []string{"SCJG-06"}, food, i == 1)
		add("WSJK", "餐饮从业人员健康证明检查", 3, from, to, []string{"WSJK-02"}, food, i == 1)
		stay := pick(3, town, "H6130", "H6110")
		add("WSJK", "住宿场所二次供水卫生检查", 3, from, to, []string{"WSJK-04"}, stay, false)
		add("XFJY", "住宿场所用火用电安全检查", 3, from, to, []string{"XFJY-03"}, stay, false)
		works := pick(2, town, "C1361", "C1362", "C1369", "C3731", "C3732")
		add("STHJ", "涉海企业危险废物贮存检查", 3, from, to, []string{"STHJ-02"}, works, false)
		add("YJGL", "涉海企业安全生产责任制检查", 3, from, to, []string{"YJGL-02"}, works, false)
		add("GAJ", "娱乐场所治安检查", 0, from, to, []string{"GAJ-02"}, pick(1, town, "R9011", "R9013"), false)
	}
	// Today: the 菜园 squad's joint visits (a joint visit in 菜园镇 is led by
	// its township squad).
	food := pick(5, "SS-CY", "H6210", "H6220", "H6291")
	add("SCJG", "网络餐饮服务信息公示检查", 3, t.todayDay, t.todayDay, []string{"SCJG-06"}, food, false)
	add("WSJK", "餐饮从业人员健康证明检查", 3, t.todayDay, t.todayDay, []string{"WSJK-02"}, food, false)
	// The demo business: an announced joint visit in the coming weeks.
	add("XFJY", "餐饮场所用火用电安全检查", 14, t.anchorFrom, t.anchorTo, []string{"XFJY-03"}, []string{anchor}, true)
	add("WSJK", "餐饮场所二次供水卫生检查", 14, t.anchorFrom, t.anchorTo, []string{"WSJK-04"}, []string{anchor}, true)
	return out
}

// Reasons of the past's moves and revocation.
const (
	typhoonReason  = "台风蓝色预警，客运航线停航，检查顺延两个工作日"
	weekendReason  = "商户工作日随船出海、周末营业，经协调改至今日检查"
	revokeReason   = "企业反映张贴在店门口的检查告知书被撕毁，原行政行为码作废，重新告知"
	seedNoteOK     = "现场检查未发现问题"
	seedNoteMinor  = "当场责令改正，已整改完毕"
	seedNoteViol   = "责令限期整改，逾期复查"
	seedNoteMoved  = "属他部门职责，已移送"
	seedNotClosed  = "closed"
	checkInMinutes = 35 // between two stops of a route, for the check-in times
)

// loadPast makes the demo county's past as of now: it stores the past
// demands, plans them as of PastDays ago through the planning service,
// publishes the plan, moves a visit (and, when today is no working day,
// today's visits onto today), revokes a code, records what the inspectors
// did at the doors (check-ins, a result for every task, two confirmations,
// through the store operations the phone page uses), and publishes the
// reports with the publication job's function. Only the dispatch of the
// plan is left to the worker, through the outbox, as for any plan.
func loadPast(ctx context.Context, st *store.Store, c *County, cfg *configs.Config, cal *calendar.Calendar,
	now time.Time, ids idMaps) (PastResult, error) {
	res := PastResult{Outcomes: map[string]int{}}
	loc := cfg.Location()
	today := civil(now.In(loc))
	asOf := now.AddDate(0, 0, -PastDays)
	// The demo's past is history made up at load time: its plan draws at
	// once, whatever planning.randomness says for the plans made from now on.
	pastCfg := *cfg
	pastCfg.Planning.Randomness = planning.RandomnessOperator
	svc, err := planning.New(planning.Options{Store: st, Config: &pastCfg, Calendar: cal, Now: func() time.Time { return asOf }})
	if err != nil {
		return res, fmt.Errorf("seed: past: %w", err)
	}
	t := newTimeline(today, cal, svc.NextWorkingDay())
	demands := c.pastDemands(t)
	anchorDemand := map[int64]bool{}
	for _, d := range demands {
		dm, err := storeDemand(ctx, st, d.Demand, ids)
		if err != nil {
			return res, err
		}
		if d.anchor {
			anchorDemand[dm.ID] = true
		}
	}
	run, err := svc.Run(ctx, Actor, planning.Request{From: svc.NextWorkingDay(), To: t.anchorTo})
	if err != nil {
		return res, fmt.Errorf("seed: past plan: %w", err)
	}
	// The demo's past plan went through the configured approval steps like
	// any draft, recorded under the seed's actor.
	for _, step := range svc.ApprovalSteps() {
		if _, _, err := svc.Approve(ctx, Actor, run.PlanID, store.ApprovalInput{Step: step, Decision: store.DecisionApprove,
			Opinion: "演示数据：审核通过 (demo data: approved)"}); err != nil {
			return res, fmt.Errorf("seed: approve past plan (%s): %w", step, err)
		}
	}
	if _, err := svc.Publish(ctx, Actor, run.PlanID); err != nil {
		return res, fmt.Errorf("seed: publish past plan: %w", err)
	}
	res.PlanID = run.PlanID

	var visits []store.PlanVisit
	for p := (store.Page{Limit: store.MaxLimit}); ; {
		page, err := st.ListPlanVisits(ctx, run.PlanID, 0, p)
		if err != nil {
			return res, fmt.Errorf("seed: past visits: %w", err)
		}
		visits = append(visits, page.Items...)
		if page.Next == "" {
			break
		}
		p.After = page.Next
	}
	res.Visits = len(visits)
	isAnchor := func(v store.PlanVisit) bool {
		for _, tk := range v.Tasks {
			if anchorDemand[tk.DemandID] {
				return true
			}
		}
		return false
	}
	day := func(v store.PlanVisit) time.Time { d, _ := time.Parse(time.DateOnly, v.Date); return d }
	team := map[int64]string{}
	for _, tm := range c.Teams {
		team[ids.team[tm.Code]] = tm.Code
	}

	// Moves, each as of the day it was made: a visit of the third week put
	// off by a typhoon warning on its morning, and, when today is no working
	// day, the squad's visits of the next one brought forward to today.
	if len(t.weeks) > 2 {
		for _, v := range visits {
			d := day(v)
			to := cal.AddWorkingDays(d, 2)
			if !slices.Contains(t.weeks[2], d) || isAnchor(v) || !to.Before(today) {
				continue
			}
			if _, err := st.MoveVisit(ctx, Actor, run.PlanID, v.Seq, to, typhoonReason,
				store.MoveRules{Today: d, WorkingDay: cal.IsWorkingDay}); err != nil {
				return res, fmt.Errorf("seed: move visit %d: %w", v.Seq, err)
			}
			res.Moved++
			break
		}
	}
	if !t.todayDay.Equal(today) {
		for _, v := range visits {
			if day(v).Equal(t.todayDay) && team[v.TeamID] == c.DemoAnchors().Team {
				if _, err := st.MoveVisit(ctx, Actor, run.PlanID, v.Seq, today, weekendReason,
					store.MoveRules{Today: today}); err != nil {
					return res, fmt.Errorf("seed: move visit %d to today: %w", v.Seq, err)
				}
				res.Moved++
			}
		}
	}
	// A code revoked: the demo business's coming visit.
	for _, v := range visits {
		if isAnchor(v) && !day(v).Before(today) {
			if _, err := st.RevokeVisitCode(ctx, Actor, run.PlanID, v.Seq, revokeReason); err != nil {
				return res, fmt.Errorf("seed: revoke code of visit %d: %w", v.Seq, err)
			}
			res.Revoked++
			break
		}
	}

	// The doors: every visit now dated before today, in date order.
	var door []store.DoorVisit
	for _, v := range visits {
		dv, err := st.DoorVisit(ctx, run.PlanID, v.Seq, 0)
		if err != nil {
			return res, fmt.Errorf("seed: visit %d: %w", v.Seq, err)
		}
		switch {
		case dv.Date == today.Format(time.DateOnly):
			res.Today++
		case dv.Date < today.Format(time.DateOnly):
			door = append(door, dv)
		}
	}
	sort.SliceStable(door, func(i, j int) bool {
		if door[i].Date != door[j].Date {
			return door[i].Date < door[j].Date
		}
		return door[i].VisitSeq < door[j].VisitSeq
	})
	plan := perform(door, anchorDemand)
	items := map[int64]Item{}
	for _, it := range c.Items {
		items[ids.item[it.Code]] = it
	}
	biz := map[string]Business{}
	for _, b := range c.Businesses {
		biz[b.USCC] = b
	}
	otherDept := func(own int64) int64 {
		for _, d := range c.Departments {
			if id := ids.dept[d.Code]; id != own {
				return id
			}
		}
		return own
	}
	for i, dv := range door {
		p := plan[i]
		if p.skip {
			res.Unreported++
			continue
		}
		date, err := time.Parse(time.DateOnly, dv.Date)
		if err != nil {
			return res, fmt.Errorf("seed: visit %d date: %w", dv.VisitSeq, err)
		}
		rules := store.ResultRules{Today: date, Calendar: cal, Risk: cfg.Risk.Rule,
			PublishWithinWorkingDays:      cfg.Results.PublishWithinWorkingDays,
			RedoMinWindowWorkingDays:      cfg.Results.RedoMinWindowWorkingDays,
			ReinspectionWindowWorkingDays: cfg.Results.ReinspectionWindowWorkingDays,
			MaxRectifyDays:                cfg.Results.MaxRectifyDays, Language: configs.Lang(cfg.Language)}
		if len(dv.Inspectors) < 2 {
			return res, fmt.Errorf("seed: visit %d has %d inspectors, want two to confirm", dv.VisitSeq, len(dv.Inspectors))
		}
		lead, member := dv.Inspectors[0].ID, dv.Inspectors[1].ID
		b := biz[dv.USCC]
		arrive := time.Date(date.Year(), date.Month(), date.Day(), 9, 0, 0, 0, loc).
			Add(time.Duration(dv.RouteOrder*checkInMinutes) * time.Minute)
		for k, in := range []int64{lead, member} {
			at := arrive.Add(time.Duration(k) * time.Minute)
			lat, lng, acc := b.Lat, b.Lng, 12.0
			if _, _, err := st.RecordCheckIn(ctx, run.PlanID, dv.VisitSeq, in, store.CheckInInput{
				ClientID: clientUUID("checkin", run.PlanID, dv.VisitSeq, in), At: &at, Lat: &lat, Lng: &lng, AccuracyM: &acc,
			}, rules); err != nil {
				return res, fmt.Errorf("seed: check-in at visit %d: %w", dv.VisitSeq, err)
			}
		}
		for k, tk := range dv.Tasks {
			in := store.ResultInput{ClientID: clientUUID("result", run.PlanID, dv.VisitSeq, int64(tk.TaskSeq)), Outcome: p.outcomes[k]}
			switch in.Outcome {
			case store.ResultCompliant:
				in.Note = seedNoteOK
			case store.ResultMinor:
				in.RuleCited, in.Note = items[tk.ItemID].LegalBasis, seedNoteMinor
			case store.ResultViolation:
				in.RuleCited, in.Note = items[tk.ItemID].LegalBasis, seedNoteViol
				in.RectifyBy = date.AddDate(0, 0, 15).Format(time.DateOnly)
			case store.ResultTransferred:
				in.TransferredTo, in.Note = otherDept(tk.DepartmentID), seedNoteMoved
			case store.ResultNotDone:
				in.NotDoneReason = seedNotClosed
			}
			if _, _, err := st.RecordResult(ctx, run.PlanID, dv.VisitSeq, tk.TaskSeq, lead, in, rules); err != nil {
				return res, fmt.Errorf("seed: result of visit %d task %d: %w", dv.VisitSeq, tk.TaskSeq, err)
			}
			res.Outcomes[in.Outcome]++
		}
		confirmers := []int64{lead, member}
		if p.awaiting {
			confirmers = confirmers[:1]
			res.Awaiting++
		}
		for _, in := range confirmers {
			out, _, err := st.ConfirmVisit(ctx, Actor, run.PlanID, dv.VisitSeq, in, clientUUID("confirm", run.PlanID, dv.VisitSeq, in), rules)
			if err != nil {
				return res, fmt.Errorf("seed: confirm visit %d: %w", dv.VisitSeq, err)
			}
			if out.Report != nil && out.Risk != nil {
				res.Reported++
				res.FollowUps += len(out.FollowUps)
				if out.Risk.Changed {
					res.RiskChanges++
				}
			}
		}
	}
	pub := jobs.NewPublisher(jobs.PublishOptions{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	pr, err := pub.PublishResults(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("seed: publish results: %w", err)
	}
	res.Published = pr.Published
	return res, nil
}

// doorPlan is what happens at one past visit's door.
type doorPlan struct {
	// skip: nobody recorded anything (the visit is overdue); awaiting: the
	// results have one confirmation of the two a report needs.
	skip, awaiting bool
	outcomes       []string // per task, in task order
}

// perform decides, deterministically, what happened at each past visit (in
// date order): the first visit that is not the demo business's was never
// reported; the last visit waits for its second confirmation; the three
// latest reported visits found a violation, a closed door (every task not
// done) and a violation again, so that their follow-ups fall in the coming
// weeks; one task in five is a minor problem, one in seventeen is
// transferred to another department; the rest comply. The demo business's
// visit has a minor problem.
func perform(door []store.DoorVisit, anchor map[int64]bool) []doorPlan {
	out := make([]doorPlan, len(door))
	isAnchor := func(v store.DoorVisit) bool {
		for _, t := range v.Tasks {
			if anchor[t.DemandID] {
				return true
			}
		}
		return false
	}
	for i := range door {
		if !isAnchor(door[i]) {
			out[i].skip = true
			break
		}
	}
	if n := len(door); n > 1 && !out[n-1].skip && !isAnchor(door[n-1]) {
		out[n-1].awaiting = true
	}
	k := 0
	for i, v := range door {
		out[i].outcomes = make([]string, len(v.Tasks))
		for j := range v.Tasks {
			o := store.ResultCompliant
			switch {
			case k%5 == 2:
				o = store.ResultMinor
			case k%17 == 8:
				o = store.ResultTransferred
			}
			out[i].outcomes[j] = o
			k++
		}
		if isAnchor(v) && len(v.Tasks) > 0 {
			out[i].outcomes[0] = store.ResultMinor
		}
	}
	late := 0
	for i := len(door) - 1; i >= 0 && late < 3; i-- {
		if out[i].skip || out[i].awaiting || isAnchor(door[i]) || len(door[i].Tasks) == 0 {
			continue
		}
		switch late {
		case 0, 2:
			out[i].outcomes[0] = store.ResultViolation
		case 1:
			for j := range out[i].outcomes {
				out[i].outcomes[j] = store.ResultNotDone
			}
		}
		late++
	}
	return out
}

// clientUUID is a deterministic client id (UUID-shaped) for a submission of
// the seed: what the phone would make once per submission.
func clientUUID(kind string, planID int64, seq int, n int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("inspectonce-seed/%s/%d/%d/%d", kind, planID, seq, n)))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// civil is t's civil date as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
