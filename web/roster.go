package web

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// rosterRoutes adds a team's printable day roster and the forms that make
// secret calendar-feed URLs for a team and for an inspector.
func (p *Pages) rosterRoutes(g *echo.Group) {
	g.GET("/teams/:id/rosters/:date", p.page(p.roster))
	g.POST("/teams/:id/feed", p.page(p.rotateTeamFeed))
	g.POST("/inspectors/:id/feed", p.page(p.rotateInspectorFeed))
}

// rosterData is what templates/roster.html shows.
type rosterData struct {
	Team store.RosterTeam
	// Day is the roster's date (YYYY-MM-DD); Prev and Next the working days
	// around it, for the day links.
	Day, Prev, Next string
	Visits          []rosterVisit
	// Members are the team's inspectors, the leader first.
	Members []domain.Inspector
	Totals  rosterTotals
	Map     routeMap
	// TeamFeed is whether the viewer may make the team's feed URL;
	// InspectorFeed is the viewer's own inspector id when it is an inspector.
	TeamFeed      bool
	InspectorFeed int64
	// Feed is a new feed URL, shown once on the page answering its rotation;
	// FeedKind says whose it is.
	Feed     *feedNotice
	FeedKind string
	// Avail is who of the team is away that day and what closures touch
	// its work.
	Avail availabilityView
}

// rosterVisit is a stop of the route with its number on the page and map.
// It carries no clock time: a team works its route in pairs at once, so
// the route order is not a timetable.
type rosterVisit struct {
	store.RosterVisit
	Stop int
}

// rosterTotals are the team-day figures. Work minutes sum the visits on the
// roster (a visit moved in or out counts where it is now); travel is the
// plan's (plan_team_days), which includes the way back to base, else the sum
// of the visits' legs.
type rosterTotals struct {
	Visits        int
	Items         int
	WorkMinutes   int
	TravelMinutes int
	TravelKm      float64
	HasKm         bool
}

// rosterAccess lets an admin read any team's roster, a team leader its own
// team's and an inspector only a team-day it works (store.MayReadRoster); a
// team-day outside the viewer's scope is "not found", as if it did not exist.
// Businesses and planners have no roster at all: forbidden.
func (p *Pages) rosterAccess(c echo.Context, teamID int64, day time.Time) error {
	v, err := allow(c, domain.RoleAdmin, domain.RoleTeamLeader, domain.RoleInspector)
	if err != nil {
		return err
	}
	ok, err := p.store.MayReadRoster(c.Request().Context(), v, teamID, day)
	if err != nil {
		return fmt.Errorf("roster access: %w", err)
	}
	if !ok {
		return fmt.Errorf("team %d: %w", teamID, domain.ErrNotFound)
	}
	return nil
}

// parseDay reads a civil date YYYY-MM-DD; a bad one is a validation error.
func parseDay(field, s string) (time.Time, error) {
	d, err := domain.ParseDate(s, nil)
	if err != nil {
		return time.Time{}, domain.InvalidDate(field, err)
	}
	return d, nil
}

// roster answers GET /teams/{id}/rosters/{date}.
func (p *Pages) roster(c echo.Context) error {
	if _, err := allow(c, domain.RoleAdmin, domain.RoleTeamLeader, domain.RoleInspector); err != nil {
		return err
	}
	teamID, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	day, err := parseDay("date", c.Param("date"))
	if err != nil {
		return err
	}
	if err := p.rosterAccess(c, teamID, day); err != nil {
		return err
	}
	return p.renderRoster(c, teamID, day, nil, "")
}

// rotateTeamFeed answers POST /teams/{id}/feed (an admin, or the team's
// leader): a new secret URL of the team's calendar, revoking the old one,
// shown once on the roster of the day the form was on.
func (p *Pages) rotateTeamFeed(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RoleTeamLeader)
	if err != nil {
		return err
	}
	teamID, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	day, err := p.formDay(c)
	if err != nil {
		return err
	}
	if err := p.rosterAccess(c, teamID, day); err != nil {
		return err
	}
	secret, err := p.store.RotateFeedToken(c.Request().Context(), v.Actor(), store.FeedTeam, strconv.FormatInt(teamID, 10))
	if err != nil {
		return fmt.Errorf("rotate feed of team %d: %w", teamID, err)
	}
	return p.renderRoster(c, teamID, day, &feedNotice{URL: feedURL(c, secret)}, store.FeedTeam)
}

// rotateInspectorFeed answers POST /inspectors/{id}/feed: an inspector makes
// the secret URL of its own calendar (an admin may make anyone's). The form
// sits on a roster and names it (team, date), so the answer is that roster
// with the new URL; the viewer must still be allowed to read it.
func (p *Pages) rotateInspectorFeed(c echo.Context) error {
	v, err := allow(c, domain.RoleAdmin, domain.RoleInspector)
	if err != nil {
		return err
	}
	inspectorID, err := pathInt64(c, "id")
	if err != nil {
		return err
	}
	if !v.ActsForInspector(inspectorID) {
		return fmt.Errorf("inspector %d: %w", inspectorID, domain.ErrNotFound)
	}
	teamID, err := strconv.ParseInt(c.FormValue("team"), 10, 64)
	if err != nil || teamID <= 0 {
		return domain.Invalid("team", "must be a team id, got %q", c.FormValue("team"))
	}
	day, err := p.formDay(c)
	if err != nil {
		return err
	}
	if err := p.rosterAccess(c, teamID, day); err != nil {
		return err
	}
	secret, err := p.store.RotateFeedToken(c.Request().Context(), v.Actor(), store.FeedInspector, strconv.FormatInt(inspectorID, 10))
	if err != nil {
		return fmt.Errorf("rotate feed of inspector %d: %w", inspectorID, err)
	}
	return p.renderRoster(c, teamID, day, &feedNotice{URL: feedURL(c, secret)}, store.FeedInspector)
}

// formDay is the roster day a feed form was posted from; today when absent.
func (p *Pages) formDay(c echo.Context) (time.Time, error) {
	s := c.FormValue("date")
	if s == "" {
		s = p.now().In(p.loc).Format(time.DateOnly)
	}
	return parseDay("date", s)
}

func (p *Pages) renderRoster(c echo.Context, teamID int64, day time.Time, feed *feedNotice, feedKind string) error {
	ctx := c.Request().Context()
	r, err := p.store.Roster(ctx, viewer(c), teamID, day)
	if err != nil {
		return fmt.Errorf("roster of team %d: %w", teamID, err)
	}
	members, err := p.store.ListInspectors(ctx, store.InspectorFilter{TeamID: teamID}, store.Page{Limit: store.MaxLimit})
	if err != nil {
		return fmt.Errorf("members of team %d: %w", teamID, err)
	}
	// The leader first: the person to call about the team's day.
	slices.SortStableFunc(members.Items, func(a, b domain.Inspector) int {
		if a.IsLeader != b.IsLeader {
			if a.IsLeader {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	v := viewer(c)
	data := rosterData{Team: r.Team, Day: r.Date, Prev: p.workingDay(day, -1), Next: p.workingDay(day, 1),
		Members: members.Items, Feed: feed, FeedKind: feedKind,
		TeamFeed: v.LeadsTeam(r.Team.ID), InspectorFeed: v.InspectorID()}
	for i, rv := range r.Visits {
		data.Visits = append(data.Visits, rosterVisit{RosterVisit: rv, Stop: i + 1})
		data.Totals.Items += len(rv.Items)
		data.Totals.WorkMinutes += rv.DurationMinutes
		data.Totals.TravelMinutes += rv.TravelMinutes
	}
	data.Totals.Visits = len(r.Visits)
	if r.Totals != nil {
		data.Totals.TravelMinutes = r.Totals.TravelMinutes
		data.Totals.TravelKm, data.Totals.HasKm = r.Totals.TravelKm, true
	}
	data.Map = newRouteMap(r)
	if data.Avail, err = p.availability(ctx, teamID, 0, day, day); err != nil {
		return fmt.Errorf("roster of team %d: %w", teamID, err)
	}
	if feed != nil {
		noStore(c)
	}
	return p.render(c, http.StatusOK, "roster", "roster.title", data)
}

// workingDay is the working day step days (+1 or -1) from day, skipping
// weekends and holidays by the county calendar; the next calendar day when
// there is no calendar or none is found within a month.
func (p *Pages) workingDay(day time.Time, step int) string {
	d := day.AddDate(0, 0, step)
	if p.cal == nil {
		return d.Format(time.DateOnly)
	}
	for range 31 {
		if p.cal.IsWorkingDay(d) {
			return d.Format(time.DateOnly)
		}
		d = d.AddDate(0, 0, step)
	}
	return day.AddDate(0, 0, step).Format(time.DateOnly)
}

// routeMap is the route drawn as SVG: the base, the stops in route order and
// the way back, in the SVG's own units. Coordinates are formatted numbers,
// so the template writes them as plain attribute values.
type routeMap struct {
	Width, Height int
	Base          *mapPoint
	Stops         []mapPoint
	// Points is the polyline base → stops → base ("x,y x,y …").
	Points string
	// Missing counts stops without coordinates: on the list, not on the map.
	Missing int
	// Dots counts stops drawn as dots: too close to a numbered one for their
	// own circle.
	Dots int
}

type mapPoint struct {
	X, Y string
	// N is the stop number (0 for the base).
	N int
	// Dot draws the stop as a small dot without its number, so that numbers
	// in a crowded village do not cover each other.
	Dot  bool
	x, y float64
}

// Map box and margins, in SVG units: wide, short, so that it sits next to the
// team's members at the top of the printed page.
const (
	mapWidth  = 420
	mapHeight = 260
	mapPad    = 22
	// mapClear is how far apart (SVG units) two numbered circles must be to
	// be read: a bit more than a circle's diameter.
	mapClear = 20
)

// newRouteMap projects the team base and the stops to the SVG box with an
// equirectangular projection: x is longitude scaled by the cosine of the
// middle latitude, y latitude (flipped: north is up). At a county's scale
// the distortion is negligible and distances look as they are on the road.
func newRouteMap(r store.Roster) routeMap {
	m := routeMap{Width: mapWidth, Height: mapHeight}
	type pt struct {
		lat, lng float64
		n        int
	}
	valid := func(lat, lng float64) bool {
		// Unknown coordinates read as 0,0 (coalesce in the store).
		return !(lat == 0 && lng == 0) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180
	}
	var pts []pt
	hasBase := valid(r.Team.BaseLat, r.Team.BaseLng)
	if hasBase {
		pts = append(pts, pt{r.Team.BaseLat, r.Team.BaseLng, 0})
	}
	for i, v := range r.Visits {
		if !valid(v.Business.Lat, v.Business.Lng) {
			m.Missing++
			continue
		}
		pts = append(pts, pt{v.Business.Lat, v.Business.Lng, i + 1})
	}
	if len(pts) == 0 {
		return m
	}
	minLat, maxLat := pts[0].lat, pts[0].lat
	for _, q := range pts {
		minLat, maxLat = math.Min(minLat, q.lat), math.Max(maxLat, q.lat)
	}
	k := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	xs, ys := make([]float64, len(pts)), make([]float64, len(pts))
	for i, q := range pts {
		xs[i], ys[i] = q.lng*k, q.lat
	}
	minX, maxX := slices.Min(xs), slices.Max(xs)
	minY, maxY := slices.Min(ys), slices.Max(ys)
	// One scale for both axes keeps the shape; a route of one point (or
	// points on a line) is centred rather than divided by zero.
	w, h := float64(mapWidth-2*mapPad), float64(mapHeight-2*mapPad)
	scale := math.Inf(1)
	if maxX > minX {
		scale = w / (maxX - minX)
	}
	if maxY > minY {
		scale = math.Min(scale, h/(maxY-minY))
	}
	if math.IsInf(scale, 1) {
		scale = 1
	}
	offX := mapPad + (w-(maxX-minX)*scale)/2
	offY := mapPad + (h-(maxY-minY)*scale)/2
	var path []string
	for i, q := range pts {
		x := offX + (xs[i]-minX)*scale
		y := offY + (maxY-ys[i])*scale
		mp := mapPoint{X: strconv.FormatFloat(x, 'f', 1, 64), Y: strconv.FormatFloat(y, 'f', 1, 64), N: q.n, x: x, y: y}
		path = append(path, mp.X+","+mp.Y)
		if q.n == 0 {
			m.Base = &mp
			continue
		}
		// Earlier stops keep their numbers; a later one that would cover a
		// numbered stop or the base becomes a dot.
		crowded := func(o mapPoint) bool { return math.Hypot(o.x-x, o.y-y) < mapClear }
		if (m.Base != nil && crowded(*m.Base)) || slices.ContainsFunc(m.Stops, func(o mapPoint) bool { return !o.Dot && crowded(o) }) {
			mp.Dot = true
			m.Dots++
		}
		m.Stops = append(m.Stops, mp)
	}
	if hasBase && len(path) > 1 {
		path = append(path, path[0]) // back to base
	}
	m.Points = strings.Join(path, " ")
	return m
}

func init() {
	addMessages(map[string][2]string{
		"roster.title":          {"排班表", "Roster"},
		"roster.heading":        {"%s 排班表", "Roster of %s"},
		"roster.prev":           {"‹ 前一工作日", "‹ Previous working day"},
		"roster.next":           {"后一工作日 ›", "Next working day ›"},
		"roster.print":          {"打印", "Print"},
		"roster.print_hint":     {"可使用浏览器的打印功能（Ctrl+P）打印为 A4。", "Use the browser's print command (Ctrl+P) for an A4 copy."},
		"roster.team_phone":     {"队伍联系电话：%s", "Team phone: %s"},
		"roster.person":         {"%s（%s）", "%s (%s)"},
		"roster.sep":            {"；", "; "},
		"roster.members":        {"本队人员", "Team members"},
		"roster.leader":         {"队长", "Leader"},
		"roster.no_members":     {"本队尚无人员。", "The team has no members."},
		"roster.totals":         {"当日合计", "Day totals"},
		"roster.visits":         {"检查户数", "Visits"},
		"roster.items":          {"检查事项", "Items"},
		"roster.work_time":      {"现场时间", "On site"},
		"roster.travel_time":    {"路程时间", "Travel time"},
		"roster.distance":       {"路程", "Distance"},
		"roster.minutes":        {"%d 分钟", "%d min"},
		"roster.km":             {"%s 公里", "%s km"},
		"roster.route_caption":  {"路线：从驻地（黑色方块）出发，按编号顺序检查，返回驻地。", "Route: from the base (black square) through the stops in order and back."},
		"roster.route_dots":     {"距离过近的站点以小圆点表示，编号见下方清单。", "Stops too close to another are drawn as dots; their numbers are on the list below."},
		"roster.route_alt":      {"路线图：从队伍驻地出发，按编号顺序检查，返回驻地。", "Route map: from the team base through the stops in order and back."},
		"roster.base":           {"驻地", "Base"},
		"roster.missing_coords": {"%d 户无坐标，未在图上标出。", "%d stops have no coordinates and are not on the map."},
		"roster.empty":          {"当日没有检查安排。", "No visits on this day."},
		"roster.stop":           {"第 %d 站", "Stop %d"},
		"roster.uscc":           {"统一社会信用代码", "USCC"},
		"roster.address":        {"地址", "Address"},
		"roster.contact":        {"联系人", "Contact"},
		"roster.withheld":       {"仅本户检查人员可见", "Visible to this visit's inspectors only"},
		"roster.budget":         {"现场 %d 分钟 · 路程 %d 分钟", "%d min on site · %d min travel"},
		"roster.moved":          {"由 %s 改期至今日，未排入原路线", "Moved here from %s; not part of the planned route"},
		"roster.col_check":      {"勾选", "Done"},
		"roster.col_dept":       {"部门", "Department"},
		"roster.col_item":       {"检查事项", "Item"},
		"roster.col_basis":      {"检查依据", "Legal basis"},
		"roster.inspectors":     {"检查人员", "Inspectors"},
		"roster.role.lead":      {"带队", "lead"},
		"roster.role.member":    {"组员", "member"},
		"roster.sign":           {"检查人员签名：", "Inspectors' signatures:"},
		"roster.sign_business":  {"被检查单位签名：", "Business's signature:"},
		"roster.sign_stop":      {"（第 %d 站）", "(stop %d)"},
	})
}
