package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store/storetest"
)

// BenchmarkReadRoutes measures the service's whole work (middleware, token
// check, store, JSON) for two read routes of the load benchmark, over the
// seeded demo county: GET /businesses as the admin (the default page) and GET
// /teams/{id}/rosters/{date} as the squad's leader on the seed's day with the
// most stops of the next fortnight. PostgreSQL's own CPU is not in ns/op:
// pg-µs/op is its backends' CPU per request, read from /proc when the
// server runs on this machine (10 ms ticks: use -benchtime 3s or more). Run:
//
//	go test ./api -run '^$' -bench ReadRoutes -benchmem
func BenchmarkReadRoutes(b *testing.B) {
	ctx := context.Background()
	st, _ := storetest.New(b)
	now := time.Now()
	res, err := seed.LoadAt(ctx, st, now)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		b.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		b.Fatal(err)
	}
	e := New(Options{Store: st, Config: cfg, Calendar: cal, Logger: slog.New(slog.DiscardHandler)})
	tokens := map[domain.Role]string{}
	for _, t := range res.Tokens {
		tokens[t.Role] = t.Token
	}
	leader, err := st.Authenticate(ctx, tokens[domain.RoleTeamLeader])
	if err != nil {
		b.Fatal(err)
	}
	loc := cfg.Location()
	y, m, d := now.In(loc).Date()
	day, most := time.Date(y, m, d, 0, 0, 0, 0, time.UTC), -1
	for i := range 14 {
		at := time.Date(y, m, d+i, 0, 0, 0, 0, time.UTC)
		r, err := st.Roster(ctx, leader, leader.TeamID(), at)
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Visits) > most {
			day, most = at, len(r.Visits)
		}
	}
	get := func(path string, role domain.Role) func(b *testing.B) {
		return func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[role])
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
			}
			b.SetBytes(int64(rec.Body.Len()))
			b.ReportAllocs()
			pg, ok := storetest.BackendCPU(b, st.SQL())
			var pg0 time.Duration
			if ok {
				pg0 = pg()
			}
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				e.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", path, rec.Code)
				}
			}
			if ok {
				b.ReportMetric(float64(pg()-pg0)/float64(time.Microsecond)/float64(b.N), "pg-µs/op")
			}
		}
	}
	b.Logf("roster of %s: %d visits", day.Format(time.DateOnly), most)
	b.Run("Businesses", get("/api/v1/businesses", domain.RoleAdmin))
	b.Run("Roster", get("/api/v1/teams/"+strconv.FormatInt(leader.TeamID(), 10)+"/rosters/"+day.Format(time.DateOnly), domain.RoleTeamLeader))
}
