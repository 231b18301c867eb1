package store

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/calendar"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/risk"
)

// Result outcomes of a task at the door (掌上执法), as task_results stores them.
const (
	ResultCompliant   = risk.Compliant
	ResultMinor       = risk.Minor
	ResultViolation   = risk.Violation
	ResultTransferred = risk.Transferred
	ResultNotDone     = risk.NotDone
)

// ResultOutcomes lists the outcomes a task's result may have.
var ResultOutcomes = []string{ResultCompliant, ResultMinor, ResultViolation, ResultTransferred, ResultNotDone}

// NotDoneReasons are why a task could not be done.
var NotDoneReasons = []string{"closed", "absent", "refused"}

// Follow-up demand kinds (demands.origin_kind).
const (
	OriginRedo         = "redo"
	OriginReinspection = "reinspection"
)

// MaxRuleCited and MaxResultNote bound a result's texts; api/openapi.yaml
// states the same (api's TestOpenAPIBoundsMatchCode).
const (
	MaxRuleCited  = maxRuleCited
	MaxResultNote = maxNote
)

// Limits of result texts (the columns' CHECKs say the same).
const (
	maxRuleCited = 500
	maxNote      = 2000
	// checkInSkew is how far ahead of the server's clock a phone's check-in
	// time may be (phones' clocks drift).
	checkInSkew = 10 * time.Minute
)

// ResultRules are what recording and confirming results follow, from the
// caller's configuration (configs.Results, configs.Risk.Rule).
type ResultRules struct {
	// Today is today's civil date in the configured zone: a visit dated later
	// takes no check-in, result or confirmation yet, and follow-up demands
	// start after it.
	Today time.Time
	// Calendar is the working-day calendar (nil: Monday to Friday).
	Calendar *calendar.Calendar
	// Risk recomputes the business's code when a visit is reported.
	Risk risk.Rule
	// PublishWithinWorkingDays sets visit_reports.publish_due; 0 means
	// PublicationWorkingDays.
	PublishWithinWorkingDays int
	// RedoMinWindowWorkingDays is the shortest window of a redo demand (0: 10).
	RedoMinWindowWorkingDays int
	// ReinspectionWindowWorkingDays is the window of a re-inspection (0: 20).
	ReinspectionWindowWorkingDays int
	// MaxRectifyDays bounds a rectification deadline, in days after the
	// visit (0: 365).
	MaxRectifyDays int
	// Language is the language of the words written with a report: the
	// risk reason's text and follow-up demands' titles ("": Chinese).
	Language messages.Lang
}

func (r ResultRules) cal() *calendar.Calendar {
	if r.Calendar == nil {
		return &calendar.Calendar{}
	}
	return r.Calendar
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// clientID checks a client-generated id and returns it in canonical form.
func clientID(v *domain.ValidationError, id string) string {
	id = strings.TrimSpace(id)
	switch {
	case id == "":
		v.Add("client_id", "is required: a UUID the client makes once per submission, so a retried upload records once")
	case !uuidRe.MatchString(id):
		v.Add("client_id", "must be a UUID such as 5f0c6a57-3b8e-4a53-9a52-2f1f7f4c9d10, got %q", id)
	}
	return strings.ToLower(id)
}

// CheckInInput is an inspector's arrival at the door, as the phone sends it.
type CheckInInput struct {
	ClientID string `json:"client_id"`
	// At is when the inspector arrived; empty means now.
	At *time.Time `json:"at,omitempty"`
	// Lat and Lng (WGS 84) come together or not at all; AccuracyM is the
	// phone's estimate of their error, in metres.
	Lat       *float64 `json:"lat,omitempty"`
	Lng       *float64 `json:"lng,omitempty"`
	AccuracyM *float64 `json:"accuracy_m,omitempty"`
}

// CheckIn is a recorded arrival.
type CheckIn struct {
	PlanID      int64     `json:"plan_id"`
	VisitSeq    int       `json:"visit_seq"`
	InspectorID int64     `json:"inspector_id"`
	ClientID    string    `json:"client_id"`
	At          time.Time `json:"at"`
	Lat         *float64  `json:"lat"`
	Lng         *float64  `json:"lng"`
	AccuracyM   *float64  `json:"accuracy_m"`
	RecordedAt  time.Time `json:"recorded_at"`
}

// ResultInput is one task's result, as the phone sends it. Which fields are
// required depends on Outcome: minor needs RuleCited; violation RuleCited and
// RectifyBy (YYYY-MM-DD, after the visit's date); transferred TransferredTo
// (a department other than the task's own); not_done NotDoneReason (closed,
// absent or refused). Fields another outcome needs are refused.
type ResultInput struct {
	ClientID      string `json:"client_id"`
	Outcome       string `json:"outcome"`
	RuleCited     string `json:"rule_cited,omitempty"`
	RectifyBy     string `json:"rectify_by,omitempty"`
	TransferredTo int64  `json:"transferred_to,omitempty"`
	NotDoneReason string `json:"not_done_reason,omitempty"`
	Note          string `json:"note,omitempty"`
}

// TaskResult is one recorded result of a task. A task's current result is
// its latest.
type TaskResult struct {
	ID            int64     `json:"id"`
	PlanID        int64     `json:"plan_id"`
	TaskSeq       int       `json:"task_seq"`
	VisitSeq      int       `json:"visit_seq"`
	USCC          string    `json:"uscc"`
	DemandID      int64     `json:"demand_id"`
	DepartmentID  int64     `json:"department_id"`
	ItemID        int64     `json:"item_id"`
	Outcome       string    `json:"outcome"`
	RuleCited     string    `json:"rule_cited"`
	RectifyBy     *string   `json:"rectify_by"`
	TransferredTo *int64    `json:"transferred_to"`
	NotDoneReason *string   `json:"not_done_reason"`
	Note          string    `json:"note"`
	RecordedBy    int64     `json:"recorded_by"`
	ClientID      string    `json:"client_id"`
	RecordedAt    time.Time `json:"recorded_at"`
}

// Confirmation is an inspector's confirmation of a visit's results as they
// stood (ResultsHash); a later result makes it stale.
type Confirmation struct {
	PlanID      int64     `json:"plan_id"`
	VisitSeq    int       `json:"visit_seq"`
	InspectorID int64     `json:"inspector_id"`
	ClientID    string    `json:"client_id"`
	ResultsHash Hex       `json:"results_hash"`
	ConfirmedAt time.Time `json:"confirmed_at"`
	// Current: it confirms the results as they are now.
	Current bool `json:"current"`
}

// VisitReport is a visit whose results two of its inspectors confirmed.
type VisitReport struct {
	PlanID         int64         `json:"plan_id"`
	VisitSeq       int           `json:"visit_seq"`
	USCC           string        `json:"uscc"`
	VisitDate      string        `json:"visit_date"`
	TeamID         int64         `json:"team_id"`
	DepartmentIDs  pq.Int64Array `json:"department_ids" gorm:"type:bigint[]"`
	PerformedTasks int           `json:"performed_tasks"`
	NotDoneTasks   int           `json:"not_done_tasks"`
	CheckedInAt    *time.Time    `json:"checked_in_at"`
	ConfirmedAt    time.Time     `json:"confirmed_at"`
	PublishDue     string        `json:"publish_due"`
	PublishedAt    *time.Time    `json:"published_at"`
}

// RiskOutcome is what a report did to the business's risk code.
type RiskOutcome struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Changed bool   `json:"changed"`
	// Reason is why, in words (ResultRules.Language); ReasonCode and
	// ReasonParams are the same, for machines (risk.Reason).
	Reason       string             `json:"reason,omitempty"`
	ReasonCode   string             `json:"reason_code,omitempty"`
	ReasonParams *risk.ReasonParams `json:"reason_params,omitempty"`
	ResultID     int64              `json:"result_id,omitempty"`
}

// FollowUp is a demand a report created.
type FollowUp struct {
	DemandID     int64   `json:"demand_id"`
	Kind         string  `json:"kind"`
	DepartmentID int64   `json:"department_id"`
	ItemIDs      []int64 `json:"item_ids"`
	WindowFrom   string  `json:"window_from"`
	WindowTo     string  `json:"window_to"`
}

// ConfirmOutcome answers a confirmation: the stored confirmation, the
// inspectors whose confirmations are current, and, once two are, the report
// with what it did. A replayed confirmation shows the visit as it is now.
type ConfirmOutcome struct {
	Confirmation Confirmation `json:"confirmation"`
	ConfirmedBy  []int64      `json:"confirmed_by"`
	Report       *VisitReport `json:"report"`
	// Risk and FollowUps are set only on the answer that wrote the report.
	Risk      *RiskOutcome `json:"risk,omitempty"`
	FollowUps []FollowUp   `json:"follow_ups,omitempty"`
}

// doorVisit is the locked visit a submission is for.
type doorVisit struct {
	PlanID int64
	Seq    int
	USCC   string
	Date   time.Time
	TeamID int64
}

func (v doorVisit) object() string { return visitObject(v.PlanID, v.Seq) }

// lockDoorVisit locks visit seq of plan planID for a submission by
// inspectorID, so that submissions to one visit are taken one at a time (the
// report check, the replay check and the insert see each other). A visit that
// is not in a published plan, or not assigned to the inspector, is not found.
func lockDoorVisit(tx *gorm.DB, planID int64, seq int, inspectorID int64) (doorVisit, error) {
	var v doorVisit
	if seq <= 0 || seq > math.MaxInt32 {
		return v, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM (SELECT 1 FROM plan_visits WHERE plan_id = ? AND seq = ? FOR UPDATE) x`, planID, seq).
		Scan(&n).Error; err != nil {
		return v, translate(err, visitObject(planID, seq))
	}
	res := tx.Raw(`SELECT pv.plan_id, pv.seq, pv.uscc, pv.date, pv.team_id FROM published_visits pv
		WHERE pv.plan_id = ? AND pv.seq = ?
			AND EXISTS (SELECT 1 FROM visit_assignments a WHERE a.plan_id = pv.plan_id AND a.visit_seq = pv.seq AND a.inspector_id = ?)`,
		planID, seq, inspectorID).Scan(&v)
	if res.Error != nil {
		return v, translate(res.Error, visitObject(planID, seq))
	}
	if n == 0 || res.RowsAffected == 0 {
		return v, fmt.Errorf("%s: no visit of a published plan assigned to inspector %d: %w",
			visitObject(planID, seq), inspectorID, domain.ErrNotFound)
	}
	v.Date = civilUTC(v.Date)
	return v, nil
}

// civilUTC is t's civil date as midnight UTC.
func civilUTC(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// open refuses submissions to a reported visit, or to one not due yet.
func (v doorVisit) open(tx *gorm.DB, rules ResultRules) error {
	var reported []time.Time
	if err := tx.Raw(`SELECT confirmed_at FROM visit_reports WHERE plan_id = ? AND visit_seq = ?`, v.PlanID, v.Seq).
		Scan(&reported).Error; err != nil {
		return translate(err, v.object()+" report")
	}
	if len(reported) > 0 {
		return fmt.Errorf("%s: its results were confirmed by two inspectors on %s and are final; nothing more can be recorded: %w",
			v.object(), reported[0].Format(time.RFC3339), domain.ErrConflict)
	}
	if today := civilUTC(rules.Today); !rules.Today.IsZero() && v.Date.After(today) {
		return fmt.Errorf("%s is dated %s: check-ins and results are recorded from that day on (today is %s): %w",
			v.object(), civilDate(v.Date), civilDate(today), domain.ErrConflict)
	}
	return nil
}

// RecordCheckIn records that inspectorID arrived at visit seq of plan planID
// (one check-in per inspector and visit). A retry with the same client id
// returns the stored check-in (replayed = true) and adds nothing; the same
// client id with other content, or a second check-in of the inspector under
// another client id, is ErrConflict. Refused with a validation error naming
// the field: a bad client_id, an arrival time ahead of the clock ("at"), a
// position outside the globe or given by half ("lat", "lng", "accuracy_m").
// The visit must be a published plan's and assigned to the inspector (else
// ErrNotFound), dated today or earlier, and not reported yet (else
// ErrConflict).
func (s *Store) RecordCheckIn(ctx context.Context, planID int64, seq int, inspectorID int64, in CheckInInput, rules ResultRules) (CheckIn, bool, error) {
	var v domain.ValidationError
	cid := clientID(&v, in.ClientID)
	now := time.Now().UTC().Truncate(time.Microsecond)
	at := now
	if in.At != nil {
		at = in.At.UTC().Truncate(time.Microsecond)
		if at.After(now.Add(checkInSkew)) {
			v.Add("at", "is in the future (%s; the server's time is %s)", at.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	switch {
	case (in.Lat == nil) != (in.Lng == nil):
		v.Add("lat", "and lng come together: give both or neither")
	case in.Lat != nil:
		if math.IsNaN(*in.Lat) || *in.Lat < -90 || *in.Lat > 90 {
			v.Add("lat", "must be between -90 and 90, got %g", *in.Lat)
		}
		if math.IsNaN(*in.Lng) || *in.Lng < -180 || *in.Lng > 180 {
			v.Add("lng", "must be between -180 and 180, got %g", *in.Lng)
		}
	}
	if in.AccuracyM != nil {
		switch {
		case in.Lat == nil:
			v.Add("accuracy_m", "is the accuracy of lat/lng: give them too, or leave it out")
		case math.IsNaN(*in.AccuracyM) || *in.AccuracyM < 0 || math.IsInf(*in.AccuracyM, 0):
			v.Add("accuracy_m", "must be zero or more metres, got %g", *in.AccuracyM)
		}
	}
	if err := v.Err(); err != nil {
		return CheckIn{}, false, err
	}
	var out CheckIn
	replayed := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		dv, err := lockDoorVisit(tx, planID, seq, inspectorID)
		if err != nil {
			return err
		}
		var prior []CheckIn
		if err := tx.Raw(`SELECT * FROM visit_checkins WHERE client_id = ?`, cid).Scan(&prior).Error; err != nil {
			return translate(err, "check-in")
		}
		if len(prior) > 0 {
			p := prior[0]
			same := p.PlanID == planID && p.VisitSeq == seq && p.InspectorID == inspectorID &&
				(in.At == nil || p.At.Equal(at)) && sameFloat(p.Lat, in.Lat) && sameFloat(p.Lng, in.Lng) && sameFloat(p.AccuracyM, in.AccuracyM)
			if !same {
				return fmt.Errorf("client_id %s was already used for another check-in: make a new one for a new submission: %w", cid, domain.ErrConflict)
			}
			out, replayed = p, true
			return nil
		}
		if err := dv.open(tx, rules); err != nil {
			return err
		}
		var earlier []time.Time
		if err := tx.Raw(`SELECT at FROM visit_checkins WHERE plan_id = ? AND visit_seq = ? AND inspector_id = ?`, planID, seq, inspectorID).
			Scan(&earlier).Error; err != nil {
			return translate(err, "check-in")
		}
		if len(earlier) > 0 {
			return fmt.Errorf("inspector %d already checked in at %s on %s: %w", inspectorID, dv.object(), earlier[0].Format(time.RFC3339), domain.ErrConflict)
		}
		return translate(tx.Raw(`INSERT INTO visit_checkins (plan_id, visit_seq, inspector_id, client_id, at, lat, lng, accuracy_m)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`, planID, seq, inspectorID, cid, at, in.Lat, in.Lng, in.AccuracyM).Scan(&out).Error,
			dv.object()+" check-in")
	})
	return out, replayed, err
}

func sameFloat(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// normalize trims the texts and checks a result on its own (what needs no
// database): the outcome, the fields it needs and the fields it refuses.
func (in ResultInput) normalize() (ResultInput, time.Time, error) {
	var v domain.ValidationError
	in.ClientID = clientID(&v, in.ClientID)
	in.RuleCited, in.Note = strings.TrimSpace(in.RuleCited), strings.TrimSpace(in.Note)
	in.RectifyBy, in.NotDoneReason = strings.TrimSpace(in.RectifyBy), strings.TrimSpace(in.NotDoneReason)
	var rectify time.Time
	if !slices.Contains(ResultOutcomes, in.Outcome) {
		v.Add("outcome", "must be one of %s, got %q", strings.Join(ResultOutcomes, ", "), in.Outcome)
		return in, rectify, v.Err()
	}
	needs := func(field string, set bool, why string) {
		if !set {
			v.Add(field, "is required for outcome %s: %s", in.Outcome, why)
		}
	}
	refuses := func(field string, set bool) {
		if set {
			v.Add(field, "is only for outcome %s; leave it out for %s", map[string]string{
				"rule_cited": "minor or violation", "rectify_by": "violation", "transferred_to": "transferred",
				"not_done_reason": "not_done"}[field], in.Outcome)
		}
	}
	cites := in.Outcome == ResultMinor || in.Outcome == ResultViolation
	if cites {
		needs("rule_cited", in.RuleCited != "", "cite the rule breached (article and law)")
	} else {
		refuses("rule_cited", in.RuleCited != "")
	}
	if n := utf8.RuneCountInString(in.RuleCited); n > maxRuleCited {
		v.Add("rule_cited", "must be at most %d characters, got %d", maxRuleCited, n)
	}
	if in.Outcome == ResultViolation {
		needs("rectify_by", in.RectifyBy != "", "the rectification deadline, YYYY-MM-DD")
		if in.RectifyBy != "" {
			d, err := domain.ParseDate(in.RectifyBy, nil)
			if err != nil {
				v.Add("rectify_by", "%v", err)
			}
			rectify = d
		}
	} else {
		refuses("rectify_by", in.RectifyBy != "")
	}
	if in.Outcome == ResultTransferred {
		needs("transferred_to", in.TransferredTo != 0, "the id of the department the case goes to")
		if in.TransferredTo < 0 {
			v.Add("transferred_to", "must be a department id, got %d", in.TransferredTo)
		}
	} else {
		refuses("transferred_to", in.TransferredTo != 0)
	}
	if in.Outcome == ResultNotDone {
		if in.NotDoneReason == "" {
			needs("not_done_reason", false, "one of "+strings.Join(NotDoneReasons, ", "))
		} else if !slices.Contains(NotDoneReasons, in.NotDoneReason) {
			v.Add("not_done_reason", "must be one of %s, got %q", strings.Join(NotDoneReasons, ", "), in.NotDoneReason)
		}
	} else {
		refuses("not_done_reason", in.NotDoneReason != "")
	}
	if n := utf8.RuneCountInString(in.Note); n > maxNote {
		v.Add("note", "must be at most %d characters, got %d", maxNote, n)
	}
	return in, rectify, v.Err()
}

// ValidateResult checks a result on its own, as RecordResult does first: for
// callers (and fuzz tests) that want the field errors without a database.
func ValidateResult(in ResultInput) error {
	_, _, err := in.normalize()
	return err
}

// sameResult reports whether a stored result is what in (normalized) would
// record for taskSeq by inspectorID.
func sameResult(r TaskResult, planID int64, taskSeq int, inspectorID int64, in ResultInput) bool {
	rect := ""
	if r.RectifyBy != nil {
		rect = *r.RectifyBy
	}
	var to int64
	if r.TransferredTo != nil {
		to = *r.TransferredTo
	}
	reason := ""
	if r.NotDoneReason != nil {
		reason = *r.NotDoneReason
	}
	return r.PlanID == planID && r.TaskSeq == taskSeq && r.RecordedBy == inspectorID && r.Outcome == in.Outcome &&
		r.RuleCited == in.RuleCited && rect == in.RectifyBy && to == in.TransferredTo && reason == in.NotDoneReason && r.Note == in.Note
}

// taskResultRow reads task_results with its date as a date.
type taskResultRow struct {
	TaskResult
	RectifyDate *time.Time
}

const taskResultColumns = `id, plan_id, task_seq, visit_seq, uscc, demand_id, department_id, item_id, outcome, rule_cited,
	rectify_by AS rectify_date, transferred_to, not_done_reason, note, recorded_by, client_id, recorded_at`

func (r taskResultRow) result() TaskResult {
	out := r.TaskResult
	if r.RectifyDate != nil {
		d := civilDate(*r.RectifyDate)
		out.RectifyBy = &d
	}
	out.USCC = strings.TrimSpace(out.USCC)
	return out
}

// RecordResult records inspectorID's result for task taskSeq of visit seq of
// plan planID. Results are append-only: a new one for a task replaces the
// task's current result (and makes earlier confirmations stale), the old one
// stays on record. A retry with the same client id returns the stored result
// (replayed = true) and adds nothing; the same client id with other content
// is ErrConflict. Refused with a validation error naming the field: what
// ResultInput says, a rectify_by not after the visit's date, a transferred_to
// that is not another department. A task not of this visit is ErrNotFound;
// the visit rules are RecordCheckIn's. A check-in is not required first: the
// phone may upload its queue in any order, and a result recorded without one
// simply leaves the report's checked_in_at empty.
func (s *Store) RecordResult(ctx context.Context, planID int64, seq, taskSeq int, inspectorID int64, in ResultInput, rules ResultRules) (TaskResult, bool, error) {
	in, rectify, err := in.normalize()
	if err != nil {
		return TaskResult{}, false, err
	}
	var out TaskResult
	replayed := false
	err = s.tx(ctx, func(tx *gorm.DB) error {
		dv, err := lockDoorVisit(tx, planID, seq, inspectorID)
		if err != nil {
			return err
		}
		var prior []taskResultRow
		if err := tx.Raw(`SELECT `+taskResultColumns+` FROM task_results WHERE client_id = ?`, in.ClientID).Scan(&prior).Error; err != nil {
			return translate(err, "result")
		}
		if len(prior) > 0 {
			p := prior[0].result()
			if !sameResult(p, planID, taskSeq, inspectorID, in) {
				return fmt.Errorf("client_id %s was already used for another result: make a new one for a new submission: %w", in.ClientID, domain.ErrConflict)
			}
			out, replayed = p, true
			return nil
		}
		if err := dv.open(tx, rules); err != nil {
			return err
		}
		var task []struct {
			DemandID     int64
			DepartmentID int64
			ItemID       int64
		}
		if err := tx.Raw(`SELECT demand_id, department_id, item_id FROM plan_tasks WHERE plan_id = ? AND seq = ? AND visit_seq = ?`,
			planID, taskSeq, seq).Scan(&task).Error; err != nil {
			return translate(err, "task")
		}
		if len(task) == 0 {
			return fmt.Errorf("task %d is not a task of %s: %w", taskSeq, dv.object(), domain.ErrNotFound)
		}
		var v domain.ValidationError
		if in.Outcome == ResultViolation {
			most := orDefault(rules.MaxRectifyDays, 365)
			latest := dv.Date.AddDate(0, 0, most)
			switch {
			case !rectify.After(dv.Date):
				v.Add("rectify_by", "must be after the visit's date (%s), got %s", civilDate(dv.Date), in.RectifyBy)
			case rectify.After(latest):
				v.Add("rectify_by", "must be at most %d days after the visit (by %s), got %s", most, civilDate(latest), in.RectifyBy)
			}
		}
		if in.Outcome == ResultTransferred {
			if in.TransferredTo == task[0].DepartmentID {
				v.Add("transferred_to", "is the task's own department: a transfer (移送) goes to another one")
			} else {
				var n int64
				if err := tx.Raw(`SELECT count(*) FROM departments WHERE id = ?`, in.TransferredTo).Scan(&n).Error; err != nil {
					return translate(err, "department")
				}
				if n == 0 {
					v.Add("transferred_to", "no such department: %d", in.TransferredTo)
				}
			}
		}
		if err := v.Err(); err != nil {
			return err
		}
		var rect *string
		if in.RectifyBy != "" {
			rect = &in.RectifyBy
		}
		var to *int64
		if in.TransferredTo != 0 {
			to = &in.TransferredTo
		}
		var reason *string
		if in.NotDoneReason != "" {
			reason = &in.NotDoneReason
		}
		var row taskResultRow
		if err := tx.Raw(`INSERT INTO task_results (plan_id, task_seq, visit_seq, uscc, demand_id, department_id, item_id,
				outcome, rule_cited, rectify_by, transferred_to, not_done_reason, note, recorded_by, client_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::date, ?, ?, ?, ?, ?) RETURNING `+taskResultColumns,
			planID, taskSeq, seq, dv.USCC, task[0].DemandID, task[0].DepartmentID, task[0].ItemID,
			in.Outcome, in.RuleCited, rect, to, reason, in.Note, inspectorID, in.ClientID).Scan(&row).Error; err != nil {
			return translate(err, dv.object()+" result")
		}
		out = row.result()
		return nil
	})
	return out, replayed, err
}

// visitTask is a task of a visit with its current result and item.
type visitTask struct {
	Seq          int
	DemandID     int64
	DepartmentID int64
	ItemID       int64
	ItemName     string
	// the current result; ResultID 0 when none
	ResultID  int64
	Outcome   string
	RuleCited string
	RectifyBy *time.Time
}

func visitTasks(tx *gorm.DB, planID int64, seq int) ([]visitTask, error) {
	var out []visitTask
	err := tx.Raw(`SELECT t.seq, t.demand_id, t.department_id, t.item_id, i.name AS item_name,
			coalesce(r.id, 0) AS result_id, coalesce(r.outcome, '') AS outcome, coalesce(r.rule_cited, '') AS rule_cited,
			r.rectify_by
		FROM plan_tasks t JOIN items i ON i.id = t.item_id
			LEFT JOIN current_task_results r ON r.plan_id = t.plan_id AND r.task_seq = t.seq
		WHERE t.plan_id = ? AND t.visit_seq = ? ORDER BY t.seq`, planID, seq).Scan(&out).Error
	return out, translate(err, visitObject(planID, seq)+" tasks")
}

// resultsHash is what a confirmation confirms: the current result of each
// task of the visit, in task order.
func resultsHash(tasks []visitTask) []byte {
	h := sha256.New()
	var b [12]byte
	for _, t := range tasks {
		binary.BigEndian.PutUint32(b[:4], uint32(t.Seq))
		binary.BigEndian.PutUint64(b[4:], uint64(t.ResultID))
		h.Write(b[:])
	}
	return h.Sum(nil)
}

// ConfirmVisit records inspectorID's confirmation of the current results of
// visit seq of plan planID; every task must have a result (else ErrConflict,
// naming the first without). An inspector confirming again (after a change)
// replaces their confirmation. When a second assigned inspector's
// confirmation matches the current results, the same transaction writes the
// visit's report (visit_reports: the effective date, publish_due, the
// departments performed, the counts), applies rules.Risk to the business
// (risk_code_history with the deciding result, audited), and creates the
// follow-up demands: one redo demand per department with not-done tasks, one
// re-inspection demand per department with violations. A visit already
// reported is ErrConflict. A retry with the same client id answers with the
// stored confirmation and the visit's state now (replayed = true); the same
// client id for another visit or inspector is ErrConflict. actor names the
// inspector in the audit log.
func (s *Store) ConfirmVisit(ctx context.Context, actor string, planID int64, seq int, inspectorID int64, client string, rules ResultRules) (ConfirmOutcome, bool, error) {
	var v domain.ValidationError
	cid := clientID(&v, client)
	if err := v.Err(); err != nil {
		return ConfirmOutcome{}, false, err
	}
	var out ConfirmOutcome
	replayed := false
	err := s.tx(ctx, func(tx *gorm.DB) error {
		dv, err := lockDoorVisit(tx, planID, seq, inspectorID)
		if err != nil {
			return err
		}
		tasks, err := visitTasks(tx, planID, seq)
		if err != nil {
			return err
		}
		hash := resultsHash(tasks)
		var prior []Confirmation
		if err := tx.Raw(`SELECT plan_id, visit_seq, inspector_id, client_id, results_hash, confirmed_at
			FROM visit_confirmations WHERE client_id = ?`, cid).Scan(&prior).Error; err != nil {
			return translate(err, "confirmation")
		}
		if len(prior) > 0 {
			p := prior[0]
			if p.PlanID != planID || p.VisitSeq != seq || p.InspectorID != inspectorID {
				return fmt.Errorf("client_id %s was already used for another confirmation: make a new one for a new submission: %w", cid, domain.ErrConflict)
			}
			out.Confirmation, replayed = p, true
			return fillConfirmState(tx, &out, hash)
		}
		if err := dv.open(tx, rules); err != nil {
			return err
		}
		for _, t := range tasks {
			if t.ResultID == 0 {
				return fmt.Errorf("task %d (%s) of %s has no result yet: record every task's result before confirming: %w",
					t.Seq, t.ItemName, dv.object(), domain.ErrConflict)
			}
		}
		if err := tx.Raw(`INSERT INTO visit_confirmations (plan_id, visit_seq, inspector_id, client_id, results_hash)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (plan_id, visit_seq, inspector_id) DO UPDATE
				SET client_id = excluded.client_id, results_hash = excluded.results_hash, confirmed_at = now()
			RETURNING plan_id, visit_seq, inspector_id, client_id, results_hash, confirmed_at`,
			planID, seq, inspectorID, cid, hash).Scan(&out.Confirmation).Error; err != nil {
			return translate(err, dv.object()+" confirmation")
		}
		if err := fillConfirmState(tx, &out, hash); err != nil {
			return err
		}
		if len(out.ConfirmedBy) < 2 {
			return nil
		}
		return s.writeReport(tx, actor, dv, tasks, rules, &out)
	})
	return out, replayed, err
}

// fillConfirmState sets who confirmed the current results and the report.
func fillConfirmState(tx *gorm.DB, out *ConfirmOutcome, hash []byte) error {
	c := &out.Confirmation
	c.Current = string(c.ResultsHash) == string(hash)
	out.ConfirmedBy = []int64{}
	if err := tx.Raw(`SELECT inspector_id FROM visit_confirmations WHERE plan_id = ? AND visit_seq = ? AND results_hash = ?
		ORDER BY inspector_id`, c.PlanID, c.VisitSeq, hash).Scan(&out.ConfirmedBy).Error; err != nil {
		return translate(err, "confirmations")
	}
	r, err := visitReport(tx, c.PlanID, c.VisitSeq)
	out.Report = r
	return err
}

func visitReport(tx *gorm.DB, planID int64, seq int) (*VisitReport, error) {
	var rows []VisitReport
	if err := tx.Raw(`SELECT plan_id, visit_seq, uscc, to_char(visit_date, 'YYYY-MM-DD') AS visit_date, team_id, department_ids,
			performed_tasks, not_done_tasks, checked_in_at, confirmed_at, to_char(publish_due, 'YYYY-MM-DD') AS publish_due, published_at
		FROM visit_reports WHERE plan_id = ? AND visit_seq = ?`, planID, seq).Scan(&rows).Error; err != nil {
		return nil, translate(err, visitObject(planID, seq)+" report")
	}
	if len(rows) == 0 {
		return nil, nil
	}
	rows[0].USCC = strings.TrimSpace(rows[0].USCC)
	return &rows[0], nil
}

// writeReport writes the report of a visit two inspectors confirmed, with its
// effects, inside the confirming transaction.
func (s *Store) writeReport(tx *gorm.DB, actor string, dv doorVisit, tasks []visitTask, rules ResultRules, out *ConfirmOutcome) error {
	cal := rules.cal()
	depts := []int64{}
	performed, notDone := 0, 0
	for _, t := range tasks {
		if t.Outcome == ResultNotDone {
			notDone++
			continue
		}
		performed++
		if !slices.Contains(depts, t.DepartmentID) {
			depts = append(depts, t.DepartmentID)
		}
	}
	slices.Sort(depts)
	due := cal.AddWorkingDays(dv.Date, orDefault(rules.PublishWithinWorkingDays, PublicationWorkingDays))
	if err := tx.Exec(`INSERT INTO visit_reports (plan_id, visit_seq, uscc, visit_date, team_id, department_ids,
			performed_tasks, not_done_tasks, checked_in_at, publish_due)
		VALUES (?, ?, ?, ?::date, ?, ?, ?, ?, (SELECT min(at) FROM visit_checkins WHERE plan_id = ? AND visit_seq = ?), ?::date)`,
		dv.PlanID, dv.Seq, dv.USCC, civilDate(dv.Date), dv.TeamID, pq.Int64Array(depts), performed, notDone,
		dv.PlanID, dv.Seq, civilDate(due)).Error; err != nil {
		return translate(err, dv.object()+" report")
	}
	r, err := visitReport(tx, dv.PlanID, dv.Seq)
	if err != nil {
		return err
	}
	out.Report = r
	if err := appendAudit(tx, actor, "visit.report", dv.object(), OutcomeOK, map[string]any{
		"uscc": dv.USCC, "visit_date": r.VisitDate, "publish_due": r.PublishDue, "performed_tasks": performed,
		"not_done_tasks": notDone, "confirmed_by": out.ConfirmedBy,
	}); err != nil {
		return err
	}
	ro, err := applyRisk(tx, actor, dv, tasks, rules.Risk, rules.Language)
	if err != nil {
		return err
	}
	out.Risk = ro
	out.FollowUps, err = createFollowUps(tx, actor, dv, tasks, rules)
	return err
}

// applyRisk recomputes the business's code from the visit just reported and
// the business's earlier reports since its code was last set.
func applyRisk(tx *gorm.DB, actor string, dv doorVisit, tasks []visitTask, rule risk.Rule, lang messages.Lang) (*RiskOutcome, error) {
	var biz struct {
		RiskCode  string
		RiskSetAt time.Time
	}
	if err := tx.Raw(`SELECT risk_code, risk_set_at FROM businesses WHERE uscc = ? FOR UPDATE`, dv.USCC).Scan(&biz).Error; err != nil {
		return nil, translate(err, "business "+dv.USCC)
	}
	current := risk.Visit{PlanID: dv.PlanID, Seq: dv.Seq, Date: civilDate(dv.Date)}
	for _, t := range tasks {
		current.Results = append(current.Results, risk.Result{ID: t.ResultID, Outcome: t.Outcome, Item: t.ItemName, RuleCited: t.RuleCited})
	}
	visits := []risk.Visit{current}
	var earlier []struct {
		PlanID    int64
		VisitSeq  int
		VisitDate time.Time
		ResultID  int64
		Outcome   string
		ItemName  string
		RuleCited string
	}
	if err := tx.Raw(`SELECT r.plan_id, r.visit_seq, r.visit_date, c.id AS result_id, c.outcome, i.name AS item_name, c.rule_cited
		FROM visit_reports r JOIN current_task_results c ON c.plan_id = r.plan_id AND c.visit_seq = r.visit_seq
			JOIN items i ON i.id = c.item_id
		WHERE r.uscc = ? AND r.confirmed_at > ? AND NOT (r.plan_id = ? AND r.visit_seq = ?)
		ORDER BY r.visit_date DESC, r.confirmed_at DESC, r.plan_id DESC, r.visit_seq DESC, c.task_seq`,
		dv.USCC, biz.RiskSetAt, dv.PlanID, dv.Seq).Scan(&earlier).Error; err != nil {
		return nil, translate(err, "earlier results of "+dv.USCC)
	}
	for i, e := range earlier {
		if i == 0 || e.PlanID != earlier[i-1].PlanID || e.VisitSeq != earlier[i-1].VisitSeq {
			visits = append(visits, risk.Visit{PlanID: e.PlanID, Seq: e.VisitSeq, Date: civilDate(e.VisitDate)})
		}
		last := &visits[len(visits)-1]
		last.Results = append(last.Results, risk.Result{ID: e.ResultID, Outcome: e.Outcome, Item: e.ItemName, RuleCited: e.RuleCited})
	}
	d := rule.Apply(biz.RiskCode, visits)
	ro := &RiskOutcome{From: biz.RiskCode, To: d.Code, Changed: d.Changed, ResultID: d.ResultID}
	if !d.Changed {
		return ro, nil
	}
	text := d.Reason.Text(lang.OrDefault())
	ro.Reason, ro.ReasonCode, ro.ReasonParams = text, d.Reason.Code, &d.Reason.Params
	params, err := json.Marshal(d.Reason.Params)
	if err != nil {
		return nil, fmt.Errorf("risk reason: %w", err)
	}
	if err := tx.Exec(`UPDATE businesses SET risk_code = ?, risk_set_at = now(), risk_reason = ?, updated_at = now() WHERE uscc = ?`,
		d.Code, text, dv.USCC).Error; err != nil {
		return nil, translate(err, "business "+dv.USCC)
	}
	if err := tx.Exec(`INSERT INTO risk_code_history (uscc, risk_code, set_at, reason, set_by, result_id, reason_code, reason_params)
		VALUES (?, ?, now(), ?, ?, ?, ?, ?::jsonb)`,
		dv.USCC, d.Code, text, actor, d.ResultID, d.Reason.Code, string(params)).Error; err != nil {
		return nil, translate(err, "risk code history")
	}
	return ro, appendAudit(tx, actor, "business.risk_change", "business/"+dv.USCC, OutcomeOK, map[string]any{
		"from": biz.RiskCode, "to": d.Code, "reason": text, "reason_code": d.Reason.Code, "reason_params": d.Reason.Params,
		"result_id": d.ResultID, "visit": dv.object(),
	})
}

// followGroup is the tasks of one department that need a follow-up.
type followGroup struct {
	dept    int64
	demand  int64 // the demand of the group's first task: its announce days, source, priority
	items   []int64
	latest  time.Time // not-done: latest window end of the original demands; violation: latest rectify_by
	demands []int64
}

// createFollowUps makes the redo and re-inspection demands of a reported
// visit. The unique index on the origin keeps each one to one row even if a
// report were written twice.
func createFollowUps(tx *gorm.DB, actor string, dv doorVisit, tasks []visitTask, rules ResultRules) ([]FollowUp, error) {
	cal := rules.cal()
	group := func(kind string) []*followGroup {
		var out []*followGroup
		for _, t := range tasks {
			want := (kind == OriginRedo && t.Outcome == ResultNotDone) || (kind == OriginReinspection && t.Outcome == ResultViolation && t.RectifyBy != nil)
			if !want {
				continue
			}
			i := slices.IndexFunc(out, func(g *followGroup) bool { return g.dept == t.DepartmentID })
			if i < 0 {
				out = append(out, &followGroup{dept: t.DepartmentID, demand: t.DemandID})
				i = len(out) - 1
			}
			g := out[i]
			if !slices.Contains(g.items, t.ItemID) {
				g.items = append(g.items, t.ItemID)
			}
			if !slices.Contains(g.demands, t.DemandID) {
				g.demands = append(g.demands, t.DemandID)
			}
			if kind == OriginReinspection && civilUTC(*t.RectifyBy).After(g.latest) {
				g.latest = civilUTC(*t.RectifyBy)
			}
		}
		return out
	}
	today := civilUTC(rules.Today)
	if rules.Today.IsZero() {
		today = civilUTC(time.Now())
	}
	if dv.Date.After(today) {
		today = dv.Date
	}
	nextWorkingDay := cal.AddWorkingDays(today, 1)
	var out []FollowUp
	for _, kind := range []string{OriginRedo, OriginReinspection} {
		for _, g := range group(kind) {
			var orig struct {
				Title        string
				Priority     int
				Source       string
				ScenarioID   *int64
				AnnounceDays int
				WindowTo     time.Time
			}
			if err := tx.Raw(`SELECT title, priority, source, scenario_id, announce_days,
					(SELECT max(window_to) FROM demands WHERE id = ANY(?::bigint[])) AS window_to
				FROM demands WHERE id = ?`, pq.Int64Array(g.demands), g.demand).Scan(&orig).Error; err != nil {
				return nil, translate(err, "demand")
			}
			var from, to time.Time
			var title string
			announce := orig.AnnounceDays
			if kind == OriginRedo {
				from = nextWorkingDay
				to = cal.AddWorkingDays(from, orDefault(rules.RedoMinWindowWorkingDays, 10)-1)
				if w := civilUTC(orig.WindowTo); w.After(to) {
					to = w
				}
				title = followTitle(rules.Language, "demand.follow.redo", orig.Title, dv)
			} else {
				from = cal.AddWorkingDays(g.latest, 1)
				if from.Before(nextWorkingDay) {
					from = nextWorkingDay
				}
				to = cal.AddWorkingDays(from, orDefault(rules.ReinspectionWindowWorkingDays, 20)-1)
				announce = 0
				title = followTitle(rules.Language, "demand.follow.reinspection", orig.Title, dv)
			}
			if n := utf8.RuneCountInString(title); n > 200 {
				title = string([]rune(title)[:200])
			}
			var ids []int64
			if err := tx.Raw(`INSERT INTO demands (department_id, title, target_kind, window_from, window_to, priority, source,
					scenario_id, announce_days, created_by, origin_kind, origin_plan_id, origin_visit_seq)
				VALUES (?, ?, 'list', ?::date, ?::date, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (origin_plan_id, origin_visit_seq, origin_kind, department_id) WHERE origin_kind IS NOT NULL DO NOTHING
				RETURNING id`, g.dept, title, civilDate(from), civilDate(to), orig.Priority, orig.Source, orig.ScenarioID,
				announce, actor, kind, dv.PlanID, dv.Seq).Scan(&ids).Error; err != nil {
				return nil, translate(err, kind+" demand")
			}
			if len(ids) == 0 {
				continue // made already
			}
			id := ids[0]
			slices.Sort(g.items)
			if err := tx.Exec(`INSERT INTO demand_items (demand_id, item_id) SELECT ?, unnest(?::bigint[])`, id, pq.Int64Array(g.items)).Error; err != nil {
				return nil, translate(err, kind+" demand items")
			}
			if err := tx.Exec(`INSERT INTO demand_businesses (demand_id, uscc) VALUES (?, ?)`, id, dv.USCC).Error; err != nil {
				return nil, translate(err, kind+" demand business")
			}
			f := FollowUp{DemandID: id, Kind: kind, DepartmentID: g.dept, ItemIDs: g.items, WindowFrom: civilDate(from), WindowTo: civilDate(to)}
			if err := appendAudit(tx, actor, "demand.follow_up", objectID("demand", id), OutcomeOK, map[string]any{
				"kind": kind, "visit": dv.object(), "department_id": g.dept, "item_ids": g.items, "uscc": dv.USCC,
				"window_from": f.WindowFrom, "window_to": f.WindowTo, "announce_days": announce,
			}); err != nil {
				return nil, err
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// followTitle names a follow-up demand: its kind, the original demand's
// title when it has one, and the visit.
func followTitle(lang messages.Lang, kind, original string, dv doorVisit) string {
	l := lang.OrDefault()
	visit := risk.VisitName(l, dv.PlanID, dv.Seq, civilDate(dv.Date))
	if original = strings.TrimSpace(original); original != "" {
		return l.T("demand.follow.title", l.T(kind), original, visit)
	}
	return l.T("demand.follow.title_bare", l.T(kind), visit)
}

// DoorInspector is an inspector of a visit, with their certificate number.
type DoorInspector struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// Code is the law-enforcement certificate number (执法证号).
	Code  string `json:"code"`
	Phone string `json:"phone"`
	Role  string `json:"role"`
}

// DoorTask is a task of a visit with its item and current result.
type DoorTask struct {
	TaskSeq      int         `json:"task_seq"`
	ItemID       int64       `json:"item_id"`
	ItemCode     string      `json:"item_code"`
	ItemName     string      `json:"item_name"`
	LegalBasis   string      `json:"legal_basis"`
	DepartmentID int64       `json:"department_id"`
	Department   string      `json:"department"`
	DemandID     int64       `json:"demand_id"`
	Result       *TaskResult `json:"result" gorm:"-"`
	// PublicHidden: the task was added by a later plan's join and the
	// business may not see it yet (an unannounced item before the visit's
	// day, an announced one before its notice), so the public /v/ page
	// leaves it out. Staff see every task.
	PublicHidden bool `json:"-"`
}

// DoorVisit is what the inspectors of a visit see at the door.
type DoorVisit struct {
	PlanID       int64           `json:"plan_id"`
	VisitSeq     int             `json:"visit_seq"`
	Date         string          `json:"date"`
	OriginalDate string          `json:"original_date"`
	USCC         string          `json:"uscc"`
	BusinessName string          `json:"business_name"`
	Address      string          `json:"address"`
	TeamID       int64           `json:"team_id"`
	TeamName     string          `json:"team_name"`
	RouteOrder   int             `json:"route_order"`
	Inspectors   []DoorInspector `json:"inspectors"`
	Tasks        []DoorTask      `json:"tasks"`
	CheckIns     []CheckIn       `json:"check_ins"`
	// Confirmations, with Current telling which confirm the results as they
	// are now; ResultsHash is what a confirmation now would confirm.
	Confirmations []Confirmation `json:"confirmations"`
	ResultsHash   Hex            `json:"results_hash"`
	Report        *VisitReport   `json:"report"`
}

// InspectorVisitDays returns the nearest days before and after day (a civil
// date) on which inspector inspectorID has a published visit assigned, at
// its effective date; with none on a side, the day before or after.
func (s *Store) InspectorVisitDays(ctx context.Context, inspectorID int64, day time.Time) (prev, next time.Time, err error) {
	var r struct {
		Prev *time.Time
		Next *time.Time
	}
	d := civilDate(day)
	err = s.db.WithContext(ctx).Raw(`SELECT
		(SELECT max(v.date) FROM published_visits v JOIN visit_assignments a ON a.plan_id = v.plan_id AND a.visit_seq = v.seq
			WHERE a.inspector_id = ? AND v.date < ?::date) AS prev,
		(SELECT min(v.date) FROM published_visits v JOIN visit_assignments a ON a.plan_id = v.plan_id AND a.visit_seq = v.seq
			WHERE a.inspector_id = ? AND v.date > ?::date) AS next`, inspectorID, d, inspectorID, d).Scan(&r).Error
	if err != nil {
		return prev, next, translate(err, objectID("inspector", inspectorID)+" visit days")
	}
	base := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	prev, next = base.AddDate(0, 0, -1), base.AddDate(0, 0, 1)
	if r.Prev != nil {
		prev = *r.Prev
	}
	if r.Next != nil {
		next = *r.Next
	}
	return prev, next, nil
}
