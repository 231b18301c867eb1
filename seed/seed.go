// Package seed loads a deterministic demo county into an empty database: the
// registries of an island county modelled on 嵊泗县 (Shengsi, Zhoushan), about
// 3,000 businesses and 150 inspectors, and one working token per role.
//
// Demo returns the county as plain values (no database), so tests and
// benchmarks can use the same data; Load stores it.
package seed

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/store"
)

// Actor names the seed in the audit log.
const Actor = "seed"

// ErrAlreadySeeded is returned by Load when the registries already hold data:
// nothing is loaded, but fresh tokens are still issued. A command can report
// it as "already seeded, skipping" and print the tokens.
var ErrAlreadySeeded = errors.New("registries already hold data, demo county not loaded")

// Token is a bearer token issued by Load. It is shown once: only its hash is
// stored.
type Token struct {
	Role        domain.Role
	Scope       string
	Token       string
	Description string
}

// Result counts what Load stored (all zero after ErrAlreadySeeded) and lists
// the tokens it issued, one per role in domain.Roles order.
type Result struct {
	Departments int
	Items       int
	Scenarios   int
	Regions     int
	Teams       int
	Inspectors  int
	Businesses  int
	// Demands counts the open demands loaded (County.Demands).
	Demands int
	// Conflicts counts declared inspector-business conflicts of interest.
	Conflicts int
	// Past is what the county's past holds (PastResult).
	Past   PastResult
	Tokens []Token
}

// Load is LoadAt with the current time.
func Load(ctx context.Context, st *store.Store) (Result, error) {
	return LoadAt(ctx, st, time.Now())
}

// LoadAt is LoadConfig with the built-in configuration.
func LoadAt(ctx context.Context, st *store.Store, now time.Time) (Result, error) {
	cfg, err := configs.Load("", nil)
	if err != nil {
		return Result{}, fmt.Errorf("seed: configuration: %w", err)
	}
	return LoadConfig(ctx, st, cfg, now)
}

// LoadConfig stores the demo county (Demo) into st, whose registries must be
// empty, with Actor in the audit log, and issues one token per role: admin,
// planner of 市场监管 (SCJG), leader of the 菜园镇 squad, an inspector of that
// squad with visits today and a restaurant. Before the open demands it makes
// the county's past (loadPast, PastResult): a plan made PastDays ago and
// published, its past visits performed, confirmed and their results
// published, so that every token has something to see on day 0. Then it
// loads the county's open demands as they stand at now (County.Demands:
// windows in the next one to eight weeks). cfg gives the time zone, calendar,
// risk rule and result rules, as it does to the service.
//
// If any registry already holds rows, Load loads nothing, issues tokens for the
// demo anchors (or, when the data is not the demo county's, the nearest
// equivalents it finds) and returns them with an error wrapping
// ErrAlreadySeeded. Load is not atomic: on any other error the database holds
// part of the county and must be reset before seeding again.
func LoadConfig(ctx context.Context, st *store.Store, cfg *configs.Config, now time.Time) (Result, error) {
	c := Demo()
	full, err := populated(ctx, st)
	if err != nil {
		return Result{}, err
	}
	if len(full) > 0 {
		tokens, err := tokensForExisting(ctx, st, c.DemoAnchors(), today(cfg, now))
		if err != nil {
			return Result{Tokens: tokens}, err
		}
		return Result{Tokens: tokens}, fmt.Errorf("%w (%s not empty)", ErrAlreadySeeded, strings.Join(full, ", "))
	}
	return load(ctx, st, &c, cfg, now)
}

// today is the civil date of now in cfg's time zone.
func today(cfg *configs.Config, now time.Time) time.Time { return civil(now.In(cfg.Location())) }

// populated names the registries that hold at least one row.
func populated(ctx context.Context, st *store.Store) ([]string, error) {
	one := store.Page{Limit: 1}
	checks := []struct {
		name string
		n    func() (int, error)
	}{
		{"departments", func() (int, error) { p, err := st.ListDepartments(ctx, one); return len(p.Items), err }},
		{"items", func() (int, error) { p, err := st.ListItems(ctx, store.ItemFilter{}, one); return len(p.Items), err }},
		{"scenarios", func() (int, error) { p, err := st.ListScenarios(ctx, one); return len(p.Items), err }},
		{"regions", func() (int, error) {
			p, err := st.ListRegions(ctx, store.RegionFilter{}, one)
			return len(p.Items), err
		}},
		{"teams", func() (int, error) { p, err := st.ListTeams(ctx, store.TeamFilter{}, one); return len(p.Items), err }},
		{"inspectors", func() (int, error) {
			p, err := st.ListInspectors(ctx, store.InspectorFilter{}, one)
			return len(p.Items), err
		}},
		{"businesses", func() (int, error) {
			p, err := st.ListBusinesses(ctx, store.BusinessFilter{}, one)
			return len(p.Items), err
		}},
	}
	var full []string
	for _, c := range checks {
		n, err := c.n()
		if err != nil {
			return nil, fmt.Errorf("seed: check %s: %w", c.name, err)
		}
		if n > 0 {
			full = append(full, c.name)
		}
	}
	return full, nil
}

// load writes the county in dependency order and issues the tokens.
func load(ctx context.Context, st *store.Store, c *County, cfg *configs.Config, now time.Time) (Result, error) {
	var res Result
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		return res, fmt.Errorf("seed: calendar: %w", err)
	}
	dept := map[string]int64{}
	for _, d := range c.Departments {
		if err := st.CreateDepartment(ctx, Actor, &d); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		dept[d.Code] = d.ID
		res.Departments++
	}
	item := map[string]int64{}
	for _, it := range c.Items {
		it.DepartmentID = dept[it.Department]
		if err := st.CreateItem(ctx, Actor, &it.Item); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		item[it.Code] = it.ID
		res.Items++
	}
	scenario := map[string]int64{}
	for _, sc := range c.Scenarios {
		sc.ItemIDs = make([]int64, len(sc.Items))
		for i, code := range sc.Items {
			sc.ItemIDs[i] = item[code]
		}
		if err := st.CreateScenario(ctx, Actor, &sc.Scenario); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		scenario[sc.Code] = sc.ID
		res.Scenarios++
	}
	region := map[string]int64{}
	for _, r := range c.Regions {
		if r.Parent != "" {
			id := region[r.Parent]
			r.ParentID = &id
		}
		if err := st.CreateRegion(ctx, Actor, &r.Region); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		region[r.Code] = r.ID
		res.Regions++
	}
	team := map[string]int64{}
	for _, t := range c.Teams {
		if t.Department != "" {
			id := dept[t.Department]
			t.DepartmentID = &id
		}
		for _, code := range t.Covers {
			t.RegionIDs = append(t.RegionIDs, region[code])
		}
		if err := st.CreateTeam(ctx, Actor, &t.Team); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		team[t.Code] = t.ID
		res.Teams++
	}
	for _, b := range c.Businesses {
		b.RegionID = region[b.Grid]
		if err := st.CreateBusiness(ctx, Actor, &b.Business); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		res.Businesses++
	}
	inspector := map[string]int64{}
	for _, in := range c.Inspectors {
		in.TeamID = team[in.Team]
		conflicts := len(in.Conflicts)
		if err := st.CreateInspector(ctx, Actor, &in.Inspector); err != nil {
			return res, fmt.Errorf("seed: %w", err)
		}
		inspector[in.Code] = in.ID
		res.Inspectors++
		res.Conflicts += conflicts
	}
	ids := idMaps{dept: dept, item: item, scenario: scenario, region: region, team: team, inspector: inspector}
	// The past first: its plan, made weeks ago, must not see (and serve)
	// the demands that are open now.
	if res.Past, err = loadPast(ctx, st, c, cfg, cal, now, ids); err != nil {
		return res, err
	}
	demands, err := loadDemands(ctx, st, c, cal, now, ids)
	res.Demands = demands
	if err != nil {
		return res, err
	}

	a := c.DemoAnchors()
	if a.Inspector, err = busyInspector(ctx, st, c, a, inspector, today(cfg, now)); err != nil {
		return res, err
	}
	n := anchorNames(c, a)
	tokens, err := issue(ctx, st, []Token{
		{Role: domain.RoleAdmin, Description: adminDescription},
		{Role: domain.RolePlanner, Scope: a.Department, Description: n.department + "计划员：提交和查看本部门的检查需求"},
		{Role: domain.RoleTeamLeader, Scope: id(team[a.Team]), Description: n.team + "队长：查看本队排班表"},
		{Role: domain.RoleInspector, Scope: id(inspector[a.Inspector]), Description: n.inspector},
		{Role: domain.RoleBusiness, Scope: a.Business, Description: n.business},
		{Role: domain.RoleWitness, Description: witnessDescription},
	})
	res.Tokens = tokens
	return res, err
}

const witnessDescription = "司法局见证人：在计划的抽查名录承诺公开之后录入随机数，操作方无法单独决定抽中谁"

const adminDescription = "综合执法办管理员：管理全部登记信息，运行、发布计划"

type names struct{ department, team, inspector, business string }

func anchorNames(c *County, a Anchors) names {
	var n names
	for _, d := range c.Departments {
		if d.Code == a.Department {
			n.department = d.Name
		}
	}
	for _, t := range c.Teams {
		if t.Code == a.Team {
			n.team = t.Name
		}
	}
	for _, in := range c.Inspectors {
		if in.Code == a.Inspector {
			n.inspector = inspectorDescription(in.Inspector, n.team)
		}
	}
	for _, b := range c.Businesses {
		if b.USCC == a.Business {
			n.business = businessDescription(b.Business)
		}
	}
	return n
}

func inspectorDescription(in domain.Inspector, team string) string {
	return fmt.Sprintf("%s（执法证号 %s，%s）：查看本人任务", in.Name, in.Code, team)
}

func businessDescription(b domain.Business) string {
	return fmt.Sprintf("%s（%s）：查看本单位检查日程", b.Name, b.Address)
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// issue creates the tokens, filling in Token.
func issue(ctx context.Context, st *store.Store, want []Token) ([]Token, error) {
	out := make([]Token, 0, len(want))
	for _, t := range want {
		tok, _, err := st.CreateToken(ctx, Actor, "demo "+string(t.Role), t.Role, t.Scope)
		if err != nil {
			return out, fmt.Errorf("seed: %s token: %w", t.Role, err)
		}
		t.Token = tok
		out = append(out, t)
	}
	return out, nil
}

// tokensForExisting issues tokens into a database that already holds data:
// scoped to the demo anchors when they exist, otherwise to the first entry of
// the same kind. A role with nothing to scope to gets no token.
func tokensForExisting(ctx context.Context, st *store.Store, a Anchors, day time.Time) ([]Token, error) {
	want := []Token{{Role: domain.RoleAdmin, Description: adminDescription}}

	depts, err := st.ListDepartments(ctx, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if d, ok := find(depts.Items, func(d domain.Department) bool { return d.Code == a.Department }); ok {
		want = append(want, Token{Role: domain.RolePlanner, Scope: d.Code, Description: d.Name + "计划员：提交和查看本部门的检查需求"})
	}

	teams, err := st.ListTeams(ctx, store.TeamFilter{}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	tm, ok := find(teams.Items, func(t domain.Team) bool { return t.Code == a.Team },
		func(t domain.Team) bool { return t.Kind == domain.TeamComprehensive })
	if ok {
		want = append(want, Token{Role: domain.RoleTeamLeader, Scope: id(tm.ID), Description: tm.Name + "队长：查看本队排班表"})
		ins, err := st.ListInspectors(ctx, store.InspectorFilter{TeamID: tm.ID}, store.Page{Limit: store.MaxLimit})
		if err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
		busy, err := busyMember(ctx, st, ins.Items, day)
		if err != nil {
			return nil, err
		}
		if in, ok := find(ins.Items, func(in domain.Inspector) bool { return in.Code == busy },
			func(in domain.Inspector) bool { return in.Code == a.Inspector },
			func(in domain.Inspector) bool { return !in.IsLeader }); ok {
			want = append(want, Token{Role: domain.RoleInspector, Scope: id(in.ID), Description: inspectorDescription(in, tm.Name)})
		}
	}

	b, err := st.GetBusiness(ctx, a.Business)
	if errors.Is(err, domain.ErrNotFound) {
		var p store.Paged[domain.Business]
		p, err = st.ListBusinesses(ctx, store.BusinessFilter{IndustryCode: "H6210"}, store.Page{Limit: 1})
		if err == nil && len(p.Items) == 0 {
			p, err = st.ListBusinesses(ctx, store.BusinessFilter{}, store.Page{Limit: 1})
		}
		if err == nil && len(p.Items) > 0 {
			b = p.Items[0]
		}
	}
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if b.USCC != "" {
		want = append(want, Token{Role: domain.RoleBusiness, Scope: b.USCC, Description: businessDescription(b)})
	}
	want = append(want, Token{Role: domain.RoleWitness, Description: witnessDescription})
	return issue(ctx, st, want)
}

// busyInspector is the certificate number of the demo token's inspector: the
// first member of the anchor team (not its leader), in register order, with
// a visit on day, so that the phone page shows one; a.Inspector when none has.
func busyInspector(ctx context.Context, st *store.Store, c *County, a Anchors, ids map[string]int64, day time.Time) (string, error) {
	var members []domain.Inspector
	for _, in := range c.Inspectors {
		if in.Team == a.Team {
			m := in.Inspector
			m.ID = ids[in.Code]
			members = append(members, m)
		}
	}
	code, err := busyMember(ctx, st, members, day)
	if code == "" {
		code = a.Inspector
	}
	return code, err
}

// busyMember is the code of the first inspector of members, leaders left
// out, with a visit on day through the store call the phone page uses; ""
// when none has. members must carry their stored ids.
func busyMember(ctx context.Context, st *store.Store, members []domain.Inspector, day time.Time) (string, error) {
	for _, in := range members {
		if in.IsLeader || in.ID == 0 {
			continue
		}
		vs, err := st.InspectorVisits(ctx, in.ID, day)
		if err != nil {
			return "", fmt.Errorf("seed: visits of inspector %s: %w", in.Code, err)
		}
		if len(vs) > 0 {
			return in.Code, nil
		}
	}
	return "", nil
}

// find returns the first element matching the first predicate that any
// element matches, then the first element at all.
func find[T any](xs []T, preds ...func(T) bool) (T, bool) {
	for _, p := range preds {
		for _, x := range xs {
			if p(x) {
				return x, true
			}
		}
	}
	var zero T
	if len(xs) > 0 {
		return xs[0], true
	}
	return zero, false
}
