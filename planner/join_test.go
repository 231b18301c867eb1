package planner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// bookPlan turns a plan's visits into the calendar's booked visits, as the
// store would after publishing it as plan planID (Seq = 1-based position).
func bookPlan(p *Plan, planID int64) []BookedVisit {
	var out []BookedVisit
	for i, v := range p.Visits {
		bv := BookedVisit{PlanID: planID, Seq: i + 1, USCC: v.USCC, Date: v.Date, TeamID: v.TeamID,
			InspectorIDs: slices.Clone(v.InspectorIDs), DepartmentIDs: slices.Clone(v.DepartmentIDs),
			DurationMinutes: v.DurationMinutes, TravelMinutes: v.TravelMinutes}
		for _, t := range v.Tasks {
			bv.ItemIDs = append(bv.ItemIDs, t.ItemID)
		}
		slices.Sort(bv.ItemIDs)
		bv.ItemIDs = slices.Compact(bv.ItemIDs)
		out = append(out, bv)
	}
	return out
}

// joinInput is a random county with a first plan already on its calendar:
// the first cycle is planned and booked, then the second cycle (same
// registries and horizon, Policy.Join on) gets half of the first cycle's
// demands again under new ids and list demands at booked businesses around
// their visits' dates, some announced, with the publish day a few days in.
func joinInput(seed uint64, uncapacitated bool) (*Input, error) {
	r := rand.New(rand.NewPCG(seed, 16))
	ins := instance{
		businesses: 20 + r.IntN(200), departments: 2 + r.IntN(4), teamCapacity: 400 + r.IntN(3000),
		inspectorsTeam: 2 + r.IntN(5), demands: 2 + r.IntN(20), horizonDays: 7 + r.IntN(25), history: r.IntN(150),
		uncapacitated: uncapacitated,
	}
	if uncapacitated {
		ins.teamCapacity, ins.history, ins.inspectorsTeam = 1, 0, 4
	}
	in := randomInput(r, ins)
	if uncapacitated {
		for i := range in.Inspectors {
			in.Inspectors[i].Conflicts = nil
		}
	}
	p1, err := Build(in)
	if err != nil {
		return nil, err
	}
	in2 := *in
	in2.Booked = bookPlan(p1, 1)
	in2.Policy.Join = true
	in2.PublishDay = in.From + Day(r.IntN(4))
	in2.Demands = nil
	nextID := int64(10000)
	announce := func() int {
		if r.IntN(2) == 0 {
			return 0
		}
		return 1 + r.IntN(5)
	}
	for _, d := range in.Demands {
		if r.IntN(2) == 0 {
			d.ID, nextID = nextID, nextID+1
			d.AnnounceDays = announce()
			in2.Demands = append(in2.Demands, d)
		}
	}
	for range 2 + r.IntN(8) {
		if len(in2.Booked) == 0 {
			break
		}
		dept := int64(1 + r.IntN(ins.departments))
		around := in2.Booked[r.IntN(len(in2.Booked))].Date
		d := Demand{ID: nextID, DepartmentID: dept, ItemIDs: []int64{1000 + 10*(dept-1) + int64(r.IntN(2))},
			From: around - Day(r.IntN(6)), To: around + Day(r.IntN(6)), Priority: 1 + r.IntN(5), Source: SourceRoutine,
			AnnounceDays: announce()}
		nextID++
		if r.IntN(4) == 0 {
			d.Source, d.AnnounceDays = SourceComplaint, 0
		}
		for range 1 + r.IntN(8) {
			c := in2.Booked[r.IntN(len(in2.Booked))].USCC
			if !slices.Contains(d.Businesses, c) {
				d.Businesses = append(d.Businesses, c)
			}
		}
		in2.Demands = append(in2.Demands, d)
	}
	return &in2, nil
}

// checkJoins asserts the invariants of a plan with joins: every resolved
// task is in exactly one new visit, one join or unplaced; new visits keep
// DESIGN.md §4's invariants; a join never breaks its visit's date (not past,
// in the horizon, a working day), a window, a notice, domain coverage or
// recusal; added minutes follow the duration rule; every added inspector
// comes from a recorded draw that replays; and no team-day or inspector-day
// goes over capacity counting the booked visits as amended by the joins and
// the new visits. It returns the number of inspectors added.
func checkJoins(t *testing.T, in *Input, p *Plan) (added int) {
	t.Helper()
	// checkInvariants accounts for every task in a visit or unplaced: count
	// the joined ones as placed elsewhere.
	view := *p
	view.Unplaced = slices.Clone(p.Unplaced)
	for _, j := range p.Joins {
		for _, task := range j.Tasks {
			view.Unplaced = append(view.Unplaced, Unplaced{DemandID: task.DemandID, USCC: task.USCC, ItemID: task.ItemID, Reason: "joined"})
		}
	}
	checkInvariants(t, in, &view)

	pub := publishDay(in)
	items := map[int64]Item{}
	for _, it := range in.Items {
		items[it.ID] = it
	}
	insp := map[int64]Inspector{}
	for _, x := range in.Inspectors {
		insp[x.ID] = x
	}
	demands := map[int64]Demand{}
	for _, d := range in.Demands {
		demands[d.ID] = d
	}
	type pk struct {
		plan int64
		seq  int
	}
	booked := map[pk]BookedVisit{}
	for _, bv := range in.Booked {
		booked[pk{bv.PlanID, bv.Seq}] = bv
	}
	draws := map[string]Draw{}
	for _, d := range p.Draws {
		draws[d.VisitKey] = d
	}
	recent := recentInspectors(in)
	seenVisit := map[pk]bool{}
	for ji, j := range p.Joins {
		if ji > 0 && (p.Joins[ji-1].PlanID > j.PlanID || p.Joins[ji-1].PlanID == j.PlanID && p.Joins[ji-1].Seq >= j.Seq) {
			t.Fatalf("joins not in (PlanID, Seq) order at %d", ji)
		}
		bv, ok := booked[pk{j.PlanID, j.Seq}]
		if !ok || seenVisit[pk{j.PlanID, j.Seq}] {
			t.Fatalf("join %+v: no such booked visit, or joined twice", j)
		}
		seenVisit[pk{j.PlanID, j.Seq}] = true
		if j.USCC != bv.USCC || j.Date != bv.Date || bv.Date < pub || bv.Date < in.From || bv.Date > in.To ||
			!in.Calendar.IsWorkingDay(bv.Date.Time()) || len(j.Tasks) == 0 {
			t.Fatalf("join %+v to visit %+v: wrong business or date (publish day %s)", j, bv, pub)
		}
		staff := append(slices.Clone(bv.InspectorIDs), j.AddedInspectorIDs...)
		unannounced := false
		perDomain := map[string]int{}
		longest := 0
		for _, id := range bv.ItemIDs {
			perDomain[items[id].Domain] += items[id].Minutes
			longest = max(longest, perDomain[items[id].Domain])
		}
		before := longest
		for _, task := range j.Tasks {
			if task.USCC != bv.USCC || bv.Date < task.From || bv.Date > task.To {
				t.Fatalf("join %+v: task %+v outside its window or business", j, task)
			}
			d := demands[task.DemandID]
			if d.AnnounceDays > 0 && bv.Date < pub+Day(d.AnnounceDays) {
				t.Fatalf("join on %s breaks demand %d's notice of %d days from %s", bv.Date, d.ID, d.AnnounceDays, pub)
			}
			unannounced = unannounced || d.AnnounceDays == 0
			dom := items[task.ItemID].Domain
			if !slices.ContainsFunc(staff, func(id int64) bool { return slices.Contains(insp[id].Domains, dom) }) {
				t.Fatalf("join %+v: nobody on the visit holds %s", j, dom)
			}
			perDomain[dom] += items[task.ItemID].Minutes
			longest = max(longest, perDomain[dom])
		}
		if j.Unannounced != unannounced {
			t.Fatalf("join %+v: Unannounced %v, want %v", j, j.Unannounced, unannounced)
		}
		if j.AddedMinutes != longest-before || j.DurationMinutes != bv.DurationMinutes+j.AddedMinutes {
			t.Fatalf("join %+v: added %d minutes, the duration rule says %d", j, j.AddedMinutes, longest-before)
		}
		for n, id := range j.AddedInspectorIDs {
			if slices.Contains(bv.InspectorIDs, id) || slices.Contains(j.AddedInspectorIDs[:n], id) {
				t.Fatalf("join %+v: inspector %d added twice", j, id)
			}
			if slices.Contains(insp[id].Conflicts, bv.USCC) || slices.Contains(recent[bv.USCC], id) {
				t.Fatalf("join %+v: added inspector %d is recused", j, id)
			}
			d, ok := draws[JoinDrawKey(bv.USCC, bv.Date, bv.PlanID, bv.Seq, n)]
			if !ok || d.Kind != DrawInspectors || !slices.Equal(d.Result, []string{fmt.Sprint(id)}) {
				t.Fatalf("join %+v: no recorded draw for added inspector %d", j, id)
			}
			if ok, _, why := VerifyInspectorDraw(d, in.Seed); !ok {
				t.Fatalf("join draw %s does not replay: %s", d.VisitKey, why)
			}
			added++
		}
	}

	// Capacity over the calendar: booked visits as amended, then new visits.
	if in.Policy.Uncapacitated {
		return added
	}
	teamCap := map[int64]int{}
	for _, tm := range in.Teams {
		teamCap[tm.ID] = tm.DailyCapacityMinutes
	}
	type dk struct {
		id  int64
		day Day
	}
	teamUse, inspUse := map[dk]int{}, map[dk]int{}
	hold := func(team int64, day Day, staff []int64, need int) {
		teamUse[dk{team, day}] += need * len(staff)
		for _, id := range staff {
			inspUse[dk{id, day}] += need
		}
	}
	for _, bv := range AmendBooked(in.Booked, p.Joins) {
		if bv.Date >= in.From && bv.Date <= in.To && in.Calendar.IsWorkingDay(bv.Date.Time()) {
			hold(bv.TeamID, bv.Date, bv.InspectorIDs, bv.DurationMinutes+bv.TravelMinutes)
		}
	}
	for _, v := range p.Visits {
		hold(v.TeamID, v.Date, v.InspectorIDs, v.DurationMinutes+v.TravelMinutes)
	}
	for k, used := range teamUse {
		if used > teamCap[k.id] {
			t.Fatalf("team %d on %s holds %d of %d minutes (booked + joins + new)", k.id, k.day, used, teamCap[k.id])
		}
	}
	for k, used := range inspUse {
		if used > in.Policy.InspectorDayMinutes {
			t.Fatalf("inspector %d on %s works %d minutes (booked + joins + new)", k.id, k.day, used)
		}
	}
	return added
}

// Property (issue 16): on random calendars with a first plan booked, a
// second plan's joins keep every invariant, count what they hold, and the
// same input gives the same plan, joins and their draws included.
func TestJoinInvariantsOnRandomCalendars(t *testing.T) {
	var joined, added, amended int
	for seed := range uint64(60) {
		in, err := joinInput(seed, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			p, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			added += checkJoins(t, in, p)
			n := 0
			for _, j := range p.Joins {
				n += len(j.Tasks)
			}
			if p.Stats.TasksJoined != n || p.Stats.VisitsAmended != len(p.Joins) {
				t.Fatalf("stats say %d tasks joined to %d visits, the plan %d to %d", p.Stats.TasksJoined, p.Stats.VisitsAmended, n, len(p.Joins))
			}
			if p.Stats.DoorKnocksSaved < 0 || (n == 0 && p.Stats.DoorKnocksSaved != 0) {
				t.Fatalf("door-knocks saved %d with %d tasks joined", p.Stats.DoorKnocksSaved, n)
			}
			joined += n
			amended += len(p.Joins)
			again, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p, again) {
				t.Fatal("the same input and seed gave a different plan")
			}
		})
	}
	if joined == 0 || added == 0 || amended == 0 {
		t.Fatalf("property not exercised: %d tasks joined to %d visits, %d inspectors added", joined, amended, added)
	}
	t.Logf("%d tasks joined to %d visits, %d inspectors added", joined, amended, added)
}

// Property (issue 16): without capacity limits every task whose window
// holds a booked visit of its business joins it, so the new visits are
// exactly the calendar lower bound (the stabbing rule with the booked
// visits' dates as existing stabs), never more than without joining.
func TestJoinUncapacitatedVisitsEqualCalendarLowerBound(t *testing.T) {
	saved := 0
	for seed := range uint64(40) {
		in, err := joinInput(seed, true)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Build(in)
		if err != nil {
			t.Fatal(err)
		}
		checkJoins(t, in, p)
		if p.Stats.Visits != p.Stats.LowerBound {
			t.Fatalf("seed %d: %d new visits, calendar lower bound %d", seed, p.Stats.Visits, p.Stats.LowerBound)
		}
		off := *in
		off.Policy.Join = false
		q, err := Build(&off)
		if err != nil {
			t.Fatal(err)
		}
		if q.Stats.Visits-p.Stats.Visits != p.Stats.DoorKnocksSaved {
			t.Fatalf("seed %d: %d visits without joining, %d with, but %d door-knocks saved reported", seed, q.Stats.Visits, p.Stats.Visits, p.Stats.DoorKnocksSaved)
		}
		saved += p.Stats.DoorKnocksSaved
	}
	if saved == 0 {
		t.Fatal("no door-knock saved on any seed")
	}
}

// joinCase is a small county: one business b0 (and b1) in grid 100 of
// township 10, team 1 (comprehensive, county) with inspectors 101 and 102
// (domain A) and 103 (domain B), team 2 (township 10) with inspector 201 (A)
// and 202 (B); items 1 (A, 30 min), 3 (A, 20 min) of department 1, 2 (B, 20
// min) of department 2; and a booked visit (plan 7, seq 3) at b0 on the
// horizon's third day by team 1 with 101 and 102 checking item 1.
func joinCase() *Input {
	from := DayOf(time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)) // a Monday
	in := &Input{From: from, To: from + 13, Calendar: testCalendar, Policy: DefaultPolicy(), YearKey: []byte("k"), PublishDay: from}
	in.Policy.Join = true
	in.Seed[0] = 16
	in.Regions = []Region{{ID: 1}, {ID: 10, ParentID: 1}, {ID: 100, ParentID: 10}}
	in.Businesses = []Business{
		{USCC: testUSCC(0), RegionID: 100, Lat: 30.70, Lng: 122.45, Risk: RiskGreen, List: ListRandom},
		{USCC: testUSCC(1), RegionID: 100, Lat: 30.71, Lng: 122.46, Risk: RiskGreen, List: ListRandom},
	}
	in.Items = []Item{{ID: 1, DepartmentID: 1, Domain: "A", Minutes: 30}, {ID: 2, DepartmentID: 2, Domain: "B", Minutes: 20},
		{ID: 3, DepartmentID: 1, Domain: "A", Minutes: 20}}
	in.Teams = []Team{
		{ID: 1, Kind: TeamComprehensive, BaseLat: 30.7, BaseLng: 122.45, DailyCapacityMinutes: 2000, RegionIDs: []int64{1}},
		{ID: 2, Kind: TeamTownship, BaseLat: 30.7, BaseLng: 122.45, DailyCapacityMinutes: 2000, RegionIDs: []int64{10}},
	}
	in.Inspectors = []Inspector{{ID: 101, TeamID: 1, Domains: []string{"A"}}, {ID: 102, TeamID: 1, Domains: []string{"A"}},
		{ID: 103, TeamID: 1, Domains: []string{"B"}}, {ID: 201, TeamID: 2, Domains: []string{"A"}}, {ID: 202, TeamID: 2, Domains: []string{"B"}}}
	in.Booked = []BookedVisit{{PlanID: 7, Seq: 3, USCC: testUSCC(0), Date: from + 2, TeamID: 1, InspectorIDs: []int64{101, 102},
		ItemIDs: []int64{1}, DepartmentIDs: []int64{1}, DurationMinutes: 45, TravelMinutes: 10}}
	return in
}

// demandAt is a list demand for item at b0 over the whole horizon.
func demandAt(in *Input, id, dept, item int64, announce int) Demand {
	return Demand{ID: id, DepartmentID: dept, ItemIDs: []int64{item}, Businesses: []string{testUSCC(0)},
		From: in.From, To: in.To, Priority: 3, Source: SourceRoutine, AnnounceDays: announce}
}

func TestJoinCases(t *testing.T) {
	cases := []struct {
		name  string
		setup func(in *Input)
		// joins and new visits expected, the added inspectors, and the
		// added minutes of the one join if any
		joins, visits int
		added         []int64
		minutes       int
		unannounced   bool
		lb            int // calendar lower bound
	}{
		{name: "join ok", setup: func(in *Input) {
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 1)}
		}, joins: 1, minutes: 20},
		{name: "refused for notice", setup: func(in *Input) {
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 5)}
		}, visits: 1, lb: 1},
		{name: "refused: the visit is before the publish day", setup: func(in *Input) {
			in.PublishDay = in.From + 3
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 0)}
		}, visits: 1, lb: 1},
		{name: "refused for team capacity", setup: func(in *Input) {
			in.Teams[0].DailyCapacityMinutes = 140 // booked holds 110, the join needs 40 more
			in.Teams = in.Teams[:1]
			in.Inspectors = in.Inspectors[:3]
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 0)}
		}, visits: 1},
		{name: "refused for inspector-day capacity", setup: func(in *Input) {
			in.Booked[0].DurationMinutes = 45 + 410 // 101 and 102 hold 465 of 480 minutes
			in.Booked[0].ItemIDs = nil
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 0)}
		}, visits: 1},
		{name: "domain missing: inspector added by draw", setup: func(in *Input) {
			in.Demands = []Demand{demandAt(in, 1, 2, 2, 0)}
		}, joins: 1, added: []int64{103}, minutes: 0, unannounced: true},
		{name: "domain missing: lead team's certified inspector recused, another team's drawn", setup: func(in *Input) {
			in.Inspectors[2].Conflicts = []string{testUSCC(0)}
			in.Demands = []Demand{demandAt(in, 1, 2, 2, 0)}
		}, joins: 1, added: []int64{202}, unannounced: true},
		{name: "domain missing and no available certified inspector: new visit", setup: func(in *Input) {
			// 103 and 202, the only ones holding B, are booked up that day.
			in.Booked = append(in.Booked, BookedVisit{PlanID: 7, Seq: 4, USCC: testUSCC(1), Date: in.From + 2, TeamID: 2,
				InspectorIDs: []int64{103, 202}, ItemIDs: []int64{2}, DepartmentIDs: []int64{2}, DurationMinutes: 440, TravelMinutes: 10})
			in.Demands = []Demand{demandAt(in, 1, 2, 2, 0)}
		}, visits: 1},
		{name: "unannounced task joining an announced visit is flagged", setup: func(in *Input) {
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 0)}
		}, joins: 1, minutes: 20, unannounced: true},
		{name: "two tasks accumulate on the earliest visit", setup: func(in *Input) {
			later := in.Booked[0]
			later.Seq, later.Date = 5, in.From+4
			in.Booked = append(in.Booked, later)
			in.Demands = []Demand{demandAt(in, 1, 1, 3, 2), demandAt(in, 2, 2, 2, 0)}
		}, joins: 1, added: []int64{103}, minutes: 20, unannounced: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := joinCase()
			c.setup(in)
			p, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			checkJoins(t, in, p)
			if len(p.Joins) != c.joins || len(p.Visits) != c.visits || len(p.Unplaced) != 0 {
				t.Fatalf("%d joins, %d new visits, unplaced %+v; want %d, %d, none", len(p.Joins), len(p.Visits), p.Unplaced, c.joins, c.visits)
			}
			if c.joins == 0 {
				// The bound ignores capacity and domains: only a date out of
				// the window or before the publish day leaves the task a new
				// visit to count.
				if p.Stats.LowerBound != c.lb || p.Stats.DoorKnocksSaved != 0 || p.Stats.TasksJoined != 0 {
					t.Fatalf("stats %+v, want lower bound %d and nothing joined", p.Stats, c.lb)
				}
				return
			}
			j := p.Joins[0]
			if j.PlanID != in.Booked[0].PlanID || j.Seq != in.Booked[0].Seq || !slices.Equal(j.AddedInspectorIDs, c.added) ||
				j.AddedMinutes != c.minutes || j.Unannounced != c.unannounced {
				t.Fatalf("join %+v: want visit 7/3, added %v, %d minutes, unannounced %v", j, c.added, c.minutes, c.unannounced)
			}
			if p.Stats.LowerBound != 0 || p.Stats.DoorKnocksSaved != 1 || p.Stats.VisitsAmended != 1 || p.Stats.TasksJoined != len(in.Demands) {
				t.Fatalf("stats %+v", p.Stats)
			}
		})
	}
}

// BenchmarkDistrictJoin plans the district's next cycle on a calendar that
// holds its first plan: the same departments' campaigns come again for a
// neighbouring department's unused item (coordinated samples overlap, so
// many tasks land at businesses with a booked visit), and the complaints
// again, with joining on.
func BenchmarkDistrictJoin(b *testing.B) {
	in := districtInput(false)
	p1, err := Build(in)
	if err != nil {
		b.Fatal(err)
	}
	in2 := *in
	in2.Booked = bookPlan(p1, 1)
	in2.Policy.Join = true
	in2.Demands = nil
	for _, d := range in.Demands {
		d.ID += 100_000
		if d.Sample != nil {
			d.DepartmentID = d.DepartmentID%10 + 1
			d.ItemIDs = []int64{1002 + 10*(d.DepartmentID-1)}
		}
		in2.Demands = append(in2.Demands, d)
	}
	var p *Plan
	b.ReportAllocs()
	cpu := cpuTime()
	n := 0
	for b.Loop() {
		if p, err = Build(&in2); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu).Seconds()/float64(n), "cpu-s/op")
	b.ReportMetric(float64(len(in2.Booked)), "booked")
	b.ReportMetric(float64(p.Stats.TasksJoined), "joined")
	b.ReportMetric(float64(p.Stats.VisitsAmended), "amended")
	b.ReportMetric(float64(p.Stats.DoorKnocksSaved), "saved")
	added := 0
	for _, j := range p.Joins {
		added += len(j.AddedInspectorIDs)
	}
	b.ReportMetric(float64(added), "added-inspectors")
	report(b, p, nil)
}
