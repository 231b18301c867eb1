package csvimport_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// Two imports of the same file at once, in batches of one row on two
// connections each, add every row exactly once: the rest are unchanged.
func TestUnavailabilityImportConcurrentOnce(t *testing.T) {
	st, _ := storetest.New(t)
	county(t, st)
	ctx := context.Background()
	teams, err := st.TeamIDsByCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("inspector,from,to,reason\n")
	for i := range 4 {
		in := &domain.Inspector{Code: fmt.Sprintf("ZJ-%04d", i), Name: "检查员", TeamID: teams["T01"], Domains: []string{"food_safety"}}
		if err := st.CreateInspector(ctx, actor, in); err != nil {
			t.Fatal(err)
		}
		for d := 1; d <= 5; d++ {
			fmt.Fprintf(&b, "ZJ-%04d,2026-12-%02d,2026-12-%02d,年休假\n", i, d, d+1)
		}
	}
	opt := csvimport.Options{BatchSize: 1, Workers: 2}
	var wg sync.WaitGroup
	jobs := make([]store.ImportJob, 2)
	for k := range jobs {
		wg.Go(func() {
			var err error
			jobs[k], err = csvimport.Unavailability(ctx, st, actor, csvimport.Scope{}, strings.NewReader(b.String()), opt)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	us, err := st.ListUnavailability(ctx, store.UnavailabilityFilter{}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(us.Items) != 20 {
		t.Fatalf("%d rows stored, want 20", len(us.Items))
	}
	for _, j := range jobs {
		if j.RowsLoaded != 20 || j.RowsRejected != 0 || j.Status != store.ImportDone {
			t.Fatalf("job %+v", j)
		}
	}
	rep, err := csvimport.DryRunUnavailability(ctx, st, actor, csvimport.Scope{}, strings.NewReader(b.String()), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsUnchanged != 20 || rep.RowsNew != 0 {
		t.Fatalf("dry run after both: %+v", rep)
	}
	// A leader's import sees only its own team: another team's member is unknown.
	other := &domain.Team{Code: "T02", Name: "二中队", Kind: domain.TeamComprehensive, BaseLat: 30.7, BaseLng: 122.4,
		DailyCapacityMinutes: 480}
	if err := st.CreateTeam(ctx, actor, other); err != nil {
		t.Fatal(err)
	}
	rep, err = csvimport.DryRunUnavailability(ctx, st, actor, csvimport.Scope{TeamID: other.ID}, strings.NewReader(b.String()), opt)
	if err != nil {
		t.Fatal(err)
	}
	if rep.RowsRejected != 20 || len(rep.Errors) != 20 || !strings.Contains(rep.Errors[0].Reason, "unknown inspector") {
		t.Fatalf("another team's leader: %+v", rep)
	}
}
