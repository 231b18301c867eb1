package planner

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// The test vectors of docs/draws.md: inputs and expected outputs of every
// function an outside verifier must reproduce, as JSON that any language can
// read. TestDrawVectors checks the implementation against them;
// `go test ./planner -run TestDrawVectors -update` writes them anew (only
// when the specification itself changes — a diff in them is a change of the
// public contract).

var updateVectors = flag.Bool("update", false, "rewrite planner/testdata/draw_vectors.json from the implementation")

const vectorsFile = "testdata/draw_vectors.json"

// f64 is a float64 written both readably and exactly (its IEEE 754 bits).
type f64 struct {
	Value float64 `json:"value"`
	Bits  string  `json:"bits"`
}

func mkf64(x float64) f64 { return f64{Value: x, Bits: strconv.FormatUint(math.Float64bits(x), 16)} }

type candidateJSON struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
}

type drawVectors struct {
	Comment string `json:"comment"`
	PRN     []struct {
		YearKey string `json:"year_key_hex"`
		Salt    string `json:"salt"`
		USCC    string `json:"uscc"`
		U       f64    `json:"u"`
	} `json:"prn"`
	FrameHash []struct {
		Frame []candidateJSON `json:"frame"`
		Hash  string          `json:"sha256_hex"`
	} `json:"frame_hash"`
	Inclusion []struct {
		Frame []candidateJSON `json:"frame"`
		N     int             `json:"n"`
		Pi    []f64           `json:"pi"`
	} `json:"inclusion"`
	NextShift []struct {
		Prev     float64 `json:"prev"`
		Fraction float64 `json:"fraction"`
		Next     f64     `json:"next"`
	} `json:"next_shift"`
	TargetDraws      []targetVector `json:"target_draws"`
	InspectorStreams []struct {
		Seed     string   `json:"seed_hex"`
		VisitKey string   `json:"visit_key"`
		Uint64   []string `json:"first_uint64_hex"`
		Float64  []f64    `json:"first_float64_after"`
	} `json:"inspector_streams"`
	InspectorDraws []struct {
		Seed      string          `json:"seed_hex"`
		VisitKey  string          `json:"visit_key"`
		Steps     []stepJSON      `json:"steps"`
		StepsHash string          `json:"steps_sha256_hex"`
		Picks     []string        `json:"picks"`
		Comment   string          `json:"comment,omitempty"`
		_         []candidateJSON // keep the shape readable
	} `json:"inspector_draws"`
	RepairSeeds []struct {
		YearKey  string `json:"year_key_hex"`
		RepairID int64  `json:"repair_id"`
		Seed     string `json:"seed_hex"`
	} `json:"repair_seeds"`
	Commitments []commitmentVector `json:"commitments"`
}

// commitmentVector is a plan's frame commitment and the shift its witness
// value gives (docs/draws.md §3.8).
type commitmentVector struct {
	PlanID     int64           `json:"plan_id"`
	Year       int             `json:"year"`
	Rotation   float64         `json:"rotation"`
	Jitter     float64         `json:"jitter"`
	Source     string          `json:"source"`
	Draws      []committedJSON `json:"draws"`
	Text       string          `json:"text"`
	Commitment string          `json:"commitment_sha256_hex"`
	Value      string          `json:"value"`
	R          f64             `json:"r"`
	Shift      f64             `json:"shift"`
}

type committedJSON struct {
	DemandID  int64    `json:"demand_id"`
	FrameHash string   `json:"frame_sha256_hex"`
	N         int      `json:"n"`
	Certain   []string `json:"certain"`
}

type targetVector struct {
	YearKey string          `json:"year_key_hex"`
	Salt    string          `json:"salt"`
	Certain []string        `json:"certain"`
	Frame   []candidateJSON `json:"frame"`
	N       int             `json:"n"`
	Shift   float64         `json:"shift"`
	Result  []string        `json:"result"`
}

type stepJSON struct {
	Need       string          `json:"need"`
	Candidates []candidateJSON `json:"candidates"`
}

func candidates(c []candidateJSON) []Candidate {
	out := make([]Candidate, len(c))
	for i, x := range c {
		out[i] = Candidate{Key: x.Key, Weight: x.Weight}
	}
	return out
}

func cj(c ...Candidate) []candidateJSON {
	out := make([]candidateJSON, len(c))
	for i, x := range c {
		out[i] = candidateJSON{Key: x.Key, Weight: x.Weight}
	}
	return out
}

// vectorInputs are the inputs the vectors cover; the outputs come from the
// implementation when -update is given.
func vectorInputs() drawVectors {
	var v drawVectors
	v.Comment = "Test vectors of docs/draws.md. Floats: value for reading, bits (IEEE 754 binary64, hex) for exact comparison."
	keyA := "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	keyB := hex.EncodeToString([]byte("inspectonce test year key 2026"))
	usccs := []string{"91330922MA2A000017", "91330922MA2A00012X", "91330922MA2A000025", "92330922MA2B99999Y", "913309220000000000"}
	for _, k := range []string{keyA, keyB} {
		for _, salt := range []string{"", "17"} {
			for _, u := range usccs {
				v.PRN = append(v.PRN, struct {
					YearKey string `json:"year_key_hex"`
					Salt    string `json:"salt"`
					USCC    string `json:"uscc"`
					U       f64    `json:"u"`
				}{YearKey: k, Salt: salt, USCC: u})
			}
		}
	}
	frames := [][]Candidate{
		{{"91330922MA2A000017", 4}, {"91330922MA2A00012X", 2}, {"91330922MA2A000025", 1}},
		{{"B", 0.5}, {"A", 1e-05}, {"C", 1234567}, {"D", 0}, {"E", 1.1}},
		{},
	}
	for _, f := range frames {
		v.FrameHash = append(v.FrameHash, struct {
			Frame []candidateJSON `json:"frame"`
			Hash  string          `json:"sha256_hex"`
		}{Frame: cj(f...)})
	}
	mixed := []Candidate{{"A", 4}, {"B", 1}, {"C", 1}, {"D", 1}, {"E", 2}, {"F", 0}, {"G", 1}, {"H", 40}}
	for _, n := range []int{0, 1, 3, 5, 8, 12} {
		v.Inclusion = append(v.Inclusion, struct {
			Frame []candidateJSON `json:"frame"`
			N     int             `json:"n"`
			Pi    []f64           `json:"pi"`
		}{Frame: cj(mixed...), N: n})
	}
	for _, c := range [][2]float64{{0, 0.3}, {0.8, 0.3}, {0.9999999999999999, 0.5}, {0.25, 1}, {0.5, 0.6180339887498949}} {
		v.NextShift = append(v.NextShift, struct {
			Prev     float64 `json:"prev"`
			Fraction float64 `json:"fraction"`
			Next     f64     `json:"next"`
		}{Prev: c[0], Fraction: c[1]})
	}
	pop := []Candidate{}
	for i, u := range []string{"91330922MA2A000017", "91330922MA2A00012X", "91330922MA2A000025", "92330922MA2B99999Y",
		"913309220000000000", "91330922MA2C000011", "91330922MA2C000020", "91330922MA2C00003P", "91330922MA2C00004Y",
		"91330922MA2C000057"} {
		pop = append(pop, Candidate{Key: u, Weight: []float64{4, 2, 1, 1, 2, 4, 1, 1, 2, 1}[i]})
	}
	keyList := append([]Candidate(nil), pop...)
	keyList[2].Weight, keyList[7].Weight = 0, 0
	// The key list as drawn today (§3.2): apart from the frame.
	apart := append(append([]Candidate(nil), pop[:2]...), pop[3:7]...)
	apart = append(apart, pop[8:]...)
	certain := []string{pop[2].Key, pop[7].Key}
	for _, c := range []struct {
		key, salt string
		certain   []string
		frame     []Candidate
		n         int
		shift     float64
	}{
		{keyA, "", nil, pop, 3, 0},
		{keyA, "", nil, pop, 3, 0.37},
		{keyA, "", nil, pop, 3, 0.9999},
		{keyA, "17", nil, pop, 3, 0.37},
		{keyB, "", nil, pop, 6, 0.61},
		{keyB, "", certain, apart, 4, 0.2},
		{keyB, "", certain, apart, 1, 0.2},
		{keyB, "", nil, pop, 20, 0.5},
		// Draws recorded before the key list was taken apart: weight 0 in
		// the frame, drawn first, counted in n.
		{keyB, "", nil, keyList, 4, 0.2},
		{keyB, "", nil, keyList, 1, 0.2},
	} {
		v.TargetDraws = append(v.TargetDraws, targetVector{YearKey: c.key, Salt: c.salt, Certain: append([]string{}, c.certain...),
			Frame: cj(c.frame...), N: c.n, Shift: c.shift})
	}
	seed := "5f0c6a573b8e4a539a522f1f7f4c9d105f0c6a573b8e4a539a522f1f7f4c9d10"
	for _, key := range []string{"91330922MA2A000017/2026-12-10/1", "repair:4/91330922LL6ML79RPP/2026-12-15/repair:1.37#1"} {
		v.InspectorStreams = append(v.InspectorStreams, struct {
			Seed     string   `json:"seed_hex"`
			VisitKey string   `json:"visit_key"`
			Uint64   []string `json:"first_uint64_hex"`
			Float64  []f64    `json:"first_float64_after"`
		}{Seed: seed, VisitKey: key})
	}
	v.InspectorDraws = append(v.InspectorDraws, struct {
		Seed      string     `json:"seed_hex"`
		VisitKey  string     `json:"visit_key"`
		Steps     []stepJSON `json:"steps"`
		StepsHash string     `json:"steps_sha256_hex"`
		Picks     []string   `json:"picks"`
		Comment   string     `json:"comment,omitempty"`
		_         []candidateJSON
	}{Seed: seed, VisitKey: "91330922MA2A000017/2026-12-10/1", Steps: []stepJSON{
		{Need: "food_safety", Candidates: cj(Candidate{"101", 1}, Candidate{"102", 0.5}, Candidate{"107", 0.3333333333333333})},
		{Need: "fire_safety", Candidates: cj(Candidate{"103", 1}, Candidate{"104", 1})},
		{Need: "", Candidates: cj(Candidate{"105", 0.25}, Candidate{"106", 1}, Candidate{"108", 0.125})},
	}, Comment: "one generator per visit key; each step takes one weighted pick from it, in order"})
	v.RepairSeeds = append(v.RepairSeeds, struct {
		YearKey  string `json:"year_key_hex"`
		RepairID int64  `json:"repair_id"`
		Seed     string `json:"seed_hex"`
	}{YearKey: keyA, RepairID: 4}, struct {
		YearKey  string `json:"year_key_hex"`
		RepairID int64  `json:"repair_id"`
		Seed     string `json:"seed_hex"`
	}{YearKey: keyB, RepairID: 12345})
	v.Commitments = append(v.Commitments, commitmentVector{
		PlanID: 42, Year: 2026, Rotation: 0.25, Jitter: 1, Source: "司法局见证人录入",
		Draws: []committedJSON{
			{DemandID: 9, FrameHash: FrameHash([]Candidate{{usccs[0], 4}, {usccs[1], 1}, {usccs[2], 2}}), N: 2},
			{DemandID: 3, FrameHash: FrameHash(nil), N: 0, Certain: []string{usccs[3]}},
		},
		Value: "7f3a 司法局 2026-12-08 09:00"}, commitmentVector{
		PlanID: 7, Year: 2027, Rotation: 0.9, Jitter: 0.125, Source: "中国福利彩票3D 承诺之后的第一期开奖号码",
		Draws: []committedJSON{{DemandID: 1, FrameHash: FrameHash([]Candidate{{usccs[4], 1}}), N: 1, Certain: []string{usccs[0], usccs[1]}}},
		Value: "2027001 5 2 8"})
	return v
}

// computeVectors fills the outputs of v from the implementation.
func computeVectors(t *testing.T, v *drawVectors) {
	t.Helper()
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := range v.PRN {
		p := &v.PRN[i]
		p.U = mkf64(PRN(unhex(p.YearKey), p.Salt, p.USCC))
	}
	for i := range v.FrameHash {
		v.FrameHash[i].Hash = FrameHash(candidates(v.FrameHash[i].Frame))
	}
	for i := range v.Inclusion {
		pi := InclusionProbabilities(candidates(v.Inclusion[i].Frame), v.Inclusion[i].N)
		v.Inclusion[i].Pi = make([]f64, len(pi))
		for j, x := range pi {
			v.Inclusion[i].Pi[j] = mkf64(x)
		}
	}
	for i := range v.NextShift {
		v.NextShift[i].Next = mkf64(NextShift(v.NextShift[i].Prev, v.NextShift[i].Fraction))
	}
	for i := range v.TargetDraws {
		d := &v.TargetDraws[i]
		g := newPRNGen(unhex(d.YearKey), d.Salt)
		d.Result = TargetResult(d.Certain, candidates(d.Frame), d.N, d.Shift, g.u)
	}
	for i := range v.InspectorStreams {
		s := &v.InspectorStreams[i]
		var seed [32]byte
		copy(seed[:], unhex(s.Seed))
		r := visitRand(seed, s.VisitKey)
		s.Uint64 = nil
		for range 4 {
			s.Uint64 = append(s.Uint64, strconv.FormatUint(r.Uint64(), 16))
		}
		s.Float64 = nil
		for range 3 {
			s.Float64 = append(s.Float64, mkf64(r.Float64()))
		}
	}
	for i := range v.InspectorDraws {
		d := &v.InspectorDraws[i]
		var seed [32]byte
		copy(seed[:], unhex(d.Seed))
		r := visitRand(seed, d.VisitKey)
		var steps []DrawStep
		d.Picks = nil
		for _, st := range d.Steps {
			c := candidates(st.Candidates)
			k := weightedPick(r, c)
			d.Picks = append(d.Picks, c[k].Key)
			steps = append(steps, DrawStep{Need: st.Need, Candidates: c, Pick: c[k].Key})
		}
		d.StepsHash = stepsHash(steps)
	}
	for i := range v.RepairSeeds {
		s := &v.RepairSeeds[i]
		m := hmac.New(sha256.New, unhex(s.YearKey))
		m.Write([]byte("repair:" + strconv.FormatInt(s.RepairID, 10)))
		s.Seed = hex.EncodeToString(m.Sum(nil))
	}
	for i := range v.Commitments {
		c := &v.Commitments[i]
		ds := make([]CommittedDraw, len(c.Draws))
		for j, d := range c.Draws {
			ds[j] = CommittedDraw{DemandID: d.DemandID, FrameHash: d.FrameHash, N: d.N, CertainHash: CertainHash(d.Certain)}
		}
		c.Text = CommitmentText(c.PlanID, c.Year, c.Rotation, c.Jitter, c.Source, ds)
		c.Commitment = Commitment(c.Text)
		r := WitnessFraction(c.Commitment, c.Value)
		c.R, c.Shift = mkf64(r), mkf64(WitnessShift(c.Rotation, c.Jitter, r))
	}
}

// TestDrawVectors checks every function of docs/draws.md against the
// shipped vectors (bit for bit for floats).
func TestDrawVectors(t *testing.T) {
	path := filepath.FromSlash(vectorsFile)
	if *updateVectors {
		v := vectorInputs()
		computeVectors(t, &v)
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want drawVectors
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if len(want.PRN) == 0 || len(want.TargetDraws) == 0 || len(want.InspectorDraws) == 0 || len(want.Commitments) == 0 {
		t.Fatalf("%s holds no vectors", path)
	}
	// A second decoding of the file shares nothing with want: its outputs
	// are recomputed from its inputs.
	var got drawVectors
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	computeVectors(t, &got)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"prn", got.PRN, want.PRN}, {"frame_hash", got.FrameHash, want.FrameHash}, {"inclusion", got.Inclusion, want.Inclusion},
		{"next_shift", got.NextShift, want.NextShift}, {"target_draws", got.TargetDraws, want.TargetDraws},
		{"inspector_streams", got.InspectorStreams, want.InspectorStreams}, {"inspector_draws", got.InspectorDraws, want.InspectorDraws},
		{"repair_seeds", got.RepairSeeds, want.RepairSeeds}, {"commitments", got.Commitments, want.Commitments},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			gj, _ := json.Marshal(c.got)
			wj, _ := json.Marshal(c.want)
			t.Errorf("%s: the implementation gives\n%s\nthe vectors say\n%s", c.name, gj, wj)
		}
	}
	// The repair seed of the vectors is the one planning uses (RepairSeed
	// lives in package planning, which imports this one: it is checked
	// there against the same file).
}
