package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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
	db := s.db.WithContext(ctx)
	day := civilDate(date)
	out := Roster{Date: day, Visits: []RosterVisit{}}
	res := db.Raw(`SELECT id, code, name, contact_phone, base_lat, base_lng FROM teams WHERE id = ?`, teamID).Scan(&out.Team)
	if res.Error != nil {
		return Roster{}, translate(res.Error, "team")
	}
	if res.RowsAffected == 0 {
		return Roster{}, fmt.Errorf("%s: %w", objectID("team", teamID), domain.ErrNotFound)
	}

	var totals []struct {
		Days          int
		TravelKm      float64
		WorkMinutes   int
		TravelMinutes int
	}
	if err := db.Raw(`SELECT count(*) AS days, coalesce(sum(d.travel_km), 0) AS travel_km,
			coalesce(sum(d.work_minutes), 0) AS work_minutes, coalesce(sum(d.travel_minutes), 0) AS travel_minutes
		FROM plan_team_days d JOIN plans p ON p.id = d.plan_id
		WHERE d.team_id = ? AND d.date = ?::date AND p.status = 'published'`, teamID, day).Scan(&totals).Error; err != nil {
		return Roster{}, translate(err, "team day")
	}
	if len(totals) == 1 && totals[0].Days > 0 {
		out.Totals = &RosterTotals{TravelKm: totals[0].TravelKm, WorkMinutes: totals[0].WorkMinutes, TravelMinutes: totals[0].TravelMinutes}
	}

	var rows []struct {
		PlanID          int64
		Seq             int
		OriginalDate    time.Time
		Revision        int
		RouteOrder      int
		DurationMinutes int
		TravelMinutes   int
		USCC            string `gorm:"column:uscc"`
		Name            string
		Address         string
		Lat, Lng        float64
		ContactName     string
		ContactPhone    string
		ContactWithheld bool
	}
	contacts, args := contactLateral(viewer)
	if err := db.Raw(`SELECT pv.plan_id, pv.seq, pv.original_date, pv.revision, pv.route_order, pv.duration_minutes, pv.travel_minutes,
			pv.uscc, coalesce(b.name, '') AS name, coalesce(b.address, '') AS address, coalesce(b.lat, 0) AS lat,
			coalesce(b.lng, 0) AS lng, `+contactColumns+`
		FROM published_visits pv LEFT JOIN businesses b ON b.uscc = pv.uscc `+contacts+`
		WHERE `+rosterCond+` ORDER BY pv.plan_id, pv.revision > 0, pv.route_order, pv.seq`,
		append(args, teamID, day)...).Scan(&rows).Error; err != nil {
		return Roster{}, translate(err, "roster visits")
	}
	if len(rows) == 0 {
		return out, nil
	}
	type vkey struct {
		plan int64
		seq  int
	}
	at := make(map[vkey]int, len(rows))
	out.Visits = make([]RosterVisit, len(rows))
	for i, r := range rows {
		out.Visits[i] = RosterVisit{PlanID: r.PlanID, VisitSeq: r.Seq, Revision: r.Revision, RouteOrder: r.RouteOrder,
			DurationMinutes: r.DurationMinutes, TravelMinutes: r.TravelMinutes,
			Business: RosterBusiness{USCC: r.USCC, Name: r.Name, Address: r.Address, Lat: r.Lat, Lng: r.Lng,
				ContactName: r.ContactName, ContactPhone: r.ContactPhone, ContactWithheld: r.ContactWithheld},
			Items: []RosterItem{}, Inspectors: []RosterInspector{}}
		if r.Revision > 0 {
			out.Visits[i].OriginalDate = civilDate(r.OriginalDate)
		}
		at[vkey{r.PlanID, r.Seq}] = i
	}

	var items []struct {
		PlanID   int64
		VisitSeq int
		RosterItem
	}
	if err := db.Raw(`SELECT t.plan_id, t.visit_seq, it.id AS item_id, it.code, it.name, d.id AS department_id,
			d.code AS department_code, d.name AS department_name, it.legal_basis, it.minutes
		FROM plan_tasks t JOIN items it ON it.id = t.item_id JOIN departments d ON d.id = it.department_id
		JOIN published_visits pv ON pv.plan_id = t.plan_id AND pv.seq = t.visit_seq
		WHERE `+rosterCond+`
		GROUP BY t.plan_id, t.visit_seq, it.id, d.id
		ORDER BY t.plan_id, t.visit_seq, min(t.seq)`, teamID, day).Scan(&items).Error; err != nil {
		return Roster{}, translate(err, "roster items")
	}
	for _, x := range items {
		if i, ok := at[vkey{x.PlanID, x.VisitSeq}]; ok {
			out.Visits[i].Items = append(out.Visits[i].Items, x.RosterItem)
		}
	}

	var people []struct {
		PlanID   int64
		VisitSeq int
		RosterInspector
	}
	if err := db.Raw(`SELECT a.plan_id, a.visit_seq, i.id AS inspector_id, i.name, i.phone, a.role
		FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		JOIN published_visits pv ON pv.plan_id = a.plan_id AND pv.seq = a.visit_seq
		WHERE `+rosterCond+` ORDER BY a.plan_id, a.visit_seq, a.ord`, teamID, day).Scan(&people).Error; err != nil {
		return Roster{}, translate(err, "roster inspectors")
	}
	for _, x := range people {
		if i, ok := at[vkey{x.PlanID, x.VisitSeq}]; ok {
			out.Visits[i].Inspectors = append(out.Visits[i].Inspectors, x.RosterInspector)
		}
	}
	if err := setCodes(ctx, s, out.Visits, func(v *RosterVisit) VisitKey { return VisitKey{v.PlanID, v.VisitSeq} },
		func(v *RosterVisit) *string { return &v.Code }); err != nil {
		return Roster{}, err
	}
	return out, nil
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
