package planner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// bookedOf turns a plan's visits into the calendar a later plan sees, as if
// the plan had been published as plan planID.
func bookedOf(planID int64, p *Plan) []BookedVisit {
	out := make([]BookedVisit, 0, len(p.Visits))
	for i, v := range p.Visits {
		bv := BookedVisit{PlanID: planID, Seq: i + 1, USCC: v.USCC, Date: v.Date, TeamID: v.TeamID,
			InspectorIDs: v.InspectorIDs, DepartmentIDs: v.DepartmentIDs,
			DurationMinutes: v.DurationMinutes, TravelMinutes: v.TravelMinutes}
		for _, t := range v.Tasks {
			bv.ItemIDs = append(bv.ItemIDs, t.ItemID)
		}
		out = append(out, bv)
	}
	return out
}

// checkCalendarCapacity asserts that no team-day or inspector-day of the
// horizon holds more than its capacity, counting the booked visits (those
// on working days in the horizon) and the plan's new ones.
func checkCalendarCapacity(t *testing.T, in *Input, p *Plan) {
	t.Helper()
	type key struct {
		id  int64
		day Day
	}
	team, insp := map[key]int{}, map[key]int{}
	add := func(teamID int64, day Day, inspectors []int64, minutes int) {
		team[key{teamID, day}] += minutes * len(inspectors)
		for _, id := range inspectors {
			insp[key{id, day}] += minutes
		}
	}
	for _, b := range in.Booked {
		if b.Date >= in.From && b.Date <= in.To && in.Calendar.IsWorkingDay(b.Date.Time()) {
			add(b.TeamID, b.Date, b.InspectorIDs, b.DurationMinutes+b.TravelMinutes)
		}
	}
	for _, v := range p.Visits {
		add(v.TeamID, v.Date, v.InspectorIDs, v.DurationMinutes+v.TravelMinutes)
	}
	capOf := map[int64]int{}
	for _, tm := range in.Teams {
		capOf[tm.ID] = tm.DailyCapacityMinutes
	}
	for k, used := range team {
		if c, ok := capOf[k.id]; ok && used > c {
			t.Fatalf("team %d on %s holds %d of %d minutes, booked included", k.id, k.day, used, c)
		}
	}
	known := map[int64]bool{}
	for _, p := range in.Inspectors {
		known[p.ID] = true
	}
	for k, used := range insp {
		if known[k.id] && used > in.Policy.InspectorDayMinutes {
			t.Fatalf("inspector %d on %s works %d minutes, booked included", k.id, k.day, used)
		}
	}
}

// TestBookedCapacityOnRandomInstances: a plan made after another was
// published over an overlapping horizon never takes a team-day's or an
// inspector-day's minutes the first plan holds, keeps every other
// invariant, ignores bookings it cannot place (outside the horizon, unknown
// teams and inspectors), and is the same plan for the same input.
func TestBookedCapacityOnRandomInstances(t *testing.T) {
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 23))
		ins := instance{
			businesses: 50 + r.IntN(300), departments: 2 + r.IntN(4), teamCapacity: 300 + r.IntN(1500),
			inspectorsTeam: 2 + r.IntN(4), demands: 5 + r.IntN(25), horizonDays: 10 + r.IntN(20), history: r.IntN(100),
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			first := randomInput(r, ins)
			p1, err := Build(first)
			if err != nil {
				t.Fatal(err)
			}
			// The second plan: other demands (a new random draw of them, same
			// registries), a horizon shifted into the first's, another seed.
			second := randomInput(rand.New(rand.NewPCG(seed, 29)), ins)
			second.Businesses, second.Teams, second.Inspectors, second.Items = first.Businesses, first.Teams, first.Inspectors, first.Items
			shift := Day(r.IntN(ins.horizonDays / 2))
			second.From, second.To = first.From+shift, first.To+shift
			for i := range second.Demands {
				second.Demands[i].From += shift
				second.Demands[i].To += shift
			}
			second.Booked = bookedOf(1, p1)
			p2, err := Build(second)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, second, p2)
			checkCalendarCapacity(t, second, p2)

			// Bookings the plan cannot use change nothing.
			j := *second
			junk := &j
			junk.Booked = append(slicesClone(second.Booked),
				BookedVisit{PlanID: 9, Seq: 1, Date: second.From - 1, TeamID: first.Teams[0].ID, InspectorIDs: []int64{first.Inspectors[0].ID}, DurationMinutes: 10_000},
				BookedVisit{PlanID: 9, Seq: 2, Date: second.To + 1, TeamID: first.Teams[0].ID, InspectorIDs: []int64{first.Inspectors[0].ID}, DurationMinutes: 10_000},
				BookedVisit{PlanID: 9, Seq: 3, Date: second.From, TeamID: 987_654, InspectorIDs: []int64{987_654}, DurationMinutes: 10_000})
			pj, err := Build(junk)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p2, pj) {
				t.Fatal("bookings outside the horizon or of unknown teams changed the plan")
			}
			again, err := Build(second)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p2, again) {
				t.Fatal("the same input with bookings gave a different plan")
			}
		})
	}
}

func slicesClone(b []BookedVisit) []BookedVisit { return append([]BookedVisit(nil), b...) }

// TestBookedDaysAreTaken: table-driven, one team of two inspectors, one
// business, one demand over three working days; the calendar books some of
// those days, and the new visit goes where minutes are left, or nowhere.
func TestBookedDaysAreTaken(t *testing.T) {
	base := func() *Input {
		r := rand.New(rand.NewPCG(1, 1))
		in := randomInput(r, instance{businesses: 1, departments: 1, teamCapacity: 960, inspectorsTeam: 2, demands: 0, horizonDays: 3})
		// One team only: the comprehensive one and its two inspectors.
		in.Teams = in.Teams[:1]
		in.Inspectors = in.Inspectors[:2]
		in.Inspectors[0].Domains, in.Inspectors[1].Domains = []string{"domain0"}, []string{"domain0"}
		in.Businesses[0].List = ListRandom
		in.Demands = []Demand{{ID: 1, DepartmentID: 1, ItemIDs: []int64{1000}, Businesses: []string{in.Businesses[0].USCC},
			From: in.From, To: in.To, Priority: 3, Source: SourceRoutine}}
		return in
	}
	in0 := base()
	days := []Day{}
	for d := in0.From; d <= in0.To; d++ {
		if in0.Calendar.IsWorkingDay(d.Time()) {
			days = append(days, d)
		}
	}
	if len(days) != 3 {
		t.Fatalf("want three working days, got %v", days)
	}
	team, a, b := in0.Teams[0].ID, in0.Inspectors[0].ID, in0.Inspectors[1].ID
	full := func(d Day, insp ...int64) BookedVisit {
		return BookedVisit{PlanID: 1, Seq: int(d), Date: d, TeamID: team, InspectorIDs: insp, DurationMinutes: 460}
	}
	for _, tc := range []struct {
		name   string
		booked []BookedVisit
		want   []Day // allowed days of the new visit; none = unplaced for capacity
	}{
		{"free calendar", nil, days},
		{"first day full", []BookedVisit{full(days[0], a, b)}, days[1:]},
		{"first two days full", []BookedVisit{full(days[0], a, b), full(days[1], a, b)}, days[2:]},
		{"one inspector busy every day", []BookedVisit{full(days[0], a), full(days[1], a), full(days[2], a)}, nil},
		{"all full", []BookedVisit{full(days[0], a, b), full(days[1], a, b), full(days[2], a, b)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base()
			in.Booked = tc.booked
			p, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			checkCalendarCapacity(t, in, p)
			if tc.want == nil {
				if len(p.Visits) != 0 || p.Stats.UnplacedByReason[ReasonCapacity] == 0 {
					t.Fatalf("want nothing placed for capacity, got %d visits, unplaced %v", len(p.Visits), p.Stats.UnplacedByReason)
				}
				return
			}
			if len(p.Visits) != 1 {
				t.Fatalf("want one visit, got %d (unplaced %v)", len(p.Visits), p.Stats.UnplacedByReason)
			}
			if d := p.Visits[0].Date; !containsDay(tc.want, d) {
				t.Fatalf("visit on %s, want one of %v", d, tc.want)
			}
		})
	}
}

func containsDay(ds []Day, d Day) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}
