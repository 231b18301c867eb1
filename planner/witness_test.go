package planner

import (
	"slices"
	"testing"
)

// freeze turns a run's target draws into the frames a commitment fixes.
func freeze(draws []Draw) map[int64]FrozenDraw {
	out := map[int64]FrozenDraw{}
	for _, d := range draws {
		out[d.DemandID] = FrozenDraw{Frame: d.Frame, Certain: d.Certain, Excluded: d.Excluded, N: d.N, Salt: d.Salt}
	}
	return out
}

// A plan run after its frames were committed draws from exactly those
// frames, whatever the registry became meanwhile; sample demands that were
// not committed wait for a later plan; a drawn business gone from the
// registry is listed, not dropped.
func TestResolveFrozenFrames(t *testing.T) {
	listedAny := 0
	for seed := uint64(1); seed <= 20; seed++ {
		in := resRandomInput(seed, 300)
		_, first, _ := Resolve(in)
		if len(first) == 0 {
			t.Fatalf("seed %d: no target draws", seed)
		}
		frozen := freeze(first)

		// The registry changes after the commitment: risks flip, a drawn
		// business is deleted, a new sample demand arrives.
		later := resRandomInput(seed, 300)
		for i := range later.Businesses {
			if i%3 == 0 {
				later.Businesses[i].Risk = RiskRed
			}
		}
		var gone string
		for _, d := range first {
			if len(d.Result) > 0 {
				gone = d.Result[0]
				break
			}
		}
		later.Businesses = slices.DeleteFunc(later.Businesses, func(b Business) bool { return b.USCC == gone })
		later.Demands = append(later.Demands, Demand{ID: 99, DepartmentID: 1, ItemIDs: []int64{101},
			From: later.From, To: later.To, Sample: &SampleRule{Ratio: 0.5}})
		later.Shift = 0.77
		later.Frozen = frozen

		tasks, second, unplaced := Resolve(later)
		if len(second) != len(first) {
			t.Fatalf("seed %d: %d draws after freezing, %d committed", seed, len(second), len(first))
		}
		for i, d := range second {
			c := first[i]
			if d.DemandID != c.DemandID || d.FrameHash != c.FrameHash || d.N != c.N || !slices.Equal(d.Certain, c.Certain) {
				t.Fatalf("seed %d demand %d: draws from another frame than the committed one", seed, d.DemandID)
			}
			u := func(k string) float64 { return PRN(later.YearKey, d.Salt, k) }
			if want := TargetResult(c.Certain, c.Frame, c.N, 0.77, u); !slices.Equal(d.Result, want) {
				t.Fatalf("seed %d demand %d: result %v, the committed frame at the new shift gives %v", seed, d.DemandID, d.Result, want)
			}
			if ok, _, why := VerifyTargetDraw(d, later.YearKey); !ok {
				t.Fatalf("seed %d demand %d: %s", seed, d.DemandID, why)
			}
		}
		deferred, listedGone := false, false
		for _, u := range unplaced {
			if u.DemandID == 99 && u.Reason == ReasonDeferred {
				deferred = true
			}
			if u.USCC == gone && u.Reason == ReasonUnknownTarget {
				listedGone = true
			}
		}
		if !deferred {
			t.Errorf("seed %d: the uncommitted sample demand was not left for a later plan", seed)
		}
		if listedGone {
			listedAny++
		}
		if gone != "" && !listedGone {
			// Only a drawn business of a demand still in this horizon is listed.
			for _, tk := range tasks {
				if tk.USCC == gone {
					t.Errorf("seed %d: a task for %s, gone from the registry", seed, gone)
				}
			}
		}
	}
	if listedAny == 0 {
		t.Error("no seed listed a drawn business gone from the registry")
	}
}
