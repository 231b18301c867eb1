// Package yearsim runs a year of weekly planning cycles over a real county
// (the City of Chicago's food establishments) as a pure simulation of the
// planner and the risk rule: each week, routine work falls due from every
// establishment's risk class and last visit, complaints and re-inspections
// arrive, planner.Build plans them onto a calendar that already holds the
// visits published by earlier cycles (Input.Booked, with joins), the plan is
// published, the week's visits happen with each establishment failing at its
// own historical rate, and risk.Rule recomputes the codes. It touches no
// database: it measures whether the planner keeps a city's promises when
// inspectors are scarce, not the store.
package yearsim

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"inspectonce/calendar"
	"inspectonce/planner"
	"inspectonce/risk"
)

// Config is one simulated year.
type Config struct {
	// Start is the first cycle's planning day (a Monday); cycle c plans on
	// Start + 7c over HorizonDays days.
	Start       planner.Day
	Weeks       int
	HorizonDays int
	// Teams district teams of InspectorsPerTeam inspectors each.
	Teams             int
	InspectorsPerTeam int
	// LeaveWeeks whole weeks each inspector is away, at seeded weeks.
	LeaveWeeks int
	// Holidays are days off (YYYY-MM-DD) besides weekends.
	Holidays []string
	// IntervalDays is how often each risk code is due (the city's targets:
	// red twice a year, yellow once, green every other year), and SlackDays
	// how far either side of the due date the visit may fall.
	IntervalDays map[string]int
	SlackDays    map[string]int
	// Minutes on site per item (setup is Policy.SetupMinutes on top).
	CanvassMinutes, ComplaintMinutes, ReinspectMinutes int
	// ComplaintsPerYear per establishment, arriving at random through the
	// year; each must be seen within ComplaintDays of its arrival.
	ComplaintsPerYear float64
	ComplaintDays     int
	// A failed visit asks for a re-inspection between ReinspectFrom and
	// ReinspectTo days after it.
	ReinspectFrom, ReinspectTo int
	// Rule recomputes risk codes from results.
	Rule risk.Rule
	// UrgentReserve is the share of each team's day routine work may not
	// fill, kept for complaints and re-inspections: 0 plans everything in
	// one pass; above 0 each cycle runs two passes (urgent work on full
	// days, then routine work on days cut by the reserve).
	UrgentReserve float64
	// Policy is the planner's; Policy.Join is what the baseline turns off.
	Policy planner.Policy
	// Seed drives everything random: leave, complaints, failures, draws.
	Seed uint64
}

// DefaultConfig is the Chicago year: 2015 from its first Monday, 36
// inspectors in four district teams, the city's targets and holidays.
func DefaultConfig() Config {
	pol := planner.DefaultPolicy()
	// Chicago's targets are frequencies with no yearly cap per department;
	// the 2-a-year cap of DESIGN.md §2a would also count complaint visits
	// and re-inspections against a high-risk establishment's two canvasses.
	pol.YearlyCap = 0
	pol.Join = true
	return Config{
		Start:             planner.DayOf(time.Date(2015, 1, 5, 0, 0, 0, 0, time.UTC)),
		Weeks:             52,
		HorizonDays:       28,
		Teams:             4,
		InspectorsPerTeam: 9,
		LeaveWeeks:        2,
		// City of Chicago holidays of 2015.
		Holidays: []string{"2015-01-01", "2015-01-19", "2015-02-16", "2015-03-02", "2015-05-25", "2015-07-03",
			"2015-09-07", "2015-10-12", "2015-11-11", "2015-11-26", "2015-12-25"},
		IntervalDays:      map[string]int{planner.RiskRed: 182, planner.RiskYellow: 365, planner.RiskGreen: 730},
		SlackDays:         map[string]int{planner.RiskRed: 14, planner.RiskYellow: 30, planner.RiskGreen: 45},
		CanvassMinutes:    60,
		ComplaintMinutes:  45,
		ReinspectMinutes:  30,
		ComplaintsPerYear: 0.2,
		ComplaintDays:     21,
		ReinspectFrom:     7,
		ReinspectTo:       35,
		Rule:              risk.Default(),
		Policy:            pol,
		Seed:              2015,
	}
}

func (cfg Config) validate() error {
	var errs []error
	if cfg.Weeks < 1 {
		errs = append(errs, fmt.Errorf("weeks: at least 1, got %d", cfg.Weeks))
	}
	if cfg.HorizonDays < 7 {
		errs = append(errs, fmt.Errorf("horizon: at least 7 days, got %d", cfg.HorizonDays))
	}
	if cfg.Teams < 1 || cfg.InspectorsPerTeam < cfg.Policy.MinInspectors {
		errs = append(errs, fmt.Errorf("teams: need at least one team of %d inspectors, got %d of %d", cfg.Policy.MinInspectors, cfg.Teams, cfg.InspectorsPerTeam))
	}
	for _, code := range []string{planner.RiskRed, planner.RiskYellow, planner.RiskGreen} {
		if cfg.IntervalDays[code] <= 0 || cfg.SlackDays[code] < 0 {
			errs = append(errs, fmt.Errorf("interval: %s needs a positive interval and a slack ≥ 0", code))
		}
	}
	if cfg.UrgentReserve < 0 || cfg.UrgentReserve >= 1 {
		errs = append(errs, fmt.Errorf("urgent reserve: must be in [0, 1), got %g", cfg.UrgentReserve))
	}
	if cfg.ComplaintDays < 1 || cfg.ReinspectTo < cfg.ReinspectFrom {
		errs = append(errs, errors.New("complaint days must be positive and the re-inspection window not empty"))
	}
	if err := cfg.Rule.Validate("rule"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// window is a span of days, both included.
type window struct{ From, To planner.Day }

// taskNote is one task a booked visit carries, with the window it was
// placed in (for the lower bound).
type taskNote struct {
	item int64
	win  window
}

// complaint is an open complaint.
type complaint struct {
	id       int64
	received planner.Day
}

// bizState is what the year knows of one establishment.
type bizState struct {
	code          string
	since         []risk.Visit // confirmed visits since the code was set, newest first
	lastRoutine   planner.Day
	routineBooked bool
	followUp      *window
	complaints    []complaint
}

// DoneVisit is a visit that happened during the year.
type DoneVisit struct {
	USCC         string
	Date         planner.Day
	TeamID       int64
	InspectorIDs []int64
	// Minutes an inspector spends on it: time on site plus travel.
	Minutes int
	// Items are its tasks' items, one per task (a visit may carry two
	// complaints); Windows the tasks' windows, in the same order.
	Items   []int64
	Windows []window
	Failed  bool
	// Joined is how many of its tasks joined it after it was published.
	Joined int
}

// CycleStats are one week's figures.
type CycleStats struct {
	Day           planner.Day
	Demands       int
	Tasks         int
	NewVisits     int
	TasksJoined   int
	VisitsAmended int
	Unplaced      int
	// BuildTime is planner.Build alone (both passes with a reserve); CycleTime the whole cycle (demands,
	// plan, publication, results, risk).
	BuildTime, CycleTime time.Duration
}

// Report is what a simulated year measured.
type Report struct {
	Config         Config
	Establishments int
	Visits         []DoneVisit
	Cycles         []CycleStats
	// InitialRisk and FinalRisk per establishment, by licence order of input.
	InitialRisk, FinalRisk []string
	// Overdue marks establishments whose routine visit is past due plus
	// slack at the end of the year with none booked.
	Overdue []bool
	// RoutineVisits per establishment.
	RoutineVisits []int
	// UnplacedByReason sums the plans' unplaced tasks over cycles (a task
	// unplaced in three cycles counts three times).
	UnplacedByReason               map[string]int
	ComplaintsIn, ComplaintsMissed int
	FollowUpsIn, FollowUpsMissed   int
	// AvailableMinutes are the inspectors' working minutes over the year,
	// leave taken off.
	AvailableMinutes int64
	// Registry, for checks.
	Teams       []planner.Team
	Inspectors  []planner.Inspector
	Unavailable []planner.Unavailability
}

// Run simulates cfg.Weeks weekly cycles over the establishments.
func Run(ests []Establishment, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("yearsim: config: %w", err)
	}
	if len(ests) == 0 {
		return nil, errors.New("yearsim: no establishments")
	}
	cal, err := calendar.New(cfg.Holidays, nil)
	if err != nil {
		return nil, fmt.Errorf("yearsim: %w", err)
	}
	c := buildCounty(ests, cfg)
	st := make([]bizState, len(ests))
	var history []planner.PastVisit
	rep := &Report{Config: cfg, Establishments: len(ests), UnplacedByReason: map[string]int{},
		InitialRisk: make([]string, len(ests)), FinalRisk: make([]string, len(ests)), Overdue: make([]bool, len(ests)),
		RoutineVisits: make([]int, len(ests)), Teams: c.teams, Inspectors: c.inspectors, Unavailable: c.leave}
	for i, e := range ests {
		st[i] = bizState{code: e.Risk, lastRoutine: e.LastInspection}
		rep.InitialRisk[i] = e.Risk
		history = append(history, planner.PastVisit{USCC: e.License, Date: e.LastInspection,
			DepartmentIDs: []int64{departmentID}, ItemIDs: []int64{itemCanvass}})
	}
	end := cfg.Start + planner.Day(7*cfg.Weeks) - 1
	for d := cfg.Start; d <= end; d++ {
		if cal.IsWorkingDay(d.Time()) {
			rep.AvailableMinutes += int64(len(c.inspectors) * cfg.Policy.InspectorDayMinutes)
		}
	}
	for _, u := range c.leave {
		for d := max(u.From, cfg.Start); d <= min(u.To, end); d++ {
			if cal.IsWorkingDay(d.Time()) {
				rep.AvailableMinutes -= int64(cfg.Policy.InspectorDayMinutes)
			}
		}
	}

	complaintRNG := rand.New(rand.NewPCG(cfg.Seed, 0xc0c0))
	var booked []planner.BookedVisit
	notes := map[[2]int64][]taskNote{} // (plan, seq) -> tasks carried
	type demandInfo struct {
		biz       int
		complaint int64
	}
	var nextDemand, nextComplaint int64
	for cyc := range cfg.Weeks {
		t0 := time.Now()
		M := cfg.Start + planner.Day(7*cyc)
		E := M + planner.Day(cfg.HorizonDays) - 1
		cs := CycleStats{Day: M}

		// Complaints that arrived during the week before planning.
		rate := cfg.ComplaintsPerYear / 52
		for i := range st {
			if complaintRNG.Float64() < rate {
				nextComplaint++
				st[i].complaints = append(st[i].complaints, complaint{id: nextComplaint, received: M - 7 + planner.Day(complaintRNG.IntN(7))})
				rep.ComplaintsIn++
			}
		}

		// Demands: routine work due soon, open re-inspections and complaints.
		var demands []planner.Demand
		info := map[int64]demandInfo{}
		add := func(i int, item int64, w window, prio int, source string, followUp bool, cid int64) {
			nextDemand++
			demands = append(demands, planner.Demand{ID: nextDemand, DepartmentID: departmentID, ItemIDs: []int64{item},
				Businesses: []string{ests[i].License}, From: w.From, To: w.To, Priority: prio, Source: source, FollowUp: followUp})
			info[nextDemand] = demandInfo{biz: i, complaint: cid}
		}
		for i := range st {
			s := &st[i]
			if !s.routineBooked {
				due := s.lastRoutine + planner.Day(cfg.IntervalDays[s.code])
				slack := planner.Day(cfg.SlackDays[s.code])
				if due-slack <= E {
					w := window{From: max(due-slack, M), To: due + slack}
					if w.To < M+6 {
						// Overdue: catch up within this horizon.
						w.To = E
					}
					add(i, itemCanvass, w, routinePriority(s.code), planner.SourceRoutine, false, 0)
				}
			}
			if f := s.followUp; f != nil {
				if f.To < M {
					rep.FollowUpsMissed++
					s.followUp = nil
				} else if f.From <= E {
					add(i, itemReinspect, window{From: max(f.From, M), To: f.To}, 2, planner.SourceRoutine, true, 0)
				}
			}
			kept := s.complaints[:0]
			for _, cp := range s.complaints {
				to := cp.received + planner.Day(cfg.ComplaintDays)
				if to < M {
					rep.ComplaintsMissed++
					continue
				}
				kept = append(kept, cp)
				add(i, itemComplaint, window{From: M, To: to}, 1, planner.SourceComplaint, false, cp.id)
			}
			s.complaints = kept
		}
		for i := range st {
			c.businesses[i].Risk = st[i].code
		}
		cs.Demands = len(demands)

		// One pass plans everything; with a reserve, complaints and
		// re-inspections are planned first on the teams' full days, then
		// routine work on days cut to (1 - reserve), so urgent work of
		// later weeks still finds room on days routine work cannot fill.
		passes := [][]planner.Demand{demands}
		if cfg.UrgentReserve > 0 {
			var urgent, routine []planner.Demand
			for _, d := range demands {
				if d.Source == planner.SourceComplaint || d.FollowUp {
					urgent = append(urgent, d)
				} else {
					routine = append(routine, d)
				}
			}
			passes = [][]planner.Demand{urgent, routine}
		}
		for pass, ds := range passes {
			teams := c.teams
			if pass > 0 {
				teams = slices.Clone(c.teams)
				for ti := range teams {
					teams[ti].DailyCapacityMinutes = int(float64(teams[ti].DailyCapacityMinutes) * (1 - cfg.UrgentReserve))
				}
			}
			planID := int64(len(passes)*cyc + pass + 1)
			in := &planner.Input{From: M, To: E, Calendar: cal, Regions: c.regions, Businesses: c.businesses,
				Items: c.items, Teams: teams, Inspectors: c.inspectors, Demands: ds, History: history,
				Booked: booked, Unavailable: c.leave, Policy: cfg.Policy, YearKey: yearKey(cfg.Seed),
				Seed: cycleSeed(cfg.Seed, int(planID)), PublishDay: M}
			tb := time.Now()
			plan, err := planner.Build(in)
			cs.BuildTime += time.Since(tb)
			if err != nil {
				return nil, fmt.Errorf("yearsim: cycle %d (%s): %w", cyc, M, err)
			}
			cs.Tasks += plan.Stats.Tasks
			cs.NewVisits += len(plan.Visits)
			cs.Unplaced += len(plan.Unplaced)
			cs.TasksJoined += plan.Stats.TasksJoined
			cs.VisitsAmended += plan.Stats.VisitsAmended
			for _, u := range plan.Unplaced {
				rep.UnplacedByReason[u.Reason]++
			}

			// Publish: joins amend the booked visits, new visits are booked.
			placed := func(t planner.Task) taskNote {
				di := info[t.DemandID]
				s := &st[di.biz]
				switch t.ItemID {
				case itemCanvass:
					s.routineBooked = true
				case itemReinspect:
					s.followUp = nil
				case itemComplaint:
					s.complaints = slices.DeleteFunc(s.complaints, func(cp complaint) bool { return cp.id == di.complaint })
				}
				return taskNote{item: t.ItemID, win: window{t.From, t.To}}
			}
			booked = planner.AmendBooked(booked, plan.Joins)
			for _, j := range plan.Joins {
				k := [2]int64{j.PlanID, int64(j.Seq)}
				for _, t := range j.Tasks {
					n := placed(t)
					n.item = -n.item // negative: joined after publication
					notes[k] = append(notes[k], n)
				}
			}
			for seq, v := range plan.Visits {
				bv := planner.BookedVisit{PlanID: planID, Seq: seq, USCC: v.USCC, Date: v.Date, TeamID: v.TeamID,
					InspectorIDs: slices.Clone(v.InspectorIDs), DepartmentIDs: slices.Clone(v.DepartmentIDs),
					DurationMinutes: v.DurationMinutes, TravelMinutes: v.TravelMinutes}
				k := [2]int64{planID, int64(seq)}
				for _, t := range v.Tasks {
					notes[k] = append(notes[k], placed(t))
					bv.ItemIDs = append(bv.ItemIDs, t.ItemID)
				}
				slices.Sort(bv.ItemIDs)
				bv.ItemIDs = slices.Compact(bv.ItemIDs)
				booked = append(booked, bv)
			}
		}

		// The week happens: results, risk codes, re-inspections, history.
		slices.SortFunc(booked, func(a, b planner.BookedVisit) int {
			return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.PlanID, b.PlanID), cmp.Compare(a.Seq, b.Seq))
		})
		n := 0
		for n < len(booked) && booked[n].Date < M+7 {
			n++
		}
		for _, bv := range booked[:n] {
			k := [2]int64{bv.PlanID, int64(bv.Seq)}
			i := c.index[bv.USCC]
			s := &st[i]
			failed := uniform(cfg.Seed, bv.USCC, bv.Date) < ests[i].FailRate()
			dv := DoneVisit{USCC: bv.USCC, Date: bv.Date, TeamID: bv.TeamID, InspectorIDs: bv.InspectorIDs,
				Minutes: bv.DurationMinutes + bv.TravelMinutes, Failed: failed}
			rv := risk.Visit{PlanID: bv.PlanID, Seq: bv.Seq, Date: bv.Date.String()}
			for ti, tn := range notes[k] {
				item := tn.item
				if item < 0 {
					item = -item
					dv.Joined++
				}
				dv.Items = append(dv.Items, item)
				dv.Windows = append(dv.Windows, tn.win)
				out := risk.Compliant
				if failed {
					out = risk.Violation
				}
				rv.Results = append(rv.Results, risk.Result{ID: int64(ti + 1), Outcome: out, Item: itemName(item)})
				if item == itemCanvass {
					s.lastRoutine, s.routineBooked = bv.Date, false
					rep.RoutineVisits[i]++
				}
			}
			delete(notes, k)
			s.since = append([]risk.Visit{rv}, s.since...)
			if d := cfg.Rule.Apply(s.code, s.since); d.Changed {
				s.code, s.since = d.Code, nil
			}
			if failed {
				s.followUp = &window{From: bv.Date + planner.Day(cfg.ReinspectFrom), To: bv.Date + planner.Day(cfg.ReinspectTo)}
				rep.FollowUpsIn++
			}
			history = append(history, planner.PastVisit{USCC: bv.USCC, Date: bv.Date, DepartmentIDs: bv.DepartmentIDs,
				ItemIDs: bv.ItemIDs, InspectorIDs: bv.InspectorIDs})
			rep.Visits = append(rep.Visits, dv)
		}
		booked = slices.Delete(booked, 0, n)
		cs.CycleTime = time.Since(t0)
		rep.Cycles = append(rep.Cycles, cs)
	}
	for i, s := range st {
		rep.FinalRisk[i] = s.code
		due := s.lastRoutine + planner.Day(cfg.IntervalDays[s.code]+cfg.SlackDays[s.code])
		rep.Overdue[i] = !s.routineBooked && due < end
	}
	return rep, nil
}

// routinePriority: high risk first when routine work competes for days.
func routinePriority(code string) int {
	switch code {
	case planner.RiskRed:
		return 2
	case planner.RiskYellow:
		return 3
	}
	return 4
}

func itemName(item int64) string {
	switch item {
	case itemCanvass:
		return "canvass"
	case itemComplaint:
		return "complaint"
	case itemReinspect:
		return "re-inspection"
	}
	return "item " + strconv.FormatInt(item, 10)
}

// uniform is a number in [0, 1) fixed by the seed, the establishment and the
// day: whether a visit fails does not depend on the order visits are
// processed, so two runs of one year differ only where their plans do.
func uniform(seed uint64, license string, d planner.Day) float64 {
	h := fnv.New64a()
	var b [12]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint32(b[8:], uint32(d))
	h.Write(b[:])
	h.Write([]byte(license))
	return float64(rand.New(rand.NewPCG(h.Sum64(), seed)).Uint64()>>11) / (1 << 53)
}

func yearKey(seed uint64) []byte {
	return []byte("yearsim-" + strconv.FormatUint(seed, 10))
}

func cycleSeed(seed uint64, cyc int) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "yearsim cycle %d seed %d", cyc, seed))
}
