package planner

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// bigCalendar is a district calendar: 40 townships each with a team of 12,
// 20,000 businesses, about 30,000 published visits over four weeks, and a
// typhoon closing townships 1 to 4 for two days (about 1,500 visits hit) —
// or nothing closed, the baseline: reading the calendar alone.
func bigCalendar(closed bool) *RepairInput {
	rng := rand.New(rand.NewPCG(7, 7))
	start := DayOf(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC))
	in := &RepairInput{FirstDay: start + 1, DrawPrefix: "bench"}
	in.From, in.To, in.Calendar, in.Policy = start, start+41, plainCalendar(), DefaultPolicy()
	in.Regions = append(in.Regions, Region{ID: 1})
	const towns, perTeam = 40, 12
	for t := range towns {
		in.Regions = append(in.Regions, Region{ID: int64(100 + t), ParentID: 1})
		in.Teams = append(in.Teams, Team{ID: int64(t + 1), Kind: TeamComprehensive, DailyCapacityMinutes: perTeam * 480,
			RegionIDs: []int64{int64(100 + t)}})
		for i := range perTeam {
			in.Inspectors = append(in.Inspectors, Inspector{ID: int64(t*perTeam + i + 1), TeamID: int64(t + 1),
				Domains: []string{"food", "fire", "drug"}[:1+i%3]})
		}
	}
	for b := range 20000 {
		in.Businesses = append(in.Businesses, Business{USCC: fmt.Sprintf("B%017d", b), RegionID: int64(100 + b%towns)})
	}
	wd := newWorkdays(&in.Input)
	used := map[[2]int64]int{}
	for b := range in.Businesses {
		for range 1 + b%2 {
			day := wd.days[rng.IntN(20)]
			t := b % towns
			a, c := int64(t*perTeam+1+rng.IntN(perTeam)), int64(t*perTeam+1+rng.IntN(perTeam))
			if a == c || used[[2]int64{a, int64(day)}] > 400 || used[[2]int64{c, int64(day)}] > 400 {
				continue
			}
			used[[2]int64{a, int64(day)}] += 50
			used[[2]int64{c, int64(day)}] += 50
			seq := len(in.Booked) + 1
			in.Booked = append(in.Booked, BookedVisit{PlanID: 1, Seq: seq, USCC: in.Businesses[b].USCC, Date: day,
				TeamID: int64(t + 1), InspectorIDs: []int64{a, c}, DurationMinutes: 40, TravelMinutes: 10})
			in.Visits = append(in.Visits, RepairVisit{PlanID: 1, Seq: seq, From: start, To: start + 41, Domains: []string{"food"}})
		}
	}
	if closed {
		for t := 1; t <= 4; t++ {
			in.Closures = append(in.Closures, Closure{RegionID: int64(100 + t), From: wd.days[5], To: wd.days[6]})
		}
	}
	return in
}

// BenchmarkRepair times the pure repair of a typhoon on a district
// calendar, against the same calendar with nothing to repair (the
// baseline: indexing and scanning the calendar alone).
func BenchmarkRepair(b *testing.B) {
	for _, c := range []struct {
		name   string
		closed bool
	}{{"baseline_nothing_closed", false}, {"typhoon_4_townships_2_days", true}} {
		in := bigCalendar(c.closed)
		b.Run(c.name, func(b *testing.B) {
			var res RepairResult
			for b.Loop() {
				res = Repair(in)
			}
			b.ReportMetric(float64(len(in.Booked)), "booked")
			b.ReportMetric(float64(len(res.Changes)), "changed")
			b.ReportMetric(float64(len(res.Unrepaired)), "unrepaired")
		})
	}
}
