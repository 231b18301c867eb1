package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/store"
)

// The registry pages (issue 18, a coordinator's workspace): businesses,
// teams, inspectors, regions, items and scenarios, read-only. The API lets
// every staff role read registries; the pages are for the roles that work
// with them (coordinators, planners, team leaders), and contact details
// follow the store's least-privilege scope (store.contactScope) as in the
// API.

// registryRoles may open the registry pages; an inspector or a business gets
// 403.
var registryRoles = []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader}

const (
	// businessesShown is a page of the business search.
	businessesShown = 50
	// maxSearchLen bounds the search text.
	maxSearchLen = 100
	// awayAheadDays is how far ahead the inspectors pages show leave.
	awayAheadDays = 60
	// registryPages bounds how many store pages a registry list reads (of
	// store.MaxLimit each): a county's registers are far smaller.
	registryPages = 20
)

func (p *Pages) registryRoutes(g *echo.Group) {
	g.GET("/registry", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/registry/businesses") })
	g.GET("/registry/businesses", p.page(p.registryBusinesses))
	g.GET("/registry/businesses/:uscc", p.page(p.registryBusiness))
	g.GET("/registry/teams", p.page(p.registryTeams))
	g.GET("/registry/teams/:id", p.page(p.registryTeam))
	g.GET("/registry/inspectors", p.page(p.registryInspectors))
	g.GET("/registry/regions", p.page(p.registryRegions))
	g.GET("/registry/items", p.page(p.registryItems))
	g.GET("/registry/scenarios", p.page(p.registryScenarios))
	p.importRoutes(g)
}

// registryTab is one link of the registry pages' own menu.
type registryTab struct {
	Key, Href string
	Current   bool
}

func registryTabs(current string) []registryTab {
	var out []registryTab
	for _, k := range []string{"businesses", "teams", "inspectors", "regions", "items", "scenarios"} {
		out = append(out, registryTab{Key: "reg.tab." + k, Href: "/registry/" + k, Current: k == current})
	}
	return out
}

// readAll reads every page of a store list, up to registryPages of them.
func readAll[T any](fetch func(store.Page) (store.Paged[T], error)) ([]T, error) {
	var out []T
	pg := store.Page{Limit: store.MaxLimit}
	for range registryPages {
		res, err := fetch(pg)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Items...)
		if res.Next == "" {
			break
		}
		pg.After = res.Next
	}
	return out, nil
}

// registryNames are the names pages show for the ids records carry.
type registryNames struct {
	Regions     map[int64]domain.Region
	Teams       map[int64]domain.Team
	Departments map[int64]domain.Department
}

func (n registryNames) Region(id int64) string {
	if r, ok := n.Regions[id]; ok {
		return r.Name
	}
	return fmt.Sprint(id)
}

func (n registryNames) Team(id int64) string {
	if t, ok := n.Teams[id]; ok {
		return t.Name
	}
	return fmt.Sprint(id)
}

func (n registryNames) Department(id *int64) string {
	if id == nil {
		return ""
	}
	if d, ok := n.Departments[*id]; ok {
		return d.Name
	}
	return fmt.Sprint(*id)
}

// DepartmentOf is Department for an id that is always set.
func (n registryNames) DepartmentOf(id int64) string { return n.Department(&id) }

func (p *Pages) registryNames(ctx context.Context) (registryNames, error) {
	n := registryNames{Regions: map[int64]domain.Region{}, Teams: map[int64]domain.Team{}, Departments: map[int64]domain.Department{}}
	regions, err := readAll(func(pg store.Page) (store.Paged[domain.Region], error) {
		return p.store.ListRegions(ctx, store.RegionFilter{}, pg)
	})
	if err != nil {
		return n, fmt.Errorf("regions: %w", err)
	}
	for _, r := range regions {
		n.Regions[r.ID] = r
	}
	teams, err := readAll(func(pg store.Page) (store.Paged[domain.Team], error) {
		return p.store.ListTeams(ctx, store.TeamFilter{}, pg)
	})
	if err != nil {
		return n, fmt.Errorf("teams: %w", err)
	}
	for _, t := range teams {
		n.Teams[t.ID] = t
	}
	deps, err := readAll(func(pg store.Page) (store.Paged[domain.Department], error) { return p.store.ListDepartments(ctx, pg) })
	if err != nil {
		return n, fmt.Errorf("departments: %w", err)
	}
	for _, d := range deps {
		n.Departments[d.ID] = d
	}
	return n, nil
}

// ---- businesses

type businessesView struct {
	Tabs       []registryTab
	Query      string
	Businesses []domain.Business
	Names      registryNames
	// Next is the link to the next page, "" on the last.
	Next string
}

// registryBusinesses is GET /registry/businesses?q=: the register searched by
// name or USCC, a page at a time.
func (p *Pages) registryBusinesses(c echo.Context) error {
	v, err := allow(c, registryRoles...)
	if err != nil {
		return err
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	if utf8.RuneCountInString(q) > maxSearchLen {
		return domain.Invalid("q", "longer than %d characters", maxSearchLen)
	}
	ctx := c.Request().Context()
	res, err := p.store.ListBusinesses(ctx, store.BusinessFilter{Search: q, Viewer: &v},
		store.Page{Limit: businessesShown, After: c.QueryParam("after")})
	if err != nil {
		return err
	}
	names, err := p.registryNames(ctx)
	if err != nil {
		return err
	}
	view := businessesView{Tabs: registryTabs("businesses"), Query: q, Businesses: res.Items, Names: names}
	if res.Next != "" {
		view.Next = "/registry/businesses?" + url.Values{"q": {q}, "after": {res.Next}}.Encode()
	}
	return p.render(c, http.StatusOK, "registry_businesses", "reg.businesses.title", view)
}

type businessView struct {
	Tabs     []registryTab
	Business domain.Business
	Names    registryNames
	History  []domain.RiskChange
	Visits   []store.BusinessVisit
	// TeamOnly says the visits are only those the viewer's team leads.
	TeamOnly bool
}

// registryBusiness is GET /registry/businesses/{uscc}: the record, its
// risk-code history and its published visits with their results.
func (p *Pages) registryBusiness(c echo.Context) error {
	v, err := allow(c, registryRoles...)
	if err != nil {
		return err
	}
	code := c.Param("uscc")
	ctx := c.Request().Context()
	b, err := p.store.GetBusinessAs(ctx, v, code)
	if err != nil {
		return err
	}
	view := businessView{Tabs: registryTabs("businesses"), Business: b}
	if view.History, err = p.store.RiskHistory(ctx, code); err != nil {
		return err
	}
	// A team leader sees the visits its team leads, as its rosters show them.
	team := v.TeamID()
	view.TeamOnly = v.Role == domain.RoleTeamLeader
	if view.TeamOnly && team == 0 {
		return fmt.Errorf("team leader token without a team: %w", domain.ErrForbidden)
	}
	if view.Visits, err = p.store.BusinessVisits(ctx, code, team, p.now(), p.loc); err != nil {
		return err
	}
	if view.Names, err = p.registryNames(ctx); err != nil {
		return err
	}
	slices.Reverse(view.History) // latest first
	return p.render(c, http.StatusOK, "registry_business", "reg.business.title", view)
}

// ---- teams and inspectors

// inspectorRow is an inspector as the registry pages show it.
type inspectorRow struct {
	domain.Inspector
	// ShowPhone: the viewer may see the phone (an admin, or the leader of
	// the inspector's own team).
	ShowPhone bool
	// AwayNow and AwayLater are its days away covering today, and those
	// starting within awayAheadDays.
	AwayNow   []store.Away
	AwayLater []store.Away
}

// mayReachInspector says whether v may see the phone of a member of teamID.
func mayReachInspector(v domain.Principal, teamID int64) bool {
	return v.Role == domain.RoleAdmin || (v.Role == domain.RoleTeamLeader && v.TeamID() == teamID)
}

// inspectorRows reads the inspectors of teamID (all when zero) with their
// days away from today on.
func (p *Pages) inspectorRows(ctx context.Context, v domain.Principal, teamID int64) ([]inspectorRow, error) {
	ins, err := readAll(func(pg store.Page) (store.Paged[domain.Inspector], error) {
		return p.store.ListInspectors(ctx, store.InspectorFilter{TeamID: teamID}, pg)
	})
	if err != nil {
		return nil, fmt.Errorf("inspectors: %w", err)
	}
	today := regToday(p.now(), p.loc)
	away, err := p.store.ListAway(ctx, store.AwayFilter{TeamID: teamID, From: today, To: today.AddDate(0, 0, awayAheadDays)})
	if err != nil {
		return nil, fmt.Errorf("days away: %w", err)
	}
	day := today.Format("2006-01-02")
	byID := map[int64]*inspectorRow{}
	out := make([]inspectorRow, len(ins))
	for i, in := range ins {
		out[i] = inspectorRow{Inspector: in, ShowPhone: mayReachInspector(v, in.TeamID)}
		byID[in.ID] = &out[i]
	}
	for _, a := range away {
		r, ok := byID[a.InspectorID]
		if !ok {
			continue
		}
		if a.From <= day {
			r.AwayNow = append(r.AwayNow, a)
		} else {
			r.AwayLater = append(r.AwayLater, a)
		}
	}
	return out, nil
}

type teamsView struct {
	Tabs    []registryTab
	Teams   []domain.Team
	Names   registryNames
	Members map[int64]int
}

// registryTeams is GET /registry/teams: each team with the regions it
// covers, its member count and its daily capacity.
func (p *Pages) registryTeams(c echo.Context) error {
	if _, err := allow(c, registryRoles...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	names, err := p.registryNames(ctx)
	if err != nil {
		return err
	}
	ins, err := readAll(func(pg store.Page) (store.Paged[domain.Inspector], error) {
		return p.store.ListInspectors(ctx, store.InspectorFilter{}, pg)
	})
	if err != nil {
		return err
	}
	view := teamsView{Tabs: registryTabs("teams"), Names: names, Members: map[int64]int{}}
	for _, in := range ins {
		view.Members[in.TeamID]++
	}
	for _, t := range names.Teams {
		view.Teams = append(view.Teams, t)
	}
	slices.SortFunc(view.Teams, func(a, b domain.Team) int { return strings.Compare(a.Code, b.Code) })
	return p.render(c, http.StatusOK, "registry_teams", "reg.teams.title", view)
}

type teamView struct {
	Tabs     []registryTab
	Team     domain.Team
	Names    registryNames
	Members  []inspectorRow
	Closures []store.ClosureNote
	// Today (YYYY-MM-DD) links the team's roster of the day.
	Today string
}

// registryTeam is GET /registry/teams/{id}: the team, its regions, its
// members with their availability, and the closures ahead that affect it.
func (p *Pages) registryTeam(c echo.Context) error {
	v, err := allow(c, registryRoles...)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := p.store.GetTeam(ctx, id)
	if err != nil {
		return err
	}
	view := teamView{Tabs: registryTabs("teams"), Team: t, Today: regToday(p.now(), p.loc).Format(time.DateOnly)}
	if view.Names, err = p.registryNames(ctx); err != nil {
		return err
	}
	if view.Members, err = p.inspectorRows(ctx, v, id); err != nil {
		return err
	}
	today := regToday(p.now(), p.loc)
	if view.Closures, err = p.store.ClosuresAffecting(ctx, id, today, today.AddDate(0, 0, awayAheadDays)); err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "registry_team", "reg.team.title", view)
}

type inspectorsView struct {
	Tabs       []registryTab
	Names      registryNames
	Inspectors []inspectorRow
	AheadDays  int
}

// registryInspectors is GET /registry/inspectors: certificate numbers,
// qualification domains, conflicts (回避), team and availability.
func (p *Pages) registryInspectors(c echo.Context) error {
	v, err := allow(c, registryRoles...)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	view := inspectorsView{Tabs: registryTabs("inspectors"), AheadDays: awayAheadDays}
	if view.Names, err = p.registryNames(ctx); err != nil {
		return err
	}
	if view.Inspectors, err = p.inspectorRows(ctx, v, 0); err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "registry_inspectors", "reg.inspectors.title", view)
}

// ---- regions, items, scenarios

// regionNode is a region with the regions below it.
type regionNode struct {
	domain.Region
	Children []*regionNode
}

type regionsView struct {
	Tabs  []registryTab
	Roots []*regionNode
}

// registryRegions is GET /registry/regions: the county → township → grid
// tree.
func (p *Pages) registryRegions(c echo.Context) error {
	if _, err := allow(c, registryRoles...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	regions, err := readAll(func(pg store.Page) (store.Paged[domain.Region], error) {
		return p.store.ListRegions(ctx, store.RegionFilter{}, pg)
	})
	if err != nil {
		return err
	}
	slices.SortFunc(regions, func(a, b domain.Region) int { return strings.Compare(a.Code, b.Code) })
	nodes := make(map[int64]*regionNode, len(regions))
	for _, r := range regions {
		nodes[r.ID] = &regionNode{Region: r}
	}
	view := regionsView{Tabs: registryTabs("regions")}
	for _, r := range regions {
		n := nodes[r.ID]
		if r.ParentID != nil {
			if parent, ok := nodes[*r.ParentID]; ok {
				parent.Children = append(parent.Children, n)
				continue
			}
		}
		view.Roots = append(view.Roots, n)
	}
	return p.render(c, http.StatusOK, "registry_regions", "reg.regions.title", view)
}

// departmentItems are a department's items.
type departmentItems struct {
	Department domain.Department
	Items      []domain.Item
}

type itemsView struct {
	Tabs        []registryTab
	Departments []departmentItems
	// AllDepartments are the filter's choices.
	AllDepartments []domain.Department
	Domains        []string
	Domain         string
	Department     int64
}

// registryItems is GET /registry/items?department=&domain=: the items by
// department, with their domain, minutes and legal basis.
func (p *Pages) registryItems(c echo.Context) error {
	if _, err := allow(c, registryRoles...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var dept int64
	if s := c.QueryParam("department"); s != "" {
		if _, err := fmt.Sscan(s, &dept); err != nil || dept <= 0 {
			return domain.Invalid("department", "not a department id: %q", s)
		}
	}
	dom := c.QueryParam("domain")
	items, err := readAll(func(pg store.Page) (store.Paged[domain.Item], error) {
		return p.store.ListItems(ctx, store.ItemFilter{}, pg)
	})
	if err != nil {
		return err
	}
	deps, err := readAll(func(pg store.Page) (store.Paged[domain.Department], error) { return p.store.ListDepartments(ctx, pg) })
	if err != nil {
		return err
	}
	view := itemsView{Tabs: registryTabs("items"), Domain: dom, Department: dept, AllDepartments: deps}
	at := map[int64]int{}
	for _, d := range deps {
		if dept != 0 && d.ID != dept {
			continue
		}
		at[d.ID] = len(view.Departments)
		view.Departments = append(view.Departments, departmentItems{Department: d})
	}
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.Domain] {
			seen[it.Domain] = true
			view.Domains = append(view.Domains, it.Domain)
		}
		i, ok := at[it.DepartmentID]
		if !ok || (dom != "" && it.Domain != dom) {
			continue
		}
		view.Departments[i].Items = append(view.Departments[i].Items, it)
	}
	slices.Sort(view.Domains)
	return p.render(c, http.StatusOK, "registry_items", "reg.items.title", view)
}

// scenarioRow is a scenario with its items' names.
type scenarioRow struct {
	domain.Scenario
	Items []domain.Item
}

type scenariosView struct {
	Tabs      []registryTab
	Scenarios []scenarioRow
	Names     registryNames
}

// registryScenarios is GET /registry/scenarios: each 监管一件事 scenario with
// the industries it applies to and the items it bundles.
func (p *Pages) registryScenarios(c echo.Context) error {
	if _, err := allow(c, registryRoles...); err != nil {
		return err
	}
	ctx := c.Request().Context()
	scs, err := readAll(func(pg store.Page) (store.Paged[domain.Scenario], error) { return p.store.ListScenarios(ctx, pg) })
	if err != nil {
		return err
	}
	items, err := readAll(func(pg store.Page) (store.Paged[domain.Item], error) {
		return p.store.ListItems(ctx, store.ItemFilter{}, pg)
	})
	if err != nil {
		return err
	}
	byID := make(map[int64]domain.Item, len(items))
	for _, it := range items {
		byID[it.ID] = it
	}
	view := scenariosView{Tabs: registryTabs("scenarios")}
	if view.Names, err = p.registryNames(ctx); err != nil {
		return err
	}
	for _, sc := range scs {
		row := scenarioRow{Scenario: sc}
		for _, id := range sc.ItemIDs {
			if it, ok := byID[id]; ok {
				row.Items = append(row.Items, it)
			}
		}
		view.Scenarios = append(view.Scenarios, row)
	}
	return p.render(c, http.StatusOK, "registry_scenarios", "reg.scenarios.title", view)
}

// regToday is now's civil date in loc, as a UTC midnight (how the store
// takes dates).
func regToday(now time.Time, loc *time.Location) time.Time {
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// RegDomain is the name of a qualification domain in l: the catalog's
// "reg.domain.<code>" when there is one, else the code itself (domains are
// open-ended: a registry may carry one the catalog does not know yet).
func (l Lang) RegDomain(code string) string {
	key := "reg.domain." + code
	if !messages.Has(key) {
		return code
	}
	return l.T(key)
}

func init() {
	addMessages(map[string][2]string{
		"nav.registry":                 {"名录", "Registries"},
		"reg.tab.businesses":           {"市场主体", "Businesses"},
		"reg.tab.teams":                {"执法队伍", "Teams"},
		"reg.tab.inspectors":           {"执法人员", "Inspectors"},
		"reg.tab.regions":              {"区域", "Regions"},
		"reg.tab.items":                {"检查事项", "Items"},
		"reg.tab.scenarios":            {"监管场景", "Scenarios"},
		"reg.businesses.title":         {"市场主体名录", "Businesses"},
		"reg.business.title":           {"市场主体", "Business"},
		"reg.teams.title":              {"执法队伍", "Teams"},
		"reg.team.title":               {"执法队伍", "Team"},
		"reg.inspectors.title":         {"执法人员", "Inspectors"},
		"reg.regions.title":            {"区域", "Regions"},
		"reg.regions.help":             {"县 → 乡镇（街道）→ 网格。", "County → township (street) → grid."},
		"reg.items.title":              {"检查事项", "Inspection items"},
		"reg.scenarios.title":          {"监管一件事场景", "Scenarios"},
		"reg.scenarios.help":           {"每个场景把多个部门的检查事项打包，适用于所列行业的市场主体。", "Each scenario bundles items of several departments for businesses of the industries listed."},
		"reg.search":                   {"名称或统一社会信用代码", "Name or USCC"},
		"reg.search_hint":              {"例如：海鲜 或 91330922", "e.g. seafood or 91330922"},
		"reg.search_submit":            {"查询", "Search"},
		"reg.next":                     {"下一页", "Next page"},
		"reg.all":                      {"全部", "All"},
		"reg.filter":                   {"筛选", "Filter"},
		"reg.withheld":                 {"不可见", "not shown"},
		"reg.withheld_help":            {"仅对承担该企业检查任务的人员可见", "Shown only to those whose work includes this business"},
		"reg.minutes":                  {"%d 分钟", "%d min"},
		"reg.biz.none":                 {"没有符合条件的市场主体。", "No business matches."},
		"reg.biz.name":                 {"名称", "Name"},
		"reg.biz.uscc":                 {"统一社会信用代码", "USCC"},
		"reg.biz.address":              {"地址", "Address"},
		"reg.biz.region":               {"区域", "Region"},
		"reg.biz.industry":             {"行业代码", "Industry"},
		"reg.biz.risk":                 {"风险码", "Risk code"},
		"reg.biz.list":                 {"名单", "List"},
		"reg.biz.contact":              {"联系人", "Contact"},
		"reg.biz.history":              {"风险码变更记录", "Risk-code history"},
		"reg.biz.set_at":               {"时间", "Set at"},
		"reg.biz.reason":               {"原因", "Reason"},
		"reg.biz.set_by":               {"设置人", "Set by"},
		"reg.biz.by_result":            {"（由检查结果产生）", "(from a visit result)"},
		"reg.biz.visits":               {"已发布的检查", "Published visits"},
		"reg.biz.team_only":            {"仅列出本队牵头的检查。", "Only the visits your team leads are listed."},
		"reg.biz.plan":                 {"计划 %d · 第 %d 次", "plan %d · visit %d"},
		"reg.biz.moved":                {"已改期（原定 %s）", "moved (was %s)"},
		"reg.biz.joined":               {"追加事项 %d 次", "joined %d×"},
		"reg.biz.status.planned":       {"待检查", "planned"},
		"reg.biz.status.past":          {"已过检查日", "past"},
		"reg.biz.unannounced":          {"不预先告知", "unannounced"},
		"reg.biz.team":                 {"牵头队伍", "Lead team"},
		"reg.biz.items":                {"检查事项", "Items"},
		"reg.biz.results":              {"检查结果", "Results"},
		"reg.biz.no_results":           {"尚无结果", "No result yet"},
		"reg.biz.published":            {"已公示（%s）", "Published (%s)"},
		"reg.biz.confirmed":            {"已确认，待公示", "Confirmed, not yet published"},
		"reg.biz.no_visits":            {"尚无已发布的检查。", "No published visit yet."},
		"reg.risk.red":                 {"红码", "Red"},
		"reg.risk.yellow":              {"黄码", "Yellow"},
		"reg.risk.green":               {"绿码", "Green"},
		"reg.list.random":              {"随机抽查", "Random"},
		"reg.list.key":                 {"重点监管", "Key"},
		"reg.list.leave_alone":         {"无事不扰", "Leave alone"},
		"reg.outcome.compliant":        {"合格", "Compliant"},
		"reg.outcome.minor":            {"轻微问题（不予处罚）", "Minor (no penalty)"},
		"reg.outcome.violation":        {"违法", "Violation"},
		"reg.outcome.transferred":      {"移送", "Transferred"},
		"reg.outcome.not_done":         {"未检查", "Not done"},
		"reg.team.name":                {"队伍", "Team"},
		"reg.team.code":                {"编码", "Code"},
		"reg.team.kind":                {"类型", "Kind"},
		"reg.team.kind.comprehensive":  {"综合执法队", "Comprehensive"},
		"reg.team.kind.professional":   {"专业执法队", "Professional"},
		"reg.team.kind.township":       {"乡镇中队", "Township squad"},
		"reg.team.regions":             {"负责区域", "Regions covered"},
		"reg.team.members":             {"人员", "Members"},
		"reg.team.capacity":            {"每日工作量", "Daily capacity"},
		"reg.team.phone":               {"队伍电话", "Team phone"},
		"reg.team.base":                {"驻地坐标", "Base"},
		"reg.team.rosters":             {"今日排班表", "Today's roster"},
		"reg.team.closures":            {"今后的停工", "Closures ahead"},
		"reg.team.no_closures":         {"今后没有影响本队的停工。", "No closure ahead affects this team."},
		"reg.ins.help":                 {"可用情况列出今天的请假和今后 %d 天内的请假。", "Availability lists leave today and in the next %d days."},
		"reg.ins.name":                 {"姓名", "Name"},
		"reg.ins.code":                 {"执法证号", "Certificate no."},
		"reg.ins.team":                 {"所属队伍", "Team"},
		"reg.ins.domains":              {"持证领域", "Certified domains"},
		"reg.ins.conflicts":            {"回避企业", "Conflicts (recusal)"},
		"reg.ins.phone":                {"电话", "Phone"},
		"reg.ins.leader":               {"队长", "leader"},
		"reg.ins.availability":         {"可用情况", "Availability"},
		"reg.ins.available":            {"在岗", "Available"},
		"reg.ins.away_until":           {"请假至 %s", "away until %s"},
		"reg.ins.away_span":            {"%s 至 %s", "%s to %s"},
		"reg.item.department":          {"部门", "Department"},
		"reg.item.code":                {"编码", "Code"},
		"reg.item.name":                {"事项", "Item"},
		"reg.item.domain":              {"资格领域", "Domain"},
		"reg.item.minutes":             {"用时（分钟）", "Minutes"},
		"reg.item.legal":               {"法律依据", "Legal basis"},
		"reg.item.none":                {"没有符合条件的事项。", "No item matches."},
		"reg.scn.industries":           {"适用行业", "Industries"},
		"reg.scn.items":                {"检查事项", "Items"},
		"reg.scn.none":                 {"尚无场景。", "No scenario yet."},
		"reg.domain.agriculture":       {"农业", "Agriculture"},
		"reg.domain.construction":      {"建设", "Construction"},
		"reg.domain.culture_tourism":   {"文化旅游", "Culture and tourism"},
		"reg.domain.drug_safety":       {"药品安全", "Drug safety"},
		"reg.domain.e_commerce":        {"电子商务", "E-commerce"},
		"reg.domain.environment":       {"生态环境", "Environment"},
		"reg.domain.fire_safety":       {"消防安全", "Fire safety"},
		"reg.domain.food_safety":       {"食品安全", "Food safety"},
		"reg.domain.marine_fishery":    {"海洋渔业", "Marine fishery"},
		"reg.domain.metrology":         {"计量", "Metrology"},
		"reg.domain.natural_resources": {"自然资源", "Natural resources"},
		"reg.domain.pricing":           {"价格", "Pricing"},
		"reg.domain.public_health":     {"公共卫生", "Public health"},
		"reg.domain.public_security":   {"治安", "Public security"},
		"reg.domain.transport":         {"交通运输", "Transport"},
		"reg.domain.work_safety":       {"安全生产", "Work safety"},
	})
}
