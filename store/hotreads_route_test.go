package store_test

import (
	"context"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// rosterRoute is the store work of GET /teams/{id}/rosters/{date}: access,
// roster, days away and closures (BenchmarkHotReads/RosterRoute).
func rosterRoute(ctx context.Context, st *store.Store, p domain.Principal, team int64, day time.Time) error {
	_, err := st.ReadRosterDay(ctx, p, team, day)
	return err
}
