package planner

// Availability and closures (issue 17 part 1): days an inspector is away and
// days a region or a team is closed. The scheduler and the join step consult
// them through scheduler.away and scheduler.closed; nothing is placed on an
// inspector's day away or on a closed day.

// Unavailability is an inspector's days away, both included.
type Unavailability struct {
	InspectorID int64
	From, To    Day
}

// Closure closes days, both included, of a region (and every region below
// it) or of a team. Exactly one of RegionID and TeamID is set; a closure
// with both closes both.
type Closure struct {
	RegionID, TeamID int64
	From, To         Day
}

// ExcludeUnavailable is the exclusion reason of an inspector away that day
// (an unavailability, or a closure of the inspector's team).
const ExcludeUnavailable = "unavailable"

// availability is the scheduler's view of Input.Unavailable and
// Input.Closures over the horizon's working days.
type availability struct {
	inspOff   []bool           // inspector index × days + day: away
	teamOff   []bool           // team index × days + day: closed
	regionOff map[int64][]bool // region id -> day: closed (closures of it or any region above)
	any       bool             // anything closed at all
}

// newAvailability resolves unavailabilities and closures to working-day
// indexes. Unknown inspectors, teams and regions close nothing.
func newAvailability(in *Input, ix *index, wd workdays, inspOf map[int64]int) availability {
	days := len(wd.days)
	var a availability
	if len(in.Unavailable) == 0 && len(in.Closures) == 0 {
		return a
	}
	a.inspOff = make([]bool, len(in.Inspectors)*days)
	a.teamOff = make([]bool, len(in.Teams)*days)
	for _, u := range in.Unavailable {
		i, ok := inspOf[u.InspectorID]
		lo, hi, in := wd.clip(u.From, u.To)
		if !ok || !in {
			continue
		}
		for d := lo; d <= hi; d++ {
			a.inspOff[i*days+d] = true
			a.any = true
		}
	}
	closedRegion := map[int64][]bool{}
	for _, c := range in.Closures {
		lo, hi, ok := wd.clip(c.From, c.To)
		if !ok {
			continue
		}
		if ti, known := ix.teamOf[c.TeamID]; known && c.TeamID != 0 {
			for d := lo; d <= hi; d++ {
				a.teamOff[ti*days+d] = true
				for _, i := range ix.members[ti] {
					a.inspOff[i*days+d] = true
				}
				a.any = true
			}
		}
		if c.RegionID != 0 {
			if closedRegion[c.RegionID] == nil {
				closedRegion[c.RegionID] = make([]bool, days)
			}
			for d := lo; d <= hi; d++ {
				closedRegion[c.RegionID][d] = true
			}
		}
	}
	if len(closedRegion) == 0 {
		return a
	}
	parent := map[int64]int64{}
	for _, r := range in.Regions {
		parent[r.ID] = r.ParentID
	}
	a.regionOff = map[int64][]bool{}
	resolve := func(r int64) {
		if _, done := a.regionOff[r]; done {
			return
		}
		var off []bool
		for x, seen := r, 0; x != 0 && seen < 64; x, seen = parent[x], seen+1 {
			c := closedRegion[x]
			if c == nil {
				continue
			}
			if off == nil {
				off = make([]bool, days)
			}
			for d, closed := range c {
				if closed {
					off[d] = true
					a.any = true
				}
			}
		}
		a.regionOff[r] = off
	}
	for _, r := range in.Regions {
		resolve(r.ID)
	}
	for _, b := range in.Businesses {
		resolve(b.RegionID)
	}
	return a
}

// away reports whether inspector index i is away on working-day index d.
func (s *scheduler) away(i, d int) bool {
	return s.av.inspOff != nil && s.av.inspOff[i*s.days+d]
}

// closed reports whether a visit to business index bi led by team index ti
// cannot be on working-day index d: the team's day or the business's region
// is closed.
func (s *scheduler) closed(ti, bi, d int) bool {
	if !s.av.any {
		return false
	}
	if s.av.teamOff[ti*s.days+d] {
		return true
	}
	off := s.av.regionOff[s.in.Businesses[bi].RegionID]
	return off != nil && off[d]
}

// allClosed reports whether every (team, day) of v's window is closed for
// it: the reason it could not be placed is then the closure, not capacity.
func (s *scheduler) allClosed(v *pending, teams []int) bool {
	if !s.av.any {
		return false
	}
	for d := v.lo; d <= v.hi; d++ {
		for _, ti := range teams {
			if !s.closed(ti, v.biz, d) {
				return false
			}
		}
	}
	return true
}
