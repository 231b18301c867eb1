package planner

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
)

// workdays maps the horizon's working days to consecutive indexes, so windows
// become integer intervals and "a visit on a working day" is automatic.
type workdays struct {
	days []Day // working days in the horizon, ascending
}

func newWorkdays(in *Input) workdays {
	var w workdays
	for d := in.From; d <= in.To; d++ {
		if in.Calendar.IsWorkingDay(d.Time()) {
			w.days = append(w.days, d)
		}
	}
	return w
}

// clip returns the working-day indexes [lo, hi] inside [from, to]; ok is
// false when there is none.
func (w workdays) clip(from, to Day) (lo, hi int, ok bool) {
	lo = sort.Search(len(w.days), func(i int) bool { return w.days[i] >= from })
	hi = sort.Search(len(w.days), func(i int) bool { return w.days[i] > to }) - 1
	return lo, hi, lo <= hi
}

// pending is a visit before it has a day and a team: the tasks of one business
// that one door-knock can cover, and the working-day interval it must fall in.
type pending struct {
	biz       int // index into Input.Businesses
	tasks     []Task
	lo, hi    int // working-day indexes, both included
	duration  int
	domains   []string // distinct, sorted
	depts     []int64  // distinct, sorted
	complaint bool
	priority  int // best (lowest) priority among its tasks
	split     int // 0 for the first part of a business's stab, 1.. for split-offs
}

// taskSpan is a task with its window in working-day indexes.
type taskSpan struct {
	t      Task
	lo, hi int
}

// mergeBusiness turns one business's tasks into the fewest visits by the greedy
// stabbing rule: sort by window end; a visit on the earliest open end covers
// every task whose window contains it. For intervals this is optimal, so the
// count is the lower bound when nothing else intervenes. A stab too long for
// one day is split. It also returns the business's lower bound.
func mergeBusiness(biz int, spans []taskSpan, items map[int64]Item, setup, dayLimit int) (visits []pending, lowerBound int) {
	var sc mergeScratch
	return sc.business(biz, spans, items, setup, dayLimit, nil)
}

// mergeScratch holds buffers one goroutine reuses from business to business:
// a district merges about 100,000 of them, and their garbage was a fifth of
// a plan's time.
type mergeScratch struct {
	spans     []taskSpan
	group     []taskSpan
	covered   []bool
	perDomain map[string]int
}

// business is mergeBusiness appending to visits, with the scratch's buffers.
func (sc *mergeScratch) business(biz int, spans []taskSpan, items map[int64]Item, setup, dayLimit int, visits []pending) ([]pending, int) {
	slices.SortStableFunc(spans, func(a, b taskSpan) int {
		if a.hi != b.hi {
			return a.hi - b.hi
		}
		return a.lo - b.lo
	})
	sc.covered = slices.Grow(sc.covered[:0], len(spans))[:len(spans)]
	clear(sc.covered)
	covered := sc.covered
	if sc.perDomain == nil {
		sc.perDomain = map[string]int{}
	}
	clear(sc.perDomain)
	perDomain := sc.perDomain
	stabs := 0
	lowerBound := 0
	for i := range spans {
		it := items[spans[i].t.ItemID]
		perDomain[it.Domain] += it.Minutes
		if covered[i] {
			continue
		}
		p := spans[i].hi
		group := sc.group[:0]
		lo := spans[i].lo
		for j := i; j < len(spans); j++ {
			if !covered[j] && spans[j].lo <= p {
				covered[j] = true
				group = append(group, spans[j])
				lo = max(lo, spans[j].lo)
			}
		}
		sc.group = group
		stabs++
		for k, part := range splitByDay(group, items, setup, dayLimit) {
			visits = append(visits, newPending(biz, part, lo, p, items, setup, k))
		}
	}
	lowerBound = stabs
	if dayLimit > setup {
		// However the tasks are grouped, one visit checks at most
		// dayLimit-setup minutes of any one domain.
		for _, m := range perDomain {
			lowerBound = max(lowerBound, int(math.Ceil(float64(m)/float64(dayLimit-setup))))
		}
	}
	return visits, lowerBound
}

// visitMinutes is setup plus the longest per-domain sum: members certified in
// different domains check in parallel.
func visitMinutes(tasks []taskSpan, items map[int64]Item, setup int) int {
	// A visit spans a handful of domains: a small array, not a map, keeps
	// this (called for every visit) free of garbage.
	var doms [8]string
	var mins [8]int
	n, longest := 0, 0
	for _, s := range tasks {
		it := items[s.t.ItemID]
		k := 0
		for k < n && doms[k] != it.Domain {
			k++
		}
		if k == n {
			if n == len(doms) {
				return visitMinutesMap(tasks, items, setup)
			}
			doms[k] = it.Domain
			n++
		}
		mins[k] += it.Minutes
		longest = max(longest, mins[k])
	}
	return setup + longest
}

// visitMinutesMap is visitMinutes for a visit of many domains.
func visitMinutesMap(tasks []taskSpan, items map[int64]Item, setup int) int {
	per := map[string]int{}
	longest := 0
	for _, s := range tasks {
		it := items[s.t.ItemID]
		per[it.Domain] += it.Minutes
		longest = max(longest, per[it.Domain])
	}
	return setup + longest
}

// splitByDay packs a stab's tasks into parts that each fit in dayLimit
// (0 = no limit). Tasks of one demand stay together when they fit, so a
// scenario's bundle is checked in one door-knock.
func splitByDay(group []taskSpan, items map[int64]Item, setup, dayLimit int) [][]taskSpan {
	if dayLimit <= 0 || visitMinutes(group, items, setup) <= dayLimit {
		return [][]taskSpan{group}
	}
	// Units: one demand's tasks (kept whole when they fit), else single tasks.
	byDemand := map[int64][]taskSpan{}
	var order []int64
	for _, s := range group {
		if _, ok := byDemand[s.t.DemandID]; !ok {
			order = append(order, s.t.DemandID)
		}
		byDemand[s.t.DemandID] = append(byDemand[s.t.DemandID], s)
	}
	var units [][]taskSpan
	for _, id := range order {
		u := byDemand[id]
		if visitMinutes(u, items, setup) <= dayLimit {
			units = append(units, u)
			continue
		}
		for _, s := range u {
			units = append(units, []taskSpan{s})
		}
	}
	// First fit decreasing by minutes.
	sort.SliceStable(units, func(i, j int) bool {
		return visitMinutes(units[i], items, setup) > visitMinutes(units[j], items, setup)
	})
	var parts [][]taskSpan
	for _, u := range units {
		placed := false
		for k := range parts {
			if visitMinutes(append(slices.Clip(parts[k]), u...), items, setup) <= dayLimit {
				parts[k] = append(parts[k], u...)
				placed = true
				break
			}
		}
		if !placed {
			parts = append(parts, slices.Clone(u))
		}
	}
	return parts
}

func newPending(biz int, part []taskSpan, lo, hi int, items map[int64]Item, setup, split int) pending {
	p := pending{biz: biz, lo: lo, hi: hi, duration: visitMinutes(part, items, setup), priority: math.MaxInt, split: split,
		tasks: make([]Task, 0, len(part))}
	for _, s := range part {
		p.tasks = append(p.tasks, s.t)
		it := items[s.t.ItemID]
		if !slices.Contains(p.domains, it.Domain) {
			p.domains = append(p.domains, it.Domain)
		}
		if !slices.Contains(p.depts, s.t.DepartmentID) {
			p.depts = append(p.depts, s.t.DepartmentID)
		}
		p.complaint = p.complaint || s.t.Complaint
		p.priority = min(p.priority, s.t.Priority)
	}
	slices.Sort(p.domains)
	slices.Sort(p.depts)
	slices.SortStableFunc(p.tasks, func(a, b Task) int {
		if a.ItemID != b.ItemID {
			return cmp.Compare(a.ItemID, b.ItemID)
		}
		return cmp.Compare(a.DemandID, b.DemandID)
	})
	return p
}

// naiveVisits is what the departments would need each on its own: one visit
// per business and department, more when one department's windows are
// disjoint (the stabbing count of each department's tasks alone).
func naiveVisits(spans []taskSpan) int {
	// Sorted by department then window end, each department's run is
	// stabbed greedily: no map, no slice per department.
	iv := make([][3]int64, len(spans))
	for i, s := range spans {
		iv[i] = [3]int64{s.t.DepartmentID, int64(s.hi), int64(s.lo)}
	}
	slices.SortFunc(iv, func(a, b [3]int64) int {
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		return cmp.Compare(a[1], b[1])
	})
	n := 0
	for i := 0; i < len(iv); {
		last := int64(math.MinInt64)
		j := i
		for ; j < len(iv) && iv[j][0] == iv[i][0]; j++ {
			if iv[j][2] > last {
				n++
				last = iv[j][1]
			}
		}
		i = j
	}
	return n
}

// stabCount is the fewest points that hit every interval [lo, hi].
func stabCount(iv [][2]int) int {
	sort.Slice(iv, func(i, j int) bool { return iv[i][1] < iv[j][1] })
	n, last := 0, math.MinInt
	for _, x := range iv {
		if x[0] > last {
			n++
			last = x[1]
		}
	}
	return n
}

// merged is the outcome of merging a run of businesses.
type merged struct {
	visits            []pending
	unplaced          []Unplaced
	naive, lowerBound int
	scratch           mergeScratch
}

// mergeAll merges every business's tasks (tasks sorted by USCC). Businesses
// are independent, so chunks of them merge on every core and the results are
// joined in order: the outcome does not depend on the scheduling.
func mergeAll(tasks []Task, ix *index, wd workdays, setup, dayLimit int) merged {
	var bounds []int // start of each business's run
	for i := range tasks {
		if i == 0 || tasks[i].USCC != tasks[i-1].USCC {
			bounds = append(bounds, i)
		}
	}
	bounds = append(bounds, len(tasks))
	groups := len(bounds) - 1
	chunks := min(runtime.GOMAXPROCS(0)*4, max(groups, 1))
	parts := make([]merged, chunks)
	var wg sync.WaitGroup
	for c := range chunks {
		wg.Go(func() {
			out := &parts[c]
			for g := c * groups / chunks; g < (c+1)*groups/chunks; g++ {
				mergeOne(tasks[bounds[g]:bounds[g+1]], ix, wd, setup, dayLimit, out)
			}
		})
	}
	wg.Wait()
	var all merged
	for _, p := range parts {
		all.visits = append(all.visits, p.visits...)
		all.unplaced = append(all.unplaced, p.unplaced...)
		all.naive += p.naive
		all.lowerBound += p.lowerBound
	}
	return all
}

// mergeOne merges one business's tasks into out, refusing the tasks no visit
// can hold.
func mergeOne(tasks []Task, ix *index, wd workdays, setup, dayLimit int, out *merged) {
	code := tasks[0].USCC
	bi, known := ix.biz[code]
	spans := out.scratch.spans[:0]
	for _, t := range tasks {
		lo, hi, ok := wd.clip(t.From, t.To)
		switch {
		case !known:
			out.unplaced = append(out.unplaced, Unplaced{t.DemandID, code, t.ItemID, ReasonUnknownTarget})
		case !ok:
			out.unplaced = append(out.unplaced, Unplaced{t.DemandID, code, t.ItemID, ReasonNoWorkingDay})
		case dayLimit > 0 && setup+ix.items[t.ItemID].Minutes > dayLimit:
			out.unplaced = append(out.unplaced, Unplaced{t.DemandID, code, t.ItemID, ReasonTooLong})
		default:
			spans = append(spans, taskSpan{t: t, lo: lo, hi: hi})
		}
	}
	out.scratch.spans = spans
	if len(spans) == 0 {
		return
	}
	out.naive += naiveVisits(spans)
	var lb int
	out.visits, lb = out.scratch.business(bi, spans, ix.items, setup, dayLimit, out.visits)
	out.lowerBound += lb
}
