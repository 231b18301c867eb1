package planner

import (
	"math"
	"math/rand/v2"
)

// Route ordering (DESIGN.md §4 step 6). Each team-day is a closed tour that
// starts and ends at the team base. The tour is built by nearest neighbour
// and improved by local search: 2-opt (reverse a path) and Or-opt (move a
// segment of 1 to 3 stops elsewhere, in either orientation), alternated until
// neither finds an improving move. Candidate moves are limited to each node's
// nearest neighbours and driven by a queue of "dirty" nodes (don't-look
// bits); a final full sweep over all nodes confirms the local optimum.
//
// The core works on an abstract symmetric distance over nodes 0..n-1 with
// node 0 the depot, so that tests can run it on TSPLIB instances.

// routeEarthRadiusKm is the mean Earth radius (IUGG) used by HaversineKm.
const routeEarthRadiusKm = 6371.0088

// Point is a location in WGS 84 degrees.
type Point struct{ Lat, Lng float64 }

// HaversineKm is the great-circle distance in km (Earth radius 6371.0088 km).
func HaversineKm(a, b Point) float64 {
	const rad = math.Pi / 180
	return haversineDeg(a.Lat, a.Lng, math.Cos(a.Lat*rad), b.Lat, b.Lng, math.Cos(b.Lat*rad))
}

// haversineDeg is HaversineKm with the cosines of the latitudes precomputed,
// so a distance matrix costs two sines, a square root and an arcsine per
// pair (polynomials for the short distances routes have). Differences are
// taken in degrees, which is exact for nearby points. It is symmetric bit
// for bit.
func haversineDeg(lat1, lng1, cos1, lat2, lng2, cos2 float64) float64 {
	const half = math.Pi / 360 // half a degree in radians
	s := smallSin((lat2 - lat1) * half)
	t := smallSin((lng2 - lng1) * half)
	h := s*s + cos1*cos2*t*t
	if h > 1 {
		h = 1
	}
	return 2 * routeEarthRadiusKm * smallAsin(math.Sqrt(h))
}

// smallSin is math.Sin, with a Taylor polynomial for |x| ≤ 0.05, where it
// is exact to within an ulp (the first omitted term, x¹¹/11!, is below
// 1e-20·|x|).
func smallSin(x float64) float64 {
	if !(math.Abs(x) <= 0.05) { // also NaN
		return math.Sin(x)
	}
	x2 := x * x
	return x - x*x2*(1.0/6-x2*(1.0/120-x2*(1.0/5040-x2*(1.0/362880))))
}

// smallAsin is math.Asin, with a Taylor polynomial for x in [0, 0.05]
// (arcs up to about 637 km), where it is exact to within an ulp and several
// times faster: routes are short and the distance matrix is the bulk of
// Route's work.
func smallAsin(x float64) float64 {
	if !(x <= 0.05) { // also NaN
		return math.Asin(x)
	}
	// asin x = Σ (2k)!/(4^k (k!)² (2k+1)) x^(2k+1); the first omitted term,
	// k = 7, is below 1e-17·x here.
	x2 := x * x
	return x + x*x2*(1.0/6+x2*(3.0/40+x2*(5.0/112+x2*(35.0/1152+x2*(63.0/2816+x2*(231.0/13312))))))
}

// TourKm is the length of base → stops in order → base.
func TourKm(base Point, stops []Point, order []int) float64 {
	if len(order) == 0 {
		return 0
	}
	km := 0.0
	prev := base
	for _, i := range order {
		km += HaversineKm(prev, stops[i])
		prev = stops[i]
	}
	return km + HaversineKm(prev, base)
}

// Route orders stops for a closed tour base → stops → base. It returns the
// order (a permutation of 0..len(stops)-1) and the tour length in km.
// If initial is non-nil (a permutation), the result is never longer than the
// tour in that order: Route improves both the nearest-neighbour tour and the
// initial one and returns the shorter. Deterministic for the same input.
// An initial that is not a permutation of 0..len(stops)-1 is ignored.
func Route(base Point, stops []Point, initial []int) (order []int, km float64) {
	m := len(stops)
	if m == 0 {
		return []int{}, 0
	}
	if !isTourPermutation(initial, m) {
		initial = nil
	}
	if m == 1 {
		return []int{0}, TourKm(base, stops, []int{0})
	}
	n := m + 1
	const rad = math.Pi / 180
	cs := make([]float64, n) // cosines of the latitudes
	pt := func(i int) Point {
		if i == 0 {
			return base
		}
		return stops[i-1]
	}
	for i := range cs {
		cs[i] = math.Cos(pt(i).Lat * rad)
	}
	mat := make([]float64, n*n)
	for i := 0; i < n; i++ {
		a := pt(i)
		for j := i + 1; j < n; j++ {
			b := pt(j)
			d := haversineDeg(a.Lat, a.Lng, cs[i], b.Lat, b.Lng, cs[j])
			mat[i*n+j], mat[j*n+i] = d, d
		}
	}
	s := newTourSolver(n, mat, nil, routeOpts(n))

	toOrder := func(tour []int) []int {
		o := make([]int, m)
		for k := range o {
			o[k] = tour[k+1] - 1
		}
		return o
	}
	order = toOrder(s.improve(s.nearestNeighbour()))
	km = TourKm(base, stops, order)
	if initial != nil {
		tour := make([]int, n)
		for k, i := range initial {
			tour[k+1] = i + 1
		}
		if o := toOrder(s.improve(tour)); TourKm(base, stops, o) < km {
			order, km = o, TourKm(base, stops, o)
		}
		// Local search only accepts strictly shorter tours, so this guard
		// only matters if rounding differs between the matrix and TourKm.
		if k := TourKm(base, stops, initial); k < km {
			order, km = append([]int(nil), initial...), k
		}
	}
	return order, km
}

// isTourPermutation reports whether p is a permutation of 0..m-1.
func isTourPermutation(p []int, m int) bool {
	if p == nil || len(p) != m {
		return false
	}
	seen := make([]bool, m)
	for _, i := range p {
		if i < 0 || i >= m || seen[i] {
			return false
		}
		seen[i] = true
	}
	return true
}

// solveTourOpts tunes the solver. The zero value is the plain configuration
// Route uses: nearest neighbour, then 2-opt and Or-opt to a local optimum.
type solveTourOpts struct {
	// kicks is the number of iterated-local-search perturbations (a
	// double-bridge on two short adjacent segments, kept only if the
	// re-optimised tour is shorter). 0 = none.
	kicks int
	// seed seeds the perturbation PRNG (PCG); fixed, so results are
	// deterministic.
	seed uint64
}

// routeKicksPerNode sets Route's iterated local search: two double-bridge
// kicks per stop take the TSPLIB mean gap from about 6 % (plain 2-opt and
// Or-opt) to about 2 %, for well under a millisecond on a 20-stop day.
const routeKicksPerNode = 2

// routeOpts is the configuration Route uses for n nodes.
func routeOpts(n int) solveTourOpts {
	return solveTourOpts{kicks: routeKicksPerNode * n, seed: 1}
}

// routeMatrixMax is the largest node count for which the solver precomputes
// a distance matrix (2000² float64 = 32 MB).
const routeMatrixMax = 2000

// solveTour returns a short closed tour over nodes 0..n-1 starting at node
// 0, for a symmetric distance dist. If initial is a tour of all nodes (any
// rotation), the result is never longer than it under dist.
func solveTour(n int, dist func(i, j int) float64, initial []int) []int {
	return solveTourWith(n, dist, initial, solveTourOpts{})
}

// solveTourWith is solveTour with options.
func solveTourWith(n int, dist func(i, j int) float64, initial []int, opts solveTourOpts) []int {
	if n <= 0 {
		return []int{}
	}
	if n <= 3 {
		t := make([]int, n)
		for i := range t {
			t[i] = i
		}
		return t
	}
	var mat []float64
	if n <= routeMatrixMax {
		mat = make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				d := dist(i, j)
				mat[i*n+j], mat[j*n+i] = d, d
			}
		}
		dist = nil
	}
	s := newTourSolver(n, mat, dist, opts)
	best := s.improve(s.nearestNeighbour())
	if isTourPermutation(initial, n) {
		init := rotateToZero(initial)
		if t := s.improve(init); s.length(t) < s.length(best) {
			best = t
		}
		if s.length(init) < s.length(best) {
			best = init
		}
	}
	return best
}

// rotateToZero returns a copy of the tour rotated so that node 0 is first.
func rotateToZero(tour []int) []int {
	n := len(tour)
	z := 0
	for k, v := range tour {
		if v == 0 {
			z = k
			break
		}
	}
	out := make([]int, n)
	for k := range out {
		out[k] = tour[(z+k)%n]
	}
	return out
}

// tourSolver holds the distance, neighbour lists and the working tour.
type tourSolver struct {
	n    int
	mat  []float64              // n*n, or nil
	fn   func(i, j int) float64 // used when mat is nil
	k    int                    // neighbours per node
	nb   []int                  // n*k nearest neighbours, nearest first
	opts solveTourOpts
	eps  float64 // smallest gain that counts as an improvement

	t, pos []int // tour (positions → node) and its inverse
	// queue of nodes to examine (don't-look bits): a ring of capacity n.
	q        []int
	qh, qn   int
	inQ      []bool
	nn       []int   // the nearest-neighbour tour, once built
	moves    int     // moves applied in the current sweep
	gainSum  float64 // total gain of applied moves
	segSaved [3]int
}

func newTourSolver(n int, mat []float64, fn func(i, j int) float64, opts solveTourOpts) *tourSolver {
	s := &tourSolver{n: n, mat: mat, fn: fn, opts: opts}
	s.k = min(n-1, routeNeighbours)
	s.buildNeighbours()
	s.t = make([]int, n)
	s.pos = make([]int, n)
	s.q = make([]int, n)
	s.inQ = make([]bool, n)
	return s
}

func (s *tourSolver) d(i, j int) float64 {
	if s.mat != nil {
		return s.mat[i*s.n+j]
	}
	return s.fn(i, j)
}

// routeNeighbours is how many nearest neighbours each node's candidate
// moves consider.
const routeNeighbours = 10

// buildNeighbours keeps, for each node, its k nearest other nodes sorted by
// distance (ties by index).
func (s *tourSolver) buildNeighbours() {
	n, k := s.n, s.k
	s.nb = make([]int, n*k)
	var dd [routeNeighbours]float64
	var ix [routeNeighbours]int
	var row []float64
	for i := 0; i < n; i++ {
		if s.mat != nil {
			row = s.mat[i*n : i*n+n]
		}
		cnt := 0
		for j := 0; j < n; j++ {
			if j == i {
				continue
			}
			var dj float64
			if row != nil {
				dj = row[j]
			} else {
				dj = s.fn(i, j)
			}
			p := cnt
			if cnt < k {
				cnt++
			} else if dj < dd[k-1] {
				p = k - 1
			} else {
				continue
			}
			for ; p > 0 && dj < dd[p-1]; p-- {
				dd[p], ix[p] = dd[p-1], ix[p-1]
			}
			dd[p], ix[p] = dj, j
		}
		copy(s.nb[i*k:i*k+k], ix[:k])
	}
}

func (s *tourSolver) neighbours(i int) []int { return s.nb[i*s.k : i*s.k+s.k] }

// length is the closed length of a tour.
func (s *tourSolver) length(t []int) float64 {
	if len(t) == 0 {
		return 0
	}
	sum := 0.0
	for k := 1; k < len(t); k++ {
		sum += s.d(t[k-1], t[k])
	}
	return sum + s.d(t[len(t)-1], t[0])
}

// nearestNeighbour builds a tour from node 0, always going to the nearest
// unvisited node (ties by index).
func (s *tourSolver) nearestNeighbour() []int {
	if s.nn != nil {
		return append([]int(nil), s.nn...)
	}
	n := s.n
	tour := make([]int, 0, n)
	left := make([]int, n-1) // unvisited nodes, in index order
	for i := range left {
		left[i] = i + 1
	}
	cur := 0
	tour = append(tour, 0)
	for len(left) > 0 {
		bk, bd := 0, s.d(cur, left[0])
		for k := 1; k < len(left); k++ {
			if dk := s.d(cur, left[k]); dk < bd {
				bk, bd = k, dk
			}
		}
		cur = left[bk]
		tour = append(tour, cur)
		copy(left[bk:], left[bk+1:])
		left = left[:len(left)-1]
	}
	s.nn = tour
	return append([]int(nil), tour...)
}

// improve runs the local search (and the perturbations, if configured) from
// the given tour and returns the best tour found, starting at node 0. It
// never returns a longer tour than the one given.
func (s *tourSolver) improve(start []int) []int {
	n := s.n
	if n <= 3 {
		return rotateToZero(start)
	}
	copy(s.t, start)
	for p, v := range s.t {
		s.pos[v] = p
	}
	if s.eps == 0 {
		// Gains smaller than this are rounding noise. Any edge is at most
		// half a tour long, so rounding errors in a gain stay far below it.
		s.eps = 1e-10 * s.length(s.nearestNeighbour())
	}
	s.optimize()
	if s.opts.kicks > 0 && n >= 8 {
		s.perturb()
	}
	return rotateToZero(s.t)
}

// optimize applies improving moves until a full sweep over every node finds
// none.
func (s *tourSolver) optimize() {
	for {
		s.moves = 0
		for _, v := range s.t {
			s.push(v)
		}
		s.drain()
		if s.moves == 0 {
			return
		}
	}
}

func (s *tourSolver) push(v int) {
	if s.inQ[v] {
		return
	}
	s.inQ[v] = true
	s.q[tourWrap(s.qh+s.qn, s.n)] = v
	s.qn++
}

// drain examines queued nodes until the queue is empty.
func (s *tourSolver) drain() {
	for s.qn > 0 {
		v := s.q[s.qh]
		s.qh = tourWrap(s.qh+1, s.n)
		s.qn--
		s.inQ[v] = false
		if !s.twoOpt(v) {
			s.orOpt(v)
		}
	}
}

func (s *tourSolver) succ(v int) int { return s.t[tourWrap(s.pos[v]+1, s.n)] }
func (s *tourSolver) pred(v int) int { return s.t[tourWrap(s.pos[v]-1, s.n)] }

// tourWrap maps a position in [-n, 2n) into [0, n) without a division.
func tourWrap(x, n int) int {
	if x >= n {
		return x - n
	}
	if x < 0 {
		return x + n
	}
	return x
}

// twoOpt tries to replace the edge from a to its successor (or predecessor)
// and one more edge by two shorter ones, and applies the first improving
// move found.
func (s *tourSolver) twoOpt(a int) bool {
	for dir := 0; dir < 2; dir++ {
		var b int
		if dir == 0 {
			b = s.succ(a)
		} else {
			b = s.pred(a)
		}
		dab := s.d(a, b)
		for _, c := range s.neighbours(a) {
			dac := s.d(a, c)
			if !(dac < dab) {
				break
			}
			var e int
			if dir == 0 {
				e = s.succ(c)
			} else {
				e = s.pred(c)
			}
			if c == b || e == a {
				continue
			}
			gain := dab + s.d(c, e) - dac - s.d(b, e)
			if !(gain > s.eps) {
				continue
			}
			if dir == 0 { // a b ... c e  →  a c ... b e
				s.reverse(s.pos[b], s.pos[c])
			} else { // e c ... b a  is  b a ... e c backwards: reverse a..e
				s.reverse(s.pos[a], s.pos[e])
			}
			s.applied(gain, a, b, c, e)
			return true
		}
	}
	return false
}

// reverse reverses the tour between positions i and j (inclusive, going
// forward, wrapping), or the complementary path if that is shorter: both
// give the same cyclic tour.
func (s *tourSolver) reverse(i, j int) {
	n := s.n
	l := (j-i+n)%n + 1
	if 2*l > n {
		i, j = (j+1)%n, (i+n-1)%n
		l = n - l
	}
	for k := 0; k < l/2; k++ {
		vi, vj := s.t[i], s.t[j]
		s.t[i], s.t[j] = vj, vi
		s.pos[vj], s.pos[vi] = i, j
		if i++; i == n {
			i = 0
		}
		if j--; j < 0 {
			j = n - 1
		}
	}
}

// orOpt tries to move a segment of 1-3 nodes with a at one end between two
// other adjacent nodes, in either orientation, and applies the first
// improving move found.
func (s *tourSolver) orOpt(a int) bool {
	n := s.n
	pa := s.pos[a]
	for l := 1; l <= 3 && l+3 <= n; l++ {
		for side := 0; side < 2; side++ {
			if l == 1 && side == 1 {
				break
			}
			i := pa // segment is positions i..i+l-1
			if side == 1 {
				i = tourWrap(pa-l+1, n)
			}
			if s.moveFrom(i, l) {
				return true
			}
		}
	}
	return false
}

// moveFrom tries the Or-opt moves of the segment at positions i..i+l-1.
func (s *tourSolver) moveFrom(i, l int) bool {
	n := s.n
	s1, sl := s.t[i], s.t[tourWrap(i+l-1, n)]
	p, nx := s.t[tourWrap(i-1, n)], s.t[tourWrap(i+l, n)]
	g1 := s.d(p, s1) + s.d(sl, nx) - s.d(p, nx) // saved by taking it out
	if !(g1 > s.eps) {
		return false
	}
	inSeg := func(v int) bool { return tourWrap(s.pos[v]-i, n) < l }
	for end := 0; end < 2; end++ {
		x, o := s1, sl
		if end == 1 {
			if l == 1 {
				break
			}
			x, o = sl, s1
		}
		for _, y := range s.neighbours(x) {
			dxy := s.d(x, y)
			if !(dxy < g1) {
				break
			}
			if inSeg(y) {
				continue
			}
			// y x ... o z, between y and z = succ(y).
			if y != p {
				z := s.succ(y)
				if gain := g1 - (dxy + s.d(o, z) - s.d(y, z)); gain > s.eps {
					s.moveSegment(i, l, y, x != s1)
					s.applied(gain, p, nx, s1, sl, y, z)
					return true
				}
			}
			// w o ... x y, between w = pred(y) and y.
			if y != nx {
				w := s.pred(y)
				if gain := g1 - (dxy + s.d(o, w) - s.d(w, y)); gain > s.eps {
					s.moveSegment(i, l, w, o != s1)
					s.applied(gain, p, nx, s1, sl, w, y)
					return true
				}
			}
		}
	}
	return false
}

// moveSegment moves the segment at positions i..i+l-1 to between node c and
// its successor (c is neither in the segment nor just before it), reversed
// if rev. It shifts whichever side between the two places is shorter.
func (s *tourSolver) moveSegment(i, l, c int, rev bool) {
	n := s.n
	seg := s.segSaved[:l]
	for k := range seg {
		seg[k] = s.t[(i+k)%n]
	}
	if rev {
		for a, b := 0, l-1; a < b; a, b = a+1, b-1 {
			seg[a], seg[b] = seg[b], seg[a]
		}
	}
	pc := s.pos[c]
	lx := (pc-i-l+2*n)%n + 1 // nodes from just after the segment to c
	ly := n - l - lx         // nodes from just after c to just before the segment
	var start int
	if lx <= ly {
		for k := 0; k < lx; k++ {
			to := (i + k) % n
			v := s.t[(to+l)%n]
			s.t[to], s.pos[v] = v, to
		}
		start = (i + lx) % n
	} else {
		for k := ly - 1; k >= 0; k-- {
			from := (pc + 1 + k) % n
			to := (from + l) % n
			v := s.t[from]
			s.t[to], s.pos[v] = v, to
		}
		start = (pc + 1) % n
	}
	for k, v := range seg {
		p := (start + k) % n
		s.t[p], s.pos[v] = v, p
	}
}

// applied records a move and queues the nodes whose edges changed.
func (s *tourSolver) applied(gain float64, touched ...int) {
	s.moves++
	s.gainSum += gain
	for _, v := range touched {
		s.push(v)
	}
}

// perturb is iterated local search: swap two short adjacent segments (a
// double-bridge move), re-optimise around the change, keep the result if it
// is shorter and undo it otherwise.
func (s *tourSolver) perturb() {
	n := s.n
	rng := rand.New(rand.NewPCG(s.opts.seed, 0x9e3779b97f4a7c15))
	best := append([]int(nil), s.t...)
	bestLen := s.length(s.t)
	maxL := min(30, (n-2)/2)
	buf := make([]int, 2*maxL)
	for it := 0; it < s.opts.kicks; it++ {
		l1, l2 := 1+rng.IntN(maxL), 1+rng.IntN(maxL)
		p := rng.IntN(n)
		// a B C f → a C B f
		a := s.t[p]
		b1, bl := s.t[(p+1)%n], s.t[(p+l1)%n]
		c1, cl := s.t[(p+l1+1)%n], s.t[(p+l1+l2)%n]
		f := s.t[(p+l1+l2+1)%n]
		delta := s.d(a, c1) + s.d(cl, b1) + s.d(bl, f) - s.d(a, b1) - s.d(bl, c1) - s.d(cl, f)
		for k := 0; k < l1+l2; k++ {
			buf[k] = s.t[(p+1+k)%n]
		}
		w := (p + 1) % n
		for _, v := range buf[l1 : l1+l2] {
			s.t[w], s.pos[v] = v, w
			w = (w + 1) % n
		}
		for _, v := range buf[:l1] {
			s.t[w], s.pos[v] = v, w
			w = (w + 1) % n
		}
		s.gainSum = 0
		for _, v := range [...]int{a, b1, bl, c1, cl, f} {
			s.push(v)
		}
		s.drain()
		if bestLen+delta-s.gainSum < bestLen-s.eps {
			if l := s.length(s.t); l < bestLen {
				bestLen = l
				copy(best, s.t)
				continue
			}
		}
		copy(s.t, best)
		for q, v := range s.t {
			s.pos[v] = q
		}
	}
	copy(s.t, best)
	for q, v := range s.t {
		s.pos[v] = q
	}
}
