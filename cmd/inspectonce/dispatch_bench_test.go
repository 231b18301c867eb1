package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"inspectonce/store/storetest"
)

// BenchmarkDispatch100k publishes 100,000 visits and measures how long a real
// `inspectonce worker` (relay + handlers, through Redis) takes to write all
// their notices. The figure is visits dispatched per second end to end.
func BenchmarkDispatch100k(b *testing.B) {
	for b.Loop() {
		dispatchOnce(b, 100_000)
	}
}

func dispatchOnce(b *testing.B, visits int) {
	b.StopTimer()
	st, dsn := storetest.New(b)
	p := bigPlan(b, st, visits)
	redisURL := claimRedisDB(b)
	bin := buildBinary(b)
	cmd := exec.Command(bin, "worker")
	cmd.Env = append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL="+redisURL,
		"INSPECTONCE_WORKER_CONCURRENCY=60", "INSPECTONCE_LOG_LEVEL=warn", "INSPECTONCE_WORKER_METRICS_ADDR=")
	b.StartTimer()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	want := int64(visits * 4)
	// When the relay had moved the whole outbox into the queue: the rest of
	// the time is the handlers'.
	var relayed time.Duration
	for {
		var n, unrelayed int64
		if err := st.SQL().QueryRowContext(context.Background(),
			`SELECT (SELECT count(*) FROM notifications WHERE plan_id = $1),
				(SELECT count(*) FROM outbox WHERE plan_id = $1 AND relayed_at IS NULL)`, p.ID).Scan(&n, &unrelayed); err != nil {
			b.Fatal(err)
		}
		if unrelayed == 0 && relayed == 0 {
			relayed = time.Since(start)
		}
		if n >= want {
			break
		}
		if time.Since(start) > 20*time.Minute {
			b.Fatalf("%d of %d notices after 20 minutes", n, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(visits)/elapsed.Seconds(), "visits/s")
	b.ReportMetric(elapsed.Seconds(), "s-to-dispatch")
	b.ReportMetric(relayed.Seconds(), "s-to-relay")
	b.StartTimer()
}
