package store_test

import (
	"context"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// BenchmarkHotReads measures the reads on the service's hot paths (issue 20)
// against the real test PostgreSQL, over the demo county as the seed leaves
// it (its past plan published, visits today): a token check, the
// restaurant's schedule, the squad's roster of today, the /v/ check of one of
// its codes and the inspector's day. Each op is one call, one after the
// other, so ns/op is the latency of one request's store work and allocs/op
// its garbage; pg-µs/op, where reported, is PostgreSQL's CPU per op
// (storetest.BackendCPU). Run:
//
//	go test ./store -run '^$' -bench HotReads -benchmem
func BenchmarkHotReads(b *testing.B) {
	ctx := context.Background()
	st, dsn := storetest.New(b)
	// The same reads without the read cache (the baseline of its figures).
	uncached, err := store.Open(dsn, store.Options{MaxOpenConns: 4, ReadCacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer uncached.Close()
	now := time.Now()
	res, err := seed.LoadAt(ctx, st, now)
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := configs.Load("", nil)
	if err != nil {
		b.Fatal(err)
	}
	loc := cfg.Location()
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	tokens := map[domain.Role]string{}
	for _, t := range res.Tokens {
		tokens[t.Role] = t.Token
	}
	leader, err := st.Authenticate(ctx, tokens[domain.RoleTeamLeader])
	if err != nil {
		b.Fatal(err)
	}
	business, err := st.Authenticate(ctx, tokens[domain.RoleBusiness])
	if err != nil {
		b.Fatal(err)
	}
	inspector, err := st.Authenticate(ctx, tokens[domain.RoleInspector])
	if err != nil {
		b.Fatal(err)
	}
	roster, err := st.Roster(ctx, leader, leader.TeamID(), today)
	if err != nil {
		b.Fatal(err)
	}
	if len(roster.Visits) == 0 {
		b.Fatal("the demo squad has no visits today")
	}
	sched, err := st.BusinessSchedule(ctx, business.Scope, now, loc)
	if err != nil {
		b.Fatal(err)
	}
	code := roster.Visits[0].Code
	b.Logf("roster of today: %d visits; schedule: %d visits", len(roster.Visits), len(sched.Visits))

	b.Run("Authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := st.Authenticate(ctx, tokens[domain.RoleAdmin]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("BusinessSchedule", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := st.BusinessSchedule(ctx, business.Scope, now, loc); err != nil {
				b.Fatal(err)
			}
		}
	})
	// 16 readers at once, as under load: cached reads share check rounds.
	for _, c := range []struct {
		name string
		st   *store.Store
	}{{"BusinessScheduleParallel", st}, {"BusinessScheduleParallelUncached", uncached}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.st.BusinessSchedule(ctx, business.Scope, now, loc); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	b.Run("BusinessScheduleUncached", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := uncached.BusinessSchedule(ctx, business.Scope, now, loc); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Roster", func(b *testing.B) {
		b.ReportAllocs()
		defer reportBackendCPU(b, st)()
		for range b.N {
			if _, err := st.Roster(ctx, leader, leader.TeamID(), today); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("RosterRoute", func(b *testing.B) {
		b.ReportAllocs()
		defer reportBackendCPU(b, st)()
		for range b.N {
			if err := rosterRoute(ctx, st, leader, leader.TeamID(), today); err != nil {
				b.Fatal(err)
			}
		}
	})
	admin, err := st.Authenticate(ctx, tokens[domain.RoleAdmin])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ListBusinesses", func(b *testing.B) {
		b.ReportAllocs()
		defer reportBackendCPU(b, st)()
		for range b.N {
			if _, err := st.ListBusinesses(ctx, store.BusinessFilter{Viewer: &admin}, store.Page{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("VerifyVisitCode", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := st.VerifyVisitCode(ctx, code, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("VerifyVisitCodeUncached", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := uncached.VerifyVisitCode(ctx, code, "bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("InspectorVisits", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := st.InspectorVisits(ctx, inspector.InspectorID(), today); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// reportBackendCPU starts counting the CPU of st's PostgreSQL backends; the
// function it returns reports it per op as pg-µs/op (nothing when the
// server's processes cannot be read here).
func reportBackendCPU(b *testing.B, st *store.Store) func() {
	cpu, ok := storetest.BackendCPU(b, st.SQL())
	if !ok {
		return func() {}
	}
	start := cpu()
	b.ResetTimer()
	return func() {
		b.ReportMetric(float64(cpu()-start)/float64(time.Microsecond)/float64(b.N), "pg-µs/op")
	}
}
