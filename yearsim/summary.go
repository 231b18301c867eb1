package yearsim

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"inspectonce/planner"
)

// Classes in report order.
var Classes = []string{planner.RiskRed, planner.RiskYellow, planner.RiskGreen}

// ClassCoverage is how one risk class (as the year started) was covered.
type ClassCoverage struct {
	Class string
	N     int
	// Target is the routine visits a year the class is due (2, 1, 0.5).
	Target float64
	// Mean routine visits per establishment, and Mean / Target.
	Mean, OfTarget float64
	// Reached is the share of the class at its target: at least 2 routine
	// visits for red, 1 for yellow, and for green at least 1 (against a
	// target share of 50 %, every other year).
	Reached float64
}

// Summary holds the year's figures.
type Summary struct {
	Coverage []ClassCoverage
	// OverdueShare: establishments past due plus slack at the end of the
	// year with nothing booked, by their code then, and overall ("").
	OverdueShare map[string]float64
	FinalRisk    map[string]int
	// Visits (door-knocks) over the year; LowerBound is the sum over
	// establishments of the fewest visits that could have covered the
	// same tasks: the stabbing number of the tasks' windows, as if every
	// task due for the same business within a shared window shared one
	// door-knock.
	Visits, LowerBound         int
	KnocksPerEst, BoundPerEst  float64
	KnocksOverBound            float64
	FailedVisits               int
	RoutineTasks, OtherTasks   int
	TasksJoined, VisitsAmended int
	// Utilisation: inspector minutes booked on visits that happened (time
	// on site plus travel, times inspectors) / inspector minutes available.
	Utilisation float64
	// BusiestDay: per week, the visits on its busiest day / the week's
	// visits (1/working days is perfectly level); mean and worst week.
	BusiestDayMean, BusiestDayMax float64
	// Wall time per cycle: planner.Build alone, and the whole cycle.
	BuildMean, BuildMax, CycleMean, CycleMax time.Duration
	UnplacedByReason                         map[string]int
	ComplaintsIn, ComplaintsMissed           int
	FollowUpsIn, FollowUpsMissed             int
}

var classTarget = map[string]float64{planner.RiskRed: 2, planner.RiskYellow: 1, planner.RiskGreen: 0.5}

// Summarize computes the year's figures.
func (r *Report) Summarize() Summary {
	s := Summary{OverdueShare: map[string]float64{}, FinalRisk: map[string]int{}, UnplacedByReason: r.UnplacedByReason,
		ComplaintsIn: r.ComplaintsIn, ComplaintsMissed: r.ComplaintsMissed, FollowUpsIn: r.FollowUpsIn, FollowUpsMissed: r.FollowUpsMissed}
	for _, class := range Classes {
		cc := ClassCoverage{Class: class, Target: classTarget[class]}
		need := max(1, int(cc.Target))
		reached, visits := 0, 0
		for i, c := range r.InitialRisk {
			if c != class {
				continue
			}
			cc.N++
			visits += r.RoutineVisits[i]
			if r.RoutineVisits[i] >= need {
				reached++
			}
		}
		if cc.N > 0 {
			cc.Mean = float64(visits) / float64(cc.N)
			cc.OfTarget = cc.Mean / cc.Target
			cc.Reached = float64(reached) / float64(cc.N)
		}
		s.Coverage = append(s.Coverage, cc)
	}
	overdue := map[string]int{}
	for i, c := range r.FinalRisk {
		s.FinalRisk[c]++
		if r.Overdue[i] {
			overdue[c]++
			overdue[""]++
		}
	}
	for c, n := range overdue {
		if c == "" {
			s.OverdueShare[c] = float64(n) / float64(max(r.Establishments, 1))
		} else {
			s.OverdueShare[c] = float64(n) / float64(s.FinalRisk[c])
		}
	}

	// Door-knocks against the stabbing lower bound of the tasks' windows.
	wins := map[string][]window{}
	var booked int64
	weekDay := map[int]map[planner.Day]int{}
	for _, v := range r.Visits {
		s.Visits++
		wins[v.USCC] = append(wins[v.USCC], v.Windows...)
		booked += int64(v.Minutes * len(v.InspectorIDs))
		if v.Failed {
			s.FailedVisits++
		}
		for _, it := range v.Items {
			if it == itemCanvass {
				s.RoutineTasks++
			} else {
				s.OtherTasks++
			}
		}
		w := int(v.Date-r.Config.Start) / 7
		if weekDay[w] == nil {
			weekDay[w] = map[planner.Day]int{}
		}
		weekDay[w][v.Date]++
	}
	for _, ws := range wins {
		s.LowerBound += StabbingNumber(ws)
	}
	if r.Establishments > 0 {
		s.KnocksPerEst = float64(s.Visits) / float64(r.Establishments)
		s.BoundPerEst = float64(s.LowerBound) / float64(r.Establishments)
	}
	if s.LowerBound > 0 {
		s.KnocksOverBound = float64(s.Visits) / float64(s.LowerBound)
	}
	if r.AvailableMinutes > 0 {
		s.Utilisation = float64(booked) / float64(r.AvailableMinutes)
	}
	weeks := 0
	for _, days := range weekDay {
		total, peak := 0, 0
		for _, n := range days {
			total += n
			peak = max(peak, n)
		}
		share := float64(peak) / float64(total)
		s.BusiestDayMean += share
		s.BusiestDayMax = max(s.BusiestDayMax, share)
		weeks++
	}
	if weeks > 0 {
		s.BusiestDayMean /= float64(weeks)
	}
	for _, c := range r.Cycles {
		s.TasksJoined += c.TasksJoined
		s.VisitsAmended += c.VisitsAmended
		s.BuildMean += c.BuildTime
		s.CycleMean += c.CycleTime
		s.BuildMax = max(s.BuildMax, c.BuildTime)
		s.CycleMax = max(s.CycleMax, c.CycleTime)
	}
	if n := len(r.Cycles); n > 0 {
		s.BuildMean /= time.Duration(n)
		s.CycleMean /= time.Duration(n)
	}
	return s
}

// StabbingNumber is the fewest days that put one in every window (both ends
// included): the fewest door-knocks that cover tasks with these windows when
// any number of tasks may share a visit (the greedy rule of DESIGN.md §4
// step 3: sort by end, stab at the earliest open end).
func StabbingNumber(ws []window) int {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b window) int { return cmp.Or(cmp.Compare(a.To, b.To), cmp.Compare(a.From, b.From)) })
	n, stab := 0, planner.Day(-1<<31)
	for _, w := range ws {
		if w.From > stab {
			stab = w.To
			n++
		}
	}
	return n
}

// Table prints the figures of runs side by side, one column per run.
func Table(names []string, sums []Summary) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	row := func(label string, f func(s Summary) string) {
		fmt.Fprintf(tw, "%s\t", label)
		for _, s := range sums {
			fmt.Fprintf(tw, "%s\t", f(s))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "\t")
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t", n)
	}
	fmt.Fprintln(tw)
	for ci, class := range Classes {
		row(fmt.Sprintf("%s (%d): routine visits/est vs target %.1f", class, sums[0].Coverage[ci].N, classTarget[class]), func(s Summary) string {
			c := s.Coverage[ci]
			return fmt.Sprintf("%.2f (%.0f%%)", c.Mean, 100*c.OfTarget)
		})
		row(fmt.Sprintf("%s: share at target", class), func(s Summary) string { return pct(s.Coverage[ci].Reached) })
	}
	row("overdue at year end (all)", func(s Summary) string { return pct(s.OverdueShare[""]) })
	for _, class := range Classes {
		row("overdue at year end, now "+class, func(s Summary) string {
			return fmt.Sprintf("%s of %d", pct(s.OverdueShare[class]), s.FinalRisk[class])
		})
	}
	row("door-knocks (visits)", func(s Summary) string { return fmt.Sprint(s.Visits) })
	row("door-knocks / establishment", func(s Summary) string { return fmt.Sprintf("%.3f", s.KnocksPerEst) })
	row("lower bound / establishment", func(s Summary) string { return fmt.Sprintf("%.3f", s.BoundPerEst) })
	row("door-knocks / lower bound", func(s Summary) string { return fmt.Sprintf("%.4f", s.KnocksOverBound) })
	row("tasks done: routine + other", func(s Summary) string { return fmt.Sprintf("%d + %d", s.RoutineTasks, s.OtherTasks) })
	row("tasks joined to booked visits", func(s Summary) string { return fmt.Sprint(s.TasksJoined) })
	row("booked visits amended", func(s Summary) string { return fmt.Sprint(s.VisitsAmended) })
	row("failed visits", func(s Summary) string { return fmt.Sprint(s.FailedVisits) })
	row("complaints in / missed", func(s Summary) string { return fmt.Sprintf("%d / %d", s.ComplaintsIn, s.ComplaintsMissed) })
	row("re-inspections asked / missed", func(s Summary) string { return fmt.Sprintf("%d / %d", s.FollowUpsIn, s.FollowUpsMissed) })
	row("inspector utilisation", func(s Summary) string { return pct(s.Utilisation) })
	row("busiest day / week's visits: mean", func(s Summary) string { return pct(s.BusiestDayMean) })
	row("busiest day / week's visits: worst", func(s Summary) string { return pct(s.BusiestDayMax) })
	row("planner.Build per cycle: mean / max", func(s Summary) string { return dur(s.BuildMean) + " / " + dur(s.BuildMax) })
	row("whole cycle: mean / max", func(s Summary) string { return dur(s.CycleMean) + " / " + dur(s.CycleMax) })
	row("risk codes at year end r/y/g", func(s Summary) string {
		return fmt.Sprintf("%d/%d/%d", s.FinalRisk[planner.RiskRed], s.FinalRisk[planner.RiskYellow], s.FinalRisk[planner.RiskGreen])
	})
	reasons := map[string]bool{}
	for _, s := range sums {
		for k := range s.UnplacedByReason {
			reasons[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(reasons)) {
		row("unplaced task-cycles: "+k, func(s Summary) string { return fmt.Sprint(s.UnplacedByReason[k]) })
	}
	tw.Flush()
	return b.String()
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func dur(d time.Duration) string { return d.Round(time.Millisecond).String() }
