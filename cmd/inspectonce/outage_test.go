package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"inspectonce/internal/logbuf"
	"inspectonce/store/storetest"
)

// redisServer is a Redis of the test's own, so the test can stop and restart
// it without disturbing other tests.
type redisServer struct {
	t    *testing.T
	addr string
	dir  string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, addr, dir string) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed: %v", err)
	}
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(bin, "--bind", host, "--port", port, "--dir", dir, "--appendonly", "yes",
		"--appendfsync", "always", "--maxmemory-policy", "noeviction", "--save", "")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{t: t, addr: addr, dir: dir, cmd: cmd}
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

func (r *redisServer) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	_ = r.cmd.Wait()
}

func readyStatus(addr string) int {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestRedisOutageLosesNothing runs `inspectonce all`, kills Redis, publishes a
// plan while it is down, and restarts Redis: /readyz reports the outage, the
// publication (which needs only Postgres) is accepted, and once Redis is back
// every notice of the plan is written exactly once.
func TestRedisOutageLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("long: stops and restarts Redis")
	}
	st, dsn := storetest.New(t)
	redisAddr := freePort(t)
	rs := startRedis(t, redisAddr, t.TempDir())
	defer func() { rs.kill() }()

	bin := buildBinary(t)
	httpAddr := freePort(t)
	var logs logbuf.Buffer
	cmd := exec.Command(bin, "all")
	cmd.Env = append(os.Environ(), "INSPECTONCE_PLANNING_APPROVAL_STEPS=", "INSPECTONCE_DATABASE_URL="+dsn, "INSPECTONCE_REDIS_URL=redis://"+redisAddr+"/0",
		"INSPECTONCE_HTTP_ADDR="+httpAddr, "INSPECTONCE_WORKER_CONCURRENCY=10")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()

	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %v\n%s", what, limit, logs.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("ready", 20*time.Second, func() bool { return readyStatus(httpAddr) == 200 })

	rs.kill()
	waitFor("readyz reports the outage", 15*time.Second, func() bool { return readyStatus(httpAddr) == 503 })

	// Publishing needs Postgres only: the dispatch waits in the outbox.
	const visits, perVisit = 500, 4
	p := bigPlan(t, st, visits)
	time.Sleep(2 * time.Second) // the relay keeps failing meanwhile
	if readyStatus(httpAddr) != 503 {
		t.Fatal("readyz recovered while Redis is still down")
	}

	rs = startRedis(t, redisAddr, rs.dir)
	waitFor("readyz recovers", 20*time.Second, func() bool { return readyStatus(httpAddr) == 200 })
	ctx := context.Background()
	count := func(q string, args ...any) int64 {
		var n int64
		if err := st.SQL().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor("every notice written", 3*time.Minute, func() bool {
		return count(`SELECT count(*) FROM notifications WHERE plan_id = $1`, p.ID) >= visits*perVisit
	})
	time.Sleep(2 * time.Second) // late redeliveries would show up now
	if n := count(`SELECT count(*) FROM notifications WHERE plan_id = $1`, p.ID); n != visits*perVisit {
		t.Fatalf("%d notices, want exactly %d", n, visits*perVisit)
	}
	if n := count(`SELECT count(*) FROM outbox WHERE plan_id = $1 AND relayed_at IS NULL`, p.ID); n != 0 {
		t.Fatalf("%d outbox rows never relayed", n)
	}
	stopGracefully(t, cmd, done, &logs)
}
