package planning_test

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"inspectonce/planning"
)

// TestRepairSeedVectors: the seed of a repair's draws is the one
// docs/draws.md specifies, per the shipped vectors.
func TestRepairSeedVectors(t *testing.T) {
	raw, err := os.ReadFile("../planner/testdata/draw_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		RepairSeeds []struct {
			YearKey  string `json:"year_key_hex"`
			RepairID int64  `json:"repair_id"`
			Seed     string `json:"seed_hex"`
		} `json:"repair_seeds"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.RepairSeeds) == 0 {
		t.Fatal("no repair seed vectors")
	}
	for _, c := range v.RepairSeeds {
		key, err := hex.DecodeString(c.YearKey)
		if err != nil {
			t.Fatal(err)
		}
		seed := planning.RepairSeed(key, c.RepairID)
		if got := hex.EncodeToString(seed[:]); got != c.Seed {
			t.Errorf("repair %d: seed %s, the vectors say %s", c.RepairID, got, c.Seed)
		}
	}
}
