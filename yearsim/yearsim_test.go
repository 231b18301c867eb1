package yearsim

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"inspectonce/calendar"
	"inspectonce/planner"
)

// syntheticCounty is a small county: n establishments over eight zips in a
// box a few kilometres wide, with mixed risk classes, fail rates from 0 to
// 1 and last inspections in the year before the start.
func syntheticCounty(n int, seed uint64, start planner.Day) []Establishment {
	r := rand.New(rand.NewPCG(seed, 7))
	risks := []string{planner.RiskRed, planner.RiskRed, planner.RiskRed, planner.RiskYellow, planner.RiskYellow, planner.RiskGreen}
	out := make([]Establishment, n)
	for i := range out {
		zip := 60600 + r.IntN(8)
		canvass := r.IntN(5)
		failed := 0
		switch i % 10 {
		case 0: // always fails
			canvass = max(canvass, 1)
			failed = canvass
		case 1: // never fails
		default:
			if canvass > 0 {
				failed = r.IntN(canvass + 1)
			}
		}
		out[i] = Establishment{License: fmt.Sprintf("L%05d", i), Name: "shop", Facility: "Restaurant", Zip: fmt.Sprint(zip),
			Lat: 41.8 + float64(zip-60600)*0.01 + r.Float64()*0.01, Lng: -87.7 + r.Float64()*0.03,
			Risk: risks[r.IntN(len(risks))], Canvass: canvass, Failed: failed,
			LastInspection: start - 1 - planner.Day(r.IntN(365))}
	}
	return out
}

func smallConfig() Config {
	cfg := DefaultConfig()
	cfg.Weeks = 12
	cfg.Teams = 2
	cfg.InspectorsPerTeam = 6
	cfg.LeaveWeeks = 1
	cfg.ComplaintsPerYear = 2 // many, so complaints meet booked visits and join
	return cfg
}

// TestYearInvariants checks a simulated quarter of a small, scarce county
// against the calendar's rules, with and without joins and a reserve: every
// visit has two or more certified inspectors of the county, none of them
// away, on a working day inside every one of its tasks' windows; no
// inspector-day or lead team-day holds more minutes than it has; door-knocks
// are never below the lower bound; the coverage figures add up.
func TestYearInvariants(t *testing.T) {
	for _, tc := range []struct {
		name    string
		join    bool
		reserve float64
	}{
		{"join", true, 0},
		{"no join", false, 0},
		{"join with reserve", true, 0.2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallConfig()
			cfg.Policy.Join = tc.join
			cfg.UrgentReserve = tc.reserve
			ests := syntheticCounty(1500, 1, cfg.Start)
			rep, err := Run(ests, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Visits) < 100 {
				t.Fatalf("only %d visits in a quarter: the county is not being planned", len(rep.Visits))
			}
			checkCalendar(t, rep)
			checkCoverage(t, rep, ests)
			sum := rep.Summarize()
			if tc.join && sum.TasksJoined == 0 {
				t.Errorf("joins on with two complaints a year per establishment, and no task joined a booked visit")
			}
			if !tc.join && sum.TasksJoined != 0 {
				t.Errorf("joins off, yet %d tasks joined", sum.TasksJoined)
			}
			if sum.Utilisation <= 0 || sum.Utilisation > 1 {
				t.Errorf("utilisation %.3f outside (0, 1]", sum.Utilisation)
			}
		})
	}
}

func checkCalendar(t testing.TB, rep *Report) {
	t.Helper()
	cfg := rep.Config
	cal, err := calendar.New(cfg.Holidays, nil)
	if err != nil {
		t.Fatal(err)
	}
	teamOf := map[int64]int64{}
	for _, p := range rep.Inspectors {
		if !slices.Contains(p.Domains, domainFood) {
			t.Fatalf("inspector %d holds no food certificate", p.ID)
		}
		teamOf[p.ID] = p.TeamID
	}
	capOf := map[int64]int{}
	for _, tm := range rep.Teams {
		capOf[tm.ID] = tm.DailyCapacityMinutes
	}
	type key struct {
		id  int64
		day planner.Day
	}
	away := map[key]bool{}
	for _, u := range rep.Unavailable {
		for d := u.From; d <= u.To; d++ {
			away[key{u.InspectorID, d}] = true
		}
	}
	inspDay, teamDay := map[key]int{}, map[key]int{}
	for _, v := range rep.Visits {
		if !cal.IsWorkingDay(v.Date.Time()) {
			t.Errorf("%s visited on %s, not a working day", v.USCC, v.Date)
		}
		if v.Date < cfg.Start || v.Date >= cfg.Start+planner.Day(7*cfg.Weeks) {
			t.Errorf("%s visited on %s, outside the year", v.USCC, v.Date)
		}
		for i, w := range v.Windows {
			if v.Date < w.From || v.Date > w.To {
				t.Errorf("%s visited on %s, outside task %d's window %s..%s", v.USCC, v.Date, v.Items[i], w.From, w.To)
			}
		}
		if len(v.Items) == 0 {
			t.Errorf("%s visited on %s with no task", v.USCC, v.Date)
		}
		ids := slices.Clone(v.InspectorIDs)
		slices.Sort(ids)
		if len(slices.Compact(ids)) < cfg.Policy.MinInspectors || len(ids) != len(v.InspectorIDs) {
			t.Errorf("%s on %s: inspectors %v, want %d distinct", v.USCC, v.Date, v.InspectorIDs, cfg.Policy.MinInspectors)
		}
		for _, id := range v.InspectorIDs {
			if _, ok := teamOf[id]; !ok {
				t.Errorf("%s on %s: inspector %d is not in the county", v.USCC, v.Date, id)
			}
			if away[key{id, v.Date}] {
				t.Errorf("%s on %s: inspector %d is on leave that day", v.USCC, v.Date, id)
			}
			inspDay[key{id, v.Date}] += v.Minutes
		}
		teamDay[key{v.TeamID, v.Date}] += v.Minutes * len(v.InspectorIDs)
	}
	for k, m := range inspDay {
		if m > cfg.Policy.InspectorDayMinutes {
			t.Errorf("inspector %d double-booked on %s: %d minutes of %d", k.id, k.day, m, cfg.Policy.InspectorDayMinutes)
		}
	}
	for k, m := range teamDay {
		if m > capOf[k.id] {
			t.Errorf("team %d over capacity on %s: %d minutes of %d", k.id, k.day, m, capOf[k.id])
		}
	}
}

func checkCoverage(t testing.TB, rep *Report, ests []Establishment) {
	t.Helper()
	sum := rep.Summarize()
	if sum.Visits != len(rep.Visits) {
		t.Errorf("summary counts %d visits, the year has %d", sum.Visits, len(rep.Visits))
	}
	routine, n := 0, 0
	for _, c := range rep.RoutineVisits {
		routine += c
	}
	if routine != sum.RoutineTasks {
		t.Errorf("routine visits per establishment add up to %d, visits carried %d canvass tasks", routine, sum.RoutineTasks)
	}
	perClass := 0.0
	for _, c := range sum.Coverage {
		n += c.N
		perClass += c.Mean * float64(c.N)
		if c.Reached < 0 || c.Reached > 1 {
			t.Errorf("%s: share at target %.3f", c.Class, c.Reached)
		}
	}
	if n != len(ests) || int(perClass+0.5) != routine {
		t.Errorf("classes hold %d establishments and %.1f routine visits, want %d and %d", n, perClass, len(ests), routine)
	}
	knocks := map[string]int{}
	wins := map[string][]window{}
	joined := 0
	for _, v := range rep.Visits {
		knocks[v.USCC]++
		wins[v.USCC] = append(wins[v.USCC], v.Windows...)
		joined += v.Joined
	}
	for code, k := range knocks {
		if lb := StabbingNumber(wins[code]); k < lb {
			t.Errorf("%s: %d door-knocks, below its lower bound %d", code, k, lb)
		}
	}
	if sum.LowerBound > sum.Visits || sum.LowerBound == 0 {
		t.Errorf("lower bound %d against %d visits", sum.LowerBound, sum.Visits)
	}
	// Tasks joined to visits booked past the year's end are not in Visits.
	if joined > sum.TasksJoined {
		t.Errorf("visits carry %d joined tasks, plans joined %d", joined, sum.TasksJoined)
	}
	if sum.OverdueShare[""] < 0 || sum.OverdueShare[""] > 1 {
		t.Errorf("overdue share %.3f", sum.OverdueShare[""])
	}
}

// TestYearDeterministic: the same establishments, config and seed give the
// same year, visit for visit; another seed gives another.
func TestYearDeterministic(t *testing.T) {
	cfg := smallConfig()
	cfg.Weeks = 6
	ests := syntheticCounty(300, 2, cfg.Start)
	a, err := Run(ests, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(ests, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Visits, b.Visits) || !reflect.DeepEqual(a.FinalRisk, b.FinalRisk) ||
		!reflect.DeepEqual(a.RoutineVisits, b.RoutineVisits) || !reflect.DeepEqual(a.UnplacedByReason, b.UnplacedByReason) {
		t.Fatal("the same seed gave two different years")
	}
	cfg.Seed++
	c, err := Run(ests, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Visits, c.Visits) {
		t.Error("another seed gave the same year")
	}
}

// TestRiskFollowsResults: an establishment that always fails is red after
// it was visited, and a red one that never fails steps down after two clean
// visits (risk.Default).
func TestRiskFollowsResults(t *testing.T) {
	cfg := smallConfig()
	cfg.Weeks = 26
	cfg.InspectorsPerTeam = 8
	ests := syntheticCounty(300, 3, cfg.Start)
	rep, err := Run(ests, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rate := map[string]float64{}
	for _, e := range ests {
		rate[e.License] = e.FailRate()
	}
	visits := map[string]int{}
	for _, v := range rep.Visits {
		visits[v.USCC]++
		if r := rate[v.USCC]; (r == 1 && !v.Failed) || (r == 0 && v.Failed) {
			t.Errorf("%s fails at rate %g, but its visit on %s has failed=%v", v.USCC, r, v.Date, v.Failed)
		}
	}
	var failing, stepped int
	for i, e := range ests {
		switch {
		case e.FailRate() == 1 && visits[e.License] > 0:
			failing++
			if rep.FinalRisk[i] != planner.RiskRed {
				t.Errorf("%s fails every visit and had %d, yet ends %s", e.License, visits[e.License], rep.FinalRisk[i])
			}
		case e.FailRate() == 0 && e.Risk == planner.RiskRed && visits[e.License] >= 2:
			stepped++
			if rep.FinalRisk[i] == planner.RiskRed {
				t.Errorf("%s never fails and had %d clean visits, yet is still red", e.License, visits[e.License])
			}
		}
	}
	if failing == 0 || stepped == 0 {
		t.Fatalf("the county tested nothing: %d always-failing visited, %d clean reds visited twice", failing, stepped)
	}
}

func TestStabbingNumber(t *testing.T) {
	for _, tc := range []struct {
		name string
		ws   []window
		want int
	}{
		{"none", nil, 0},
		{"one", []window{{1, 5}}, 1},
		{"nested share", []window{{1, 10}, {3, 4}, {4, 8}}, 1},
		{"touching ends share", []window{{1, 5}, {5, 9}}, 1},
		{"disjoint", []window{{1, 5}, {6, 9}, {20, 30}}, 3},
		{"chain", []window{{1, 3}, {2, 6}, {5, 8}, {7, 9}}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StabbingNumber(tc.ws); got != tc.want {
				t.Errorf("StabbingNumber(%v) = %d, want %d", tc.ws, got, tc.want)
			}
		})
	}
}

func TestConfigRejected(t *testing.T) {
	ests := syntheticCounty(10, 1, DefaultConfig().Start)
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"no weeks", func(c *Config) { c.Weeks = 0 }},
		{"short horizon", func(c *Config) { c.HorizonDays = 3 }},
		{"one inspector a team", func(c *Config) { c.InspectorsPerTeam = 1 }},
		{"no green interval", func(c *Config) { delete(c.IntervalDays, planner.RiskGreen) }},
		{"reserve of everything", func(c *Config) { c.UrgentReserve = 1 }},
		{"empty re-inspection window", func(c *Config) { c.ReinspectTo = c.ReinspectFrom - 1 }},
		{"bad rule", func(c *Config) { c.Rule.OnViolation = "purple" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.IntervalDays = map[string]int{planner.RiskRed: 182, planner.RiskYellow: 365, planner.RiskGreen: 730}
			tc.edit(&cfg)
			if _, err := Run(ests, cfg); err == nil {
				t.Error("Run accepted the config")
			}
		})
	}
	if _, err := Run(nil, DefaultConfig()); err == nil {
		t.Error("Run accepted no establishments")
	}
}
