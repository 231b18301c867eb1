package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"inspectonce/internal/loadbench"
)

// Routes of the load benchmark, in the order they run.
var benchRouteNames = []string{"healthz", "schedule", "roster", "code", "businesses", "demands"}

// benchOptions are the flags of `bench load`.
type benchOptions struct {
	duration, warmup, timeout, pause time.Duration
	rates                            []int
	routes                           []string
	dir, script                      string
	pgPort, redisPort                int
	databaseURL, redisURL            string
	testTuning, keep                 bool
	pgbenchDuration                  time.Duration
	pgbenchClients, pgbenchScale     int
	pgbenchBin                       string
	readLimit, writeLimit            time.Duration
	businesses                       int
}

const benchUsage = `bench load [flags]: the load benchmark (see README "Load benchmark").
Starts throwaway PostgreSQL + Redis (scripts/services.sh), migrates and seeds the demo
county, starts the service (inspectonce all), runs and publishes a plan, then drives an
open-loop generator (vegeta) at rising rates on each route, and runs pgbench -S (simple
and prepared) on the same PostgreSQL as a baseline.`

func runBench(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "load" {
		return usageError{"bench takes: load [flags]"}
	}
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o benchOptions
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "length of each step")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "warm-up of each route at its first rate, not reported (0: none)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "a request not answered by then is an error")
	fs.DurationVar(&o.pause, "pause", time.Second, "pause between steps")
	rates := fs.String("rates", "50,100,200,400,800,1600,3200,6400", "rising rates (req/s), comma-separated; a route stops rising after two steps in a row over its limits")
	routes := fs.String("routes", strings.Join(benchRouteNames, ","), "routes to load: "+strings.Join(benchRouteNames, ","))
	fs.StringVar(&o.dir, "dir", "", "directory of the throwaway servers and the service log (default: a new temporary one)")
	fs.StringVar(&o.script, "services-script", "scripts/services.sh", "the script that starts the throwaway servers")
	fs.IntVar(&o.pgPort, "pg-port", 0, "PostgreSQL port of the throwaway server (default: a free one)")
	fs.IntVar(&o.redisPort, "redis-port", 0, "Redis port of the throwaway server (default: a free one)")
	fs.StringVar(&o.databaseURL, "database-url", "", "use this (empty) PostgreSQL database instead of starting a server; it is migrated and seeded")
	fs.StringVar(&o.redisURL, "redis-url", "", "use this Redis instead of starting one (with --database-url)")
	fs.BoolVar(&o.testTuning, "test-tuning", false, "start PostgreSQL with fsync and synchronous_commit off (faster writes, unsafe on a crash)")
	fs.BoolVar(&o.keep, "keep", false, "leave the throwaway servers running and the directory in place")
	fs.DurationVar(&o.pgbenchDuration, "pgbench-duration", 10*time.Second, "length of each pgbench -S run (0: no pgbench baseline)")
	fs.IntVar(&o.pgbenchClients, "pgbench-clients", 4, "pgbench -c")
	fs.IntVar(&o.pgbenchScale, "pgbench-scale", 10, "pgbench -i -s")
	fs.StringVar(&o.pgbenchBin, "pgbench", "/usr/lib/postgresql/15/bin/pgbench", "the pgbench binary")
	fs.DurationVar(&o.readLimit, "p99-limit", 20*time.Millisecond, "p99 a read step must stay under to count towards the knee")
	fs.DurationVar(&o.writeLimit, "p99-limit-writes", 50*time.Millisecond, "p99 a POST /demands step must stay under")
	fs.IntVar(&o.businesses, "businesses", 300, "the schedule route reads the schedules of this many businesses with published visits, each with its own token, in turn; the code route checks every code they show")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(out, benchUsage)
			fs.SetOutput(out)
			fs.PrintDefaults()
			return nil
		}
		return usageError{"bench load: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("bench load: unexpected %q", fs.Arg(0))}
	}
	var err error
	if o.rates, err = parseRates(*rates); err != nil {
		return usageError{"bench load --rates: " + err.Error()}
	}
	for _, r := range strings.Split(*routes, ",") {
		r = strings.TrimSpace(r)
		if !slices.Contains(benchRouteNames, r) {
			return usageError{fmt.Sprintf("bench load --routes: unknown route %q (known: %s)", r, strings.Join(benchRouteNames, ","))}
		}
		o.routes = append(o.routes, r)
	}
	if o.duration <= 0 {
		return usageError{"bench load --duration must be positive"}
	}
	if o.businesses <= 0 {
		return usageError{"bench load --businesses must be positive"}
	}
	if (o.databaseURL == "") != (o.redisURL == "") {
		return usageError{"bench load: give both --database-url and --redis-url, or neither"}
	}
	return benchLoad(ctx, o, out)
}

func parseRates(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive rate", f)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, fmt.Errorf("rates must rise: %d after %d", n, out[len(out)-1])
		}
		out = append(out, n)
	}
	return out, nil
}

// benchEnv is what the benchmark runs against.
type benchEnv struct {
	base    string // http://127.0.0.1:port
	dbURL   string
	pgdata  string // "" when the server is not ours
	service *exec.Cmd
	tokens  map[string]string // the seed's env file: ADMIN, PLANNER, LEADER, TEAM, BUSINESS, USCC, TZ, ...
	client  *http.Client
}

func benchLoad(ctx context.Context, o benchOptions, out io.Writer) error {
	started, load0 := time.Now(), loadAverage()
	say := func(format string, args ...any) { fmt.Fprintf(out, "# "+format+"\n", args...) }
	dir := o.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "inspectonce-bench-")
		if err != nil {
			return err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The postgres OS user (when running as root) must traverse it.
	_ = os.Chmod(dir, 0o755)
	env := &benchEnv{dbURL: o.databaseURL, client: &http.Client{Timeout: 30 * time.Second}}
	redisURL := o.redisURL
	if o.databaseURL == "" {
		pg, rd := o.pgPort, o.redisPort
		var err error
		if pg == 0 {
			if pg, err = freeTCPPort(); err != nil {
				return err
			}
		}
		if rd == 0 {
			if rd, err = freeTCPPort(); err != nil {
				return err
			}
		}
		say("starting PostgreSQL :%d and Redis :%d in %s", pg, rd, dir)
		cmd := exec.CommandContext(ctx, o.script, "start", dir, strconv.Itoa(pg), strconv.Itoa(rd))
		cmd.Env = os.Environ()
		if o.testTuning {
			cmd.Env = append(cmd.Env, "TEST_TUNING=1")
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("start the throwaway servers: %w\n%s", err, b)
		}
		if !o.keep {
			defer func() {
				if b, err := exec.Command(o.script, "purge", dir).CombinedOutput(); err != nil {
					fmt.Fprintf(out, "# purging %s failed: %v\n%s", dir, err, b)
				}
			}()
		} else {
			defer say("servers left running: %s purge %s", o.script, dir)
		}
		env.dbURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/inspectonce?sslmode=disable", pg)
		redisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", rd)
		env.pgdata = filepath.Join(dir, "pg")
		if b, err := os.ReadFile(filepath.Join(dir, "pg.path")); err == nil {
			env.pgdata = strings.TrimSpace(string(b))
		}
	}

	self, err := os.Executable()
	if err != nil {
		return err
	}
	addr, err := freeTCPPort()
	if err != nil {
		return err
	}
	env.base = fmt.Sprintf("http://127.0.0.1:%d", addr)
	serviceEnv := append(slices.Clone(os.Environ()),
		"INSPECTONCE_DATABASE_URL="+env.dbURL, "INSPECTONCE_REDIS_URL="+redisURL,
		fmt.Sprintf("INSPECTONCE_HTTP_ADDR=127.0.0.1:%d", addr), "INSPECTONCE_HTTP_PUBLIC_BASE_URL="+env.base,
		// Publish without approval steps, and no per-client limits: one
		// generator is one client.
		"INSPECTONCE_PLANNING_APPROVAL_STEPS=",
		"INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_RATE=0", "INSPECTONCE_HTTP_RATE_LIMITS_OPEN_DATA_RATE=0",
		"INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=0", "INSPECTONCE_HTTP_RATE_LIMITS_WRITES_RATE=0")
	runSelf := func(args ...string) error {
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Env = serviceEnv
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("inspectonce %s: %w\n%s", strings.Join(args, " "), err, b)
		}
		return nil
	}
	say("migrating and seeding the demo county")
	if err := runSelf("migrate", "up"); err != nil {
		return err
	}
	demoEnv := filepath.Join(dir, "demo.env")
	if err := runSelf("seed", "--env-file", demoEnv); err != nil {
		return err
	}
	if env.tokens, err = readEnvFile(demoEnv); err != nil {
		return err
	}

	logPath := filepath.Join(dir, "service.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	env.service = exec.Command(self, "all")
	env.service.Env = serviceEnv
	env.service.Stdout, env.service.Stderr = logFile, logFile
	if err := env.service.Start(); err != nil {
		return fmt.Errorf("start the service: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- env.service.Wait() }()
	defer func() {
		_ = env.service.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = env.service.Process.Kill()
			<-exited
		}
	}()
	if err := env.waitReady(ctx, exited, logPath); err != nil {
		return err
	}
	say("service %s ready (pid %d, log %s)", env.base, env.service.Process.Pid, logPath)

	if err := env.planAndPublish(ctx, say); err != nil {
		return err
	}

	var baselines []loadbench.Baseline
	if o.pgbenchDuration > 0 {
		if baselines, err = env.pgbench(ctx, o, say); err != nil {
			return err
		}
	}

	routes, err := env.routes(ctx, o)
	if err != nil {
		return err
	}
	// Write out what seeding, planning and pgbench -i dirtied, so that the
	// checkpoint it would trigger does not land on a route's steps.
	if err := env.checkpoint(ctx); err != nil {
		say("%v (the steps may meet a checkpoint)", err)
	}
	cpu := env.cpu()
	if cpu == nil {
		say("CPU per request: service only (PostgreSQL is not ours)")
	} else {
		say("CPU per request: the service and PostgreSQL together")
	}
	lo := loadbench.Options{Duration: o.duration, Warmup: o.warmup, Timeout: o.timeout, Pause: o.pause, CPU: cpu, Progress: out}
	var climbs []loadbench.Climb
	for _, r := range routes {
		say("route %s: steps of %s at %v req/s until p99 ≥ %s or an error, then twice the knee", r.Name, o.duration, o.rates, r.Limit)
		c, err := loadbench.Run(ctx, r, o.rates, lo)
		if err != nil {
			return fmt.Errorf("route %s: %w", r.Name, err)
		}
		climbs = append(climbs, c)
	}
	fmt.Fprintln(out)
	say("summary (%s steps; generator, service and PostgreSQL on the same machine; %s in all; load average %s at the start, %s now)",
		o.duration, time.Since(started).Round(time.Second), load0, loadAverage())
	return loadbench.Summary(out, climbs, baselines)
}

// loadAverage is the machine's 1-, 5- and 15-minute load averages: figures
// measured on a busy machine are read with it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

var envLine = regexp.MustCompile(`^export ([A-Z_]+)='((?:[^']|'\\'')*)'$`)

// readEnvFile reads the shell variables `seed --env-file` writes.
func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := envLine.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = strings.ReplaceAll(m[2], `'\''`, "'")
		}
	}
	for _, k := range []string{"ADMIN", "PLANNER", "LEADER", "TEAM", "BUSINESS", "USCC", "DEPT"} {
		if out[k] == "" {
			return nil, fmt.Errorf("%s: no %s", path, k)
		}
	}
	return out, sc.Err()
}

func (e *benchEnv) waitReady(ctx context.Context, exited <-chan error, logPath string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("the service stopped (%v); see %s", err, logPath)
		default:
		}
		if res, err := e.client.Get(e.base + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service was not ready within a minute; see %s", logPath)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// call makes one API request with a role's token and decodes the answer
// into into (when not nil); an answer outside 2xx is an error.
func (e *benchEnv) call(ctx context.Context, role, method, path string, body any, into any) (int, error) {
	t := vegeta.Target{Method: method, URL: e.base + path, Header: http.Header{}}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		t.Body = b
		t.Header.Set("Content-Type", "application/json")
	}
	if role != "" {
		t.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	return e.callWith(ctx, t, into)
}

func firstLineOf(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\n")
	return s
}

// today is the county's civil date (the seed's TZ).
func (e *benchEnv) today() time.Time {
	loc, err := time.LoadLocation(e.tokens["TZ"])
	if err != nil {
		loc = time.Local
	}
	y, m, d := time.Now().In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// planAndPublish runs the demo plan for the next four weeks through the API
// (POST /plans, the worker plans it), waits for its draft and its
// comparison, and publishes it, saying how long each took.
func (e *benchEnv) planAndPublish(ctx context.Context, say func(string, ...any)) error {
	from := e.today().AddDate(0, 0, 1)
	var p struct {
		ID               int64  `json:"id"`
		Status           string `json:"status"`
		Failure          string `json:"failure"`
		ComparisonStatus string `json:"comparison_status"`
		Stats            *struct {
			Visits int `json:"visits"`
		} `json:"stats"`
	}
	t0 := time.Now()
	if _, err := e.call(ctx, "ADMIN", "POST", "/api/v1/plans", map[string]string{
		"from": from.Format(time.DateOnly), "to": from.AddDate(0, 0, 27).Format(time.DateOnly)}, &p); err != nil {
		return fmt.Errorf("start the demo plan: %w", err)
	}
	var draft time.Duration
	for {
		if _, err := e.call(ctx, "ADMIN", "GET", fmt.Sprintf("/api/v1/plans/%d", p.ID), nil, &p); err != nil {
			return err
		}
		if p.Status != "running" && draft == 0 {
			draft = time.Since(t0)
		}
		if p.Status == "failed" {
			return fmt.Errorf("the demo plan %d failed: %s", p.ID, p.Failure)
		}
		if p.Status != "running" && p.ComparisonStatus != "queued" && p.ComparisonStatus != "running" {
			break
		}
		if time.Since(t0) > 5*time.Minute {
			return fmt.Errorf("the demo plan %d is still %s (comparison %s) after 5 minutes", p.ID, p.Status, p.ComparisonStatus)
		}
		time.Sleep(50 * time.Millisecond)
	}
	visits := 0
	if p.Stats != nil {
		visits = p.Stats.Visits
	}
	say("demo plan %d: draft after %s (POST to draft, %d visits), comparison %s after %s", p.ID, draft.Round(time.Millisecond), visits,
		p.ComparisonStatus, time.Since(t0).Round(time.Millisecond))
	if _, err := e.call(ctx, "ADMIN", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p.ID), nil, nil); err != nil {
		// The seed's own published plan keeps the routes busy either way.
		say("the demo plan was not published (%v); the seed's published plan serves the routes", err)
		return nil
	}
	say("demo plan %d published", p.ID)
	return nil
}

// pgbench runs pgbench -S, simple and prepared, on a database of its own on
// the same server.
func (e *benchEnv) pgbench(ctx context.Context, o benchOptions, say func(string, ...any)) ([]loadbench.Baseline, error) {
	u, err := url.Parse(e.dbURL)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	db := fmt.Sprintf("inspectonce_pgbench_%d", os.Getpid())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		return nil, fmt.Errorf("pgbench database: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
			say("dropping %s: %v", db, err)
		}
	}()
	user := "postgres"
	if u.User != nil && u.User.Username() != "" {
		user = u.User.Username()
	}
	pb := loadbench.Pgbench{Bin: o.pgbenchBin, Host: u.Hostname(), Port: u.Port(), User: user, DB: db,
		Clients: o.pgbenchClients, Threads: min(o.pgbenchClients, 2)}
	if pb.Port == "" {
		pb.Port = "5432"
	}
	say("pgbench -i -s %d, then -S for %s with %d clients, simple and prepared", o.pgbenchScale, o.pgbenchDuration, o.pgbenchClients)
	if err := pb.Init(ctx, o.pgbenchScale); err != nil {
		return nil, err
	}
	var out []loadbench.Baseline
	for _, prepared := range []bool{false, true} {
		tps, err := pb.SelectOnly(ctx, prepared, o.pgbenchDuration)
		if err != nil {
			return nil, err
		}
		name := "pgbench -S simple"
		if prepared {
			name = "pgbench -S prepared"
		}
		say("%s: %.0f TPS", name, tps)
		out = append(out, loadbench.Baseline{Name: name, TPS: tps})
	}
	return out, nil
}

// cpu sums the CPU time of the service and, when the server is ours, of
// PostgreSQL; nil when even the service's cannot be read.
func (e *benchEnv) cpu() func() (time.Duration, error) {
	pid := e.service.Process.Pid
	if _, err := loadbench.ProcessCPU(pid); err != nil {
		return nil
	}
	pg := 0
	if e.pgdata != "" {
		if p, err := loadbench.PostmasterPID(e.pgdata); err == nil {
			pg = p
		}
	}
	return func() (time.Duration, error) {
		total, err := loadbench.ProcessCPU(pid)
		if err != nil || pg == 0 {
			return total, err
		}
		t, err := loadbench.TreeCPU(pg)
		return total + t, err
	}
}

var codeRe = regexp.MustCompile(`/v/([A-Za-z0-9_-]+)`)

// routes builds the targeters of the chosen routes from the demo data: the
// seeded business's schedule, the seeded team's roster on its busiest day
// of the next fortnight, a visit code from that schedule or roster, the
// businesses list, and demand submissions each with its own title and
// Idempotency-Key (real writes).
func (e *benchEnv) routes(ctx context.Context, o benchOptions) ([]loadbench.Route, error) {
	get := func(path, role string) vegeta.Targeter {
		h := http.Header{}
		if role != "" {
			h.Set("Authorization", "Bearer "+e.tokens[role])
		}
		return vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: e.base + path, Header: h})
	}
	schedule := "/api/v1/businesses/" + e.tokens["USCC"] + "/schedule"
	var out []loadbench.Route
	var code string
	findCode := func(path, role string) {
		if code != "" {
			return
		}
		req, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
		if res, err := e.client.Do(req); err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if m := codeRe.FindSubmatch(b); m != nil {
				code = string(m[1])
			}
		}
	}
	// The roster: the day of the next fortnight with the most stops.
	rosterDay, most := e.today(), -1
	for d := range 14 {
		day := e.today().AddDate(0, 0, d)
		var r struct {
			Visits []json.RawMessage `json:"visits"`
		}
		path := fmt.Sprintf("/api/v1/teams/%s/rosters/%s", e.tokens["TEAM"], day.Format(time.DateOnly))
		if _, err := e.call(ctx, "LEADER", "GET", path, nil, &r); err != nil {
			return nil, err
		}
		if len(r.Visits) > most {
			rosterDay, most = day, len(r.Visits)
		}
	}
	roster := fmt.Sprintf("/api/v1/teams/%s/rosters/%s", e.tokens["TEAM"], rosterDay.Format(time.DateOnly))
	findCode(schedule, "BUSINESS")
	findCode(roster, "LEADER")
	var schedules, codes []vegeta.Target
	if slices.Contains(o.routes, "schedule") || slices.Contains(o.routes, "code") {
		var err error
		if schedules, codes, err = e.businessTargets(ctx, o.businesses); err != nil {
			return nil, err
		}
	}
	// The planner's department (DEPT is its code) and its first item.
	var depts struct {
		Items []struct {
			ID   int64  `json:"id"`
			Code string `json:"code"`
		} `json:"items"`
	}
	if _, err := e.call(ctx, "PLANNER", "GET", "/api/v1/departments?limit=500", nil, &depts); err != nil {
		return nil, err
	}
	var dept int64
	for _, d := range depts.Items {
		if d.Code == e.tokens["DEPT"] {
			dept = d.ID
		}
	}
	var items struct {
		Items []struct {
			ID int64 `json:"id"`
		} `json:"items"`
	}
	if _, err := e.call(ctx, "PLANNER", "GET", fmt.Sprintf("/api/v1/items?department_id=%d", dept), nil, &items); err != nil {
		return nil, err
	}
	if len(items.Items) == 0 {
		return nil, fmt.Errorf("the demo department %s has no items", e.tokens["DEPT"])
	}
	for _, name := range o.routes {
		r := loadbench.Route{Name: name, Limit: o.readLimit}
		switch name {
		case "healthz":
			r.Targeter = get("/healthz", "")
		case "schedule":
			r.Targeter = vegeta.NewStaticTargeter(schedules...)
		case "roster":
			rosters, err := e.rosterTargets(ctx, roster)
			if err != nil {
				return nil, err
			}
			r.Targeter = vegeta.NewStaticTargeter(rosters...)
		case "code":
			if code == "" && len(codes) == 0 {
				return nil, errors.New("no visit code found in the business's schedule or the team's roster")
			}
			if len(codes) == 0 {
				codes = append(codes, vegeta.Target{Method: "GET", URL: e.base + "/v/" + code})
			}
			r.Targeter = vegeta.NewStaticTargeter(codes...)
		case "businesses":
			lists, err := e.businessListTargets(ctx)
			if err != nil {
				return nil, err
			}
			r.Targeter = vegeta.NewStaticTargeter(lists...)
		case "demands":
			r.Limit = o.writeLimit
			r.Targeter = e.demandTargeter(items.Items[0].ID)
		}
		out = append(out, r)
	}
	return out, nil
}

// businessTargets are the schedule reads of up to n businesses with visits
// in a published plan, each read with a business token of its own (issued
// here through the API, as an admin would), and the /v/ checks of every
// code those schedules show: the load spreads over many keys, as a county's
// businesses and their scans do, instead of one hot row.
func (e *benchEnv) businessTargets(ctx context.Context, n int) (schedules, codes []vegeta.Target, err error) {
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return nil, nil, fmt.Errorf("businesses with visits: %w", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT DISTINCT uscc FROM published_visits ORDER BY uscc LIMIT $1`, n)
	if err != nil {
		return nil, nil, fmt.Errorf("businesses with visits: %w", err)
	}
	usccs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, nil, fmt.Errorf("businesses with visits: %w", err)
	}
	if len(usccs) == 0 {
		return nil, nil, errors.New("no business has a published visit")
	}
	for i, uscc := range usccs {
		uscc = strings.TrimSpace(uscc)
		var tok struct {
			Token string `json:"token"`
		}
		if _, err := e.call(ctx, "ADMIN", "POST", "/api/v1/tokens",
			map[string]string{"name": fmt.Sprintf("压力测试企业 %d", i+1), "role": "business", "scope": uscc}, &tok); err != nil {
			return nil, nil, err
		}
		t := vegeta.Target{Method: "GET", URL: e.base + "/api/v1/businesses/" + uscc + "/schedule",
			Header: http.Header{"Authorization": {"Bearer " + tok.Token}}}
		schedules = append(schedules, t)
		var sched struct {
			Visits []struct {
				Code string `json:"code"`
			} `json:"visits"`
		}
		if _, err := e.callWith(ctx, t, &sched); err != nil {
			return nil, nil, err
		}
		for _, v := range sched.Visits {
			codes = append(codes, vegeta.Target{Method: "GET", URL: e.base + "/v/" + v.Code})
		}
	}
	return schedules, codes, nil
}

// businessListTargets are the pages of the business register as three kinds
// of reader page through it (an admin, the seeded planner and team leader,
// each seeing other contacts): every page of the whole register, and the
// first page of each risk code, in turn.
func (e *benchEnv) businessListTargets(ctx context.Context) ([]vegeta.Target, error) {
	var out []vegeta.Target
	for _, role := range []string{"ADMIN", "PLANNER", "LEADER"} {
		h := http.Header{"Authorization": {"Bearer " + e.tokens[role]}}
		for _, risk := range []string{"red", "yellow", "green"} {
			out = append(out, vegeta.Target{Method: "GET", URL: e.base + "/api/v1/businesses?risk_code=" + risk, Header: h})
		}
		path := "/api/v1/businesses"
		for range 1000 {
			t := vegeta.Target{Method: "GET", URL: e.base + path, Header: h}
			out = append(out, t)
			var page struct {
				NextCursor string `json:"next_cursor"`
			}
			if _, err := e.callWith(ctx, t, &page); err != nil {
				return nil, err
			}
			if page.NextCursor == "" {
				break
			}
			path = "/api/v1/businesses?after=" + url.QueryEscape(page.NextCursor)
		}
	}
	return out, nil
}

// rosterTargets are the rosters of every team on each working day of the
// next fortnight that has visits, read by an admin (as a county's leaders
// read their own), beginning with the seeded leader's busiest day (read
// with the leader's token): the load spreads over the county's team-days.
func (e *benchEnv) rosterTargets(ctx context.Context, busiest string) ([]vegeta.Target, error) {
	out := []vegeta.Target{{Method: "GET", URL: e.base + busiest, Header: http.Header{"Authorization": {"Bearer " + e.tokens["LEADER"]}}}}
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return nil, fmt.Errorf("team-days: %w", err)
	}
	defer conn.Close(ctx)
	from := e.today()
	rows, err := conn.Query(ctx, `SELECT DISTINCT team_id, date FROM published_visits
		WHERE date >= $1::date AND date < $1::date + 14 ORDER BY date, team_id`, from)
	if err != nil {
		return nil, fmt.Errorf("team-days: %w", err)
	}
	defer rows.Close()
	auth := http.Header{"Authorization": {"Bearer " + e.tokens["ADMIN"]}}
	for rows.Next() {
		var team int64
		var day time.Time
		if err := rows.Scan(&team, &day); err != nil {
			return nil, fmt.Errorf("team-days: %w", err)
		}
		out = append(out, vegeta.Target{Method: "GET", Header: auth,
			URL: fmt.Sprintf("%s/api/v1/teams/%d/rosters/%s", e.base, team, day.Format(time.DateOnly))})
	}
	return out, rows.Err()
}

// checkpoint runs CHECKPOINT on the benchmark's database.
func (e *benchEnv) checkpoint(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, e.dbURL)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// callWith sends t and decodes its JSON answer into into (nil: none).
func (e *benchEnv) callWith(ctx context.Context, t vegeta.Target, into any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(t.Body))
	if err != nil {
		return 0, err
	}
	req.Header = t.Header.Clone()
	res, err := e.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s %s: %d %s", t.Method, t.URL, res.StatusCode, firstLineOf(b))
	}
	if into != nil {
		if err := json.Unmarshal(b, into); err != nil {
			return res.StatusCode, fmt.Errorf("%s %s: %w", t.Method, t.URL, err)
		}
	}
	return res.StatusCode, nil
}

// demandTargeter submits a list demand on the seeded business, each with a
// title and Idempotency-Key of its own, so every request is a real write.
func (e *benchEnv) demandTargeter(item int64) vegeta.Targeter {
	from := e.today().AddDate(0, 0, 1)
	var n atomic.Int64
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	auth := "Bearer " + e.tokens["PLANNER"]
	return func(t *vegeta.Target) error {
		i := n.Add(1)
		body, err := json.Marshal(map[string]any{
			"title": fmt.Sprintf("压力测试 %s-%d", run, i), "item_ids": []int64{item}, "businesses": []string{e.tokens["USCC"]},
			"window":   map[string]string{"from": from.Format(time.DateOnly), "to": from.AddDate(0, 0, 27).Format(time.DateOnly)},
			"priority": 3, "source": "campaign", "announce_days": 0,
		})
		if err != nil {
			return err
		}
		*t = vegeta.Target{Method: "POST", URL: e.base + "/api/v1/demands", Body: body, Header: http.Header{
			"Authorization": {auth}, "Content-Type": {"application/json"},
			"Idempotency-Key": {fmt.Sprintf("bench-%s-%d", run, i)}}}
		return nil
	}
}
