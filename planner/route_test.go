package planner

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// routeInstance makes m stops scattered in a box of about ±span km around a
// base in Beijing.
func routeInstance(seed uint64, m int, span float64) (Point, []Point) {
	rng := rand.New(rand.NewPCG(seed, 7))
	base := Point{Lat: 39.9, Lng: 116.4}
	stops := make([]Point, m)
	for i := range stops {
		stops[i] = Point{
			Lat: base.Lat + (rng.Float64()*2-1)*span/111.2,
			Lng: base.Lng + (rng.Float64()*2-1)*span/85.3,
		}
	}
	return base, stops
}

// routeTestNN is the plain nearest-neighbour order from the base (ties by index).
func routeTestNN(base Point, stops []Point) []int {
	left := make([]bool, len(stops))
	order := make([]int, 0, len(stops))
	cur := base
	for range stops {
		best, bd := -1, math.Inf(1)
		for i, p := range stops {
			if d := HaversineKm(cur, p); !left[i] && d < bd {
				best, bd = i, d
			}
		}
		left[best] = true
		order = append(order, best)
		cur = stops[best]
	}
	return order
}

func routeTestIsPerm(order []int, m int) bool {
	if len(order) != m {
		return false
	}
	seen := make([]bool, m)
	for _, i := range order {
		if i < 0 || i >= m || seen[i] {
			return false
		}
		seen[i] = true
	}
	return true
}

// bruteForceKm is the optimal tour length over all orders (m ≤ 8).
func bruteForceKm(base Point, stops []Point) float64 {
	order := make([]int, len(stops))
	for i := range order {
		order[i] = i
	}
	best := math.Inf(1)
	var rec func(k int)
	rec = func(k int) {
		if k == len(order) {
			best = min(best, TourKm(base, stops, order))
			return
		}
		for i := k; i < len(order); i++ {
			order[k], order[i] = order[i], order[k]
			rec(k + 1)
			order[k], order[i] = order[i], order[k]
		}
	}
	rec(0)
	return best
}

func TestHaversineKm(t *testing.T) {
	beijing := Point{39.9042, 116.4074}
	shanghai := Point{31.2304, 121.4737}
	cases := []struct {
		name    string
		a, b    Point
		want    float64
		tolerKm float64
	}{
		{"Beijing-Shanghai", beijing, shanghai, 1067, 5},
		{"zero", beijing, beijing, 0, 0},
		{"one degree of latitude", Point{0, 0}, Point{1, 0}, 2 * math.Pi * 6371.0088 / 360, 1e-9},
		{"one degree of longitude at the equator", Point{0, 10}, Point{0, 11}, 2 * math.Pi * 6371.0088 / 360, 1e-9},
		{"antipodes", Point{0, 0}, Point{0, 180}, math.Pi * 6371.0088, 1e-6},
		{"poles", Point{90, 0}, Point{-90, 0}, math.Pi * 6371.0088, 1e-6},
		{"across the date line", Point{0, 179.5}, Point{0, -179.5}, 2 * math.Pi * 6371.0088 / 360, 1e-9},
	}
	for _, c := range cases {
		got := HaversineKm(c.a, c.b)
		if math.Abs(got-c.want) > c.tolerKm {
			t.Errorf("%s: %v km, want %v ± %v", c.name, got, c.want, c.tolerKm)
		}
		if back := HaversineKm(c.b, c.a); back != got {
			t.Errorf("%s: not symmetric: %v vs %v", c.name, got, back)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		a := Point{rng.Float64()*180 - 90, rng.Float64()*360 - 180}
		b := Point{rng.Float64()*180 - 90, rng.Float64()*360 - 180}
		c := Point{rng.Float64()*180 - 90, rng.Float64()*360 - 180}
		ab, ba := HaversineKm(a, b), HaversineKm(b, a)
		if ab != ba || ab < 0 || ab > math.Pi*6371.0088+1e-9 {
			t.Fatalf("%v %v: %v / %v", a, b, ab, ba)
		}
		if ab > HaversineKm(a, c)+HaversineKm(c, b)+1e-9 {
			t.Fatalf("triangle inequality broken for %v %v %v", a, b, c)
		}
	}
}

// TestHaversineAccuracy compares HaversineKm (which uses polynomials for
// short arcs) with the textbook formula on math.Sin and math.Asin, from
// metres to half the globe.
func TestHaversineAccuracy(t *testing.T) {
	const rad = math.Pi / 180
	ref := func(a, b Point) float64 {
		s := math.Sin((b.Lat - a.Lat) * rad / 2)
		u := math.Sin((b.Lng - a.Lng) * rad / 2)
		h := s*s + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*u*u
		return 2 * 6371.0088 * math.Asin(math.Sqrt(min(h, 1)))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	worst := 0.0
	for range 200000 {
		a := Point{rng.Float64()*170 - 85, rng.Float64()*360 - 180}
		spread := math.Pow(10, -5+7*rng.Float64()) // 1e-5 to 100 degrees
		b := Point{a.Lat + (rng.Float64()*2-1)*spread, a.Lng + (rng.Float64()*2-1)*spread}
		got, want := HaversineKm(a, b), ref(a, b)
		if want == 0 {
			continue
		}
		worst = max(worst, math.Abs(got-want)/want)
	}
	t.Logf("worst relative error against math.Sin/math.Asin: %.2g", worst)
	if worst > 1e-14 {
		t.Errorf("worst relative error %g", worst)
	}
	for _, x := range []float64{0, 1e-300, 1e-9, 0.01, 0.03, 0.0499, 0.05, -0.05, 0.0500001} {
		if got, want := smallSin(x), math.Sin(x); math.Abs(got-want) > 4e-16*math.Abs(want) {
			t.Errorf("smallSin(%g) = %v, math.Sin %v", x, got, want)
		}
		if x >= 0 {
			if got, want := smallAsin(x), math.Asin(x); math.Abs(got-want) > 4e-16*want {
				t.Errorf("smallAsin(%g) = %v, math.Asin %v", x, got, want)
			}
		}
	}
	if !math.IsNaN(smallSin(math.NaN())) || !math.IsNaN(smallAsin(math.NaN())) {
		t.Error("NaN not propagated")
	}
}

func TestTourKm(t *testing.T) {
	base := Point{0, 0}
	stops := []Point{{0, 1}, {0, 2}}
	if got := TourKm(base, stops, nil); got != 0 {
		t.Errorf("empty tour: %v", got)
	}
	deg := HaversineKm(Point{0, 0}, Point{0, 1})
	if got := TourKm(base, stops, []int{1}); math.Abs(got-4*deg) > 1e-9 {
		t.Errorf("base→2→base: %v, want %v", got, 4*deg)
	}
	if got := TourKm(base, stops, []int{1, 0}); math.Abs(got-4*deg) > 1e-9 {
		t.Errorf("base→2→1→base: %v, want %v", got, 4*deg)
	}
}

func TestRoute(t *testing.T) {
	deg := HaversineKm(Point{0, 0}, Point{0, 1})
	rb, rs := routeInstance(42, 25, 20)
	rInit := rand.New(rand.NewPCG(42, 1)).Perm(len(rs))
	cases := []struct {
		name    string
		base    Point
		stops   []Point
		initial []int
		wantKm  float64 // optimum if known, else NaN
		check   func(t *testing.T, order []int)
	}{
		{name: "empty", base: Point{30, 120}, wantKm: 0},
		{name: "empty with empty initial", base: Point{30, 120}, initial: []int{}, wantKm: 0},
		{name: "one stop", base: Point{0, 0}, stops: []Point{{0, 1}}, wantKm: 2 * deg},
		{name: "two stops", base: Point{0, 0}, stops: []Point{{0, 2}, {0, 1}}, wantKm: 4 * deg},
		{name: "stop at the base", base: Point{0, 0}, stops: []Point{{0, 0}, {0, 1}}, wantKm: 2 * deg},
		{name: "duplicate stops", base: Point{0, 0}, stops: []Point{{0, 1}, {0, 1}, {0, 1}}, wantKm: 2 * deg},
		{
			name: "collinear on one side", base: Point{0, 0},
			stops:  []Point{{0, 3}, {0, 1}, {0, 5}, {0, 2}, {0, 4}},
			wantKm: 10 * deg,
			check: func(t *testing.T, order []int) {
				// 1 2 3 4 5 out and straight back, in either direction.
				up, down := []int{1, 3, 0, 4, 2}, []int{2, 4, 0, 3, 1}
				if !slices.Equal(order, up) && !slices.Equal(order, down) {
					t.Errorf("order %v, want %v or %v", order, up, down)
				}
			},
		},
		{
			name: "collinear on both sides", base: Point{0, 0},
			stops:   []Point{{0, -2}, {0, 1}, {0, 3}, {0, -1}, {0, 2}, {0, -3}},
			initial: []int{0, 1, 2, 3, 4, 5},
			wantKm:  12 * deg,
		},
		{
			name: "collinear on a meridian", base: Point{10, 100},
			stops:  []Point{{14, 100}, {11, 100}, {13, 100}, {12, 100}},
			wantKm: 8 * deg,
		},
		{
			name: "random 25 stops with an initial order", base: rb, stops: rs, initial: rInit,
			wantKm: math.NaN(),
			check: func(t *testing.T, order []int) {
				km := TourKm(rb, rs, order)
				if nn := TourKm(rb, rs, routeTestNN(rb, rs)); km > nn*(1+1e-12) {
					t.Errorf("%v km, longer than nearest neighbour %v", km, nn)
				}
				if in := TourKm(rb, rs, rInit); km > in {
					t.Errorf("%v km, longer than the initial order %v", km, in)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			order, km := Route(c.base, c.stops, c.initial)
			if !routeTestIsPerm(order, len(c.stops)) || order == nil {
				t.Fatalf("order %v is not a permutation of %d stops", order, len(c.stops))
			}
			if got := TourKm(c.base, c.stops, order); got != km {
				t.Errorf("km %v, TourKm of the order %v", km, got)
			}
			if !math.IsNaN(c.wantKm) && math.Abs(km-c.wantKm) > 1e-9 {
				t.Errorf("km %v, want %v (order %v)", km, c.wantKm, order)
			}
			if c.check != nil {
				c.check(t, order)
			}
			order2, km2 := Route(c.base, c.stops, c.initial)
			if !slices.Equal(order, order2) || km != km2 {
				t.Errorf("not deterministic: %v %v, then %v %v", order, km, order2, km2)
			}
		})
	}
}

func TestRouteIgnoresBadInitial(t *testing.T) {
	base, stops := routeInstance(3, 12, 10)
	want, wantKm := Route(base, stops, nil)
	for _, bad := range [][]int{{0, 1}, {0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {-1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}} {
		got, km := Route(base, stops, bad)
		if !slices.Equal(got, want) || km != wantKm {
			t.Errorf("initial %v: %v %v, want %v %v", bad, got, km, want, wantKm)
		}
	}
}

func TestRouteDegenerate(t *testing.T) {
	nan := math.NaN()
	for _, stops := range [][]Point{
		{{nan, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}},
		{{math.Inf(1), 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}},
		{{0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}},
	} {
		order, _ := Route(Point{0, 0}, stops, []int{5 - 1, 3, 2, 1, 0}[:min(5, len(stops))])
		if !routeTestIsPerm(order, len(stops)) {
			t.Errorf("%v: order %v", stops, order)
		}
	}
}

// TestRouteNeverLongerThanInitial is the property: for any permutation as
// initial, Route's tour is no longer, and no longer than nearest neighbour.
func TestRouteNeverLongerThanInitial(t *testing.T) {
	for seed := uint64(1); seed <= 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		m := 1 + rng.IntN(60)
		base, stops := routeInstance(seed, m, 1+rng.Float64()*50)
		initial := rng.Perm(m)
		if seed%4 == 0 {
			// A good initial order: Route's own result, reversed.
			initial, _ = Route(base, stops, nil)
			slices.Reverse(initial)
		}
		order, km := Route(base, stops, initial)
		if !routeTestIsPerm(order, m) {
			t.Fatalf("seed %d: order %v is not a permutation", seed, order)
		}
		if in := TourKm(base, stops, initial); km > in {
			t.Fatalf("seed %d (m=%d): %v km, longer than the initial %v", seed, m, km, in)
		}
		// The same edges summed in another order may differ in the last bit.
		if nn := TourKm(base, stops, routeTestNN(base, stops)); km > nn*(1+1e-12) {
			t.Fatalf("seed %d (m=%d): %v km, longer than nearest neighbour %v", seed, m, km, nn)
		}
	}
}

// TestRouteBruteForce compares Route with the optimum over all orders for up
// to 8 stops.
func TestRouteBruteForce(t *testing.T) {
	total, optimal := 0, 0
	worst := 0.0
	for m := 1; m <= 8; m++ {
		runs := 60
		if m == 8 {
			runs = 20
		}
		for r := 0; r < runs; r++ {
			seed := uint64(1000*m + r)
			span := []float64{2, 20, 80}[r%3]
			base, stops := routeInstance(seed, m, span)
			_, km := Route(base, stops, nil)
			opt := bruteForceKm(base, stops)
			gap := (km - opt) / opt
			if km < opt-1e-9 {
				t.Fatalf("m=%d seed %d: %v km below the brute-force optimum %v", m, seed, km, opt)
			}
			if gap > 0.10 {
				t.Errorf("m=%d seed %d: gap %.2f%% > 10%%", m, seed, 100*gap)
			}
			total++
			if gap <= 1e-9 {
				optimal++
			}
			worst = max(worst, gap)
		}
	}
	t.Logf("brute force, 1-8 stops: optimal in %d of %d instances (%.1f%%), worst gap %.2f%%",
		optimal, total, 100*float64(optimal)/float64(total), 100*worst)
}

// TestSolveTour checks the abstract core on random Euclidean instances,
// including the rule that it never returns a tour longer than the initial.
func TestSolveTour(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 4, 5, 6, 7, 9, 17, 50, 200} {
		for _, kicks := range []int{0, 5} {
			rng := rand.New(rand.NewPCG(uint64(n), uint64(kicks)))
			xs, ys := make([]float64, n), make([]float64, n)
			for i := range xs {
				xs[i], ys[i] = rng.Float64()*100, rng.Float64()*100
			}
			dist := func(i, j int) float64 { return math.Hypot(xs[i]-xs[j], ys[i]-ys[j]) }
			initial := rng.Perm(n)
			tour := solveTourWith(n, dist, initial, solveTourOpts{kicks: kicks * n, seed: 3})
			if len(tour) != n || (n > 0 && tour[0] != 0) || !routeTestIsPerm(tour, n) {
				t.Fatalf("n=%d: tour %v", n, tour)
			}
			if n > 0 && tspClosedLength(tour, dist) > tspClosedLength(initial, dist)+1e-9 {
				t.Errorf("n=%d: longer than the initial tour", n)
			}
		}
	}
}

func benchmarkRoute(b *testing.B, m int) {
	const instances = 64
	bases, stops := make([]Point, instances), make([][]Point, instances)
	for i := range bases {
		bases[i], stops[i] = routeInstance(uint64(i+1), m, 15)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Route(bases[i%instances], stops[i%instances], nil)
	}
}

func BenchmarkRoute8(b *testing.B)  { benchmarkRoute(b, 8) }
func BenchmarkRoute20(b *testing.B) { benchmarkRoute(b, 20) }
func BenchmarkRoute60(b *testing.B) { benchmarkRoute(b, 60) }

// TestSolveTourLarge covers the path without a distance matrix (n above
// routeMatrixMax), where distances are computed on demand.
func TestSolveTourLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large instance")
	}
	n := routeMatrixMax + 100
	rng := rand.New(rand.NewPCG(11, 12))
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i], ys[i] = rng.Float64()*1000, rng.Float64()*1000
	}
	dist := func(i, j int) float64 { return math.Hypot(xs[i]-xs[j], ys[i]-ys[j]) }
	initial := rng.Perm(n)
	tour := solveTour(n, dist, initial)
	if !routeTestIsPerm(tour, n) || tour[0] != 0 {
		t.Fatal("not a tour from node 0")
	}
	s := newTourSolver(n, nil, dist, solveTourOpts{})
	got, nn := tspClosedLength(tour, dist), s.length(s.nearestNeighbour())
	if got > nn || got > tspClosedLength(initial, dist) {
		t.Errorf("length %v, nearest neighbour %v", got, nn)
	}
	t.Logf("n=%d: %.0f, nearest neighbour %.0f (%.1f%% shorter)", n, got, nn, 100*(nn-got)/nn)
}
