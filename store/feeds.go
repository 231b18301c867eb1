package store

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"inspectonce/domain"
)

// Kinds of calendar feed: whose visits a feed carries. The subject of a feed
// is the business's USCC, the team's id or the inspector's id.
const (
	FeedBusiness  = "business"
	FeedTeam      = "team"
	FeedInspector = "inspector"
)

// feedLockKey is the first key of the advisory lock that serialises rotations
// of one feed (the second is a hash of kind and subject).
const feedLockKey = 7_310_003

// maxFeedSecret bounds what ResolveFeedToken hashes: a secret is 43
// characters; anything much longer is not one.
const maxFeedSecret = 128

func feedObject(kind, subject string) string { return "feed/" + kind + "/" + subject }

// RotateFeedToken makes a new secret for the calendar feed of (kind,
// subject), revoking the one before, and returns it. The secret (32 random
// bytes, base64url) is shown once: only its SHA-256 is stored. An unknown kind
// is a validation error naming "kind"; an unknown subject is ErrNotFound. A
// team's or inspector's id is stored in its canonical decimal form.
// Audited as "feed.rotate".
func (s *Store) RotateFeedToken(ctx context.Context, actor, kind, subject string) (string, error) {
	var table, key string
	var id any = subject
	switch kind {
	case FeedBusiness:
		table, key = "businesses", "uscc"
	case FeedTeam, FeedInspector:
		table, key = "teams", "id"
		if kind == FeedInspector {
			table = "inspectors"
		}
		n, err := strconv.ParseInt(subject, 10, 64)
		if err != nil || n <= 0 {
			return "", fmt.Errorf("%s %q: %w", kind, subject, domain.ErrNotFound)
		}
		// One spelling per id ("7", not "007"), or the one-active-feed index
		// would see two subjects.
		id, subject = n, strconv.FormatInt(n, 10)
	default:
		return "", domain.Invalid("kind", "must be business, team or inspector, got %q", kind)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("feed secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(raw[:])
	err := s.tx(ctx, func(tx *gorm.DB) error {
		// Two rotations at once would both revoke the same row and then both
		// insert; the second insert would hit the partial unique index. The
		// lock makes the second wait for the first and revoke its secret.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(?, hashtext(? || '/' || ?))`, feedLockKey, kind, subject).Error; err != nil {
			return fmt.Errorf("feed lock: %w", err)
		}
		var n int64
		if err := tx.Table(table).Where(key+" = ?", id).Count(&n).Error; err != nil {
			return translate(err, kind+" "+subject)
		}
		if n == 0 {
			return fmt.Errorf("%s %s: %w", kind, subject, domain.ErrNotFound)
		}
		res := tx.Exec(`UPDATE feed_tokens SET revoked_at = now() WHERE kind = ? AND subject = ? AND revoked_at IS NULL`, kind, subject)
		if res.Error != nil {
			return translate(res.Error, feedObject(kind, subject))
		}
		var tokenID int64
		if err := tx.Raw(`INSERT INTO feed_tokens (kind, subject, secret_hash, created_by) VALUES (?, ?, ?, ?) RETURNING id`,
			kind, subject, hashToken(secret), actor).Row().Scan(&tokenID); err != nil {
			return translate(err, feedObject(kind, subject))
		}
		return appendAudit(tx, actor, "feed.rotate", feedObject(kind, subject), OutcomeOK,
			map[string]int64{"feed_token_id": tokenID, "revoked": res.RowsAffected})
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ResolveFeedToken finds the feed whose secret this is: its kind and subject.
// An unknown or revoked secret is ErrNotFound.
func (s *Store) ResolveFeedToken(ctx context.Context, secret string) (kind, subject string, err error) {
	notFound := fmt.Errorf("calendar feed: %w", domain.ErrNotFound)
	if secret == "" || len(secret) > maxFeedSecret {
		return "", "", notFound
	}
	var row struct {
		Kind    string
		Subject string
	}
	res := s.db.WithContext(ctx).Raw(`SELECT kind, subject FROM feed_tokens WHERE secret_hash = ? AND revoked_at IS NULL`,
		hashToken(secret)).Scan(&row)
	if res.Error != nil {
		return "", "", translate(res.Error, "calendar feed")
	}
	if res.RowsAffected == 0 {
		return "", "", notFound
	}
	return row.Kind, row.Subject, nil
}

// ---- team and inspector calendars

// StaffCalendar is the calendar of a team (the visits it leads) or an
// inspector (the visits it is assigned to) over a range of days: every visit
// of a published plan, announced or not, since staff see all of their own.
type StaffCalendar struct {
	Kind string `json:"kind"` // FeedTeam or FeedInspector
	// ID and Name are the team's or the inspector's.
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// From and To bound the effective dates, both included (YYYY-MM-DD).
	From   string          `json:"from"`
	To     string          `json:"to"`
	Visits []CalendarVisit `json:"visits"`
}

// CalendarVisit is a visit on a staff calendar: what a ScheduleVisit tells
// (never marked past: a calendar is read for a range, not for a day) and
// what the team needs on the road. StartTime and EndTime are an estimate
// here: the working day's start (WorkdayStartMinutes) plus the travel and
// work of the stops before this one on the planned route, plus its own
// travel; a moved visit was not routed on its new day and keeps the whole
// working window.
type CalendarVisit struct {
	ScheduleVisit
	// Role is the subject's part: RoleLeadTeam on a team calendar, the
	// inspector's role ("lead" or "member") on an inspector's.
	Role string `json:"role"`
	// RouteOrder and DurationMinutes are the plan's.
	RouteOrder      int               `json:"route_order"`
	DurationMinutes int               `json:"duration_minutes"`
	Business        RosterBusiness    `json:"business"`
	Inspectors      []RosterInspector `json:"inspectors"`
	ItemCount       int               `json:"item_count"`
	// Restaffs counts the inspectors repairs replaced on the visit: a staff
	// calendar's SEQUENCE is Revision + Amendments + Restaffs, so calendar
	// apps take the new inspector list.
	Restaffs int `json:"restaffs,omitempty"`
}

// Role of a team on its own calendar.
const RoleLeadTeam = "lead_team"

// calendarVisitRow is a scheduleVisitRow's columns and more. The visit's
// columns are a named field: gorm does not fill an embedded unexported struct.
type calendarVisitRow struct {
	Visit           scheduleVisitRow `gorm:"embedded"`
	Role            string
	RouteOrder      int
	DurationMinutes int
	TravelMinutes   int
	OffsetMinutes   int
	USCC            string `gorm:"column:uscc"`
	BusinessName    string
	Address         string
	Lat, Lng        float64
	ContactName     string
	ContactPhone    string
	Inspectors      string
	Restaffs        int
}

// calendarColumns are visitDetailColumns plus what a staff calendar shows: the
// business, the inspectors (JSON, lead first) and the minutes of the planned
// route before this stop.
const calendarColumns = visitDetailColumns + `, v.route_order, v.duration_minutes, v.travel_minutes,
	(SELECT coalesce(sum(o.travel_minutes + o.duration_minutes), 0) FROM plan_visits o
		WHERE o.plan_id = v.plan_id AND o.team_id = v.team_id AND o.date = v.original_date
			AND o.route_order < v.route_order) AS offset_minutes,
	v.uscc, coalesce(b.name, '') AS business_name, coalesce(b.address, '') AS address, coalesce(b.lat, 0) AS lat,
	coalesce(b.lng, 0) AS lng, coalesce(b.contact_name, '') AS contact_name, coalesce(b.contact_phone, '') AS contact_phone,
	(SELECT coalesce(json_agg(json_build_object('id', i.id, 'name', i.name, 'phone', i.phone, 'role', a.role) ORDER BY a.ord), '[]')
		FROM visit_assignments a JOIN inspectors i ON i.id = a.inspector_id
		WHERE a.plan_id = v.plan_id AND a.visit_seq = v.seq)::text AS inspectors,
	(SELECT count(*) FROM visit_substitutions su WHERE su.plan_id = v.plan_id AND su.visit_seq = v.seq) AS restaffs`

// TeamCalendar reads the visits team teamID leads in published plans with an
// effective date from from to to (civil dates, both included), by date, plan
// and route order. An unknown team is ErrNotFound.
func (s *Store) TeamCalendar(ctx context.Context, teamID int64, from, to time.Time) (StaffCalendar, error) {
	out := StaffCalendar{Kind: FeedTeam, ID: teamID, From: civilDate(from), To: civilDate(to), Visits: []CalendarVisit{}}
	db := s.db.WithContext(ctx)
	res := db.Raw(`SELECT name FROM teams WHERE id = ?`, teamID).Scan(&out.Name)
	if res.Error != nil {
		return StaffCalendar{}, translate(res.Error, objectID("team", teamID))
	}
	if res.RowsAffected == 0 {
		return StaffCalendar{}, fmt.Errorf("%s: %w", objectID("team", teamID), domain.ErrNotFound)
	}
	var rows []calendarVisitRow
	if err := db.Raw(`SELECT `+calendarColumns+`, '`+RoleLeadTeam+`' AS role
		FROM published_visits v JOIN teams t ON t.id = v.team_id LEFT JOIN businesses b ON b.uscc = v.uscc
		WHERE v.team_id = ? AND v.date BETWEEN ?::date AND ?::date
		ORDER BY v.date, v.plan_id, v.revision > 0, v.route_order, v.seq`, teamID, out.From, out.To).Scan(&rows).Error; err != nil {
		return StaffCalendar{}, translate(err, "calendar of "+objectID("team", teamID))
	}
	return out, out.fill(rows)
}

// InspectorCalendar reads the visits inspector inspectorID is assigned to in
// published plans with an effective date from from to to (civil dates, both
// included), by date, plan and route order. An unknown inspector is
// ErrNotFound.
func (s *Store) InspectorCalendar(ctx context.Context, inspectorID int64, from, to time.Time) (StaffCalendar, error) {
	out := StaffCalendar{Kind: FeedInspector, ID: inspectorID, From: civilDate(from), To: civilDate(to), Visits: []CalendarVisit{}}
	db := s.db.WithContext(ctx)
	res := db.Raw(`SELECT name FROM inspectors WHERE id = ?`, inspectorID).Scan(&out.Name)
	if res.Error != nil {
		return StaffCalendar{}, translate(res.Error, objectID("inspector", inspectorID))
	}
	if res.RowsAffected == 0 {
		return StaffCalendar{}, fmt.Errorf("%s: %w", objectID("inspector", inspectorID), domain.ErrNotFound)
	}
	var rows []calendarVisitRow
	if err := db.Raw(`SELECT `+calendarColumns+`, me.role
		FROM visit_assignments me JOIN published_visits v ON v.plan_id = me.plan_id AND v.seq = me.visit_seq
		JOIN teams t ON t.id = v.team_id LEFT JOIN businesses b ON b.uscc = v.uscc
		WHERE me.inspector_id = ? AND v.date BETWEEN ?::date AND ?::date
		ORDER BY v.date, v.plan_id, v.revision > 0, v.route_order, v.seq`, inspectorID, out.From, out.To).Scan(&rows).Error; err != nil {
		return StaffCalendar{}, translate(err, "calendar of "+objectID("inspector", inspectorID))
	}
	return out, out.fill(rows)
}

// fill turns the rows into visits.
func (c *StaffCalendar) fill(rows []calendarVisitRow) error {
	for i := range rows {
		r := &rows[i]
		// A calendar covers a range, not a day: no visit is marked past.
		v, err := r.Visit.common(time.Time{})
		if err != nil {
			return err
		}
		cv := CalendarVisit{ScheduleVisit: v, Role: r.Role, RouteOrder: r.RouteOrder, DurationMinutes: r.DurationMinutes,
			Business: RosterBusiness{USCC: r.USCC, Name: r.BusinessName, Address: r.Address, Lat: r.Lat, Lng: r.Lng,
				ContactName: r.ContactName, ContactPhone: r.ContactPhone},
			Inspectors: []RosterInspector{}, Restaffs: r.Restaffs}
		if err := json.Unmarshal([]byte(r.Inspectors), &cv.Inspectors); err != nil {
			return fmt.Errorf("inspectors of visit %d of %s: %w", v.VisitSeq, planObject(v.PlanID), err)
		}
		for _, d := range v.Departments {
			cv.ItemCount += len(d.Items)
		}
		if v.Revision == 0 {
			start := WorkdayStartMinutes + r.OffsetMinutes + r.TravelMinutes
			cv.StartTime, cv.EndTime = hhmm(start), hhmm(start+r.DurationMinutes)
		}
		c.Visits = append(c.Visits, cv)
	}
	return nil
}
