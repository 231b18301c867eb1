package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
)

// The day's working window that schedules and calendar feeds show: a business
// is told the day of a visit and to expect the team within these hours; the
// staff calendars place each visit inside it by route position. There is no
// configuration key for it yet (configs/ has none); these are the hours of the
// county's enforcement bureaus.
const (
	WorkdayStartMinutes = 9 * 60  // 09:00
	WorkdayEndMinutes   = 17 * 60 // 17:00
)

// Visit statuses of a schedule. A moved visit shows through OriginalDate.
const (
	VisitPlanned = "planned"
	VisitPast    = "past"
)

// BusinessSchedule is ONE consolidated schedule of a business: every visit of
// a published plan it may see (see BusinessSchedule), joint visits once with
// all their departments.
type BusinessSchedule struct {
	Business ScheduleBusiness `json:"business"`
	// Visits by effective date, then plan, then visit.
	Visits []ScheduleVisit `json:"visits"`
}

// ScheduleBusiness is the business a schedule belongs to.
type ScheduleBusiness struct {
	USCC    string `json:"uscc"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

// ScheduleVisit is one door-knock as the business sees it.
type ScheduleVisit struct {
	PlanID   int64 `json:"plan_id"`
	VisitSeq int   `json:"visit_seq"`
	// UID is the visit's iCalendar UID (VisitUID): the same in every feed and
	// on every fetch, whatever else is published or moved.
	UID string `json:"uid"`
	// Date is the effective civil date (YYYY-MM-DD): the latest move's, else
	// the plan's.
	Date string `json:"date"`
	// OriginalDate is the plan's date when the visit was moved, else "".
	OriginalDate string `json:"original_date,omitempty"`
	// Revision counts the moves.
	Revision int `json:"revision"`
	// Amendments counts the later plans whose joins added items to the visit
	// (on a business's schedule, only those with an item it may see yet).
	// Revision + Amendments is the iCalendar SEQUENCE.
	Amendments int `json:"amendments,omitempty"`
	// StartTime and EndTime ("HH:MM") are the working window of the day
	// (WorkdayStartMinutes, WorkdayEndMinutes): a business is told the day, not
	// an hour, since a route's timings are an estimate that a late stop
	// upsets.
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
	// Announced is true when every demand of the visit gives notice
	// (announce_days > 0); an unannounced visit is listed only once it is past.
	Announced bool `json:"announced"`
	// Status is VisitPlanned, or VisitPast once the effective date is before
	// today.
	Status   string       `json:"status"`
	LeadTeam ScheduleTeam `json:"lead_team"`
	// LeadInspector is the name of the visit's lead inspector, "" if none.
	LeadInspector string               `json:"lead_inspector"`
	Departments   []ScheduleDepartment `json:"departments"`
	// UpdatedAt is when the visit last changed: the plan's publication or its
	// latest move (iCalendar LAST-MODIFIED).
	UpdatedAt time.Time `json:"updated_at"`
	// Code is the visit's current code (行政行为码), by which the business
	// checks the inspectors at its door; CodeURL is its public page, filled in
	// by the HTTP layer, which knows the service's public address.
	Code    string `json:"code"`
	CodeURL string `json:"code_url,omitempty"`
}

// ScheduleTeam is the lead team of a visit and how to reach it.
type ScheduleTeam struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	ContactPhone string `json:"contact_phone"`
}

// ScheduleDepartment is a department taking part in a visit, with the items it
// checks there.
type ScheduleDepartment struct {
	ID    int64          `json:"id"`
	Code  string         `json:"code"`
	Name  string         `json:"name"`
	Items []ScheduleItem `json:"items"`
}

// ScheduleItem is an item checked at a visit.
type ScheduleItem struct {
	ID         int64  `json:"id"`
	Code       string `json:"code"`
	Name       string `json:"name"`
	LegalBasis string `json:"legal_basis"`
}

// VisitUID is the iCalendar UID of visit seq of plan planID. It names the
// visit, not its date or feed, so a calendar app updates the same event when
// the visit moves, and other plans' publication changes nothing.
func VisitUID(planID int64, seq int) string {
	return fmt.Sprintf("visit-%d-%d@inspectonce", planID, seq)
}

// hhmm writes minutes after midnight as "HH:MM", kept within the day.
func hhmm(minutes int) string {
	minutes = min(max(minutes, 0), 24*60-1)
	return fmt.Sprintf("%02d:%02d", minutes/60, minutes%60)
}

// today is the civil date of now in loc, as a UTC midnight (how dates are
// stored and compared).
func today(now time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	y, m, d := now.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// scheduleVisitRow is a visit with its items as JSON ([]scheduleItemRow).
type scheduleVisitRow struct {
	PlanID        int64
	Seq           int
	Date          time.Time
	OriginalDate  time.Time
	Revision      int
	ChangedAt     time.Time
	TeamID        int64
	TeamName      string
	TeamPhone     string
	LeadInspector string
	AnnounceDays  int
	Items         string
	Amendments    int
}

type scheduleItemRow struct {
	DepartmentID   int64  `json:"department_id"`
	DepartmentCode string `json:"department_code"`
	DepartmentName string `json:"department_name"`
	ID             int64  `json:"id"`
	Code           string `json:"code"`
	Name           string `json:"name"`
	LegalBasis     string `json:"legal_basis"`
}

// visitDetailColumns are what every schedule and calendar shows of a visit v
// (published_visits) with its lead team t: the name of the lead inspector,
// the least announce_days of its demands (0 when any demand is unannounced)
// and its items, once each, by department and first task, as JSON. Correlated
// subqueries over the plan's (plan_id, visit_seq) indexes: one round trip for
// the whole list.
const visitDetailColumns = `v.plan_id, v.seq, v.date, v.original_date, v.revision, v.changed_at,
	v.team_id, t.name AS team_name, t.contact_phone AS team_phone,
	coalesce((SELECT i.name FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq AND a.role = 'lead' LIMIT 1), '') AS lead_inspector,
	(SELECT coalesce(min(dm.announce_days), 0) FROM plan_tasks tk JOIN demands dm ON dm.id = tk.demand_id
		WHERE tk.plan_id = v.plan_id AND tk.visit_seq = v.seq AND tk.added_by_plan_id IS NULL) AS announce_days,
	(SELECT coalesce(json_agg(json_build_object('department_id', d.id, 'department_code', d.code,
			'department_name', d.name, 'id', it.id, 'code', it.code, 'name', it.name, 'legal_basis', it.legal_basis)
			ORDER BY x.first), '[]')
		FROM (SELECT tk.item_id, min(tk.seq) AS first FROM plan_tasks tk
			WHERE tk.plan_id = v.plan_id AND tk.visit_seq = v.seq /*items*/ GROUP BY tk.item_id) x
		JOIN items it ON it.id = x.item_id JOIN departments d ON d.id = it.department_id)::text AS items,
	v.amendments`

// businessVisitColumns are visitDetailColumns as the business may see them
// on day: an item a later plan's join added shows only on or after the
// visit's day, or, when its demand is announced, from its own notice (the
// visit's date less its announce_days). An unannounced item joining an
// announced visit thus never shows itself to the business before the day.
// day is a civil date this package formats (civilDate), never user text.
// Its amendments count only the joins with an item it may see, so its feed's
// SEQUENCE does not betray a hidden one.
func businessVisitColumns(day time.Time) string {
	return businessVisitColumnsAt("'" + civilDate(day) + "'::date")
}

// businessVisitColumnsAt is businessVisitColumns with the day given as SQL:
// a literal, or a parameter of a prepared statement ("$2::date").
func businessVisitColumnsAt(d string) string {
	visible := `(tk.added_by_plan_id IS NULL OR v.date <= ` + d + `
				OR EXISTS (SELECT 1 FROM demands dd WHERE dd.id = tk.demand_id AND dd.announce_days > 0
					AND v.date - dd.announce_days <= ` + d + `))`
	cols := strings.Replace(visitDetailColumns, "/*items*/", "AND "+visible, 1)
	return strings.Replace(cols, "v.amendments", `(SELECT count(DISTINCT tk.added_by_plan_id) FROM plan_tasks tk
		WHERE tk.plan_id = v.plan_id AND tk.visit_seq = v.seq AND tk.added_by_plan_id IS NOT NULL AND `+visible+`) AS amendments`, 1)
}

// departments groups a visit's items by department, departments in the order
// of their first item.
func (r *scheduleVisitRow) departments() ([]ScheduleDepartment, error) {
	var items []scheduleItemRow
	if err := json.Unmarshal([]byte(r.Items), &items); err != nil {
		return nil, fmt.Errorf("items of visit %d of %s: %w", r.Seq, planObject(r.PlanID), err)
	}
	out := []ScheduleDepartment{}
	at := map[int64]int{}
	for _, it := range items {
		i, ok := at[it.DepartmentID]
		if !ok {
			i = len(out)
			at[it.DepartmentID] = i
			out = append(out, ScheduleDepartment{ID: it.DepartmentID, Code: it.DepartmentCode, Name: it.DepartmentName,
				Items: []ScheduleItem{}})
		}
		out[i].Items = append(out[i].Items, ScheduleItem{ID: it.ID, Code: it.Code, Name: it.Name, LegalBasis: it.LegalBasis})
	}
	return out, nil
}

// common fills what every schedule and calendar visit shares.
func (r *scheduleVisitRow) common(day time.Time) (ScheduleVisit, error) {
	deps, err := r.departments()
	if err != nil {
		return ScheduleVisit{}, err
	}
	v := ScheduleVisit{PlanID: r.PlanID, VisitSeq: r.Seq, UID: VisitUID(r.PlanID, r.Seq),
		Date: civilDate(r.Date), Revision: r.Revision, Amendments: r.Amendments,
		StartTime: hhmm(WorkdayStartMinutes), EndTime: hhmm(WorkdayEndMinutes),
		Announced: r.AnnounceDays > 0, Status: VisitPlanned,
		LeadTeam:      ScheduleTeam{ID: r.TeamID, Name: r.TeamName, ContactPhone: r.TeamPhone},
		LeadInspector: r.LeadInspector, Departments: deps, UpdatedAt: r.ChangedAt}
	if r.Revision > 0 {
		v.OriginalDate = civilDate(r.OriginalDate)
	}
	if r.Date.Before(day) {
		v.Status = VisitPast
	}
	return v, nil
}

// BusinessSchedule reads the consolidated schedule of business uscc as it
// stands at now (today is now's date in loc): every visit of a published
// plan, at its effective date, that the business may see —
//
//   - an announced visit (every demand has announce_days > 0) from the day its
//     notice becomes visible: the earliest date the visit was ever set for
//     (the plan's or a move's) less the least announce_days, at midnight in
//     loc. That is the visible_from of the business's visit notice (jobs),
//     so the schedule and the inbox tell the business at the same moment; and
//     since the earliest date counts, a visit the business was told of stays
//     listed when it moves to a later day.
//   - an unannounced visit only once it has happened: from the day after its
//     effective date.
//
// An unknown business is ErrNotFound.
func (s *Store) BusinessSchedule(ctx context.Context, uscc string, now time.Time, loc *time.Location) (BusinessSchedule, error) {
	day := today(now, loc)
	key := scheduleKey{uscc: uscc, day: dayKey(day)}
	cached, ok, base := s.reads.schedule(ctx, s, key)
	if ok {
		return cached, nil
	}
	out := BusinessSchedule{Visits: []ScheduleVisit{}}
	var found bool
	var rows []scheduleVisitRow
	var gens []int
	var snap string
	// One batch, one round trip: the snapshot for the read cache, the
	// business, and its visits with their codes' generations (visit codes
	// need no query of their own).
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		if base > 0 {
			b.Queue(snapshotSQL).QueryRow(func(row pgx.Row) error { return row.Scan(&snap) })
		}
		b.Queue(`SELECT uscc, name, address FROM businesses WHERE uscc = $1`, uscc).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&out.Business.USCC, &out.Business.Name, &out.Business.Address)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			found = err == nil
			return err
		})
		b.Queue(businessScheduleSQL, uscc, day).Query(func(rs pgx.Rows) error {
			var r scheduleVisitRow
			var changed *time.Time
			var gen int
			_, err := pgx.ForEachRow(rs, []any{&r.PlanID, &r.Seq, &r.Date, &r.OriginalDate, &r.Revision, &changed,
				&r.TeamID, &r.TeamName, &r.TeamPhone, &r.LeadInspector, &r.AnnounceDays, &r.Items, &r.Amendments, &gen},
				func() error {
					r.ChangedAt = time.Time{}
					if changed != nil {
						r.ChangedAt = *changed
					}
					rows, gens = append(rows, r), append(gens, gen)
					return nil
				})
			return err
		})
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return BusinessSchedule{}, translate(err, "schedule of business "+uscc)
	}
	if !found {
		return BusinessSchedule{}, fmt.Errorf("business %s: %w", uscc, domain.ErrNotFound)
	}
	if len(rows) > 0 {
		codeKey, err := s.visitCodeKey(ctx) // read once per replica
		if err != nil {
			return BusinessSchedule{}, err
		}
		for i := range rows {
			v, err := rows[i].common(day)
			if err != nil {
				return BusinessSchedule{}, err
			}
			if v.Code, err = signVisitCode(codeKey, v.PlanID, v.VisitSeq, gens[i]); err != nil {
				return BusinessSchedule{}, err
			}
			out.Visits = append(out.Visits, v)
		}
	}
	s.reads.putSchedule(key, base, snap, out)
	return out, nil
}

// businessScheduleSQL reads the visits of business $1 it may see on day $2
// (BusinessSchedule), with the generation of each one's current code.
var businessScheduleSQL = `SELECT x.plan_id, x.seq, x.date, x.original_date, x.revision, x.changed_at, x.team_id, x.team_name,
		x.team_phone, x.lead_inspector, x.announce_days, x.items, x.amendments, x.code_generation
	FROM (SELECT ` + businessVisitColumnsAt("$2::date") + `, v.earliest_date,
			(SELECT count(*) FROM visit_code_revocations r WHERE r.plan_id = v.plan_id AND r.visit_seq = v.seq) AS code_generation
		FROM published_visits v JOIN teams t ON t.id = v.team_id
		WHERE v.uscc = $1) x
	WHERE (x.announce_days > 0 AND x.earliest_date - x.announce_days <= $2::date) OR x.date < $2::date
	ORDER BY x.date, x.plan_id, x.seq`
