package web

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// The province's targets for the reform (DESIGN.md §2a); every plan reports
// whether it meets them.
const (
	targetJointVisitRate = 0.60 // joint-inspection rate ≥ 60 %
	targetVisitReduction = 0.25 // on-site inspections down ≥ 25 %
)

const (
	// dashTableLimit bounds the dashboard's visit table; the map shows more.
	dashTableLimit = 200
	// dashMapLimit bounds the visits drawn on the maps: beyond it an SVG gets
	// too heavy for a browser, and the filters narrow the view instead.
	dashMapLimit = 5000
	// plansShown bounds the plans list, newest first.
	plansShown = 200
	// listRefresh and planRefresh: how often a page reloads while a plan runs.
	listRefresh = 5
	planRefresh = 2
)

// planRoutes adds the plans list and the plan dashboard.
func (p *Pages) planRoutes(g *echo.Group) {
	g.GET("/plans", p.page(p.plansList))
	g.GET("/plans/:id", p.page(p.planDashboard))
}

// planStatuses are the statuses the list can filter by.
var planStatuses = []string{store.PlanRunning, store.PlanDraft, store.PlanPublished, store.PlanDiscarded, store.PlanFailed}

type plansView struct {
	Plans []plansListRow
	// Status is the filter in force ("" = all); Statuses are the choices.
	Status   string
	Statuses []string
	// Hidden is how many older plans the list leaves out.
	Hidden int
	// Urgent are the complaints and priority-1 demands the viewer may place
	// now, each with a button.
	Urgent []domain.Demand
	// Run is the form that starts a plan run (admins; nil hides it).
	Run *runForm
}

// plansList is GET /plans: every plan, newest first, as admins and planners
// may read them through the API (GET /api/v1/plans).
func (p *Pages) plansList(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	status := c.QueryParam("status")
	if status != "" && !slices.Contains(planStatuses, status) {
		return domain.Invalid("status", "must be one of %s", strings.Join(planStatuses, ", "))
	}
	var all []store.Plan
	pg := store.Page{Limit: store.MaxLimit}
	for {
		out, err := p.store.ListPlans(c.Request().Context(), store.PlanFilter{Status: status}, pg)
		if err != nil {
			return fmt.Errorf("list plans: %w", err)
		}
		all = append(all, out.Items...)
		if out.Next == "" {
			break
		}
		pg.After = out.Next
	}
	slices.Reverse(all)
	v := plansView{Status: status, Statuses: planStatuses}
	if v.Urgent, err = p.urgentDemands(c, viewer); err != nil {
		return err
	}
	if v.Run, err = p.runFormFor(c, viewer); err != nil {
		return err
	}
	if len(all) > plansShown {
		v.Hidden = len(all) - plansShown
		all = all[:plansShown]
	}
	for _, pl := range all {
		v.Plans = append(v.Plans, plansListRow{Plan: pl, Note: planProgressNoteKey(pl.ProgressNote)})
	}
	if slices.ContainsFunc(all, func(pl store.Plan) bool { return pl.Status == store.PlanRunning }) {
		autoRefresh(c, listRefresh)
	}
	return p.render(c, pageStatus(c), "plans", "plans.title", v)
}

// plansListRow is a plan with its progress note as a message key.
type plansListRow struct {
	store.Plan
	Note string
}

// planProgressNotes are the notes planning.Service records while a plan runs,
// each with its own text; another note shows as it is.
var planProgressNotes = map[string]string{
	"created": "created", "loading": "loading", "planning": "planning",
	"comparing with independent sampling": "comparing", "saving": "saving", "done": "done",
	"awaiting randomness": "awaiting", "randomness entered": "randomness",
}

func planProgressNoteKey(note string) string {
	if k, ok := planProgressNotes[note]; ok {
		return "plan.progress." + k
	}
	return note
}

// ---- the dashboard

type dashView struct {
	Plan store.Plan
	// Note is the progress note's message key.
	Note    string
	Running bool
	// Scoped: the viewer is a planner, who sees its department's visits only.
	Scoped    bool
	ScopeName string
	Stats     *store.PlanStats
	Targets   []dashTarget
	// Comparison is nil when the plan keeps no independent counterpart.
	Comparison *store.ComparisonStats

	// Comparing: the counterpart's job has not finished yet (the page
	// refreshes itself); ComparisonError says why it failed.
	Comparing         bool
	ComparisonError   string
	ComparisonSkipped bool

	Unplaced    []dashReason
	Utilisation []dashUtil
	Commit      dashCommit
	Filter      dashFilter
	Legend      []dashLegend
	Maps        []dashMap
	// Visits are the table's rows: the first dashTableLimit of Total.
	Visits []dashVisit
	Total  int
	// MoreRows: visits passing the filter but not in the table; MoreDots: not
	// on the maps.
	MoreRows, MoreDots int
	// API names the JSON twins of this page.
	API []string
	// Avail is who is away and what is closed within the plan's horizon,
	// so a coordinator sees why days are empty.
	Avail availabilityView
	// Approval is the approval steps and the publish button; nil while the
	// plan runs.
	Approval *approvalView
}

type dashTarget struct {
	Key   string // message key and data attribute
	Value float64
	Goal  float64
	Met   bool
}

type dashReason struct {
	Key   string // message key, or the raw code when unknown
	Code  string
	Count int
}

type dashUtil struct {
	TeamID  int64
	Team    string
	Share   float64
	Percent int // 0-100 for the <progress> bar
	// Load is the team's peak and mean day of the plan; nil when the team
	// has no visit, or the plan predates the figure.
	Load *store.TeamLoad
}

type dashCommit struct {
	SeedHash        string
	Seed            string
	YearKeyHash     string
	YearKeyRevealed bool
	YearKey         string
	YearKeyAt       *time.Time
	TargetDraws     int
	InspectorDraws  int
	VerifyCommand   string
}

type dashOption struct {
	ID       int64
	Name     string
	Selected bool
}

type dashFilter struct {
	Township, Team, Department int64
	Townships, Teams           []dashOption
	Departments                []dashOption
	// Date is the day the maps and the table show ("" = every day); Days
	// are the plan's working days to choose from.
	Date   string
	Days   []dashDay
	Active bool
}

// dashDay is a day the filter offers.
type dashDay struct {
	Value, Label string
	Selected     bool
}

type dashLegend struct {
	TeamID int64
	Name   string
	Color  string
}

type dashVisit struct {
	Seq          int
	Date         time.Time
	TeamID       int64
	Team         string
	Color        string
	RouteOrder   int
	USCC         string
	BusinessName string
	TownshipID   int64
	Township     string
	Departments  string // codes
	DeptIDs      string // ids, for data attributes
	Tasks        int
	Minutes      int
}

// planDashboard is GET /plans/{id}: a plan's stats, the province targets,
// the comparison with independent sampling, the draw commitments, the
// visits on a map per township and in a table. Access follows the API:
// admins and planners read any plan (GET /api/v1/plans/{id}); a planner sees
// only the visits that carry its department's tasks, and of those only its
// tasks (GET /api/v1/plans/{id}/visits).
func (p *Pages) planDashboard(c echo.Context) error {
	viewer, err := allow(c, domain.RoleAdmin, domain.RolePlanner)
	if err != nil {
		return err
	}
	id, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	pl, err := p.store.GetPlan(ctx, id)
	if err != nil {
		return err
	}
	reg, err := p.dashRegistries(ctx, id)
	if err != nil {
		return err
	}
	v := dashView{Plan: pl, Note: planProgressNoteKey(pl.ProgressNote), Running: pl.Status == store.PlanRunning, Stats: pl.Stats}
	f := store.MapFilter{}
	if viewer.Role == domain.RolePlanner {
		v.Scoped, f.Scope = true, viewer.DepartmentID
		v.ScopeName = reg.deptName(viewer.DepartmentID)
	}
	if v.Filter, err = reg.filter(c); err != nil {
		return err
	}
	f.DepartmentID, f.TeamID, f.RegionID = v.Filter.Department, v.Filter.Team, v.Filter.Township
	if f.Date, err = p.dayFilter(c, pl, &v.Filter); err != nil {
		return err
	}

	v.Comparing = pl.ComparisonStatus == store.ComparisonQueued || pl.ComparisonStatus == store.ComparisonRunning
	v.ComparisonSkipped = pl.ComparisonStatus == store.ComparisonSkipped
	if pl.ComparisonStatus == store.ComparisonFailed {
		v.ComparisonError = pl.ComparisonError
	}
	if v.Running || v.Comparing {
		autoRefresh(c, planRefresh)
	}
	if st := pl.Stats; st != nil {
		v.Targets = []dashTarget{
			{Key: "plan.target.joint_visit_rate", Value: st.JointVisitRate, Goal: targetJointVisitRate, Met: st.JointVisitRate >= targetJointVisitRate},
			{Key: "plan.target.visit_reduction", Value: st.VisitReduction, Goal: targetVisitReduction, Met: st.VisitReduction >= targetVisitReduction},
		}
		v.Comparison = st.Independent
		v.Unplaced = dashReasonsOf(st.UnplacedByReason)
		v.Utilisation = reg.utilisation(st.Utilisation)
		for i := range v.Utilisation {
			if l, ok := st.TeamLoad[v.Utilisation[i].TeamID]; ok {
				v.Utilisation[i].Load = &l
			}
		}
	}
	if v.Commit, err = p.commitments(ctx, pl); err != nil {
		return err
	}
	visits, total, err := p.store.PlanMapVisits(ctx, id, f, dashMapLimit)
	if err != nil {
		return fmt.Errorf("plan %d visits: %w", id, err)
	}
	v.Total, v.MoreDots = total, total-len(visits)
	v.Legend, v.Maps = reg.maps(visits)
	for i, mv := range visits {
		if i == dashTableLimit {
			break
		}
		v.Visits = append(v.Visits, reg.visitRow(mv))
	}
	v.MoreRows = total - len(v.Visits)
	if from, ferr := time.Parse(time.DateOnly, pl.From); ferr == nil {
		if to, terr := time.Parse(time.DateOnly, pl.To); terr == nil {
			if v.Avail, err = p.availability(ctx, 0, 0, from, to); err != nil {
				return fmt.Errorf("plan %d: %w", id, err)
			}
		}
	}
	if v.Approval, err = p.approvalFor(c, viewer, pl); err != nil {
		return fmt.Errorf("plan %d approvals: %w", id, err)
	}
	base := "/api/v1/plans/" + strconv.FormatInt(id, 10)
	v.API = []string{base, base + "/visits", base + "/unplaced", base + "/approvals"}
	if viewer.Role == domain.RoleAdmin {
		v.API = append(v.API, base+"/draws")
	}
	return p.render(c, pageStatus(c), "plan", "plan.title", v)
}

// commitments are the plan's draw commitments and what has been revealed.
func (p *Pages) commitments(ctx context.Context, pl store.Plan) (dashCommit, error) {
	cv := dashCommit{SeedHash: pl.SeedHash.String(), VerifyCommand: "inspectonce draw verify --plan " + strconv.FormatInt(pl.ID, 10)}
	// The seed is shown once published; the store hands it out for discarded
	// and failed plans too, but only a published plan's draws are verifiable.
	if pl.Status == store.PlanPublished && pl.Seed != nil {
		cv.Seed = pl.Seed.String()
	}
	if pl.Stats != nil {
		cv.TargetDraws, cv.InspectorDraws = pl.Stats.TargetDraws, pl.Stats.InspectorDraws
	}
	k, err := p.store.RevealedYearKey(ctx, pl.Year)
	if err != nil {
		return cv, fmt.Errorf("year key %d: %w", pl.Year, err)
	}
	cv.YearKeyHash = k.KeyHash.String()
	if k.RevealedAt != nil {
		cv.YearKeyRevealed, cv.YearKey, cv.YearKeyAt = true, k.Key.String(), k.RevealedAt
	}
	return cv, nil
}

// dashReasons have their own texts; others are shown as their codes.
var dashReasons = []string{planner.ReasonLeaveAlone, planner.ReasonCooldown, planner.ReasonYearlyCap,
	planner.ReasonNoWorkingDay, planner.ReasonNoTeam, planner.ReasonCapacity, planner.ReasonNoInspectors,
	planner.ReasonUnknownItem, planner.ReasonUnknownTarget, planner.ReasonTooLong, planner.ReasonEmptyPopulation,
	planner.ReasonNoticePeriod, planner.ReasonDeferred, planner.ReasonClosed}

func dashReasonsOf(by map[string]int) []dashReason {
	out := make([]dashReason, 0, len(by))
	for code, n := range by {
		r := dashReason{Key: code, Code: code, Count: n}
		if slices.Contains(dashReasons, code) {
			r.Key = "reason." + code
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b dashReason) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Code, b.Code)) })
	return out
}

// ---- registries: names for ids, the township of a region, team colours

type dashRegistries struct {
	regions  map[int64]domain.Region
	township map[int64]int64 // region → its township (itself for a township; 0 above)
	teams    []domain.Team   // by id
	teamIx   map[int64]int
	depts    []domain.Department // by id
	deptIx   map[int64]int
	leadIx   map[int64]int // team → its place among the plan's lead teams
}

// dashRegistries loads the regions, teams and departments the dashboard
// names, and the plan's lead teams for their colours.
func (p *Pages) dashRegistries(ctx context.Context, planID int64) (*dashRegistries, error) {
	r := &dashRegistries{regions: map[int64]domain.Region{}, township: map[int64]int64{}, teamIx: map[int64]int{},
		deptIx: map[int64]int{}, leadIx: map[int64]int{}}
	err := dashAllPages(func(pg store.Page) (string, error) {
		out, err := p.store.ListRegions(ctx, store.RegionFilter{}, pg)
		for _, x := range out.Items {
			r.regions[x.ID] = x
		}
		return out.Next, err
	})
	if err != nil {
		return nil, fmt.Errorf("regions: %w", err)
	}
	for id := range r.regions {
		r.township[id] = r.townshipOf(id)
	}
	if err := dashAllPages(func(pg store.Page) (string, error) {
		out, err := p.store.ListTeams(ctx, store.TeamFilter{}, pg)
		r.teams = append(r.teams, out.Items...)
		return out.Next, err
	}); err != nil {
		return nil, fmt.Errorf("teams: %w", err)
	}
	slices.SortFunc(r.teams, func(a, b domain.Team) int { return cmp.Compare(a.ID, b.ID) })
	for i, t := range r.teams {
		r.teamIx[t.ID] = i
	}
	if err := dashAllPages(func(pg store.Page) (string, error) {
		out, err := p.store.ListDepartments(ctx, pg)
		r.depts = append(r.depts, out.Items...)
		return out.Next, err
	}); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	slices.SortFunc(r.depts, func(a, b domain.Department) int { return cmp.Compare(a.ID, b.ID) })
	for i, d := range r.depts {
		r.deptIx[d.ID] = i
	}
	lead, err := p.store.PlanLeadTeams(ctx, planID)
	if err != nil {
		return nil, fmt.Errorf("lead teams: %w", err)
	}
	for i, id := range lead {
		r.leadIx[id] = i
	}
	return r, nil
}

// dashAllPages calls list page by page until it answers no next cursor.
func dashAllPages(list func(store.Page) (string, error)) error {
	pg := store.Page{Limit: store.MaxLimit}
	for {
		next, err := list(pg)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		pg.After = next
	}
}

// townshipOf walks up the tree to the township holding region id (0 when it
// lies above the townships, or the tree has a loop).
func (r *dashRegistries) townshipOf(id int64) int64 {
	for range len(r.regions) + 1 {
		x, ok := r.regions[id]
		if !ok {
			return 0
		}
		if x.Level == domain.LevelTownship {
			return x.ID
		}
		if x.ParentID == nil {
			return 0
		}
		id = *x.ParentID
	}
	return 0
}

func (r *dashRegistries) teamName(id int64) string {
	if i, ok := r.teamIx[id]; ok {
		return r.teams[i].Name
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (r *dashRegistries) deptName(id int64) string {
	if i, ok := r.deptIx[id]; ok {
		return r.depts[i].Name
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (r *dashRegistries) deptCode(id int64) string {
	if i, ok := r.deptIx[id]; ok {
		return r.depts[i].Code
	}
	return "#" + strconv.FormatInt(id, 10)
}

func (r *dashRegistries) regionName(id int64) string {
	if x, ok := r.regions[id]; ok {
		return x.Name
	}
	return "—"
}

// dashPalette colours teams on the maps: Tableau 10 (with a darker grey,
// the light one vanishes on white), then six more hues far from those.
var dashPalette = []string{"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
	"#9c755f", "#6b6b6b", "#17becf", "#7f3c8d", "#bcbd22", "#1b3a6b", "#e73f74", "#2f6f3f"}

// teamColor gives a team a colour by its place among the plan's lead teams
// (so the colours do not change with the filters, and a plan with up to 16
// lead teams has no two alike); a team that leads nothing falls back on its
// place in the register.
func (r *dashRegistries) teamColor(id int64) string {
	i, ok := r.leadIx[id]
	if !ok {
		i = len(r.leadIx) + r.teamIx[id]
	}
	return dashPalette[i%len(dashPalette)]
}

// dayFilter reads the date filter (one day of the plan's horizon) and fills
// the days the filter offers: the horizon's working days, or every day of it
// when no calendar is configured.
func (p *Pages) dayFilter(c echo.Context, pl store.Plan, f *dashFilter) (time.Time, error) {
	from, err1 := time.Parse(time.DateOnly, pl.From)
	to, err2 := time.Parse(time.DateOnly, pl.To)
	var day time.Time
	if s := c.QueryParam("date"); s != "" {
		d, err := domain.ParseDate(s, nil)
		if err != nil || err1 != nil || err2 != nil || d.Before(from) || d.After(to) {
			return day, domain.Invalid("date", "must be a day of the plan's horizon (%s to %s), got %q", pl.From, pl.To, s)
		}
		day, f.Date, f.Active = d, d.Format(time.DateOnly), true
	}
	if err1 != nil || err2 != nil {
		return day, nil
	}
	lang := negotiate(c.Request())
	for d, n := from, 0; !d.After(to) && n < 400; d, n = d.AddDate(0, 0, 1), n+1 {
		if p.cal != nil && !p.cal.IsWorkingDay(d) && d.Format(time.DateOnly) != f.Date {
			continue
		}
		v := d.Format(time.DateOnly)
		f.Days = append(f.Days, dashDay{Value: v, Label: lang.Date(d), Selected: v == f.Date})
	}
	return day, nil
}

// filter reads the township, team and department filters; an id that names
// nothing of that kind is a bad request.
func (r *dashRegistries) filter(c echo.Context) (dashFilter, error) {
	var f dashFilter
	var v domain.ValidationError
	read := func(name string, ok func(int64) bool) int64 {
		s := c.QueryParam(name)
		if s == "" {
			return 0
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 || !ok(id) {
			v.Add(name, "no such %s: %q", name, s)
			return 0
		}
		return id
	}
	f.Township = read("township", func(id int64) bool { return r.regions[id].Level == domain.LevelTownship })
	f.Team = read("team", func(id int64) bool { _, ok := r.teamIx[id]; return ok })
	f.Department = read("department", func(id int64) bool { _, ok := r.deptIx[id]; return ok })
	if err := v.Err(); err != nil {
		return f, err
	}
	f.Active = f.Township != 0 || f.Team != 0 || f.Department != 0
	for _, x := range r.regions {
		if x.Level == domain.LevelTownship {
			f.Townships = append(f.Townships, dashOption{ID: x.ID, Name: x.Name, Selected: x.ID == f.Township})
		}
	}
	slices.SortFunc(f.Townships, func(a, b dashOption) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	for _, t := range r.teams {
		f.Teams = append(f.Teams, dashOption{ID: t.ID, Name: t.Name, Selected: t.ID == f.Team})
	}
	for _, d := range r.depts {
		f.Departments = append(f.Departments, dashOption{ID: d.ID, Name: d.Code + " " + d.Name, Selected: d.ID == f.Department})
	}
	return f, nil
}

func (r *dashRegistries) utilisation(by map[int64]float64) []dashUtil {
	out := make([]dashUtil, 0, len(by))
	for id, share := range by {
		out = append(out, dashUtil{TeamID: id, Team: r.teamName(id), Share: share,
			Percent: int(math.Round(math.Max(0, math.Min(1, share)) * 100))})
	}
	slices.SortFunc(out, func(a, b dashUtil) int { return cmp.Or(cmp.Compare(a.Team, b.Team), cmp.Compare(a.TeamID, b.TeamID)) })
	return out
}

func (r *dashRegistries) visitRow(mv store.MapVisit) dashVisit {
	codes := make([]string, len(mv.DepartmentIDs))
	ids := make([]string, len(mv.DepartmentIDs))
	for i, d := range mv.DepartmentIDs {
		codes[i], ids[i] = r.deptCode(d), strconv.FormatInt(d, 10)
	}
	tw := r.township[mv.RegionID]
	return dashVisit{Seq: mv.Seq, Date: mv.Date, TeamID: mv.TeamID, Team: r.teamName(mv.TeamID), Color: r.teamColor(mv.TeamID), RouteOrder: mv.RouteOrder,
		USCC: mv.USCC, BusinessName: mv.BusinessName, TownshipID: tw, Township: r.regionName(tw),
		Departments: strings.Join(codes, " · "), DeptIDs: strings.Join(ids, ","), Tasks: mv.Tasks, Minutes: mv.DurationMinutes}
}

// ---- maps

// Map geometry, in SVG user units (CSS pixels at full width).
const (
	dashMapWidth     = 640.0
	dashMapMinHeight = 160.0
	dashMapMaxHeight = 520.0
	dashMapPad       = 14.0
	// dashMapMinSpan keeps a township with one visit (or visits on one spot)
	// from zooming in without end: at least ~300 m across.
	dashMapMinSpan = 0.003
)

type dashMap struct {
	TownshipID int64
	Name       string
	W, H       float64
	Dots       []dashDot
	Routes     []dashRoute
	// Bases are the bases of the teams whose visits the map shows, where
	// their routes start.
	Bases []dashBase
}

// dashBase is a team's base on a map.
type dashBase struct {
	TeamID int64
	X, Y   string
	Color  string
	Title  string
}

type dashDot struct {
	Seq    int
	TeamID int64
	X, Y   string
	Color  string
	Title  string
}

type dashRoute struct {
	TeamID int64
	Date   string
	Points string
	Color  string
}

// dashPoint is a latitude and longitude in degrees.
type dashPoint struct{ Lat, Lng float64 }

// dashProjection maps latitude and longitude into a box: equirectangular, with
// longitudes scaled by the cosine of the middle latitude so that a kilometre
// east is as long as a kilometre north at the county's latitude, scaled to
// fit and centred.
type dashProjection struct {
	kx, minX, maxY, scale, offX, offY float64
	W, H                              float64
}

// newDashProjection fits pts into a box width wide and between minH and maxH
// high (the height follows the points' shape), pad units from each edge.
func newDashProjection(pts []dashPoint, width, minH, maxH, pad float64) dashProjection {
	if len(pts) == 0 {
		return dashProjection{kx: 1, scale: 1, W: width, H: minH}
	}
	minLat, maxLat := pts[0].Lat, pts[0].Lat
	minLng, maxLng := pts[0].Lng, pts[0].Lng
	for _, p := range pts[1:] {
		minLat, maxLat = math.Min(minLat, p.Lat), math.Max(maxLat, p.Lat)
		minLng, maxLng = math.Min(minLng, p.Lng), math.Max(maxLng, p.Lng)
	}
	kx := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	if kx < 0.01 {
		kx = 0.01 // near a pole; no county lies there
	}
	minX, maxX := minLng*kx, maxLng*kx
	minY, maxY := minLat, maxLat
	grow := func(lo, hi float64) (float64, float64) {
		if hi-lo >= dashMapMinSpan {
			return lo, hi
		}
		mid := (lo + hi) / 2
		return mid - dashMapMinSpan/2, mid + dashMapMinSpan/2
	}
	minX, maxX = grow(minX, maxX)
	minY, maxY = grow(minY, maxY)
	spanX, spanY := maxX-minX, maxY-minY
	scale := math.Min((width-2*pad)/spanX, (maxH-2*pad)/spanY)
	h := math.Max(minH, math.Ceil(spanY*scale+2*pad))
	return dashProjection{kx: kx, minX: minX, maxY: maxY, scale: scale,
		offX: (width - spanX*scale) / 2, offY: (h - spanY*scale) / 2, W: width, H: h}
}

// xy is the point's place in the box: x grows east, y grows south.
func (pr dashProjection) xy(p dashPoint) (x, y float64) {
	return pr.offX + (p.Lng*pr.kx-pr.minX)*pr.scale, pr.offY + (pr.maxY-p.Lat)*pr.scale
}

func dashCoord(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

// maps draws one map per township holding visits (a visit outside every
// township goes on a map of its own), with each team-day's route through
// the township in route order; visits arrive ordered by date, team and
// route order. It also answers the legend of the teams on the maps.
func (r *dashRegistries) maps(visits []store.MapVisit) ([]dashLegend, []dashMap) {
	byTown := map[int64][]store.MapVisit{}
	var towns []int64
	teams := map[int64]bool{}
	for _, v := range visits {
		tw := r.township[v.RegionID]
		if _, ok := byTown[tw]; !ok {
			towns = append(towns, tw)
		}
		byTown[tw] = append(byTown[tw], v)
		teams[v.TeamID] = true
	}
	slices.SortFunc(towns, func(a, b int64) int {
		return cmp.Or(cmp.Compare(r.regionName(a), r.regionName(b)), cmp.Compare(a, b))
	})
	maps := make([]dashMap, 0, len(towns))
	for _, tw := range towns {
		vs := byTown[tw]
		pts := make([]dashPoint, len(vs))
		for i, v := range vs {
			pts[i] = dashPoint{v.Lat, v.Lng}
		}
		// The bases of the teams seen here are drawn too, so the box holds them.
		var baseTeams []int64
		for _, v := range vs {
			if i, ok := r.teamIx[v.TeamID]; ok && !slices.Contains(baseTeams, v.TeamID) &&
				(r.teams[i].BaseLat != 0 || r.teams[i].BaseLng != 0) {
				baseTeams = append(baseTeams, v.TeamID)
			}
		}
		all := slices.Clone(pts)
		for _, id := range baseTeams {
			t := r.teams[r.teamIx[id]]
			all = append(all, dashPoint{t.BaseLat, t.BaseLng})
		}
		pr := newDashProjection(all, dashMapWidth, dashMapMinHeight, dashMapMaxHeight, dashMapPad)
		m := dashMap{TownshipID: tw, Name: r.regionName(tw), W: pr.W, H: pr.H}
		type teamDay struct {
			team int64
			date time.Time
		}
		var route []string
		var cur teamDay
		flush := func() {
			if len(route) >= 2 {
				m.Routes = append(m.Routes, dashRoute{TeamID: cur.team, Date: cur.date.Format(time.DateOnly),
					Points: strings.Join(route, " "), Color: r.teamColor(cur.team)})
			}
			route = route[:0]
		}
		for i, v := range vs {
			x, y := pr.xy(pts[i])
			if td := (teamDay{v.TeamID, v.Date}); td != cur {
				flush()
				cur = td
			}
			route = append(route, dashCoord(x)+","+dashCoord(y))
			m.Dots = append(m.Dots, dashDot{Seq: v.Seq, TeamID: v.TeamID, X: dashCoord(x), Y: dashCoord(y), Color: r.teamColor(v.TeamID),
				Title: fmt.Sprintf("%s · %s · %s #%d", v.BusinessName, v.Date.Format(time.DateOnly), r.teamName(v.TeamID), v.RouteOrder)})
		}
		flush()
		for _, id := range baseTeams {
			t := r.teams[r.teamIx[id]]
			x, y := pr.xy(dashPoint{t.BaseLat, t.BaseLng})
			m.Bases = append(m.Bases, dashBase{TeamID: id, X: dashCoord(x - 5), Y: dashCoord(y - 5), Color: r.teamColor(id), Title: t.Name})
		}
		maps = append(maps, m)
	}
	legend := make([]dashLegend, 0, len(teams))
	for _, t := range r.teams {
		if teams[t.ID] {
			legend = append(legend, dashLegend{TeamID: t.ID, Name: t.Name, Color: r.teamColor(t.ID)})
		}
	}
	return legend, maps
}

func init() {
	addMessages(map[string][2]string{
		"plans.title":                  {"检查计划", "Inspection plans"},
		"plans.filter":                 {"筛选", "Filter"},
		"plans.status":                 {"状态", "Status"},
		"plans.all":                    {"全部", "All"},
		"plans.none":                   {"还没有计划。", "There are no plans yet."},
		"plans.hidden":                 {"另有 %d 个较早的计划未列出。", "%d older plans are not listed."},
		"plans.id":                     {"编号", "No."},
		"plans.horizon":                {"计划期", "Horizon"},
		"plans.mode":                   {"抽查方式", "Sampling"},
		"plans.created":                {"创建", "Created"},
		"plans.progress":               {"进度", "Progress"},
		"plans.visits":                 {"上门次数", "Visits"},
		"plans.joint_rate":             {"联合检查率", "Joint rate"},
		"plans.open":                   {"查看", "Open"},
		"plans.refreshing":             {"有计划正在编制，本页每 %d 秒自动刷新。", "A plan is running; this page reloads every %d seconds."},
		"plan.title":                   {"计划看板", "Plan dashboard"},
		"plan.heading":                 {"计划 %d", "Plan %d"},
		"plan.status.running":          {"编制中", "running"},
		"plan.status.draft":            {"草案", "draft"},
		"plan.status.published":        {"已发布", "published"},
		"plan.status.discarded":        {"已废弃", "discarded"},
		"plan.status.failed":           {"失败", "failed"},
		"plan.mode.coordinated":        {"协同抽样", "coordinated"},
		"plan.mode.independent":        {"独立抽样", "independent"},
		"plan.year":                    {"年度", "Year"},
		"plan.progress.created":        {"已创建", "created"},
		"plan.progress.loading":        {"正在读取数据", "loading the registers and demands"},
		"plan.progress.planning":       {"正在编排", "planning"},
		"plan.progress.comparing":      {"正在与独立抽样对比", "comparing with independent sampling"},
		"plan.progress.saving":         {"正在保存", "saving"},
		"plan.progress.done":           {"完成", "done"},
		"plan.shift":                   {"轮换偏移", "Shift"},
		"plan.created_by":              {"创建人", "Created by"},
		"plan.published_at":            {"发布时间", "Published"},
		"plan.running":                 {"计划正在编制，本页每 %d 秒自动刷新。", "The plan is running; this page reloads every %d seconds."},
		"plan.failed":                  {"编制失败：", "The run failed: "},
		"plan.no_stats":                {"计划尚无统计数据。", "The plan has no figures yet."},
		"plan.scope_note":              {"统计数据针对整个计划；地图和列表只显示含有%s任务的上门检查，任务数只计本部门的。", "The figures are for the whole plan; the maps and the table show only the visits carrying tasks of %s, and count only its tasks."},
		"plan.stats":                   {"统计", "Figures"},
		"plan.stat.tasks":              {"检查任务", "Tasks"},
		"plan.stat.naive_visits":       {"各部门单独上门次数", "Naive visits (one per business and department)"},
		"plan.stat.lower_bound":        {"理论最少上门次数", "Lower bound"},
		"plan.stat.tasks_joined":       {"并入已排检查的事项", "Tasks joined to visits on the calendar"},
		"plan.stat.visits_amended":     {"补充事项的已排检查", "Visits amended"},
		"plan.stat.door_knocks_saved":  {"少上门次数", "Door-knocks saved"},
		"plan.stat.visits":             {"计划上门次数", "Visits"},
		"plan.stat.joint_visits":       {"联合检查次数", "Joint visits"},
		"plan.stat.joint_visit_rate":   {"联合检查率", "Joint-visit rate"},
		"plan.stat.visit_reduction":    {"上门次数减少", "Visit reduction"},
		"plan.stat.unplaced":           {"未能安排的任务", "Unplaced tasks"},
		"plan.stat.travel_km":          {"路程（公里）", "Travel (km)"},
		"plan.targets":                 {"省级目标", "Province targets"},
		"plan.target.joint_visit_rate": {"联合检查率 ≥ %s", "Joint-visit rate ≥ %s"},
		"plan.target.visit_reduction":  {"实地检查次数下降 ≥ %s", "On-site inspections down ≥ %s"},
		"plan.target.met":              {"达标", "met"},
		"plan.target.not_met":          {"未达标", "not met"},
		"plan.comparison":              {"协同抽样与独立抽样对比", "Coordinated versus independent sampling"},
		"plan.comparison.help":         {"同一批需求、同一密钥与种子，每个抽查规则各自独立抽样时的结果。", "The same demands, secrets and rules, with every sampling rule drawing on its own."},
		"plan.comparison.none":         {"本计划没有保存对比（独立抽样计划，或早于此功能的计划）。", "This plan keeps no comparison (an independent plan, or one made before comparisons were kept)."},
		"plan.comparison.figure":       {"指标", "Figure"},
		"plan.comparison.coordinated":  {"协同抽样（本计划）", "Coordinated (this plan)"},
		"plan.comparison.independent":  {"独立抽样", "Independent"},
		"plan.comparison.ratio":        {"协同/独立", "Coordinated / independent"},
		"plan.unplaced":                {"未能安排的原因", "Unplaced, by reason"},
		"plan.unplaced.none":           {"所有任务均已安排。", "Every task is placed."},
		"plan.reason":                  {"原因", "Reason"},
		"plan.count":                   {"数量", "Count"},
		"plan.utilisation":             {"执法队工作量占用", "Team utilisation"},
		"plan.stat.busiest_day_share":  {"最忙一天的检查占比", "Busiest day's share of visits"},
		"plan.peak_day":                {"最忙一天（人·分钟）", "Peak day (person-minutes)"},
		"plan.mean_day":                {"平均每个工作日（人·分钟）", "Mean working day (person-minutes)"},
		"plan.minutes":                 {"%v 分钟", "%v min"},
		"plan.team":                    {"执法队", "Team"},
		"plan.share":                   {"占用率", "Share of capacity"},
		"plan.draws":                   {"抽查承诺与公开", "Draw commitments and reveals"},
		"plan.draws.help":              {"种子与年度密钥在使用前先公开其 SHA-256 承诺，事后公开原值，任何人都可复算抽查结果。", "The seed and the year key are committed by their SHA-256 before use and revealed later, so anyone can recompute the draws."},
		"plan.seed_hash":               {"种子承诺（SHA-256）", "Seed commitment (SHA-256)"},
		"plan.seed":                    {"种子", "Seed"},
		"plan.seed.secret":             {"保密，计划发布时公开。", "Secret until the plan is published."},
		"plan.year_key_hash":           {"年度密钥承诺（SHA-256）", "Year key commitment (SHA-256)"},
		"plan.year_key":                {"年度密钥", "Year key"},
		"plan.year_key.secret":         {"保密，年度结束时公开。", "Secret until the year closes."},
		"plan.year_key.revealed":       {"已于 %s 公开：", "Revealed on %s: "},
		"plan.target_draws":            {"抽取对象次数", "Target draws"},
		"plan.inspector_draws":         {"抽取执法人员次数", "Inspector draws"},
		"plan.verify":                  {"复核命令", "To verify"},
		"plan.verify.help":             {"计划发布后可复算全部抽查：", "Once the plan is published, recompute every draw with:"},
		"plan.filters":                 {"筛选", "Filters"},
		"plan.filter.township":         {"乡镇（街道）", "Township"},
		"plan.filter.team":             {"执法队", "Team"},
		"plan.filter.date":             {"日期", "Day"},
		"plan.map.base":                {"%s 队部", "%s base"},
		"plan.filter.department":       {"部门", "Department"},
		"plan.filter.any":              {"全部", "All"},
		"plan.filter.apply":            {"应用", "Apply"},
		"plan.filter.reset":            {"清除筛选", "Clear filters"},
		"plan.map":                     {"地图", "Map"},
		"plan.map.help":                {"圆点为上门检查，颜色表示牵头执法队；折线按路线顺序连接每个执法队每天在本图中的上门检查。", "Dots are visits, coloured by lead team; lines join each team-day's visits on the map in route order."},
		"plan.map.visits":              {"%d 次上门", "%d visits"},
		"plan.map.outside":             {"乡镇以外", "Outside the townships"},
		"plan.map.more":                {"另有 %d 次上门未画在地图上，请用筛选缩小范围。", "%d more visits are not drawn; narrow the view with the filters."},
		"plan.visits":                  {"上门检查", "Visits"},
		"plan.visits.count":            {"共 %d 次上门检查符合筛选条件。", "%d visits pass the filters."},
		"plan.visits.none":             {"没有符合条件的上门检查。", "No visit passes the filters."},
		"plan.visits.more":             {"另有 %d 次上门未列出，请用筛选缩小范围。", "%d more visits are not listed; narrow the view with the filters."},
		"plan.visit.date":              {"日期", "Date"},
		"plan.visit.order":             {"路线序号", "Stop"},
		"plan.visit.business":          {"市场主体", "Business"},
		"plan.visit.township":          {"乡镇", "Township"},
		"plan.visit.departments":       {"部门", "Departments"},
		"plan.visit.tasks":             {"任务", "Tasks"},
		"plan.visit.minutes":           {"时长（分钟）", "Minutes"},
		"plan.api":                     {"JSON 接口（需持访问令牌）", "JSON API (needs an access token)"},
		"reason.leave_alone":           {"无事不扰名单", "On the leave-alone list"},
		"reason.cooldown":              {"近期已检查", "Inspected recently"},
		"reason.yearly_cap":            {"已达年度上门次数上限", "Department's yearly visits used up"},
		"reason.no_working_day":        {"时间窗内没有工作日", "No working day in the window"},
		"reason.no_team":               {"没有执法队覆盖该区域", "No team covers the region"},
		"reason.capacity":              {"执法队日程已满", "No team-day had room"},
		"reason.no_inspectors":         {"找不到两名有资质且无需回避的执法人员", "No two certified, unrecused inspectors"},
		"reason.unknown_item":          {"检查事项不存在", "Unknown item"},
		"reason.unknown_business":      {"市场主体未登记", "Business not registered"},
		"reason.too_long":              {"单项检查超过一天工作时间", "One item exceeds an inspector's day"},
		"reason.empty_population":      {"抽查范围内没有市场主体", "The sampling rule matched no business"},
		"reason.notice_period":         {"时间窗在告知期满前结束", "The window ends before the business's notice runs out"},
		"reason.deferred":              {"留待下一计划抽取（本期内工作日太少）", "Left for the next plan (too few of its working days in this one)"},
		"reason.closed":                {"时间窗内的日子都已停止检查（停航、休整或执法队停工）", "Every day of the window is closed (region or team closure)"},
	})
}
