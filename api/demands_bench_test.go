package api

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/internal/loadbench"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// BenchmarkCreateDemand drives POST /api/v1/demands through the real echo
// application (every middleware) against the test PostgreSQL holding the
// demo county, as the load benchmark's "demands" route does: a list demand of one item on one
// business by a planner, each with its own title and Idempotency-Key, and
// the audit sequencer chaining in the background as a serving process does.
// Besides ns/op it reports the CPU per demand of this process (svc-cpu-ms/op)
// and of the whole PostgreSQL server (pg-cpu-ms/op, the postmaster's tree),
// which is what bounds throughput on a shared 2-core machine. Run:
//
//	go test ./api -run '^$' -bench CreateDemand -benchmem -cpuprofile /tmp/dem.cpu
func BenchmarkCreateDemand(b *testing.B) {
	ctx := context.Background()
	st, _ := storetest.New(b)
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS=",
		"INSPECTONCE_HTTP_RATE_LIMITS_WRITES_RATE=0"})
	if err != nil {
		b.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		b.Fatal(err)
	}
	// The demo county, as the load benchmark serves it: its registries
	// (3,000 businesses), plans and audit log.
	res, err := seed.LoadAt(ctx, st, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var tok, code string
	for _, t := range res.Tokens {
		switch t.Role {
		case domain.RolePlanner:
			tok = t.Token
		case domain.RoleBusiness:
			code = t.Scope
		}
	}
	planner, err := st.Authenticate(ctx, tok)
	if err != nil {
		b.Fatal(err)
	}
	items, err := st.ListItems(ctx, store.ItemFilter{DepartmentID: planner.DepartmentID}, store.Page{Limit: 1})
	if err != nil || len(items.Items) == 0 {
		b.Fatalf("the planner's department has no items (%v)", err)
	}
	item := items.Items[0]

	e := New(Options{Store: st, Config: cfg, Calendar: cal, Logger: slog.New(slog.DiscardHandler)})
	seqCtx, stopSeq := context.WithCancel(ctx)
	seqDone := make(chan struct{})
	go func() {
		defer close(seqDone)
		_ = st.RunAuditSequencer(seqCtx, cfg.Audit.ChainInterval, slog.New(slog.DiscardHandler))
	}()
	b.Cleanup(func() { stopSeq(); <-seqDone })

	from := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	to := time.Now().AddDate(0, 0, 28).Format(time.DateOnly)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var n atomic.Int64
	submit := func(rec *httptest.ResponseRecorder) {
		i := n.Add(1)
		body := fmt.Sprintf(`{"title":"压力测试 %s-%d","item_ids":[%d],"businesses":[%q],"window":{"from":%q,"to":%q},"priority":3,"source":"campaign","announce_days":0}`,
			run, i, item.ID, code, from, to)
		req := httptest.NewRequest(http.MethodPost, "/api/v1/demands", bytes.NewBufferString(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(IdempotencyHeader, fmt.Sprintf("bench-%s-%d", run, i))
		e.ServeHTTP(rec, req)
	}
	// One first submission outside the timing: the pool connects, the
	// statements are prepared, the caches fill.
	rec := httptest.NewRecorder()
	submit(rec)
	if rec.Code != http.StatusCreated {
		b.Fatalf("POST /api/v1/demands: %d %s", rec.Code, rec.Body)
	}

	pgCPU := postgresCPU(b, st)
	measure := func(b *testing.B, body func()) {
		b.ReportAllocs()
		svc0, pg0 := processCPU(), pgCPU()
		b.ResetTimer()
		body()
		b.StopTimer()
		svc1, pg1 := processCPU(), pgCPU()
		b.ReportMetric(float64(svc1-svc0)/float64(time.Millisecond)/float64(b.N), "svc-cpu-ms/op")
		// A backend that exits during the run can make the tree's sum
		// dip (its time moves to the postmaster's once reaped): no figure then.
		if pg0 >= 0 && pg1 >= pg0 {
			b.ReportMetric(float64(pg1-pg0)/float64(time.Millisecond)/float64(b.N), "pg-cpu-ms/op")
		}
	}
	// Serial: one demand after another, so ns/op is one request's latency.
	b.Run("serial", func(b *testing.B) {
		measure(b, func() {
			for range b.N {
				rec := httptest.NewRecorder()
				submit(rec)
				if rec.Code != http.StatusCreated {
					b.Fatalf("POST /api/v1/demands: %d %s", rec.Code, rec.Body)
				}
			}
		})
	})
	// Parallel: 8 clients per core, as an open-loop generator keeps several
	// requests in flight; ns/op is then the inverse of throughput.
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(8)
		measure(b, func() {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					submit(rec)
					if rec.Code != http.StatusCreated {
						b.Errorf("POST /api/v1/demands: %d %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	})
}

// processCPU is the CPU time this process has used (user + system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postgresCPU returns a reader of the CPU time of the PostgreSQL server
// st is connected to (the postmaster and every backend), or of -1 when it
// cannot be read (a server on another machine, or not this user's).
func postgresCPU(b *testing.B, st *store.Store) func() time.Duration {
	var dir string
	if err := st.SQL().QueryRow(`SELECT setting FROM pg_settings WHERE name = 'data_directory'`).Scan(&dir); err != nil {
		b.Logf("PostgreSQL CPU not measured: %v", err)
		return func() time.Duration { return -1 }
	}
	pid, err := loadbench.PostmasterPID(dir)
	if err == nil {
		_, err = loadbench.TreeCPU(pid)
	}
	if err != nil {
		b.Logf("PostgreSQL CPU not measured: %v", err)
		return func() time.Duration { return -1 }
	}
	return func() time.Duration {
		d, _ := loadbench.TreeCPU(pid)
		return d
	}
}
