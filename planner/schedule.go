package planner

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// stop is a placed visit in a team-day, before routing.
type stop struct {
	v      *pending
	team   int
	day    int // working-day index
	staff  []int64
	travel int // minutes reserved when it was inserted
}

// teamDay is the running state of one team on one working day.
type teamDay struct {
	used  int     // minutes: (duration + travel) × inspectors, over its visits
	stops []int   // indexes into scheduler.placed, in insertion order
	towns []int64 // townships its stops are in
	// full is the smallest per-inspector need a draw on this day could not
	// staff for lack of time (0 = none yet). Visits needing as much are not
	// tried here again: the day's certified inspectors are booked up.
	full int
}

type scheduler struct {
	in       *Input
	ix       *index
	wd       workdays
	days     int
	teamDays []teamDay // team index × days + day
	inspUsed []int     // inspector index × days + day: minutes
	inspLoad []int     // inspector index: minutes over the cycle
	inspOf   map[int64]int
	placed   []stop
	unplaced []Unplaced
	draws    []Draw
	// av is who is away and what is closed (availability.go).
	av availability

	// bookedUsed is the team-day minutes (team index × days + day) that
	// visits already on the calendar hold; teamDays[].used includes them.
	bookedUsed []int
	// target is each team's even day (team index): the minutes a team-day
	// would hold if the team's expected work, booked included, were spread
	// evenly over the horizon's working days. levelOptions scores against it.
	target       []int
	levelScratch []levelCand
	// optScratch holds the options of the visit being placed.
	optScratch []option

	// scratch of drawInspectors, reused across draws
	gen       int32
	exclGen   []int32  // inspector index -> generation it was excluded in
	exclWhy   []string // inspector index -> why
	chosen    []int
	steps     []step
	stepCands []weighted
	// ownTeams, restTeams and leadTeam are drawInspectors' scratch lists of
	// teams to draw from, reused from visit to visit.
	ownTeams, restTeams []int
	leadTeam            [1]int
}

func newScheduler(in *Input, ix *index, wd workdays) *scheduler {
	s := &scheduler{in: in, ix: ix, wd: wd, days: len(wd.days), inspOf: map[int64]int{}}
	s.teamDays = make([]teamDay, len(in.Teams)*s.days)
	s.inspUsed = make([]int, len(in.Inspectors)*s.days)
	s.inspLoad = make([]int, len(in.Inspectors))
	s.exclGen = make([]int32, len(in.Inspectors))
	s.exclWhy = make([]string, len(in.Inspectors))
	for i, p := range in.Inspectors {
		s.inspOf[p.ID] = i
	}
	s.av = newAvailability(in, ix, wd, s.inspOf)
	s.book()
	return s
}

// book takes the capacity the visits already on the calendar hold, with the
// accounting commit uses for new visits: (duration + travel) on each of the
// visit's inspectors' days, and that times the inspectors on the lead
// team's day. A booked visit outside the horizon or off its working days
// holds nothing here; an unknown team or inspector is skipped (the others
// still count).
func (s *scheduler) book() {
	s.bookedUsed = make([]int, len(s.teamDays))
	for _, bv := range s.in.Booked {
		d, ok := slices.BinarySearch(s.wd.days, bv.Date)
		if !ok {
			continue
		}
		need := max(bv.DurationMinutes, 0) + max(bv.TravelMinutes, 0)
		if ti, ok := s.ix.teamOf[bv.TeamID]; ok {
			s.teamDays[ti*s.days+d].used += need * len(bv.InspectorIDs)
			s.bookedUsed[ti*s.days+d] += need * len(bv.InspectorIDs)
		}
		for _, id := range bv.InspectorIDs {
			if i, ok := s.inspOf[id]; ok {
				s.inspUsed[i*s.days+d] += need
				s.inspLoad[i] += need
			}
		}
	}
}

// levelTargets sets each team's even day: its booked minutes plus the
// minutes of the visits it would lead first (duration plus a travel guess,
// times the fewest inspectors), over the horizon's working days. It is a
// guess: visits a team cannot take go to others, whose days then run over
// their target and level among themselves by how far over they are.
func (s *scheduler) levelTargets(visits []pending) {
	const travelGuess = 15 // minutes per visit; routing keeps most legs short
	work := make([]int, len(s.in.Teams))
	for ti := range s.in.Teams {
		for d := range s.days {
			work[ti] += s.bookedUsed[ti*s.days+d]
		}
	}
	k := s.in.Policy.MinInspectors
	for i := range visits {
		v := &visits[i]
		if teams := s.leadTeams(v); len(teams) > 0 {
			work[teams[0]] += (v.duration + travelGuess) * k
		}
	}
	s.target = make([]int, len(s.in.Teams))
	for ti := range s.target {
		if s.days > 0 {
			s.target[ti] = (work[ti] + s.days - 1) / s.days
		}
	}
}

// option is a (team, day) a visit could go to, with what it would cost.
type option struct {
	team, day int
	pos       int // insertion position in the team-day's tour
	travel    int // minutes
	score     float64
}

// schedule places visits earliest deadline first, complaints before routine
// work, on the working day and team that cost least among the first days
// with room, preferring team-days already working in the same township.
func (s *scheduler) schedule(visits []pending) {
	// Sort indexes, not the visits: a pending is large and moving it costs.
	order := make([]int32, len(visits))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(i, j int32) int {
		a, b := &visits[i], &visits[j]
		if a.complaint != b.complaint {
			if a.complaint {
				return -1
			}
			return 1
		}
		if c := cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.priority, b.priority), cmp.Compare(a.lo, b.lo)); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(s.in.Businesses[a.biz].USCC, s.in.Businesses[b.biz].USCC), cmp.Compare(a.split, b.split))
	})
	s.levelTargets(visits)
	s.placed = make([]stop, 0, len(visits))
	seq := make(map[int]int, len(visits))
	for _, i := range order {
		v := &visits[i]
		key := s.in.Businesses[v.biz].USCC + "#" + strconv.Itoa(seq[v.biz])
		seq[v.biz]++
		s.place(v, key)
	}
}

const (
	maxOptionDays = 3 // days with room looked at before choosing (earliest placement)
	maxOptions    = 8
	maxDrawTries  = 3 // inspector draws attempted per visit before giving up
	// maxLevelEvals bounds the insertions costed per visit when levelling:
	// candidates are costed in the order of a cheap lower bound of their
	// score, so the best ones come first.
	maxLevelEvals = 12
)

func (s *scheduler) place(v *pending, key string) {
	teams := s.leadTeams(v)
	if len(teams) == 0 {
		s.refuse(v, ReasonNoTeam)
		return
	}
	var opts []option
	// Complaints stay early: they go on the first days with room, and so
	// does everything of an urgent placement (Policy.Earliest). Without
	// capacity limits there is nothing to level either.
	if v.complaint || s.in.Policy.Uncapacitated || s.in.Policy.Earliest {
		opts = s.earliestOptions(v, teams)
	} else {
		opts = s.levelOptions(v, teams)
	}
	if len(opts) == 0 {
		if s.allClosed(v, teams) {
			s.refuse(v, ReasonClosed)
			return
		}
		s.refuse(v, ReasonCapacity)
		return
	}
	slices.SortStableFunc(opts, func(a, b option) int { return cmp.Compare(a.score, b.score) })
	pol := s.in.Policy
	k := pol.MinInspectors
	reason := ReasonNoInspectors
	tries := 0
	for _, o := range opts {
		td := &s.teamDays[o.team*s.days+o.day]
		need := v.duration + o.travel
		if td.full > 0 && need >= td.full {
			reason = ReasonCapacity
			continue
		}
		if tries++; tries > maxDrawTries {
			break
		}
		o.travel = s.travelMinutes(s.exactInsertion(o.team, td, v.biz, o.pos))
		need = v.duration + o.travel
		if !pol.Uncapacitated && td.used+need*k > s.in.Teams[o.team].DailyCapacityMinutes {
			reason = ReasonCapacity
			continue
		}
		staff, draw, why := s.drawInspectors(v, key, o)
		switch why {
		case "":
		case noRoom:
			reason = ReasonCapacity
			continue
		case ReasonCapacity:
			reason = ReasonCapacity
			if td.full == 0 || need < td.full {
				td.full = need
			}
			continue
		default:
			continue
		}
		if !pol.Uncapacitated && td.used+need*len(staff) > s.in.Teams[o.team].DailyCapacityMinutes {
			reason = ReasonCapacity
			continue
		}
		s.commit(v, o, staff)
		s.draws = append(s.draws, draw)
		return
	}
	s.refuse(v, reason)
}

// earliestOptions are v's options on the first days of its window with room
// (up to maxOptionDays of them), scored by travel, team rank and lateness,
// preferring team-days already working in the same township.
func (s *scheduler) earliestOptions(v *pending, teams []int) []option {
	b := s.in.Businesses[v.biz]
	pol := s.in.Policy
	k := pol.MinInspectors // fewest inspectors the draw can pick; the draw's own count is checked after it
	var opts []option
	daysWithRoom := 0
	for d := v.lo; d <= v.hi && daysWithRoom < maxOptionDays && len(opts) < maxOptions; d++ {
		found := false
		for rank, ti := range teams {
			if s.closed(ti, v.biz, d) {
				continue
			}
			td := &s.teamDays[ti*s.days+d]
			if !pol.Uncapacitated && (td.used+v.duration*k > s.in.Teams[ti].DailyCapacityMinutes || (td.full > 0 && v.duration >= td.full)) {
				continue
			}
			pos, km := s.insertion(ti, td, v.biz)
			travel := s.travelMinutes(km)
			if !pol.Uncapacitated && td.used+(v.duration+travel)*k > s.in.Teams[ti].DailyCapacityMinutes {
				continue
			}
			score := float64(travel) + 20*float64(rank) + 3*float64(d-v.lo)
			if s.sameTownship(td, b.RegionID) {
				score -= 15
			}
			opts = append(opts, option{team: ti, day: d, pos: pos, travel: travel, score: score})
			found = true
		}
		if found {
			daysWithRoom++
		}
		if pol.Uncapacitated && found {
			break
		}
	}
	return opts
}

// Weights of levelOptions' score, in minutes of travel: a team-day already
// working in the visit's township saves townshipBonus, each day later in the
// window costs lateWeight (so underloaded days fill in order, leaving later
// days for later windows), and each minute per inspector a team-day goes
// over its even target costs levelWeight.
const (
	townshipBonus = 15
	lateWeight    = 1
	levelWeight   = 1.5
)

// levelCand is a (team, day) levelOptions may cost, with a lower bound of its
// score (everything but travel, which only adds).
type levelCand struct {
	team, day int
	lb        float64
}

// levelOptions are v's best options over its whole window, scored by travel,
// team rank, lateness and how far the team-day would go over its even target
// (the team's expected minutes spread over the horizon's working days), so a
// team's work spreads over the days its windows allow; a team-day already in
// the visit's township is preferred among days of similar load.
func (s *scheduler) levelOptions(v *pending, teams []int) []option {
	b := s.in.Businesses[v.biz]
	town := s.ix.township[b.RegionID]
	k := s.in.Policy.MinInspectors
	cands := s.levelScratch[:0]
	for d := v.lo; d <= v.hi; d++ {
		for rank, ti := range teams {
			if s.closed(ti, v.biz, d) {
				continue
			}
			td := &s.teamDays[ti*s.days+d]
			if td.used+v.duration*k > s.in.Teams[ti].DailyCapacityMinutes || (td.full > 0 && v.duration >= td.full) {
				continue
			}
			lb := 20*float64(rank) + lateWeight*float64(d-v.lo) + s.overload(ti, td.used+v.duration*k, k)
			if slices.Contains(td.towns, town) {
				lb -= townshipBonus
			}
			cands = append(cands, levelCand{team: ti, day: d, lb: lb})
		}
	}
	s.levelScratch = cands
	// Stable: equal bounds keep day-then-rank order, so ties never depend on
	// anything but the input.
	slices.SortStableFunc(cands, func(a, b levelCand) int { return cmp.Compare(a.lb, b.lb) })
	// The options live until the next visit is placed: one buffer serves all.
	opts := s.optScratch[:0]
	defer func() { s.optScratch = opts[:0] }()
	for i, c := range cands {
		if i >= maxLevelEvals || (len(opts) >= maxOptions && c.lb >= opts[len(opts)-1].score) {
			break
		}
		td := &s.teamDays[c.team*s.days+c.day]
		pos, km := s.insertion(c.team, td, v.biz)
		travel := s.travelMinutes(km)
		after := td.used + (v.duration+travel)*k
		if after > s.in.Teams[c.team].DailyCapacityMinutes {
			continue
		}
		// The bound's overload was for the duration alone; travel may add to it.
		score := c.lb - s.overload(c.team, td.used+v.duration*k, k) + s.overload(c.team, after, k) + float64(travel)
		o := option{team: c.team, day: c.day, pos: pos, travel: travel, score: score}
		at, _ := slices.BinarySearchFunc(opts, o, func(a, b option) int {
			if a.score <= b.score { // after equals: first come stays first
				return -1
			}
			return 1
		})
		opts = slices.Insert(opts, at, o)
		if len(opts) > maxOptions {
			opts = opts[:maxOptions]
		}
	}
	return opts
}

// overload is what a team-day of team ti holding used minutes costs for
// going over its even target, per inspector of a visit of k.
func (s *scheduler) overload(ti, used, k int) float64 {
	over := used - s.target[ti]
	if over <= 0 {
		return 0
	}
	return levelWeight * float64(over) / float64(k)
}

// leadTeams are the teams that may lead v, best first: the department's own
// professional team for a one-department visit, then the township squad, then
// the comprehensive team. Professional teams lead only their department's
// visits; joint visits go to teams with comprehensive powers.
func (s *scheduler) leadTeams(v *pending) []int {
	region := s.in.Businesses[v.biz].RegionID
	var out []int
	rank := func(ti int) int {
		t := s.in.Teams[ti]
		switch {
		case t.Kind == TeamProfessional:
			return 0
		case t.Kind == TeamTownship:
			return 1
		}
		return 2
	}
	for _, ti := range s.ix.cover[region] {
		t := s.in.Teams[ti]
		if t.Kind == TeamProfessional && (len(v.depts) != 1 || v.depts[0] != t.DepartmentID) {
			continue
		}
		out = append(out, ti)
	}
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	return out
}

func (s *scheduler) refuse(v *pending, reason string) {
	for _, t := range v.tasks {
		s.unplaced = append(s.unplaced, Unplaced{DemandID: t.DemandID, USCC: t.USCC, ItemID: t.ItemID, Reason: reason})
	}
}

func (s *scheduler) sameTownship(td *teamDay, region int64) bool {
	return slices.Contains(td.towns, s.ix.township[region])
}

func (s *scheduler) travelMinutes(km float64) int {
	return int(math.Ceil(km / s.in.Policy.SpeedKmh * 60))
}

func dist(a, b [2]float64) float64 { return math.Sqrt(sq(a, b)) }

func sq(a, b [2]float64) float64 {
	dx, dy := a[0]-b[0], a[1]-b[1]
	return dx*dx + dy*dy
}

// insertion finds a cheap place for business bi in the team-day's tour
// (base → stops in insertion order → base) and its extra length in km on
// the local plane, good for comparing options.
func (s *scheduler) insertion(ti int, td *teamDay, bi int) (pos int, km float64) {
	// Insert next to the nearest stop (or the base), on whichever side adds
	// less: linear in the stops with one multiplication each, where trying
	// every position costs three square roots each. 2-opt fixes the rest.
	base := s.ix.baseXY[ti]
	p := s.ix.xy[bi]
	near, best := -1, sq(base, p)
	for i, st := range td.stops {
		if d := sq(s.ix.xy[s.placed[st].v.biz], p); d < best {
			near, best = i, d
		}
	}
	xy := func(i int) [2]float64 {
		if i < 0 || i >= len(td.stops) {
			return base
		}
		return s.ix.xy[s.placed[td.stops[i]].v.biz]
	}
	cost := func(at int) float64 { // insert before position at
		a, c := xy(at-1), xy(at)
		return dist(a, p) + dist(p, c) - dist(a, c)
	}
	if near < 0 {
		// Nearest is the base: first or last position.
		pos = 0
		if n := len(td.stops); n > 0 && cost(n) < cost(0) {
			pos = n
		}
	} else {
		pos = near
		if cost(near+1) < cost(near) {
			pos = near + 1
		}
	}
	return pos, max(cost(pos), 0)
}

// exactInsertion is the haversine length that inserting business bi before
// position pos adds. Reserving it makes the reserved travel of a team-day add
// up to exactly the length of its insertion tour, in the metric routes are
// measured in, so the routed day never needs more travel than was reserved.
func (s *scheduler) exactInsertion(ti int, td *teamDay, bi, pos int) float64 {
	t := s.in.Teams[ti]
	at := func(i int) Point {
		if i < 0 || i >= len(td.stops) {
			return Point{Lat: t.BaseLat, Lng: t.BaseLng}
		}
		b := s.in.Businesses[s.placed[td.stops[i]].v.biz]
		return Point{Lat: b.Lat, Lng: b.Lng}
	}
	b := s.in.Businesses[bi]
	here := Point{Lat: b.Lat, Lng: b.Lng}
	a, c := at(pos-1), at(pos)
	return max(HaversineKm(a, here)+HaversineKm(here, c)-HaversineKm(a, c), 0)
}

func (s *scheduler) commit(v *pending, o option, staff []int64) {
	td := &s.teamDays[o.team*s.days+o.day]
	s.placed = append(s.placed, stop{v: v, team: o.team, day: o.day, staff: staff, travel: o.travel})
	idx := len(s.placed) - 1
	td.stops = append(td.stops, 0)
	copy(td.stops[o.pos+1:], td.stops[o.pos:])
	td.stops[o.pos] = idx
	if town := s.ix.township[s.in.Businesses[v.biz].RegionID]; !slices.Contains(td.towns, town) {
		td.towns = append(td.towns, town)
	}
	need := v.duration + o.travel
	td.used += need * len(staff)
	for _, id := range staff {
		i := s.inspOf[id]
		s.inspUsed[i*s.days+o.day] += need
		s.inspLoad[i] += need
	}
}

// teamUsedTotal is the minutes team ti's days hold for this plan's visits,
// booked visits left out.
func (s *scheduler) teamUsedTotal(ti int) int {
	total := 0
	for d := range s.days {
		total += s.teamDays[ti*s.days+d].used - s.bookedUsed[ti*s.days+d]
	}
	return total
}

// route orders every team-day and writes the plan's visits in route order. The
// insertion order is a valid tour whose length the reserved travel covers, so
// starting from it guarantees the routed day never needs more travel than was
// reserved for it.
func (s *scheduler) route(plan *Plan) {
	type job struct {
		team, day int
		order     []int
		km        float64
	}
	var jobs []job
	for ti := range s.in.Teams {
		for d := range s.days {
			if len(s.teamDays[ti*s.days+d].stops) > 0 {
				jobs = append(jobs, job{team: ti, day: d})
			}
		}
	}
	// Team-days are independent: route them on every core. Each result goes
	// to its own slot, so the plan does not depend on scheduling.
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= len(jobs) {
					return
				}
				j := &jobs[k]
				td := &s.teamDays[j.team*s.days+j.day]
				t := s.in.Teams[j.team]
				pts := make([]Point, len(td.stops))
				initial := make([]int, len(td.stops))
				for i, p := range td.stops {
					b := s.in.Businesses[s.placed[p].v.biz]
					pts[i] = Point{Lat: b.Lat, Lng: b.Lng}
					initial[i] = i
				}
				j.order, j.km = Route(Point{Lat: t.BaseLat, Lng: t.BaseLng}, pts, initial)
			}
		})
	}
	wg.Wait()
	for _, j := range jobs {
		td := &s.teamDays[j.team*s.days+j.day]
		t := s.in.Teams[j.team]
		day := TeamDay{TeamID: t.ID, Date: s.wd.days[j.day], TravelKm: j.km, TravelMinutes: s.travelMinutes(j.km)}
		for rank, oi := range j.order {
			st := s.placed[td.stops[oi]]
			visit := Visit{
				USCC: s.in.Businesses[st.v.biz].USCC, Date: s.wd.days[j.day], TeamID: t.ID,
				InspectorIDs: st.staff, Tasks: st.v.tasks, DepartmentIDs: st.v.depts,
				DurationMinutes: st.v.duration, TravelMinutes: st.travel, RouteOrder: rank + 1,
			}
			day.Visits = append(day.Visits, len(plan.Visits))
			day.WorkMinutes += st.v.duration
			plan.Visits = append(plan.Visits, visit)
		}
		plan.TeamDays = append(plan.TeamDays, day)
	}
}
