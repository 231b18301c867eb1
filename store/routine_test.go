package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"inspectonce/store/storetest"
)

func TestInternalTokenID(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	// An API token of the same name is not the internal one.
	if _, _, err := st.CreateToken(ctx, "admin", "scheduler", "admin", ""); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := st.InternalTokenID(ctx, "scheduler")
			if err != nil {
				t.Error(err)
			}
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id == 0 || id != ids[0] {
			t.Fatalf("internal token ids %v", ids)
		}
	}
	var n, live int
	if err := st.SQL().QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE revoked_at IS NULL)
		FROM api_tokens WHERE created_by = 'scheduler'`).Scan(&n, &live); err != nil {
		t.Fatal(err)
	}
	if n != 1 || live != 0 {
		t.Fatalf("%d internal tokens, %d not revoked", n, live)
	}
}

func TestPlanStartedByNone(t *testing.T) {
	st, _ := storetest.New(t)
	if _, found, err := st.PlanStartedBy(context.Background(), "scheduler", time.Now()); err != nil || found {
		t.Fatalf("found %v err %v", found, err)
	}
}
