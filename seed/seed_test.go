package seed_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// digests hashes every registry table of a database, ids included (they are
// deterministic in a fresh database) and timestamps left out. It reads through
// plain SQL, so that it checks what is stored, whatever the store's mapping.
func digests(t *testing.T, st *store.Store) map[string]string {
	t.Helper()
	tables := []struct{ name, cols string }{
		{"departments", "id, code, name"},
		{"items", "id, code, department_id, name, domain, minutes, legal_basis"},
		{"scenarios", "id, code, name, industry_codes"},
		{"scenario_items", "scenario_id, item_id"},
		{"regions", "id, code, name, level, parent_id"},
		{"teams", "id, code, name, kind, department_id, base_lat, base_lng, daily_capacity_minutes, contact_phone"},
		{"team_regions", "team_id, region_id"},
		{"businesses", "uscc, name, address, region_id, industry_code, lat, lng, risk_code, risk_reason, list_kind, contact_name, contact_phone"},
		{"inspectors", "id, code, name, team_id, domains, phone, is_leader"},
		{"inspector_conflicts", "inspector_id, uscc"},
	}
	out := map[string]string{}
	for _, tb := range tables {
		var n int
		var sum string
		q := `SELECT count(*), md5(coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')) FROM (SELECT ` +
			tb.cols + ` FROM ` + tb.name + `) r`
		if err := st.SQL().QueryRow(q).Scan(&n, &sum); err != nil {
			t.Fatalf("digest %s: %v", tb.name, err)
		}
		out[tb.name] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return out
}

// notPast leaves out (of demands d) the past's demands: those its plan
// served, and the follow-ups its reports created.
const notPast = `d.origin_kind IS NULL AND NOT EXISTS (SELECT 1 FROM plan_tasks t WHERE t.demand_id = d.id)`

func count(t *testing.T, st *store.Store, query string, args ...any) int {
	t.Helper()
	var n int
	if err := st.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// checkTokens authenticates every token and checks its role and scope.
func checkTokens(t *testing.T, st *store.Store, tokens []seed.Token) {
	t.Helper()
	if len(tokens) != len(domain.Roles) {
		t.Fatalf("%d tokens, want one per role (%d)", len(tokens), len(domain.Roles))
	}
	for i, tok := range tokens {
		if tok.Role != domain.Roles[i] || tok.Description == "" {
			t.Errorf("token %d: %+v, want role %s with a description", i, tok, domain.Roles[i])
		}
		p, err := st.Authenticate(context.Background(), tok.Token)
		if err != nil {
			t.Errorf("%s token does not authenticate: %v", tok.Role, err)
			continue
		}
		if p.Role != tok.Role || p.Scope != tok.Scope {
			t.Errorf("%s token authenticates as %s(%s), want %s(%s)", tok.Role, p.Role, p.Scope, tok.Role, tok.Scope)
		}
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	stA, _ := storetest.New(t)
	stB, _ := storetest.New(t)

	start := time.Now()
	resA, err := seed.Load(ctx, stA)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Load took %v: %d businesses, %d inspectors", time.Since(start), resA.Businesses, resA.Inspectors)
	resB, err := seed.Load(ctx, stB)
	if err != nil {
		t.Fatal(err)
	}

	c := seed.Demo()
	conflicts := 0
	for _, in := range c.Inspectors {
		conflicts += len(in.Conflicts)
	}
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	want := seed.Result{
		Departments: len(c.Departments), Items: len(c.Items), Scenarios: len(c.Scenarios),
		Regions: len(c.Regions), Teams: len(c.Teams), Inspectors: len(c.Inspectors),
		Businesses: len(c.Businesses), Conflicts: conflicts, Demands: len(c.Demands(time.Now(), cal)),
	}
	for _, res := range []seed.Result{resA, resB} {
		got := res
		got.Tokens, got.Past = nil, seed.PastResult{} // the past: past_test.go
		if !reflect.DeepEqual(got, want) {
			t.Errorf("counts %+v, want %+v", got, want)
		}
	}

	t.Run("identical registries in two databases", func(t *testing.T) {
		a, b := digests(t, stA), digests(t, stB)
		for table, sum := range a {
			if b[table] != sum {
				t.Errorf("%s differs between two loads: %s vs %s", table, sum, b[table])
			}
		}
	})

	t.Run("stored rows", func(t *testing.T) {
		for _, tc := range []struct {
			what  string
			query string
			want  int
		}{
			{"departments", "SELECT count(*) FROM departments", want.Departments},
			{"businesses", "SELECT count(*) FROM businesses", want.Businesses},
			{"inspectors", "SELECT count(*) FROM inspectors", want.Inspectors},
			{"conflicts", "SELECT count(*) FROM inspector_conflicts", want.Conflicts},
			{"open demands", "SELECT count(*) FROM demands d WHERE status = 'open' AND created_by = 'seed' AND " + notPast, want.Demands},
			{"demands whose window has begun", "SELECT count(*) FROM demands d WHERE window_from <= current_date - 1 AND " + notPast, 0},
			{"demands naming another department's items", `SELECT count(*) FROM demand_items di
				JOIN demands d ON d.id = di.demand_id JOIN items i ON i.id = di.item_id WHERE i.department_id <> d.department_id`, 0},
			{"sample demands over a scenario", "SELECT count(*) FROM demands WHERE sample_scenario_id IS NOT NULL AND source = 'scenario'", 9},
			{"businesses not on a grid", `SELECT count(*) FROM businesses b JOIN regions r ON r.id = b.region_id WHERE r.level <> 'grid'`, 0},
			{"risk history starts", "SELECT count(DISTINCT uscc) FROM risk_code_history WHERE set_by = 'seed'", want.Businesses},
			{"audit entries not by the seed or its publication run", "SELECT count(*) FROM audit_log WHERE actor NOT IN ('seed', 'publisher')", 0},
			{"嵊山镇 squad covers 嵊山, 枸杞, 花鸟 (1+X)", `SELECT count(*) FROM team_regions tr
				JOIN teams t ON t.id = tr.team_id JOIN regions r ON r.id = tr.region_id
				WHERE t.code = 'SS-ZD-SH' AND r.code IN ('SS-SH', 'SS-GQ', 'SS-HN')`, 3},
			{"townships without exactly one squad", `SELECT count(*) FROM regions r WHERE r.level = 'township' AND
				(SELECT count(*) FROM team_regions tr JOIN teams t ON t.id = tr.team_id
				 WHERE tr.region_id = r.id AND t.kind = 'township') <> 1`, 0},
			{"scenarios spanning fewer than 3 departments", `SELECT count(*) FROM scenarios s WHERE
				(SELECT count(DISTINCT i.department_id) FROM scenario_items si JOIN items i ON i.id = si.item_id
				 WHERE si.scenario_id = s.id) < 3`, 0},
			{"item domains held by fewer than 2 inspectors", `SELECT count(*) FROM (SELECT DISTINCT domain FROM items) d
				WHERE (SELECT count(*) FROM inspectors WHERE d.domain = ANY(domains)) < 2`, 0},
			{"teams without exactly one leader", `SELECT count(*) FROM teams t
				WHERE (SELECT count(*) FROM inspectors WHERE team_id = t.id AND is_leader) <> 1`, 0},
		} {
			if got := count(t, stA, tc.query); got != tc.want {
				t.Errorf("%s: %d, want %d", tc.what, got, tc.want)
			}
		}
		if n, brk, err := stA.VerifyAudit(ctx); err != nil || brk != nil {
			t.Errorf("audit chain of %d entries: break %v, err %v", n, brk, err)
		}
	})

	t.Run("township filters reach businesses through grids", func(t *testing.T) {
		towns, err := stA.ListRegions(ctx, store.RegionFilter{Level: domain.LevelTownship}, store.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, tw := range towns.Items {
			n := 0
			p := store.Page{Limit: store.MaxLimit}
			for {
				page, err := stA.ListBusinesses(ctx, store.BusinessFilter{RegionID: tw.ID}, p)
				if err != nil {
					t.Fatal(err)
				}
				n += len(page.Items)
				if page.Next == "" {
					break
				}
				p.After = page.Next
			}
			if n == 0 {
				t.Errorf("township %s: no businesses", tw.Name)
			}
			total += n
		}
		if total != want.Businesses {
			t.Errorf("townships hold %d businesses in all, want %d", total, want.Businesses)
		}
	})

	t.Run("tokens of the first load work", func(t *testing.T) {
		checkTokens(t, stA, resA.Tokens)
	})

	t.Run("second load refuses but issues fresh tokens", func(t *testing.T) {
		before := digests(t, stA)
		res, err := seed.Load(ctx, stA)
		if !errors.Is(err, seed.ErrAlreadySeeded) {
			t.Fatalf("second Load: %v, want ErrAlreadySeeded", err)
		}
		if res.Businesses != 0 || res.Departments != 0 {
			t.Errorf("second Load reports loading %+v", res)
		}
		checkTokens(t, stA, res.Tokens)
		for i, tok := range res.Tokens {
			if tok.Scope != resA.Tokens[i].Scope {
				t.Errorf("%s token scoped to %q, the first load's to %q", tok.Role, tok.Scope, resA.Tokens[i].Scope)
			}
			if tok.Token == resA.Tokens[i].Token {
				t.Errorf("%s token was not fresh", tok.Role)
			}
		}
		after := digests(t, stA)
		for table, sum := range before {
			if after[table] != sum {
				t.Errorf("second Load changed %s", table)
			}
		}
	})
}

// A database holding someone else's data is not seeded; the tokens go to what
// there is.
func TestLoadIntoForeignRegistry(t *testing.T) {
	ctx := context.Background()
	st, _ := storetest.New(t)
	if err := st.CreateDepartment(ctx, "admin", &domain.Department{Code: "ABC", Name: "某局"}); err != nil {
		t.Fatal(err)
	}
	res, err := seed.Load(ctx, st)
	if !errors.Is(err, seed.ErrAlreadySeeded) {
		t.Fatalf("Load: %v, want ErrAlreadySeeded", err)
	}
	// A witness needs no registry row: it is issued too.
	if len(res.Tokens) != 3 || res.Tokens[0].Role != domain.RoleAdmin ||
		res.Tokens[1].Role != domain.RolePlanner || res.Tokens[1].Scope != "ABC" || res.Tokens[2].Role != domain.RoleWitness {
		t.Fatalf("tokens %+v, want admin, planner(ABC) and witness", res.Tokens)
	}
	for _, tok := range res.Tokens {
		if _, err := st.Authenticate(ctx, tok.Token); err != nil {
			t.Errorf("%s token: %v", tok.Role, err)
		}
	}
	if n := count(t, st, "SELECT count(*) FROM businesses"); n != 0 {
		t.Errorf("%d businesses loaded into a foreign registry", n)
	}
}
