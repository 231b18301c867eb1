package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// Recipient kinds of a notification: an inspector (by id), a business (by
// USCC) or a team (by id, read by its team leader).
const (
	RecipientInspector = "inspector"
	RecipientBusiness  = "business"
	RecipientTeam      = "team"
)

// Notification kinds.
const (
	// NoticeAssignment tells the lead inspector or a member of a visit.
	NoticeAssignment = "assignment"
	// NoticeTeamVisit tells a leader of the lead team of a visit.
	NoticeTeamVisit = "team_visit"
	// NoticeVisit tells a business of an announced visit, announce_days ahead.
	NoticeVisit = "visit_notice"
	// NoticeReminder reminds an inspector of tomorrow's visit.
	NoticeReminder = "reminder"
	// NoticeRoster is a team's roster of the day, or an updated one when the
	// team-day changed after its roster was sent.
	NoticeRoster = "roster"
	// NoticeVisitMoved tells the inspectors, the lead team and (an announced
	// visit's) business that a published visit moved to another day.
	NoticeVisitMoved = "visit_moved"
	// NoticeCodeReplaced tells the inspectors, the lead team and (an
	// announced visit's) business that the visit's code they hold was revoked,
	// with the current one.
	NoticeCodeReplaced = "code_replaced"
	// NoticeVisitAmended tells the inspectors (an added one included), the
	// lead team and (for announced added items only) the business that a
	// later plan's join added items to a published visit.
	NoticeVisitAmended = "visit_amended"
	// NoticeVisitRestaffed tells the inspector who comes, the inspector who
	// no longer does and the lead team that a repair replaced an inspector
	// on a published visit (leave, a closed team), with the reason.
	NoticeVisitRestaffed = "visit_restaffed"
)

// NoticeKinds are every notification kind, as notifications_kind_check has them.
var NoticeKinds = []string{NoticeAssignment, NoticeTeamVisit, NoticeVisit, NoticeReminder, NoticeRoster,
	NoticeVisitMoved, NoticeCodeReplaced, NoticeVisitAmended, NoticeVisitRestaffed}

// Notification is one message of an inbox.
type Notification struct {
	ID            int64           `json:"id"`
	RecipientKind string          `json:"recipient_kind"`
	RecipientID   string          `json:"recipient_id"`
	Kind          string          `json:"kind"`
	PlanID        *int64          `json:"plan_id"`
	VisitSeq      *int            `json:"visit_seq"`
	Title         string          `json:"title"`
	Body          json.RawMessage `json:"body"`
	VisibleFrom   time.Time       `json:"visible_from"`
	CreatedAt     time.Time       `json:"created_at"`
	// EffectKey is the unique key of the effect that wrote it.
	EffectKey string `json:"-"`
}

type notificationRow struct {
	ID            int64
	RecipientKind string
	RecipientID   string
	Kind          string
	PlanID        *int64
	VisitSeq      *int
	Title         string
	Body          string
	VisibleFrom   time.Time
	CreatedAt     time.Time
	EffectKey     string
}

const notificationColumns = `id, recipient_kind, recipient_id, kind, plan_id, visit_seq, title, body::text AS body,
	visible_from, created_at, effect_key`

func (r notificationRow) notification() Notification {
	return Notification{ID: r.ID, RecipientKind: r.RecipientKind, RecipientID: r.RecipientID, Kind: r.Kind,
		PlanID: r.PlanID, VisitSeq: r.VisitSeq, Title: r.Title, Body: json.RawMessage(r.Body),
		VisibleFrom: r.VisibleFrom, CreatedAt: r.CreatedAt, EffectKey: r.EffectKey}
}

// VisitEffectKey is the unique key of one effect of a visit: what kind of
// notice went to which recipient.
func VisitEffectKey(planID int64, visitSeq int, recipientKind, recipientID, kind string) string {
	return fmt.Sprintf("visit:%d:%d:%s:%s:%s", planID, visitSeq, recipientKind, recipientID, kind)
}

// ReminderEffectKey is the unique key of the day-before reminder of a visit
// at its revision (the number of its moves) to one recipient. Revision 0 keeps
// the key reminders had before visits could move, so reminders already sent
// are not sent again; a moved visit's reminder is a new effect, sent the day
// before its new date even when one went out for the old one.
func ReminderEffectKey(planID int64, visitSeq int, recipientKind, recipientID string, revision int) string {
	k := VisitEffectKey(planID, visitSeq, recipientKind, recipientID, NoticeReminder)
	if revision > 0 {
		k += ":" + strconv.Itoa(revision)
	}
	return k
}

// MoveEffectKey is the unique key of the notice of move revision of a visit
// to one recipient: each move is told once to each of them.
func MoveEffectKey(planID int64, visitSeq int, recipientKind, recipientID string, revision int) string {
	return VisitEffectKey(planID, visitSeq, recipientKind, recipientID, "moved") + ":" + strconv.Itoa(revision)
}

// CodeEffectKey is the unique key of the notice telling a recipient code
// generation of a visit, which replaced the revoked ones.
func CodeEffectKey(planID int64, visitSeq int, recipientKind, recipientID string, generation int) string {
	return VisitEffectKey(planID, visitSeq, recipientKind, recipientID, "code") + ":" + strconv.Itoa(generation)
}

// RosterEffectKey is the unique key of the first roster notice of a team-day.
func RosterEffectKey(teamID int64, day time.Time) string {
	return fmt.Sprintf("roster:team:%d:%s", teamID, day.Format(time.DateOnly))
}

// RosterUpdateEffectKey is the unique key of the n-th roster notice (n ≥ 2)
// of a team-day, whose visit list has digest: an updated roster. n, not the
// digest alone, makes it unique, so a roster that changes back to an earlier
// list (a visit moved away and back) is sent again; the digest names the list.
func RosterUpdateEffectKey(teamID int64, day time.Time, n int, digest string) string {
	return fmt.Sprintf("%s:%d:%s", RosterEffectKey(teamID, day), n, digest)
}

// NewNotification is a notification to write under its effect key.
type NewNotification struct {
	EffectKey     string
	RecipientKind string
	RecipientID   string
	Kind          string
	PlanID        int64 // 0: none
	VisitSeq      int   // 0: none
	Title         string
	Body          any // encoded as JSON
	// VisibleFrom hides the notice until then; zero means now.
	VisibleFrom time.Time
}

// Delivery is a pending webhook delivery of a notification.
type Delivery struct {
	NotificationID int64
	WebhookID      int64
	PlanID         int64
	VisibleFrom    time.Time
}

// Written is what WriteNotifications did.
type Written struct {
	// Inserted counts the notices written now; a notice whose effect key was
	// written before is not written again.
	Inserted int
	// Deliveries are the pending webhook deliveries of all the notices given
	// (new or not): hand each to the queue (idempotently).
	Deliveries []Delivery
}

// WriteNotifications writes notices under their effect keys in one
// transaction (INSERT … ON CONFLICT DO NOTHING: a notice already written
// stays as it was), adds a pending delivery for each active webhook of the
// notice's recipient kind (again at most one per notice and webhook), and
// returns the pending deliveries of the notices given.
func (s *Store) WriteNotifications(ctx context.Context, ns []NewNotification) (Written, error) {
	return writeNotifications(ctx, s.sql, ns)
}

// queryer runs a query: the pool, or a transaction (*sql.Tx, which is what a
// gorm transaction's Statement.ConnPool holds).
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// writeNotifications is WriteNotifications with q, so that RefreshRosters can
// write in the transaction that read what it writes.
func writeNotifications(ctx context.Context, q queryer, ns []NewNotification) (Written, error) {
	var out Written
	if len(ns) == 0 {
		return out, nil
	}
	n := len(ns)
	keys, kinds, ids, nkinds, titles, bodies, visible := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	plans, seqs := make([]int64, n), make([]int64, n)
	for i, x := range ns {
		if x.EffectKey == "" || x.RecipientID == "" {
			return out, fmt.Errorf("notification %d has no effect key or recipient", i)
		}
		b, err := json.Marshal(x.Body)
		if err != nil {
			return out, fmt.Errorf("notification %s body: %w", x.EffectKey, err)
		}
		if x.Body == nil {
			b = []byte("{}")
		}
		keys[i], kinds[i], ids[i], nkinds[i], titles[i], bodies[i] = x.EffectKey, x.RecipientKind, x.RecipientID, x.Kind, x.Title, string(b)
		plans[i], seqs[i] = x.PlanID, int64(x.VisitSeq)
		if !x.VisibleFrom.IsZero() {
			visible[i] = x.VisibleFrom.UTC().Format(time.RFC3339Nano)
		}
	}
	// One statement, so one round trip and atomic: the notices (new ones
	// only), a delivery per notice and active webhook of its kind (new ones
	// only), and the pending deliveries of all the notices given. A notice
	// another transaction wrote after this statement began is not seen here:
	// that transaction queues its deliveries.
	//
	// The arrays go to pgx as Go slices, not pq arrays through gorm: pgx sends
	// them in the binary array format, where a pq array is a text literal that
	// must be quoted here, then parsed back by pgx and escaped out again by
	// Postgres — a batch's bodies are half a megabyte of JSON full of quotes,
	// and that round trip cost as much as the insert.
	rows, err := q.QueryContext(ctx, `WITH
		ins AS (
			INSERT INTO notifications (effect_key, recipient_kind, recipient_id, kind, plan_id, visit_seq, title, body, visible_from)
			SELECT u.k, u.rk, u.ri, u.kind, NULLIF(u.plan, 0), NULLIF(u.seq, 0)::integer, u.title, u.body::jsonb,
				coalesce(NULLIF(u.vf, '')::timestamptz, now())
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::text[])
				AS u(k, rk, ri, kind, plan, seq, title, body, vf)
			ON CONFLICT (effect_key) DO NOTHING
			RETURNING id, recipient_kind, plan_id, visible_from),
		old AS (SELECT id, recipient_kind, plan_id, visible_from FROM notifications WHERE effect_key = ANY($1::text[])),
		alln AS (SELECT * FROM ins UNION ALL SELECT * FROM old),
		newd AS (
			INSERT INTO webhook_deliveries (notification_id, webhook_id)
			SELECT n.id, w.id FROM alln n JOIN webhooks w ON w.recipient_kind = n.recipient_kind AND w.active
			ON CONFLICT DO NOTHING
			RETURNING notification_id, webhook_id),
		pend AS (
			SELECT d.notification_id, d.webhook_id FROM webhook_deliveries d JOIN alln n ON n.id = d.notification_id
			WHERE d.status = 'pending'
			UNION SELECT notification_id, webhook_id FROM newd)
		SELECT (SELECT count(*) FROM ins) AS inserted, x.notification_id, x.webhook_id, x.plan_id, x.visible_from
		FROM (SELECT 1) AS one LEFT JOIN (
			SELECT p.notification_id, p.webhook_id, coalesce(n.plan_id, 0) AS plan_id, n.visible_from
			FROM pend p JOIN alln n ON n.id = p.notification_id) AS x ON true
		ORDER BY x.notification_id, x.webhook_id`,
		keys, kinds, ids, nkinds, plans, seqs, titles, bodies, visible)
	if err != nil {
		return Written{}, translatePg(err, "notifications")
	}
	defer rows.Close()
	for rows.Next() {
		var inserted int
		var nid, wid, plan *int64
		var vf *time.Time
		if err := rows.Scan(&inserted, &nid, &wid, &plan, &vf); err != nil {
			return Written{}, translatePg(err, "notifications")
		}
		out.Inserted = inserted
		if nid != nil {
			out.Deliveries = append(out.Deliveries, Delivery{NotificationID: *nid, WebhookID: *wid, PlanID: *plan, VisibleFrom: *vf})
		}
	}
	if err := rows.Err(); err != nil {
		return Written{}, translatePg(err, "notifications")
	}
	return out, nil
}

// NotificationFilter chooses an inbox.
type NotificationFilter struct {
	RecipientKind string // "" = any
	RecipientID   string // "" = any
	// VisibleAt, when set, leaves out notices not visible yet at that time.
	VisibleAt time.Time
	PlanID    int64  // 0 = any
	Kind      string // "" = any
}

// ListNotifications pages through notifications, oldest first.
func (s *Store) ListNotifications(ctx context.Context, f NotificationFilter, p Page) (Paged[Notification], error) {
	q := s.db.WithContext(ctx).Table("notifications").Select(notificationColumns)
	if f.RecipientKind != "" {
		q = q.Where("recipient_kind = ?", f.RecipientKind)
	}
	if f.RecipientID != "" {
		q = q.Where("recipient_id = ?", f.RecipientID)
	}
	if !f.VisibleAt.IsZero() {
		q = q.Where("visible_from <= ?", f.VisibleAt)
	}
	if f.PlanID != 0 {
		q = q.Where("plan_id = ?", f.PlanID)
	}
	if f.Kind != "" {
		q = q.Where("kind = ?", f.Kind)
	}
	rows, err := pageByID(q, p, func(r notificationRow) int64 { return r.ID })
	if err != nil {
		return Paged[Notification]{}, translate(err, "notifications")
	}
	return mapPaged(rows, notificationRow.notification), nil
}

// ---- what dispatch needs of a visit

// VisitPerson is an inspector of a visit (or a leader of its team).
type VisitPerson struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Role  string `json:"role,omitempty"`
}

// VisitItem is an item checked at a visit, with the demand that asked for it.
type VisitItem struct {
	ItemID       int64  `json:"item_id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	LegalBasis   string `json:"legal_basis"`
	DepartmentID int64  `json:"department_id"`
	Department   string `json:"department"`
	DemandID     int64  `json:"demand_id"`
	AnnounceDays int    `json:"-"`
	// AddedByPlanID is the plan whose join added the item to the visit (0:
	// the visit's own plan). The visit's announcement is its own items'; an
	// added unannounced item is not told to the business before the day.
	AddedByPlanID int64 `json:"-"`
}

// DispatchVisit is a visit of a plan with what its notices tell.
type DispatchVisit struct {
	PlanID     int64
	PlanStatus string
	Seq        int
	Date       time.Time // effective civil date (UTC midnight): the latest move's, else the plan's
	// OriginalDate is the plan's date; Revision the number of moves (0: never
	// moved); EarliestDate the earliest date the visit was ever set for (the
	// plan's or a move's), from which an announced visit is told to the
	// business (see BusinessSchedule).
	OriginalDate    time.Time
	Revision        int
	EarliestDate    time.Time
	USCC            string
	BusinessName    string
	Address         string
	Lat, Lng        float64
	TeamID          int64
	TeamName        string
	TeamPhone       string
	RouteOrder      int
	DurationMinutes int
	// Inspectors in the visit's order: the lead first.
	Inspectors []VisitPerson
	// Leaders are the leaders (is_leader) of the lead team; only
	// DispatchVisitOf and DispatchVisitsOf fill them.
	Leaders []VisitPerson
	Items   []VisitItem
	// CodeURL is the public page of the visit's code (行政行为码), set by the
	// dispatcher, which knows the public base URL; "" leaves it out.
	CodeURL string
}

// AnnounceDays is how many days ahead the business may be told: the least
// announce_days of the visit's demands, 0 (unannounced) when any demand is.
//
// Only the visit's own items count (not those a later plan's join added):
// an unannounced item joining an announced visit must not take the visit
// away from the business, nor show itself before the day.
func (v *DispatchVisit) AnnounceDays() int {
	least, any := 0, false
	for _, it := range v.Items {
		if it.AddedByPlanID != 0 {
			continue
		}
		if !any || it.AnnounceDays < least {
			least, any = it.AnnounceDays, true
		}
	}
	return max(least, 0)
}

type dispatchVisitRow struct {
	PlanID          int64
	Status          string
	Seq             int
	Date            time.Time
	OriginalDate    time.Time
	Revision        int
	EarliestDate    time.Time
	USCC            string
	BusinessName    string
	Address         string
	Lat, Lng        float64
	TeamID          int64
	TeamName        string
	TeamPhone       string
	RouteOrder      int
	DurationMinutes int
	// JSON of the people and items (DispatchVisitOf only)
	Inspectors, Leaders, Items string
}

// DispatchVisitOf reads visit seq of plan planID with its inspectors, the
// leaders of its team and its items. An unknown visit is ErrNotFound; a plan
// that is not published is ErrConflict.
func (s *Store) DispatchVisitOf(ctx context.Context, planID int64, seq int) (DispatchVisit, error) {
	// One round trip: the visit with its people and items as JSON.
	var r dispatchVisitRow
	res := s.db.WithContext(ctx).Raw(`SELECT pv.plan_id, p.status, pv.seq, pv.date, pv.original_date, pv.revision, pv.earliest_date,
			pv.uscc, b.name AS business_name, b.address,
			b.lat, b.lng, pv.team_id, t.name AS team_name, t.contact_phone AS team_phone, pv.route_order, pv.duration_minutes,
			(SELECT coalesce(json_agg(json_build_object('id', i.id, 'name', i.name, 'phone', i.phone, 'role', a.role) ORDER BY a.ord), '[]')
				FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
				WHERE a.plan_id = pv.plan_id AND a.visit_seq = pv.seq)::text AS inspectors,
			(SELECT coalesce(json_agg(json_build_object('id', i.id, 'name', i.name, 'phone', i.phone) ORDER BY i.id), '[]')
				FROM inspectors i WHERE i.team_id = pv.team_id AND i.is_leader)::text AS leaders,
			(SELECT coalesce(json_agg(json_build_object('item_id', it.id, 'code', it.code, 'name', it.name,
					'legal_basis', it.legal_basis, 'department_id', d.id, 'department', d.name, 'demand_id', tk.demand_id,
					'announce_days', dm.announce_days, 'added_by_plan_id', coalesce(tk.added_by_plan_id, 0)) ORDER BY tk.seq), '[]')
				FROM plan_tasks tk JOIN items it ON it.id = tk.item_id JOIN departments d ON d.id = tk.department_id
				JOIN demands dm ON dm.id = tk.demand_id
				WHERE tk.plan_id = pv.plan_id AND tk.visit_seq = pv.seq)::text AS items
		FROM `+visitsByKey+` JOIN businesses b ON b.uscc = pv.uscc JOIN teams t ON t.id = pv.team_id
		WHERE pv.plan_id = ? AND pv.seq = ?`, planID, seq).Scan(&r)
	if res.Error != nil {
		return DispatchVisit{}, translate(res.Error, "visit")
	}
	if res.RowsAffected == 0 {
		return DispatchVisit{}, fmt.Errorf("visit %d of %s: %w", seq, planObject(planID), domain.ErrNotFound)
	}
	v := r.visit()
	var items []struct {
		VisitItem
		AnnounceDays  int   `json:"announce_days"`
		AddedByPlanID int64 `json:"added_by_plan_id"`
	}
	if err := errors.Join(json.Unmarshal([]byte(r.Inspectors), &v.Inspectors), json.Unmarshal([]byte(r.Leaders), &v.Leaders),
		json.Unmarshal([]byte(r.Items), &items)); err != nil {
		return v, fmt.Errorf("visit %d of %s: %w", seq, planObject(planID), err)
	}
	for _, it := range items {
		it.VisitItem.AnnounceDays, it.VisitItem.AddedByPlanID = it.AnnounceDays, it.AddedByPlanID
		v.Items = append(v.Items, it.VisitItem)
	}
	if v.PlanStatus != PlanPublished {
		return v, errNotPublished(planID, v.PlanStatus)
	}
	return v, nil
}

// DispatchVisitsOf reads the visits seqs of plan planID as DispatchVisitOf
// reads one, but set-based: a fixed number of queries (visitsWhere's three
// and one for the leaders of the visits' teams) whatever the number of
// visits, which is what lets one dispatch task carry hundreds of them. The
// visits come in seq order; a seq the plan does not have is left out (the
// caller tells which). A plan that is not published is ErrConflict.
func (s *Store) DispatchVisitsOf(ctx context.Context, planID int64, seqs []int) ([]DispatchVisit, error) {
	if len(seqs) == 0 {
		return nil, nil
	}
	ss := make(pq.Int64Array, len(seqs))
	for i, q := range seqs {
		ss[i] = int64(q)
	}
	vs, err := visitsWhere(s.db.WithContext(ctx), visitsByKey, "pv.plan_id = ? AND pv.seq = ANY(?::int[])", planID, ss)
	if err != nil {
		return nil, fmt.Errorf("visits of %s: %w", planObject(planID), err)
	}
	if len(vs) == 0 {
		return nil, nil
	}
	if vs[0].PlanStatus != PlanPublished {
		return nil, errNotPublished(planID, vs[0].PlanStatus)
	}
	slices.SortFunc(vs, func(a, b DispatchVisit) int { return a.Seq - b.Seq })
	var teams pq.Int64Array
	for _, v := range vs {
		if !slices.Contains(teams, v.TeamID) {
			teams = append(teams, v.TeamID)
		}
	}
	var leaders []struct {
		TeamID int64
		VisitPerson
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT team_id, id, name, phone FROM inspectors
		WHERE team_id = ANY(?::bigint[]) AND is_leader ORDER BY team_id, id`, teams).Scan(&leaders).Error; err != nil {
		return nil, translate(err, "team leaders")
	}
	byTeam := map[int64][]VisitPerson{}
	for _, l := range leaders {
		byTeam[l.TeamID] = append(byTeam[l.TeamID], l.VisitPerson)
	}
	for i := range vs {
		// Shared, read-only: the notices only encode them.
		vs[i].Leaders = byTeam[vs[i].TeamID]
	}
	return vs, nil
}

func (r dispatchVisitRow) visit() DispatchVisit {
	return DispatchVisit{PlanID: r.PlanID, PlanStatus: r.Status, Seq: r.Seq, Date: r.Date, OriginalDate: r.OriginalDate,
		Revision: r.Revision, EarliestDate: r.EarliestDate, USCC: r.USCC,
		BusinessName: r.BusinessName, Address: r.Address, Lat: r.Lat, Lng: r.Lng, TeamID: r.TeamID, TeamName: r.TeamName,
		TeamPhone: r.TeamPhone, RouteOrder: r.RouteOrder, DurationMinutes: r.DurationMinutes}
}

// visitsByKey is every visit of every plan at its effective date (pv, with
// its plan p), for reads by plan and seq: unlike published_visits it keeps
// the visits of plans that are not published, which dispatch refuses by
// name (errNotPublished) rather than as unknown. The lateral aggregate reads
// the visit's moves by visit_moves' primary key; the plan and seq conditions
// reach plan_visits' primary key through it.
const visitsByKey = `(SELECT x.plan_id, x.seq, x.uscc, coalesce(m.to_date, x.date) AS date, x.date AS original_date,
		coalesce(m.revision, 0) AS revision, least(x.date, m.earliest) AS earliest_date, x.team_id, x.route_order,
		x.duration_minutes + coalesce((SELECT sum(j.added_minutes) FROM plan_joins j
			JOIN plans jp ON jp.id = j.plan_id AND jp.status = 'published'
			WHERE j.target_plan_id = x.plan_id AND j.target_visit_seq = x.seq), 0)::integer AS duration_minutes
	FROM plan_visits x LEFT JOIN LATERAL (
		SELECT (array_agg(a.to_date ORDER BY a.seq DESC))[1] AS to_date, max(a.seq) AS revision, min(a.to_date) AS earliest
		FROM visit_moves a WHERE a.plan_id = x.plan_id AND a.visit_seq = x.seq) m ON true) pv
	JOIN plans p ON p.id = pv.plan_id`

// visitsByDay is the visits of published plans at their effective dates (pv,
// with its plan p), for reads by day: published_visits pushes a date
// condition into both its branches, onto plan_visits' and visit_moves' date
// indexes.
const visitsByDay = `published_visits pv JOIN plans p ON p.id = pv.plan_id`

// DayVisits lists the visits of published plans on day (a civil date) at
// their effective dates — a moved visit on its new day, not its plan's — by
// team, planned route order then visits moved in, with their inspectors and
// items.
func (s *Store) DayVisits(ctx context.Context, day time.Time) ([]DispatchVisit, error) {
	return visitsWhere(s.db.WithContext(ctx), visitsByDay, "pv.date = ?::date", civilDate(day))
}

// ---- roster notices

// RosterNotice is the latest roster notice of a team-day.
type RosterNotice struct {
	TeamID    int64
	EffectKey string
	Body      json.RawMessage
	// Sent counts the roster notices of the team-day so far: the first and
	// the updates.
	Sent int
}

// RosterDay is what RefreshRosters read of a day, under the day's lock.
type RosterDay struct {
	Day time.Time
	// Visits are the day's visits (as DayVisits reads them) of the teams
	// refreshed, by team.
	Visits []DispatchVisit
	// Latest holds the latest roster notice of each team refreshed that has
	// one. A team there without visits had all of them moved away since.
	Latest map[int64]RosterNotice
}

// rosterLockKey is the first key of the advisory lock that serialises the
// roster checks of a day (the second is the day).
const rosterLockKey = 7_310_004

// rosterNoticeCond, followed by the day, selects the roster notices of that
// day: what notifications_roster_idx covers.
const rosterNoticeCond = `kind = 'roster' AND recipient_kind = 'team' AND body ->> 'date' = `

// RosteredTeams returns, of teams on days, those that have a roster notice,
// by day (civil date): the team-days a publication or a move must re-check
// (one whose roster has not gone out gets it from the daily roster run). One
// query over notifications_roster_idx, whatever the number of days.
func (s *Store) RosteredTeams(ctx context.Context, days []time.Time, teams []int64) (map[string][]int64, error) {
	if len(days) == 0 || len(teams) == 0 {
		return nil, nil
	}
	ds := make(pq.StringArray, len(days))
	for i, d := range days {
		ds[i] = civilDate(d)
	}
	ids := make(pq.StringArray, len(teams))
	for i, t := range teams {
		ids[i] = strconv.FormatInt(t, 10)
	}
	var rows []struct {
		Day         string
		RecipientID string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT DISTINCT body ->> 'date' AS day, recipient_id FROM notifications
		WHERE `+rosterNoticeCond+`ANY(?::text[]) AND recipient_id = ANY(?::text[])`, ds, ids).Scan(&rows).Error; err != nil {
		return nil, translate(err, "roster notices")
	}
	out := map[string][]int64{}
	for _, r := range rows {
		if id, err := strconv.ParseInt(r.RecipientID, 10, 64); err == nil {
			out[r.Day] = append(out[r.Day], id)
		}
	}
	return out, nil
}

// RefreshRosters brings the roster notices of day up to date, in one
// transaction under a lock on the day: it reads the day's visits and the
// latest roster notice of teams (nil: of every team with visits that day or
// a roster notice of it), hands them to build, and writes the notices build
// returns (WriteNotifications). It returns what the write did; queue the
// deliveries after it.
//
// The lock serialises every roster check of the day, so a check never writes
// a roster older than one another check wrote before it: each reads the
// visits and the latest notice after the previous one committed. Without it a
// slow run that read the day before a move could send its stale roster after
// the move's own check sent the new one, and the team's latest roster would
// be wrong until the next change.
func (s *Store) RefreshRosters(ctx context.Context, day time.Time, teams []int64,
	build func(RosterDay) ([]NewNotification, error)) (Written, error) {
	var out Written
	date := civilDate(day)
	epochDays := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?::int, ?::int)`, rosterLockKey, epochDays).Error; err != nil {
			return translate(err, "roster lock of "+date)
		}
		var latest []struct {
			RecipientID string
			EffectKey   string
			Body        string
			Sent        int
		}
		q := `SELECT DISTINCT ON (recipient_id) recipient_id, effect_key, body::text AS body,
				count(*) OVER (PARTITION BY recipient_id) AS sent
			FROM notifications WHERE ` + rosterNoticeCond + `?`
		args := []any{date}
		var ids pq.Int64Array
		if teams != nil {
			ids = pq.Int64Array(teams)
			q += ` AND recipient_id = ANY(?::text[])`
			txt := make(pq.StringArray, len(teams))
			for i, t := range teams {
				txt[i] = strconv.FormatInt(t, 10)
			}
			args = append(args, txt)
		}
		if err := tx.Raw(q+` ORDER BY recipient_id, id DESC`, args...).Scan(&latest).Error; err != nil {
			return translate(err, "roster notices of "+date)
		}
		rd := RosterDay{Day: day, Latest: make(map[int64]RosterNotice, len(latest))}
		for _, l := range latest {
			id, err := strconv.ParseInt(l.RecipientID, 10, 64)
			if err != nil {
				continue // not a team id: no roster of ours
			}
			rd.Latest[id] = RosterNotice{TeamID: id, EffectKey: l.EffectKey, Body: json.RawMessage(l.Body), Sent: l.Sent}
		}
		var err error
		if ids == nil {
			rd.Visits, err = visitsWhere(tx, visitsByDay, "pv.date = ?::date", date)
		} else {
			rd.Visits, err = visitsWhere(tx, visitsByDay, "pv.date = ?::date AND pv.team_id = ANY(?::bigint[])", date, ids)
		}
		if err != nil {
			return fmt.Errorf("rosters of %s: %w", date, err)
		}
		ns, err := build(rd)
		if err != nil {
			return err
		}
		// On the transaction's connection: the notices are written under the
		// lock, together with the reads they were built from.
		conn, ok := tx.Statement.ConnPool.(queryer)
		if !ok {
			return fmt.Errorf("rosters of %s: the transaction cannot run queries", date)
		}
		const batch = 500
		for start := 0; start < len(ns); start += batch {
			w, err := writeNotifications(ctx, conn, ns[start:min(start+batch, len(ns))])
			if err != nil {
				return err
			}
			out.Inserted += w.Inserted
			out.Deliveries = append(out.Deliveries, w.Deliveries...)
		}
		return nil
	})
	if err != nil {
		return Written{}, err
	}
	return out, nil
}

// visitsWhere reads, with db, the visits of from (visitsByKey or
// visitsByDay) matching cond (over pv and p).
func visitsWhere(db *gorm.DB, from, cond string, args ...any) ([]DispatchVisit, error) {
	var rows []dispatchVisitRow
	if err := db.Raw(`SELECT pv.plan_id, p.status, pv.seq, pv.date, pv.original_date, pv.revision, pv.earliest_date, pv.uscc,
			b.name AS business_name, b.address, b.lat, b.lng,
			pv.team_id, t.name AS team_name, t.contact_phone AS team_phone, pv.route_order, pv.duration_minutes
		FROM `+from+` JOIN businesses b ON b.uscc = pv.uscc JOIN teams t ON t.id = pv.team_id
		WHERE `+cond+` ORDER BY pv.team_id, pv.date, pv.revision > 0, pv.route_order, pv.plan_id, pv.seq`, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "visits")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	type vkey struct {
		plan int64
		seq  int
	}
	out := make([]DispatchVisit, len(rows))
	at := make(map[vkey]int, len(rows))
	for i, r := range rows {
		out[i] = r.visit()
		at[vkey{r.PlanID, r.Seq}] = i
	}
	var people []struct {
		PlanID   int64
		VisitSeq int
		VisitPerson
	}
	if err := db.Raw(`SELECT a.plan_id, a.visit_seq, i.id, i.name, i.phone, a.role
		FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		JOIN (`+from+`) ON pv.plan_id = a.plan_id AND pv.seq = a.visit_seq
		WHERE `+cond+` ORDER BY a.plan_id, a.visit_seq, a.ord`, args...).Scan(&people).Error; err != nil {
		return nil, translate(err, "visit inspectors")
	}
	for _, x := range people {
		if i, ok := at[vkey{x.PlanID, x.VisitSeq}]; ok {
			out[i].Inspectors = append(out[i].Inspectors, x.VisitPerson)
		}
	}
	var items []struct {
		PlanID   int64
		VisitSeq int
		VisitItem
	}
	if err := db.Raw(`SELECT t.plan_id, t.visit_seq, it.id AS item_id, it.code, it.name, it.legal_basis,
			d.id AS department_id, d.name AS department, t.demand_id, dm.announce_days,
			coalesce(t.added_by_plan_id, 0) AS added_by_plan_id
		FROM plan_tasks t JOIN items it ON it.id = t.item_id JOIN departments d ON d.id = t.department_id
		JOIN demands dm ON dm.id = t.demand_id
		JOIN (`+from+`) ON pv.plan_id = t.plan_id AND pv.seq = t.visit_seq
		WHERE `+cond+` ORDER BY t.plan_id, t.visit_seq, t.seq`, args...).Scan(&items).Error; err != nil {
		return nil, translate(err, "visit items")
	}
	for _, x := range items {
		if i, ok := at[vkey{x.PlanID, x.VisitSeq}]; ok {
			out[i].Items = append(out[i].Items, x.VisitItem)
		}
	}
	return out, nil
}

// ---- webhooks

// Webhook receives the notifications of one recipient kind.
type Webhook struct {
	ID            int64     `json:"id"`
	RecipientKind string    `json:"recipient_kind"`
	URL           string    `json:"url"`
	Secret        string    `json:"-"`
	Active        bool      `json:"active"`
	CreatedAt     time.Time `json:"created_at"`
}

// CreateWebhook registers a webhook for every notification to recipientKind.
// The secret signs its deliveries (at least 16 characters).
func (s *Store) CreateWebhook(ctx context.Context, actor, recipientKind, url, secret string) (Webhook, error) {
	var w Webhook
	var v domain.ValidationError
	if recipientKind != RecipientInspector && recipientKind != RecipientBusiness && recipientKind != RecipientTeam {
		v.Add("recipient_kind", "must be inspector, business or team")
	}
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		v.Add("url", "must be an http or https URL")
	}
	if len(secret) < 16 {
		v.Add("secret", "must have at least 16 characters")
	}
	if err := v.Err(); err != nil {
		return w, err
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Raw(`INSERT INTO webhooks (recipient_kind, url, secret) VALUES (?, ?, ?)
			RETURNING id, recipient_kind, url, secret, active, created_at`, recipientKind, url, secret).Scan(&w).Error; err != nil {
			return translate(err, "webhook")
		}
		return appendAudit(tx, actor, "webhook.create", objectID("webhook", w.ID), OutcomeOK,
			map[string]string{"recipient_kind": recipientKind, "url": url})
	})
	return w, err
}

// SetWebhookActive turns a webhook on or off; the deliveries of an inactive
// webhook still pending are skipped.
func (s *Store) SetWebhookActive(ctx context.Context, actor string, id int64, active bool) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`UPDATE webhooks SET active = ? WHERE id = ?`, active, id)
		if res.Error != nil {
			return translate(res.Error, objectID("webhook", id))
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("%s: %w", objectID("webhook", id), domain.ErrNotFound)
		}
		return appendAudit(tx, actor, "webhook.update", objectID("webhook", id), OutcomeOK, map[string]bool{"active": active})
	})
}

// DeliveryJob is what a webhook delivery needs.
type DeliveryJob struct {
	Webhook      Webhook
	Status       string // of the delivery: pending, delivered, failed, skipped
	Attempts     int
	LastError    string
	Notification Notification
}

// DeliveryJobOf reads the delivery of notification nid to webhook wid.
func (s *Store) DeliveryJobOf(ctx context.Context, nid, wid int64) (DeliveryJob, error) {
	var j DeliveryJob
	db := s.db.WithContext(ctx)
	var d struct {
		Status    string
		Attempts  int
		LastError string
	}
	res := db.Raw(`SELECT status, attempts, last_error FROM webhook_deliveries WHERE notification_id = ? AND webhook_id = ?`, nid, wid).Scan(&d)
	if res.Error != nil {
		return j, translate(res.Error, "webhook delivery")
	}
	if res.RowsAffected == 0 {
		return j, fmt.Errorf("delivery of notification %d to webhook %d: %w", nid, wid, domain.ErrNotFound)
	}
	j.Status, j.Attempts, j.LastError = d.Status, d.Attempts, d.LastError
	if err := db.Raw(`SELECT id, recipient_kind, url, secret, active, created_at FROM webhooks WHERE id = ?`, wid).
		Scan(&j.Webhook).Error; err != nil {
		return j, translate(err, objectID("webhook", wid))
	}
	var n notificationRow
	if err := db.Raw(`SELECT `+notificationColumns+` FROM notifications WHERE id = ?`, nid).Scan(&n).Error; err != nil {
		return j, translate(err, objectID("notification", nid))
	}
	j.Notification = n.notification()
	return j, nil
}

// Delivery outcomes RecordDelivery records.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliverySkipped   = "skipped"
)

// RecordDelivery records an attempt at a pending delivery: status is
// DeliveryDelivered, DeliveryPending (it will be retried), DeliveryFailed (no
// more retries) or DeliverySkipped; lastError is the attempt's error. A
// delivery no longer pending is left as it is.
func (s *Store) RecordDelivery(ctx context.Context, nid, wid int64, status, lastError string) error {
	if len(lastError) > 2000 {
		lastError = lastError[:2000]
	}
	err := s.db.WithContext(ctx).Exec(`UPDATE webhook_deliveries SET attempts = attempts + CASE WHEN ? = 'skipped' THEN 0 ELSE 1 END,
		status = ?, last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN now() END
		WHERE notification_id = ? AND webhook_id = ? AND status = 'pending'`, status, status, lastError, status, nid, wid).Error
	return translate(err, "webhook delivery")
}

// WebhookDeliveries lists the deliveries to a webhook as "notification id →
// status" (tests and tools).
func (s *Store) WebhookDeliveries(ctx context.Context, wid int64) (map[int64]string, error) {
	var rows []struct {
		NotificationID int64
		Status         string
	}
	if err := s.db.WithContext(ctx).Raw(`SELECT notification_id, status FROM webhook_deliveries WHERE webhook_id = ?`, wid).
		Scan(&rows).Error; err != nil {
		return nil, translate(err, "webhook deliveries")
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.NotificationID] = r.Status
	}
	return out, nil
}

// ListWebhooks pages through the webhooks (secrets are never encoded).
func (s *Store) ListWebhooks(ctx context.Context, p Page) (Paged[Webhook], error) {
	out, err := pageByID(s.db.WithContext(ctx).Table("webhooks").Select("id, recipient_kind, url, secret, active, created_at"),
		p, func(w Webhook) int64 { return w.ID })
	return out, translate(err, "webhooks")
}
