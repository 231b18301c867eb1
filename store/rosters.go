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
	y, m, d := date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	out := Roster{Date: civilDate(date), Visits: []RosterVisit{}}
	key, err := s.visitCodeKey(ctx)
	if err != nil {
		return Roster{}, err
	}
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
	err = s.withPgx(ctx, func(c *pgx.Conn) error {
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
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return Roster{}, translate(err, "roster of "+objectID("team", teamID))
	}
	if !found {
		return Roster{}, fmt.Errorf("%s: %w", objectID("team", teamID), domain.ErrNotFound)
	}
	for i := range out.Visits {
		v := &out.Visits[i]
		if v.Code, err = signVisitCode(key, v.PlanID, v.VisitSeq, gens[i]); err != nil {
			return Roster{}, err
		}
	}
	return out, nil
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
