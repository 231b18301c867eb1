package seed

import (
	"context"
	"testing"
	"time"

	"inspectonce/store/storetest"
)

func TestProbeTiming(t *testing.T) {
	for round := 0; round < 3; round++ {
		for _, w := range []int{1, 4, 8} {
			businessWorkers = w
			st, _ := storetest.New(t)
			start := time.Now()
			if _, err := Load(context.Background(), st); err != nil { t.Fatal(err) }
			t.Logf("workers %d: %v", w, time.Since(start))
		}
	}
}
