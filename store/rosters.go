package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// readRoster is Roster, and with full the rest of ReadRosterDay, in one
// batch.
func (s *Store) readRoster(ctx context.Context, viewer domain.Principal, teamID int64, date time.Time, full bool) (TeamRosterDay, error) {
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	out := Roster{Date: civilDate(date), Visits: []RosterVisit{}}
	rd := TeamRosterDay{Away: []Away{}, Closures: []ClosureNote{}}
	may := !full || viewer.LeadsTeam(teamID)
	var found bool
	var gens []int
	type vkey struct {
		plan int64
		seq  int
	}
	at := map[vkey]int{}
	contacts, cargs := contactLateral(viewer)
	// One batch, one round trip: the team, the day's totals, the visits
	// (with their codes' generations), their items and their people.
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue(`SELECT id, code, name, contact_phone, base_lat, base_lng FROM teams WHERE id = $1`, teamID).
			QueryRow(func(row pgx.Row) error {
				t := &out.Team
				err := row.Scan(&t.ID, &t.Code, &t.Name, &t.ContactPhone, &t.BaseLat, &t.BaseLng)
				if errors.Is(err, pgx.ErrNoRows) {
					return nil
				}
				found = err == nil
				return err
			})
		b.Queue(`SELECT count(*), coalesce(sum(d.travel_km), 0), coalesce(sum(d.work_minutes), 0), coalesce(sum(d.travel_minutes), 0)
			FROM plan_team_days d JOIN plans p ON p.id = d.plan_id
			WHERE d.team_id = $1 AND d.date = $2::date AND p.status = 'published'`, teamID, day).
			QueryRow(func(row pgx.Row) error {
				var days int
				var t RosterTotals
				if err := row.Scan(&days, &t.TravelKm, &t.WorkMinutes, &t.TravelMinutes); err != nil {
					return err
				}
				if days > 0 {
					out.Totals = &t
				}
				return nil
			})
		args := append(append([]any{}, cargs...), teamID, day)
		b.Queue(dollarParams(`SELECT pv.plan_id, pv.seq, pv.original_date, pv.revision, pv.route_order, pv.duration_minutes,
				pv.travel_minutes, pv.uscc, coalesce(b.name, ''), coalesce(b.address, ''), coalesce(b.lat, 0),
				coalesce(b.lng, 0), `+contactColumns+`,
				(SELECT count(*) FROM visit_code_revocations r WHERE r.plan_id = pv.plan_id AND r.visit_seq = pv.seq)
			FROM published_visits pv LEFT JOIN businesses b ON b.uscc = pv.uscc `+contacts+`
			WHERE pv.team_id = ?::bigint AND pv.date = ?::date ORDER BY pv.plan_id, pv.revision > 0, pv.route_order, pv.seq`), args...).
			Query(func(rs pgx.Rows) error {
				var v RosterVisit
				var original time.Time
				var gen int
				bz := &v.Business
				_, err := pgx.ForEachRow(rs, []any{&v.PlanID, &v.VisitSeq, &original, &v.Revision, &v.RouteOrder,
					&v.DurationMinutes, &v.TravelMinutes, &bz.USCC, &bz.Name, &bz.Address, &bz.Lat, &bz.Lng,
					&bz.ContactName, &bz.ContactPhone, &bz.ContactWithheld, &gen}, func() error {
					x := v
					x.Items, x.Inspectors = []RosterItem{}, []RosterInspector{}
					if x.Revision > 0 {
						x.OriginalDate = civilDate(original)
					}
					at[vkey{x.PlanID, x.VisitSeq}] = len(out.Visits)
					out.Visits = append(out.Visits, x)
					gens = append(gens, gen)
					return nil
				})
				return err
			})
		b.Queue(`SELECT t.plan_id, t.visit_seq, it.id, it.code, it.name, d.id, d.code, d.name, it.legal_basis, it.minutes
			FROM plan_tasks t JOIN items it ON it.id = t.item_id JOIN departments d ON d.id = it.department_id
			JOIN published_visits pv ON pv.plan_id = t.plan_id AND pv.seq = t.visit_seq
			WHERE pv.team_id = $1 AND pv.date = $2::date
			GROUP BY t.plan_id, t.visit_seq, it.id, d.id
			ORDER BY t.plan_id, t.visit_seq, min(t.seq)`, teamID, day).Query(func(rs pgx.Rows) error {
			var k vkey
			var it RosterItem
			_, err := pgx.ForEachRow(rs, []any{&k.plan, &k.seq, &it.ID, &it.Code, &it.Name, &it.DepartmentID,
				&it.DepartmentCode, &it.DepartmentName, &it.LegalBasis, &it.Minutes}, func() error {
				if i, ok := at[k]; ok {
					out.Visits[i].Items = append(out.Visits[i].Items, it)
				}
				return nil
			})
			return err
		})
		b.Queue(`SELECT a.plan_id, a.visit_seq, i.id, i.name, i.phone, a.role
			FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
			JOIN published_visits pv ON pv.plan_id = a.plan_id AND pv.seq = a.visit_seq
			WHERE pv.team_id = $1 AND pv.date = $2::date ORDER BY a.plan_id, a.visit_seq, a.ord`, teamID, day).
			Query(func(rs pgx.Rows) error {
				var k vkey
				var in RosterInspector
				_, err := pgx.ForEachRow(rs, []any{&k.plan, &k.seq, &in.ID, &in.Name, &in.Phone, &in.Role}, func() error {
					if i, ok := at[k]; ok {
						out.Visits[i].Inspectors = append(out.Visits[i].Inspectors, in)
					}
					return nil
				})
				return err
			})
		if full {
			if id := viewer.InspectorID(); !may && id > 0 {
				b.Queue(`SELECT EXISTS (SELECT 1 FROM visit_assignments a
						JOIN published_visits pv ON pv.plan_id = a.plan_id AND pv.seq = a.visit_seq
						WHERE a.inspector_id = $1 AND pv.team_id = $2 AND pv.date = $3::date)`, id, teamID, day).
					QueryRow(func(row pgx.Row) error { return row.Scan(&may) })
			}
			queueRosterAvailability(b, teamID, day, &rd)
		}
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return TeamRosterDay{}, translate(err, "roster of "+objectID("team", teamID))
	}
	if !may {
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
	return rd, nil
}

// queueRosterAvailability queues the days away of team teamID's members and
// the closures touching its work on day, as ListAway and ClosuresAffecting
// read them for one day, into rd.
func queueRosterAvailability(b *pgx.Batch, teamID int64, day time.Time, rd *TeamRosterDay) {
	b.Queue(`SELECT `+awaySelect+`
		FROM inspector_unavailability u JOIN inspectors i ON i.id = u.inspector_id
		WHERE u.to_date >= $1::date AND u.from_date <= $1::date AND i.team_id = $2
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
func dollarParams(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
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
