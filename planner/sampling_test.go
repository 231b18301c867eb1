package planner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPRNRangeAndDeterminism(t *testing.T) {
	key := []byte("year-key-2025")
	seen := map[float64]string{}
	var sum float64
	const n = 20000
	for i := 0; i < n; i++ {
		uscc := fmt.Sprintf("91330000%010d", i)
		u := PRN(key, "", uscc)
		if !(u >= 0 && u < 1) {
			t.Fatalf("PRN(%s) = %v, outside [0,1)", uscc, u)
		}
		if again := PRN(key, "", uscc); again != u {
			t.Fatalf("PRN(%s) not deterministic: %v then %v", uscc, u, again)
		}
		if prev, dup := seen[u]; dup {
			t.Fatalf("PRN(%s) = PRN(%s) = %v", uscc, prev, u)
		}
		seen[u] = uscc
		sum += u
	}
	// Uniform on [0,1): the mean of n draws has sd 1/sqrt(12n) ≈ 0.002.
	if mean := sum / n; math.Abs(mean-0.5) > 0.01 {
		t.Errorf("mean PRN = %v, want ≈ 0.5", mean)
	}
}

func TestPRNDefinition(t *testing.T) {
	cases := []struct {
		key        string
		salt, uscc string
		msg        string
	}{
		{"k", "", "91330100MA2B3C4D5E", "91330100MA2B3C4D5E"},
		{"k", "42", "91330100MA2B3C4D5E", "42/91330100MA2B3C4D5E"},
		{"", "7", "X", "7/X"},
	}
	for _, c := range cases {
		mac := hmac.New(sha256.New, []byte(c.key))
		mac.Write([]byte(c.msg))
		x := binary.BigEndian.Uint64(mac.Sum(nil)[:8])
		want := float64(x) / math.Pow(2, 64)
		got := PRN([]byte(c.key), c.salt, c.uscc)
		if got != want {
			t.Errorf("PRN(%q,%q,%q) = %v, want %v", c.key, c.salt, c.uscc, got, want)
		}
	}
	// x close to 2^64 rounds to 1: the clamp keeps u below 1.
	if prnMax >= 1 || float64(uint64(math.MaxUint64))*0x1p-64 != 1 || prnMax != math.Nextafter(1, 0) {
		t.Error("clamp constant wrong")
	}
	// Different salts and different keys give different numbers.
	u := "91330100MA2B3C4D5E"
	a, b, c := PRN([]byte("k"), "", u), PRN([]byte("k"), "1", u), PRN([]byte("k2"), "", u)
	if a == b || a == c || b == c {
		t.Errorf("PRN does not depend on salt/key: %v %v %v", a, b, c)
	}
}

func TestNextShift(t *testing.T) {
	cases := []struct{ prev, f, want float64 }{
		{0, 0.1, 0.1},
		{0.25, 0.5, 0.75},
		{0.75, 0.5, 0.25},
		{0.9, 0.1, 0},
		{0.5, 1.5, 0},
		{0.2, -0.3, 0.9},
		{-1e-20, 0, 0},
	}
	for _, c := range cases {
		got := NextShift(c.prev, c.f)
		if math.Abs(got-c.want) > 1e-12 || got < 0 || got >= 1 {
			t.Errorf("NextShift(%v, %v) = %v, want %v", c.prev, c.f, got, c.want)
		}
	}
}

func TestSampleFrameHash(t *testing.T) {
	frame := []Candidate{{"B", 2}, {"A", 0.5}, {"C", 0}, {"D", 1e21}}
	canon := "A\t0.5\nB\t2\nC\t0\nD\t1e+21\n"
	sum := sha256.Sum256([]byte(canon))
	want := hex.EncodeToString(sum[:])
	if got := FrameHash(frame); got != want {
		t.Fatalf("FrameHash = %s, want %s", got, want)
	}
	shuffled := []Candidate{frame[3], frame[2], frame[0], frame[1]}
	if FrameHash(shuffled) != want {
		t.Error("FrameHash depends on frame order")
	}
	if frame[0].Key != "B" {
		t.Error("FrameHash reordered its argument")
	}
	changed := slices.Clone(frame)
	changed[0].Weight = 2.0000001
	if FrameHash(changed) == want {
		t.Error("FrameHash ignores a weight change")
	}
	empty := sha256.Sum256(nil)
	if FrameHash(nil) != hex.EncodeToString(empty[:]) {
		t.Error("FrameHash of an empty frame is not the hash of empty text")
	}
	// Many candidates with more distinct weights than the formatting cache.
	var big []Candidate
	var sb strings.Builder
	for i := 0; i < 5000; i++ {
		c := Candidate{fmt.Sprintf("K%05d", i), float64(i%13) / 3}
		big = append(big, c)
		sb.WriteString(c.Key + "\t" + strconv.FormatFloat(c.Weight, 'g', -1, 64) + "\n")
	}
	bs := sha256.Sum256([]byte(sb.String()))
	if FrameHash(big) != hex.EncodeToString(bs[:]) {
		t.Error("FrameHash of a large frame differs from its canonical text")
	}
}

func frameOf(weights ...float64) []Candidate {
	f := make([]Candidate, len(weights))
	for i, w := range weights {
		f[i] = Candidate{Key: fmt.Sprintf("K%03d", i), Weight: w}
	}
	return f
}

func TestInclusionProbabilities(t *testing.T) {
	cases := []struct {
		name  string
		frame []Candidate
		n     int
		want  []float64
	}{
		{"equal weights", frameOf(1, 1, 1, 1), 2, []float64{0.5, 0.5, 0.5, 0.5}},
		{"proportional", frameOf(1, 2, 1, 4), 2, []float64{0.25, 0.5, 0.25, 1}},
		// λ = 2·100/103 ≥ 1: certainty; then n=1 over weights 1,1,1.
		{"one huge weight", frameOf(100, 1, 1, 1), 2, []float64{1, 1.0 / 3, 1.0 / 3, 1.0 / 3}},
		// After the first certainty, λ of the second reaches 1 too.
		{"cascading certainties", frameOf(10, 5, 1, 1, 1), 3, []float64{1, 1, 1.0 / 3, 1.0 / 3, 1.0 / 3}},
		{"key list weight 0", frameOf(0, 1, 1, 2), 2, []float64{1, 0.25, 0.25, 0.5}},
		{"keys use up n", frameOf(0, 0, 1, 1), 1, []float64{1, 1, 0, 0}},
		{"n beyond frame", frameOf(1, 2, 3), 7, []float64{1, 1, 1}},
		{"n zero", frameOf(1, 2, 3), 0, []float64{0, 0, 0}},
		{"n negative", frameOf(1, 2), -3, []float64{0, 0}},
		{"empty frame", nil, 3, []float64{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := InclusionProbabilities(c.frame, c.n)
			if len(got) != len(c.want) {
				t.Fatalf("len = %d, want %d", len(got), len(c.want))
			}
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-12 {
					t.Errorf("π = %v, want %v", got, c.want)
					break
				}
			}
		})
	}
}

func TestInclusionProbabilitiesProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 500; trial++ {
		size := 1 + rng.IntN(60)
		frame := make([]Candidate, size)
		keys := 0
		for i := range frame {
			w := []float64{1, 2, 4, 0.3, 50}[rng.IntN(5)]
			if rng.IntN(15) == 0 {
				w = 0
				keys++
			}
			frame[i] = Candidate{Key: fmt.Sprintf("B%04d", rng.IntN(1e4)*100+i), Weight: w}
		}
		n := rng.IntN(size + 3)
		pi := InclusionProbabilities(frame, n)
		want := float64(max(min(n, size), keys))
		var sum float64
		for i, p := range pi {
			if !(p >= 0 && p <= 1) {
				t.Fatalf("trial %d: π[%d] = %v outside [0,1]", trial, i, p)
			}
			if frame[i].Weight == 0 && p != 1 {
				t.Fatalf("trial %d: key member has π = %v", trial, p)
			}
			sum += p
		}
		if math.Abs(sum-want) > 1e-9 {
			t.Fatalf("trial %d: Σπ = %v, want %v (n=%d, size=%d, keys=%d)", trial, sum, want, n, size, keys)
		}
		// π grows with the weight among non-key members.
		for i := range frame {
			for j := range frame {
				if frame[i].Weight > 0 && frame[i].Weight < frame[j].Weight && pi[i] > pi[j]+1e-12 {
					t.Fatalf("trial %d: π not monotone in weight", trial)
				}
			}
		}
		// Order of the frame does not matter.
		perm := rng.Perm(size)
		shuffled := make([]Candidate, size)
		for i, p := range perm {
			shuffled[i] = frame[p]
		}
		pi2 := InclusionProbabilities(shuffled, n)
		for i, p := range perm {
			if pi2[i] != pi[p] {
				t.Fatalf("trial %d: π depends on frame order", trial)
			}
		}
	}
}

func TestDrawSampleProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 500; trial++ {
		size := 1 + rng.IntN(80)
		frame := make([]Candidate, size)
		var keys []string
		for i := range frame {
			w := []float64{1, 2, 4, 100}[rng.IntN(4)]
			if rng.IntN(12) == 0 {
				w = 0
			}
			frame[i] = Candidate{Key: fmt.Sprintf("B%05d", i*7919%100000), Weight: w}
			if w == 0 {
				keys = append(keys, frame[i].Key)
			}
		}
		n := rng.IntN(size + 2)
		yearKey := []byte(fmt.Sprint("key", trial))
		u := func(k string) float64 { return PRN(yearKey, "", k) }
		shift := rng.Float64()
		got := DrawSample(frame, n, shift, u)
		want := max(min(n, size), len(keys))
		if len(got) != want {
			t.Fatalf("trial %d: drew %d, want %d", trial, len(got), want)
		}
		seen := map[string]bool{}
		for _, k := range got {
			if seen[k] {
				t.Fatalf("trial %d: %s drawn twice", trial, k)
			}
			seen[k] = true
		}
		// Certainties (π=1) come first, sorted by key; key members always.
		pi := InclusionProbabilities(frame, n)
		var certain []string
		for i, p := range pi {
			if p == 1 {
				certain = append(certain, frame[i].Key)
			}
		}
		slices.Sort(certain)
		if len(certain) > len(got) || !slices.Equal(got[:len(certain)], certain) {
			t.Fatalf("trial %d: result %v does not start with certainties %v", trial, got, certain)
		}
		for _, k := range keys {
			if !seen[k] {
				t.Fatalf("trial %d: key member %s not drawn", trial, k)
			}
		}
		// Frame order does not matter.
		shuffled := slices.Clone(frame)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if again := DrawSample(shuffled, n, shift, u); !slices.Equal(again, got) {
			t.Fatalf("trial %d: result depends on frame order", trial)
		}
	}
}

func TestDrawSampleRanks(t *testing.T) {
	// With fixed u the result is the n smallest ((u+s) mod 1)/λ.
	frame := frameOf(1, 1, 2, 1)
	u := map[string]float64{"K000": 0.9, "K001": 0.05, "K002": 0.3, "K003": 0.6}
	uf := func(k string) float64 { return u[k] }
	// λ = 0.4, 0.4, 0.8, 0.4; s=0: ranks 2.25, 0.125, 0.375, 1.5.
	if got := DrawSample(frame, 2, 0, uf); !slices.Equal(got, []string{"K001", "K002"}) {
		t.Errorf("s=0: %v", got)
	}
	// Ties on rank are broken by key; the shift rotates who comes first.
	flat := frameOf(1, 1, 1, 1)
	v := map[string]float64{"K000": 0.5, "K001": 0.125, "K002": 0.125, "K003": 0.75}
	vf := func(k string) float64 { return v[k] }
	if got := DrawSample(flat, 1, 0, vf); !slices.Equal(got, []string{"K001"}) {
		t.Errorf("tie: %v", got)
	}
	if got := DrawSample(flat, 2, 0, vf); !slices.Equal(got, []string{"K001", "K002"}) {
		t.Errorf("tie, n=2: %v", got)
	}
	if got := DrawSample(flat, 2, 0.5, vf); !slices.Equal(got, []string{"K000", "K003"}) {
		t.Errorf("s=0.5: %v", got)
	}
	// λ(K002) = 3·2/5 ≥ 1: a certainty, listed first.
	if got := DrawSample(frame, 3, 0, uf); !slices.Equal(got, []string{"K002", "K001", "K003"}) {
		t.Errorf("certainty first: %v", got)
	}
	if got := DrawSample(frame, 0, 0.2, uf); len(got) != 0 {
		t.Errorf("n=0: %v", got)
	}
}

// chiSquareCritical is the upper α quantile of χ² with df degrees of freedom
// by the Wilson–Hilferty approximation; z is the standard normal upper α
// quantile.
func chiSquareCritical(df int, z float64) float64 {
	k := float64(df)
	a := 2 / (9 * k)
	return k * math.Pow(1-a+z*math.Sqrt(a), 3)
}

// TestSampleChiSquare checks that each business's drawn frequency matches its
// inclusion probability. Sequential Poisson sampling with fixed n is only
// approximately πps, and draws without replacement make counts less variable
// than Pearson's statistic assumes (Var = Rπ(1−π) < Rπ), so comparing
// Σ(O−E)²/E with the χ²(df = N−1) critical value at α = 0.001 is generous:
// it tolerates SPS's small bias and still rejects a wrong π vector, as the
// sanity sub-test shows. The year keys are a fixed list, so the test is
// deterministic.
func TestSampleChiSquare(t *testing.T) {
	const reps = 4000
	const n = 6
	var frame []Candidate
	weights := DefaultPolicy().RiskWeights
	for i := 0; i < 30; i++ {
		risk := []string{RiskRed, RiskYellow, RiskGreen, RiskGreen, RiskYellow}[i%5]
		frame = append(frame, Candidate{Key: fmt.Sprintf("913301%012d", i*104729), Weight: weights[risk]})
	}
	pi := InclusionProbabilities(frame, n)
	counts := make([]float64, len(frame))
	index := map[string]int{}
	for i, c := range frame {
		index[c.Key] = i
	}
	for r := 0; r < reps; r++ {
		yearKey := []byte(fmt.Sprintf("chi-square-year-key-%04d", r))
		shift := NextShift(0, float64(r)*0.6180339887498949)
		for _, k := range DrawSample(frame, n, shift, func(k string) float64 { return PRN(yearKey, "", k) }) {
			counts[index[k]]++
		}
	}
	stat := func(p []float64) float64 {
		var s float64
		for i := range counts {
			e := reps * p[i]
			s += (counts[i] - e) * (counts[i] - e) / e
		}
		return s
	}
	crit := chiSquareCritical(len(frame)-1, 3.090232) // α = 0.001
	got := stat(pi)
	t.Logf("χ² = %.2f, critical(df=%d, α=0.001) = %.2f", got, len(frame)-1, crit)
	if got > crit {
		t.Errorf("inclusion frequencies do not match π: χ² = %.2f > %.2f", got, crit)
	}

	t.Run("wrong probabilities rejected", func(t *testing.T) {
		// Ignoring the risk weights (π = n/N for all) must be rejected.
		flat := make([]float64, len(frame))
		for i := range flat {
			flat[i] = float64(n) / float64(len(frame))
		}
		s := stat(flat)
		t.Logf("flat π: χ² = %.2f", s)
		if s <= crit {
			t.Errorf("flat π accepted: χ² = %.2f ≤ %.2f", s, crit)
		}
		// A subtler error: the red weight taken as 3 instead of 4.
		wrong := slices.Clone(frame)
		for i := range wrong {
			if wrong[i].Weight == 4 {
				wrong[i].Weight = 3
			}
		}
		s = stat(InclusionProbabilities(wrong, n))
		t.Logf("red weight 3: χ² = %.2f", s)
		if s <= crit {
			t.Errorf("π with red weight 3 accepted: χ² = %.2f ≤ %.2f", s, crit)
		}
	})
}

func TestVerifyTargetDraw(t *testing.T) {
	yearKey := []byte("the 2025 year key")
	var frame []Candidate
	for i := 0; i < 40; i++ {
		w := []float64{1, 2, 4}[i%3]
		if i == 7 {
			w = 0
		}
		frame = append(frame, Candidate{Key: fmt.Sprintf("91330%013d", i), Weight: w})
	}
	mk := func(salt string) Draw {
		u := func(k string) float64 { return PRN(yearKey, salt, k) }
		return Draw{
			Kind: DrawTargets, DemandID: 9, Frame: frame, FrameHash: FrameHash(frame),
			N: 8, Shift: 0.37, Salt: salt,
			Excluded: []Exclusion{{Key: "91330999999999999X", Reason: ReasonCooldown}},
			Result:   DrawSample(frame, 8, 0.37, u),
		}
	}
	for _, salt := range []string{"", "9"} {
		d := mk(salt)
		if ok, re, why := VerifyTargetDraw(d, yearKey); !ok || !slices.Equal(re, d.Result) {
			t.Fatalf("salt %q: genuine draw rejected: %s", salt, why)
		}
	}

	cases := []struct {
		name   string
		tamper func(d *Draw)
		key    []byte
		reason string
	}{
		{"swapped result member", func(d *Draw) {
			for _, c := range d.Frame {
				if !slices.Contains(d.Result, c.Key) {
					d.Result = slices.Clone(d.Result)
					d.Result[len(d.Result)-1] = c.Key
					return
				}
			}
		}, yearKey, "result differs"},
		{"reordered result", func(d *Draw) {
			d.Result = slices.Clone(d.Result)
			n := len(d.Result)
			d.Result[n-1], d.Result[n-2] = d.Result[n-2], d.Result[n-1]
		}, yearKey, "result differs"},
		{"dropped result", func(d *Draw) { d.Result = d.Result[:len(d.Result)-1] }, yearKey, "keys"},
		{"weight changed", func(d *Draw) {
			d.Frame = slices.Clone(d.Frame)
			d.Frame[3].Weight = 40
		}, yearKey, "frame hash"},
		{"weight changed and rehashed", func(d *Draw) {
			d.Frame = slices.Clone(d.Frame)
			for i := range d.Frame {
				if d.Frame[i].Weight == 1 {
					d.Frame[i].Weight = 1000
				}
			}
			d.FrameHash = FrameHash(d.Frame)
		}, yearKey, "result differs"},
		{"wrong year key", func(d *Draw) {}, []byte("another key"), "result differs"},
		{"wrong salt", func(d *Draw) { d.Salt = "10" }, yearKey, "result differs"},
		{"wrong shift", func(d *Draw) { d.Shift = 0.5 }, yearKey, "result differs"},
		{"excluded in frame", func(d *Draw) {
			d.Excluded = append(d.Excluded, Exclusion{Key: d.Frame[0].Key, Reason: ReasonLeaveAlone})
		}, yearKey, "excluded"},
		{"duplicate key", func(d *Draw) {
			d.Frame = append(slices.Clone(d.Frame), d.Frame[0])
			d.FrameHash = FrameHash(d.Frame)
		}, yearKey, "twice"},
		{"inspector draw", func(d *Draw) { d.Kind = DrawInspectors }, yearKey, "not a target draw"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mk("9")
			c.tamper(&d)
			ok, _, why := VerifyTargetDraw(d, c.key)
			if ok {
				t.Fatal("tampered draw verified")
			}
			if !strings.Contains(why, c.reason) {
				t.Errorf("reason %q, want it to mention %q", why, c.reason)
			}
		})
	}
}
