package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/jobs"
	"inspectonce/planning"
	"inspectonce/store"
	"inspectonce/store/storetest"
	"inspectonce/uscc"
)

// env is a running API on a fresh database with a small county and a token per
// role. Every response it sees is checked against the OpenAPI document.
type env struct {
	t      *testing.T
	st     *store.Store
	srv    *httptest.Server
	rc     *responseChecker
	tokens map[string]string // role (and variants) -> token
	// plans is the API's planning service; enqueue carries out a started plan
	// (by default Execute in a goroutine that the test waits for; a test may
	// swap it before its first request, e.g. for a real asynq worker).
	plans   *planning.Service
	enqueue func(ctx context.Context, planID int64) error
	runs    sync.WaitGroup
	// fixture ids
	deptA, deptB       domain.Department
	itemA, itemB       domain.Item
	county, town, grid domain.Region
	team               domain.Team
	inspector          domain.Inspector
	bizA, bizB         domain.Business
	scenario           domain.Scenario
}

type redisPing struct{ c *redis.Client }

func (p redisPing) Ping(ctx context.Context) error { return p.c.Ping(ctx).Err() }

// testToday is the clock of the API under test, so windows are stable.
var testToday = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t)
}

// newEnvWith is newEnv with configuration overrides ("INSPECTONCE_X=value").
func newEnvWith(t *testing.T, overrides ...string) *env {
	t.Helper()
	st, _ := storetest.New(t)
	cfg, err := configs.Load("", append([]string{"INSPECTONCE_HTTP_BODY_LIMIT_BYTES=65536", "INSPECTONCE_PLANNING_APPROVAL_STEPS="}, overrides...))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	ropt, err := redis.ParseURL(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(ropt)
	t.Cleanup(func() { _ = rdb.Close() })
	qopt, err := asynq.ParseRedisURI(os.Getenv(storetest.EnvRedisURL))
	if err != nil {
		t.Fatal(err)
	}
	queues := asynq.NewInspector(qopt)
	t.Cleanup(func() { _ = queues.Close() })
	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal, Now: func() time.Time { return testToday }})
	if err != nil {
		t.Fatal(err)
	}
	v := &env{t: t, st: st, plans: plans, rc: newResponseChecker(t), tokens: map[string]string{}}
	v.enqueue = func(_ context.Context, planID int64) error {
		v.runs.Add(1)
		go func() {
			defer v.runs.Done()
			_, _ = plans.Execute(context.Background(), planID)
		}()
		return nil
	}
	t.Cleanup(v.runs.Wait) // before the database is dropped
	e := New(Options{Store: st, Redis: redisPing{rdb}, Config: cfg, Calendar: cal, Now: func() time.Time { return testToday },
		Logger: slog.New(slog.DiscardHandler), Planning: plans, Queues: queues, QueueNames: jobs.QueueNames(),
		Enqueue: func(ctx context.Context, planID int64) error { return v.enqueue(ctx, planID) }})
	v.srv = httptest.NewServer(e)
	t.Cleanup(v.srv.Close)
	v.fixture()
	return v
}

func mustUSCC(t testing.TB, n int) string {
	t.Helper()
	code, err := uscc.Complete(fmt.Sprintf("91330922%09d", n))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func (v *env) fixture() {
	t, ctx, st := v.t, context.Background(), v.st
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	v.deptA = domain.Department{Code: "SCJG", Name: "市场监督管理局"}
	must(st.CreateDepartment(ctx, "test", &v.deptA))
	v.deptB = domain.Department{Code: "XFJY", Name: "消防救援大队"}
	must(st.CreateDepartment(ctx, "test", &v.deptB))
	v.itemA = domain.Item{Code: "SCJG-01", DepartmentID: v.deptA.ID, Name: "食品贮存", Domain: "food_safety", Minutes: 30}
	must(st.CreateItem(ctx, "test", &v.itemA))
	v.itemB = domain.Item{Code: "XFJY-01", DepartmentID: v.deptB.ID, Name: "消防设施", Domain: "fire_safety", Minutes: 20}
	must(st.CreateItem(ctx, "test", &v.itemB))
	v.county = domain.Region{Code: "SS", Name: "嵊泗县", Level: domain.LevelCounty}
	must(st.CreateRegion(ctx, "test", &v.county))
	v.town = domain.Region{Code: "SS-CY", Name: "菜园镇", Level: domain.LevelTownship, ParentID: &v.county.ID}
	must(st.CreateRegion(ctx, "test", &v.town))
	v.grid = domain.Region{Code: "SS-CY-G01", Name: "一网格", Level: domain.LevelGrid, ParentID: &v.town.ID}
	must(st.CreateRegion(ctx, "test", &v.grid))
	v.team = domain.Team{Code: "ZH", Name: "综合行政执法队", Kind: domain.TeamComprehensive, BaseLat: 30.72, BaseLng: 122.45,
		DailyCapacityMinutes: 960, RegionIDs: []int64{v.town.ID}}
	must(st.CreateTeam(ctx, "test", &v.team))
	v.bizA = domain.Business{USCC: mustUSCC(t, 1), Name: "海鲜大排档", RegionID: v.grid.ID, IndustryCode: "H621",
		Lat: 30.72, Lng: 122.45, RiskCode: domain.RiskYellow, ListKind: domain.ListRandom}
	must(st.CreateBusiness(ctx, "test", &v.bizA))
	v.bizB = domain.Business{USCC: mustUSCC(t, 2), Name: "渔家乐民宿", RegionID: v.grid.ID, IndustryCode: "H611",
		Lat: 30.73, Lng: 122.46, RiskCode: domain.RiskGreen, ListKind: domain.ListRandom}
	must(st.CreateBusiness(ctx, "test", &v.bizB))
	v.inspector = domain.Inspector{Code: "ZJ-0001", Name: "王芳", TeamID: v.team.ID, Domains: []string{"food_safety"}}
	must(st.CreateInspector(ctx, "test", &v.inspector))
	v.scenario = domain.Scenario{Code: "CY", Name: "餐饮", IndustryCodes: []string{"H621"}, ItemIDs: []int64{v.itemA.ID, v.itemB.ID}}
	must(st.CreateScenario(ctx, "test", &v.scenario))
	for _, r := range []struct {
		key   string
		role  domain.Role
		scope string
	}{
		{"admin", domain.RoleAdmin, ""},
		{"planner", domain.RolePlanner, v.deptA.Code},
		{"plannerB", domain.RolePlanner, v.deptB.Code},
		{"team_leader", domain.RoleTeamLeader, fmt.Sprint(v.team.ID)},
		{"inspector", domain.RoleInspector, fmt.Sprint(v.inspector.ID)},
		{"business", domain.RoleBusiness, v.bizA.USCC},
	} {
		tok, _, err := st.CreateToken(ctx, "test", r.key, r.role, r.scope)
		must(err)
		v.tokens[r.key] = tok
	}
}

// resp is a decoded answer.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t testing.TB, into any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, into); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	r.json(t, &p)
	return p
}

// do sends a request as the holder of tokens[who] ("" = no token). body may be
// a []byte (sent as is) or any value (sent as JSON).
func (v *env) do(who, method, path string, body any, headers ...string) resp {
	t := v.t
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, v.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if who != "" {
		tok, ok := v.tokens[who]
		if !ok {
			tok = who // a literal token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	v.rc.check(t, req, raw, res.StatusCode, res.Header, b)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

// expect fails unless r has the status.
func expect(t testing.TB, r resp, status int, what string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.Status, status, r.Body)
	}
}

// expectCode checks that a roster or schedule shows a visit's current code
// (as the code API answers it) and the page it opens.
func (v *env) expectCode(t testing.TB, planID int64, seq int, code, url string) {
	t.Helper()
	r := v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits/%d/code", planID, seq), nil)
	expect(t, r, 200, "visit code")
	var want struct{ Code, URL string }
	r.json(t, &want)
	if code == "" || code != want.Code || url != want.URL || !strings.HasSuffix(url, "/v/"+code) {
		t.Errorf("visit %d/%d shows code %q at %q, want %q at %q", planID, seq, code, url, want.Code, want.URL)
	}
}
