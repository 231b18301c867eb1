package store

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
)

// Roster is a team's day: the visits it leads in published plans, in route
// order, each with what the team needs on the road.
type Roster struct {
	Team   RosterTeam    `json:"team"`
	Date   string        `json:"date"`
	Totals *RosterTotals `json:"totals,omitempty"`
	Visits []RosterVisit `json:"visits"`
}

// RosterTeam is the team of a roster.
type RosterTeam struct {
	ID           int64   `json:"id"`
	Code         string  `json:"code"`
	Name         string  `json:"name"`
	ContactPhone string  `json:"contact_phone"`
	BaseLat      float64 `json:"base_lat"`
	BaseLng      float64 `json:"base_lng"`
}

// RosterTotals are the team-day figures of the published plans
// (plan_team_days), summed over them. They are the plans' figures: a visit
// moved into or out of the day (MoveVisit) does not change them.
type RosterTotals struct {
	TravelKm      float64 `json:"travel_km"`
	WorkMinutes   int     `json:"work_minutes"`
	TravelMinutes int     `json:"travel_minutes"`
}

// RosterVisit is one stop of the route.
type RosterVisit struct {
	PlanID   int64 `json:"plan_id"`
	VisitSeq int   `json:"visit_seq"`
	// OriginalDate is the plan's date of a visit moved to this day, else "";
	// Revision counts its moves. A moved visit was not routed on this day: it
	// comes after the planned route, and its RouteOrder is its original day's.
	OriginalDate    string            `json:"original_date,omitempty"`
	Revision        int               `json:"revision"`
	RouteOrder      int               `json:"route_order"`
	DurationMinutes int               `json:"duration_minutes"`
	TravelMinutes   int               `json:"travel_minutes"`
	Business        RosterBusiness    `json:"business"`
	Items           []RosterItem      `json:"items"`
	Inspectors      []RosterInspector `json:"inspectors"`
	// Code is the visit's current code (行政行为码); CodeURL its public page,
	// filled in by the HTTP layer, which knows the service's public address.
	Code    string `json:"code"`
	CodeURL string `json:"code_url,omitempty"`
}

// RosterBusiness is where a visit goes and whom to call there.
type RosterBusiness struct {
	USCC         string  `json:"uscc"`
	Name         string  `json:"name"`
	Address      string  `json:"address"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	ContactName  string  `json:"contact_name"`
	ContactPhone string  `json:"contact_phone"`
	// ContactWithheld says the reader may not see the contact details: they
	// are blank here and null in JSON.
	ContactWithheld bool `json:"-"`
}

// MarshalJSON writes contact_name and contact_phone null when withheld, as
// domain.Business does.
func (b RosterBusiness) MarshalJSON() ([]byte, error) {
	type plain RosterBusiness
	if !b.ContactWithheld {
		return json.Marshal(plain(b))
	}
	return json.Marshal(struct {
		plain
		ContactName  *string `json:"contact_name"`
		ContactPhone *string `json:"contact_phone"`
	}{plain: plain(b)})
}

// RosterItem is one line of a visit's checklist: an item to inspect, once per
// visit however many demands asked for it. Checked is always false: the
// roster is the blank checklist.
type RosterItem struct {
	ID             int64  `json:"id" gorm:"column:item_id"`
	Code           string `json:"code"`
	Name           string `json:"name"`
	DepartmentID   int64  `json:"department_id"`
	DepartmentCode string `json:"department_code"`
	DepartmentName string `json:"department_name"`
	LegalBasis     string `json:"legal_basis"`
	Minutes        int    `json:"minutes"`
	Checked        bool   `json:"checked" gorm:"-"`
}

// RosterInspector is an inspector of a visit, lead first.
type RosterInspector struct {
	ID    int64  `json:"id" gorm:"column:inspector_id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Role  string `json:"role"`
}

// rosterCond selects the visits of a roster over published_visits pv, which
// holds the visits of published plans at their effective dates (a moved
// visit is on the roster of its new day, not of its plan's).
const rosterCond = `pv.team_id = ? AND pv.date = ?::date`

// Roster reads team teamID's roster of date (a civil date) as viewer may see
// it: the visits it leads in published plans at their effective dates, by
// plan then route order, visits moved to this day after the planned route.
// Contact details of businesses outside viewer's work are withheld
// (contactScope): an inspector who works one visit of the day sees the
// others' stops but not whom to call there. Whether viewer may read the
// roster at all is MayReadRoster's to say. An unknown team is ErrNotFound; a
// day without visits is a roster with no visits.
func (s *Store) Roster(ctx context.Context, viewer domain.Principal, teamID int64, date time.Time) (Roster, error) {
	rd, err := s.readRoster(ctx, viewer, teamID, date, false)
	return rd.Roster, err
}

// TeamRosterDay is a team's roster with who of the team is away that day and
// the closures touching its work that day (ListAway, ClosuresAffecting), as
// GET /teams/{id}/rosters/{date} answers it.
type TeamRosterDay struct {
	Roster
	Away     []Away
	Closures []ClosureNote
}

// ReadRosterDay reads team teamID's TeamRosterDay of date as viewer may see it,
// in one round trip (issue 20): whether viewer may read it (MayReadRoster),
// the roster, the days away and the closures. A team-day viewer may not read
// is ErrNotFound, as if it did not exist; so is an unknown team.
func (s *Store) ReadRosterDay(ctx context.Context, viewer domain.Principal, teamID int64, date time.Time) (TeamRosterDay, error) {
	return s.readRoster(ctx, viewer, teamID, date, true)
}

// rosterVisitsSQL reads the visits of a roster, $1 the team and $2 the day,
// each with its checklist and people, in one prepared statement (issue 20).
// It is published_visits and visit_assignments written out for one team-day
// so that PostgreSQL probes indexes from the team and the day (the views,
// joined three times, cost about 1 ms a roster): the visits planned that
// day and not moved since, and those whose latest move brought them to the
// day; their duration with the minutes that published joins added; their
// code's generation; their tasks (one row each: the items are made unique
// and ordered by first task in Go) and their people with substitutions
// applied (ordered by position in Go; PostgreSQL hashes the county's
// inspectors once per call, which measured no dearer than probing them one
// by one). CONTACT is replaced by the contact
// columns: contactColumns after contactLateral's join, or the plain ones
// where the reader may see every stop's (rosterContactsAll).
const rosterVisitsSQL = `
WITH mv AS MATERIALIZED (
	SELECT m.plan_id, m.visit_seq, m.seq FROM visit_moves m WHERE m.to_date = $2::date
		AND NOT EXISTS (SELECT 1 FROM visit_moves l WHERE l.plan_id = m.plan_id AND l.visit_seq = m.visit_seq AND l.seq > m.seq)
), v AS (
	SELECT pv.plan_id, pv.seq, pv.uscc, pv.date AS original_date, 0 AS revision, pv.route_order, pv.duration_minutes, pv.travel_minutes
	FROM plan_visits pv JOIN plans p ON p.id = pv.plan_id
	WHERE pv.team_id = $1 AND pv.date = $2::date AND p.status = 'published'
		AND NOT EXISTS (SELECT 1 FROM visit_moves m WHERE m.plan_id = pv.plan_id AND m.visit_seq = pv.seq)
	UNION ALL
	SELECT pv.plan_id, pv.seq, pv.uscc, pv.date, mv.seq, pv.route_order, pv.duration_minutes, pv.travel_minutes
	FROM mv JOIN plan_visits pv ON pv.plan_id = mv.plan_id AND pv.seq = mv.visit_seq JOIN plans p ON p.id = pv.plan_id
	WHERE pv.team_id = $1 AND p.status = 'published'
)
SELECT v.plan_id, v.seq, v.original_date, v.revision, v.route_order,
	v.duration_minutes + coalesce((SELECT sum(j.added_minutes) FROM plan_joins j JOIN plans jp ON jp.id = j.plan_id AND jp.status = 'published'
		WHERE j.target_plan_id = v.plan_id AND j.target_visit_seq = v.seq), 0)::integer,
	v.travel_minutes, v.uscc, coalesce(b.name, ''), coalesce(b.address, ''), coalesce(b.lat, 0), coalesce(b.lng, 0), CONTACT,
	(SELECT count(*) FROM visit_code_revocations r WHERE r.plan_id = v.plan_id AND r.visit_seq = v.seq),
	it.seqs, it.ids, it.codes, it.names, it.dept_ids, it.dept_codes, it.dept_names, it.bases, it.minutes,
	ins.ords, ins.ids, ins.names, ins.phones, ins.roles
FROM v LEFT JOIN businesses b ON b.uscc = v.uscc JOINS
CROSS JOIN LATERAL (
	SELECT array_agg(t.seq) seqs, array_agg(it.id) ids, array_agg(it.code) codes, array_agg(it.name) names,
		array_agg(d.id) dept_ids, array_agg(d.code) dept_codes, array_agg(d.name) dept_names,
		array_agg(it.legal_basis) bases, array_agg(it.minutes) minutes
	FROM plan_tasks t JOIN items it ON it.id = t.item_id JOIN departments d ON d.id = it.department_id
	WHERE t.plan_id = v.plan_id AND t.visit_seq = v.seq
) it
CROSS JOIN LATERAL (
	SELECT array_agg(a.ord) ords, array_agg(i.id) ids, array_agg(i.name) names, array_agg(i.phone) phones, array_agg(a.role) roles
	FROM plan_assignments a
	CROSS JOIN LATERAL (SELECT i.id, i.name, i.phone FROM inspectors i WHERE i.id = coalesce((SELECT s.inspector_id FROM visit_substitutions s
		WHERE s.plan_id = a.plan_id AND s.visit_seq = a.visit_seq AND s.ord = a.ord ORDER BY s.seq DESC LIMIT 1), a.inspector_id)) i
	WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq
) ins
ORDER BY v.plan_id, v.revision > 0, v.route_order, v.seq`

// rosterContactsAll are the contact columns of a roster read by a reader who
// may see every stop's: an admin, or the leader of the team, whose team
// leads each of the day's visits in a published plan, which is what
// contactScope asks of it.
const rosterContactsAll = `coalesce(b.contact_name, ''), coalesce(b.contact_phone, ''), b.uscc IS NULL`

// rosterHeadSQL reads the team ($1) and the published plans' totals of its
// day ($2) in one row; none for an unknown team.
const rosterHeadSQL = `SELECT t.id, t.code, t.name, t.contact_phone, t.base_lat, t.base_lng, d.n, d.km, d.work, d.travel
FROM teams t CROSS JOIN LATERAL (
	SELECT count(*) n, coalesce(sum(d.travel_km), 0) km, coalesce(sum(d.work_minutes), 0) work, coalesce(sum(d.travel_minutes), 0) travel
	FROM plan_team_days d JOIN plans p ON p.id = d.plan_id
	WHERE d.team_id = t.id AND d.date = $2::date AND p.status = 'published') d
WHERE t.id = $1`

// rosterVisitsQuery is rosterVisitsSQL for viewer reading team teamID's
// roster, with its arguments.
func rosterVisitsQuery(viewer domain.Principal, teamID int64, day time.Time) (string, []any) {
	if viewer.LeadsTeam(teamID) {
		q := strings.Replace(strings.Replace(rosterVisitsSQL, "CONTACT", rosterContactsAll, 1), " JOINS\n", "\n", 1)
		return q, []any{teamID, day}
	}
	join, cargs := contactLateral(viewer)
	// contactScope's arguments come after the team and the day.
	join = dollarParamsFrom(join, 3)
	q := strings.Replace(strings.Replace(rosterVisitsSQL, "CONTACT", contactColumns, 1), " JOINS\n", " "+join+"\n", 1)
	return q, append([]any{teamID, day}, cargs...)
}

// readRoster is Roster, and with full the rest of ReadRosterDay, in one
// batch: the team with its totals, the visits with their checklists and
// people, and with full the days away and closures.
func (s *Store) readRoster(ctx context.Context, viewer domain.Principal, teamID int64, date time.Time, full bool) (TeamRosterDay, error) {
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// The whole roster day as its leader or an admin reads it is the same
	// for both: cached (readcache.go).
	var (
		cacheKey rosterKey
		base     uint64
		snap     string
	)
	cacheable := full && viewer.LeadsTeam(teamID)
	if cacheable {
		cacheKey = rosterKey{team: teamID, day: dayKey(day)}
		var cached TeamRosterDay
		var ok bool
		if cached, ok, base = s.reads.roster(ctx, s, cacheKey); ok {
			return cached, nil
		}
	}
	out := Roster{Date: civilDate(date), Visits: []RosterVisit{}}
	rd := TeamRosterDay{Away: []Away{}, Closures: []ClosureNote{}}
	var found bool
	var gens []int
	visitsSQL, vargs := rosterVisitsQuery(viewer, teamID, day)
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		if base > 0 {
			b.Queue(snapshotSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&snap) })
		}
		b.Queue(rosterHeadSQL, teamID, day).QueryRow(func(row pgx.Row) error {
			t := &out.Team
			var days int
			var tot RosterTotals
			err := row.Scan(&t.ID, &t.Code, &t.Name, &t.ContactPhone, &t.BaseLat, &t.BaseLng,
				&days, &tot.TravelKm, &tot.WorkMinutes, &tot.TravelMinutes)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			if days > 0 {
				out.Totals = &tot
			}
			return err
		})
		b.Queue(visitsSQL, vargs...).Query(func(rs pgx.Rows) error {
			var v RosterVisit
			var original time.Time
			var gen int
			var r rosterArrays
			bz := &v.Business
			_, err := pgx.ForEachRow(rs, []any{&v.PlanID, &v.VisitSeq, &original, &v.Revision, &v.RouteOrder,
				&v.DurationMinutes, &v.TravelMinutes, &bz.USCC, &bz.Name, &bz.Address, &bz.Lat, &bz.Lng,
				&bz.ContactName, &bz.ContactPhone, &bz.ContactWithheld, &gen,
				&r.taskSeqs, &r.itemIDs, &r.itemCodes, &r.itemNames, &r.deptIDs, &r.deptCodes, &r.deptNames, &r.bases, &r.minutes,
				&r.ords, &r.inspectorIDs, &r.inspectorNames, &r.phones, &r.roles}, func() error {
				x := v
				if x.Revision > 0 {
					x.OriginalDate = civilDate(original)
				}
				var err error
				if x.Items, x.Inspectors, err = r.lists(); err != nil {
					return fmt.Errorf("visit %d/%d: %w", x.PlanID, x.VisitSeq, err)
				}
				out.Visits = append(out.Visits, x)
				gens = append(gens, gen)
				return nil
			})
			return err
		})
		if full {
			queueRosterAvailability(b, teamID, day, &rd)
		}
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return TeamRosterDay{}, translate(err, "roster of "+objectID("team", teamID))
	}
	if full && !viewer.LeadsTeam(teamID) && !worksDay(viewer.InspectorID(), out.Visits) {
		// MayReadRoster: an inspector only a team-day it works, by the
		// people just read (visit_assignments, substitutions applied).
		return TeamRosterDay{}, fmt.Errorf("team %d: %w", teamID, domain.ErrNotFound)
	}
	if !found {
		return TeamRosterDay{}, fmt.Errorf("%s: %w", objectID("team", teamID), domain.ErrNotFound)
	}
	var key []byte
	if len(out.Visits) > 0 {
		if key, err = s.visitCodeKey(ctx); err != nil { // read once per replica
			return TeamRosterDay{}, err
		}
	}
	for i := range out.Visits {
		v := &out.Visits[i]
		if v.Code, err = signVisitCode(key, v.PlanID, v.VisitSeq, gens[i]); err != nil {
			return TeamRosterDay{}, err
		}
	}
	rd.Roster = out
	if cacheable {
		s.reads.putRoster(cacheKey, base, snap, rd)
	}
	return rd, nil
}

// worksDay reports whether inspector inspectorID (0: none) is among the
// people of visits.
func worksDay(inspectorID int64, visits []RosterVisit) bool {
	if inspectorID <= 0 {
		return false
	}
	for _, v := range visits {
		for _, in := range v.Inspectors {
			if in.ID == inspectorID {
				return true
			}
		}
	}
	return false
}

// rosterArrays are a roster visit's tasks and people as rosterVisitsSQL
// gives them: parallel arrays, in no particular order, NULL when empty.
type rosterArrays struct {
	taskSeqs, itemIDs, deptIDs, minutes        []int64
	itemCodes, itemNames, deptCodes, deptNames []string
	bases                                      []string
	ords, inspectorIDs                         []int64
	inspectorNames, phones, roles              []string
}

// lists are the visit's checklist (each item once, in the order of its
// first task) and its people (by position, lead first).
func (r *rosterArrays) lists() ([]RosterItem, []RosterInspector, error) {
	n := len(r.taskSeqs)
	if len(r.itemIDs) != n || len(r.itemCodes) != n || len(r.itemNames) != n || len(r.deptIDs) != n ||
		len(r.deptCodes) != n || len(r.deptNames) != n || len(r.bases) != n || len(r.minutes) != n {
		return nil, nil, errors.New("task arrays of different lengths")
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(r.taskSeqs[a], r.taskSeqs[b]) })
	items := make([]RosterItem, 0, n)
	for _, i := range order {
		if slices.ContainsFunc(items, func(it RosterItem) bool { return it.ID == r.itemIDs[i] }) {
			continue
		}
		items = append(items, RosterItem{ID: r.itemIDs[i], Code: r.itemCodes[i], Name: r.itemNames[i], DepartmentID: r.deptIDs[i],
			DepartmentCode: r.deptCodes[i], DepartmentName: r.deptNames[i], LegalBasis: r.bases[i], Minutes: int(r.minutes[i])})
	}
	k := len(r.ords)
	if len(r.inspectorIDs) != k || len(r.inspectorNames) != k || len(r.phones) != k || len(r.roles) != k {
		return nil, nil, errors.New("people arrays of different lengths")
	}
	order = order[:0]
	for i := range k {
		order = append(order, i)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(r.ords[a], r.ords[b]) })
	people := make([]RosterInspector, 0, k)
	for _, i := range order {
		people = append(people, RosterInspector{ID: r.inspectorIDs[i], Name: r.inspectorNames[i], Phone: r.phones[i], Role: r.roles[i]})
	}
	return items, people, nil
}

// queueRosterAvailability queues the days away of team teamID's members and
// the closures touching its work on day, as ListAway and ClosuresAffecting
// read them for one day, into rd. Each day away probes its inspector by
// primary key (OFFSET 0): joined plainly, PostgreSQL hashed the whole
// inspectors table at every roster read, days away or not.
func queueRosterAvailability(b *pgx.Batch, teamID int64, day time.Time, rd *TeamRosterDay) {
	b.Queue(`SELECT `+awaySelect+`
		FROM inspector_unavailability u
		CROSS JOIN LATERAL (SELECT i.team_id, i.code, i.name FROM inspectors i WHERE i.id = u.inspector_id AND i.team_id = $2 OFFSET 0) i
		WHERE u.to_date >= $1::date AND u.from_date <= $1::date
		ORDER BY u.from_date, i.name, u.id LIMIT $3`, day, teamID, MaxLimit).Query(func(rs pgx.Rows) error {
		var r awayRow
		_, err := pgx.ForEachRow(rs, []any{&r.ID, &r.InspectorID, &r.TeamID, &r.FromDate, &r.ToDate, &r.Reason, &r.CreatedBy,
			&r.CreatedAt, &r.RepairID, &r.InspectorCode, &r.InspectorName}, func() error {
			u := unavailabilityRow{ID: r.ID, InspectorID: r.InspectorID, TeamID: r.TeamID, FromDate: r.FromDate, ToDate: r.ToDate,
				Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RepairID: copyPtr(r.RepairID)}
			rd.Away = append(rd.Away, Away{Unavailability: u.value(), InspectorCode: r.InspectorCode, InspectorName: r.InspectorName})
			return nil
		})
		return err
	})
	b.Queue(closuresAffectingSQL, teamID, day, day, MaxLimit).Query(func(rs pgx.Rows) error {
		var r closureNoteRow
		_, err := pgx.ForEachRow(rs, []any{&r.ID, &r.RegionID, &r.TeamID, &r.FromDate, &r.ToDate, &r.Reason, &r.CreatedBy,
			&r.CreatedAt, &r.RepairID, &r.Code, &r.Name}, func() error {
			c := closureRow{ID: r.ID, RegionID: copyPtr(r.RegionID), TeamID: copyPtr(r.TeamID), FromDate: r.FromDate, ToDate: r.ToDate,
				Reason: r.Reason, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, RepairID: copyPtr(r.RepairID)}
			rd.Closures = append(rd.Closures, ClosureNote{Closure: c.value(), Code: r.Code, Name: r.Name})
			return nil
		})
		return err
	})
}

// dollarParams numbers gorm's ? placeholders as PostgreSQL's $1, $2, ... for
// pgx, in order: for SQL built from parts that use ? (contactScope).
func dollarParams(q string) string { return dollarParamsFrom(q, 1) }

// dollarParamsFrom is dollarParams numbering from $first.
func dollarParamsFrom(q string, first int) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := first - 1
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// MayReadRoster reports whether p may read team teamID's roster of date: an
// admin any, a team leader its own team's, an inspector only a team-day it
// works (InspectorOnTeamDay); nobody else. Being a member of the team is not
// enough: a roster names the targets of unannounced visits, and an inspector
// learns them no earlier than the day it is sent to one of them.
func (s *Store) MayReadRoster(ctx context.Context, p domain.Principal, teamID int64, date time.Time) (bool, error) {
	if p.LeadsTeam(teamID) {
		return true, nil
	}
	if id := p.InspectorID(); id > 0 {
		return s.InspectorOnTeamDay(ctx, id, teamID, date)
	}
	return false, nil
}

// InspectorOnTeamDay reports whether inspector inspectorID works team
// teamID's day date: it is assigned (visit_assignments) to at least one visit
// of a published plan that the team leads on that day, by the visit's
// effective date (after moves). Membership of the team does not count.
func (s *Store) InspectorOnTeamDay(ctx context.Context, inspectorID, teamID int64, date time.Time) (bool, error) {
	var ok bool
	err := s.db.WithContext(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM visit_assignments a
			JOIN published_visits pv ON pv.plan_id = a.plan_id AND pv.seq = a.visit_seq
			WHERE a.inspector_id = ? AND `+rosterCond+`)`,
		inspectorID, teamID, civilDate(date)).Row().Scan(&ok)
	if err != nil {
		return false, translate(err, "roster access")
	}
	return ok, nil
}

// closuresAffectingSQL is ClosuresAffecting's statement for pgx: $1 the
// team, $2 and $3 the first and last day, $4 the limit. TestRosterDay checks
// that both read the same closures.
const closuresAffectingSQL = `
WITH RECURSIVE own AS (
	SELECT region_id AS id FROM team_regions WHERE team_id = $1
), up AS (
	SELECT r.id, r.parent_id FROM regions r JOIN own ON own.id = r.id
	UNION
	SELECT r.id, r.parent_id FROM regions r JOIN up ON r.id = up.parent_id
), down AS (
	SELECT id FROM own
	UNION
	SELECT r.id FROM regions r JOIN down ON r.parent_id = down.id
)
SELECT c.id, c.region_id, c.team_id, c.from_date, c.to_date, c.reason, c.created_by, c.created_at,
	(SELECT cr.id FROM calendar_repairs cr WHERE cr.cause = 'closure' AND cr.cause_id = c.id) AS repair_id,
	COALESCE(r.code, t.code) AS code, COALESCE(r.name, t.name) AS name
FROM closures c
LEFT JOIN regions r ON r.id = c.region_id
LEFT JOIN teams t ON t.id = c.team_id
WHERE c.to_date >= $2::date AND c.from_date <= $3::date
	AND ($1::bigint = 0 OR c.team_id = $1 OR c.region_id IN (SELECT id FROM up) OR c.region_id IN (SELECT id FROM down))
ORDER BY c.from_date, c.id
LIMIT $4`
