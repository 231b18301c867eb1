package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FiguresQuery is one period of the results figures: civil dates, both
// included.
type FiguresQuery struct {
	From, To time.Time
	// Today decides which unpublished reports are overdue rather than pending.
	Today time.Time
	// Location is the zone whose civil date of published_at is compared with
	// publish_due.
	Location *time.Location
	// DepartmentID, when set, counts only visits carrying that department's
	// tasks (and, among results, only its tasks).
	DepartmentID int64
}

// Figures are what a period's visits came to (issue 9, item 6).
type Figures struct {
	From string `json:"from"`
	To   string `json:"to"`
	// VisitsPlanned: visits of published plans whose effective date (after
	// moves) lies in the period.
	VisitsPlanned int `json:"visits_planned"`
	// VisitsDone: confirmed reports of the period with at least one
	// performed task (a result other than not_done).
	VisitsDone int `json:"visits_done"`
	// DoneRate is VisitsDone / VisitsPlanned (0 with none planned).
	DoneRate float64 `json:"done_rate"`
	// VisitsAttempted: confirmed reports whose every task was not done.
	VisitsAttempted int `json:"visits_attempted"`
	// JointVisits: performed visits whose performed tasks span two or more
	// departments; JointVisitRate = JointVisits / VisitsDone.
	JointVisits    int     `json:"joint_visits"`
	JointVisitRate float64 `json:"joint_visit_rate"`
	// ResultsByOutcome counts the current results of the period's reported
	// tasks by outcome (every outcome listed, zeros included).
	ResultsByOutcome map[string]int `json:"results_by_outcome"`
	// Publication of the period's reports: published on or before the
	// deadline, after it, not yet with the deadline ahead, not yet with it
	// passed.
	PublishedOnTime    int `json:"published_on_time"`
	PublishedLate      int `json:"published_late"`
	PublicationPending int `json:"publication_pending"`
	PublicationOverdue int `json:"publication_overdue"`
	// OnTimeRate is PublishedOnTime / (PublishedOnTime + PublishedLate +
	// PublicationOverdue): of the reports whose deadline has been decided.
	OnTimeRate float64 `json:"on_time_rate"`
}

// Outcomes are the result outcomes in the order figures list them.
var Outcomes = []string{"compliant", "minor", "violation", "transferred", "not_done"}

// ResultFigures computes the figures of q's period.
func (s *Store) ResultFigures(ctx context.Context, q FiguresQuery) (Figures, error) {
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	from, to, today := civilDate(q.From), civilDate(q.To), civilDate(q.Today)
	f := Figures{From: from, To: to, ResultsByOutcome: map[string]int{}}
	for _, o := range Outcomes {
		f.ResultsByOutcome[o] = 0
	}
	const carries = `($3::bigint = 0 OR EXISTS (SELECT 1 FROM plan_tasks t WHERE t.plan_id = %[1]s.plan_id AND t.visit_seq = %[1]s.%[2]s AND t.department_id = $3::bigint))`
	if err := s.sql.QueryRowContext(ctx, `SELECT count(*) FROM published_visits v
		WHERE v.date BETWEEN $1::date AND $2::date AND `+fmt.Sprintf(carries, "v", "seq"), from, to, q.DepartmentID).
		Scan(&f.VisitsPlanned); err != nil {
		return f, translatePg(err, "figures: planned visits")
	}
	// rep: the period's reports; res: their tasks' current results (of the
	// department, when scoped); per: each visit's performed tasks and
	// departments, read from the results themselves.
	const with = `
WITH rep AS (
	SELECT r.plan_id, r.visit_seq, r.publish_due, r.published_at FROM visit_reports r
	WHERE r.visit_date BETWEEN $1::date AND $2::date AND %s
), res AS (
	SELECT DISTINCT ON (t.plan_id, t.task_seq) t.plan_id, t.visit_seq, t.department_id, t.outcome
	FROM task_results t JOIN rep ON rep.plan_id = t.plan_id AND rep.visit_seq = t.visit_seq
	ORDER BY t.plan_id, t.task_seq, t.id DESC
), per AS (
	SELECT rep.plan_id, rep.visit_seq,
		count(res.outcome) FILTER (WHERE res.outcome <> 'not_done') AS performed,
		count(DISTINCT res.department_id) FILTER (WHERE res.outcome <> 'not_done') AS depts
	FROM rep LEFT JOIN res ON res.plan_id = rep.plan_id AND res.visit_seq = rep.visit_seq
	GROUP BY rep.plan_id, rep.visit_seq
)`
	w := fmt.Sprintf(with, fmt.Sprintf(carries, "r", "visit_seq"))
	if err := s.sql.QueryRowContext(ctx, w+`
SELECT count(*) FILTER (WHERE performed > 0), count(*) FILTER (WHERE performed = 0), count(*) FILTER (WHERE depts >= 2) FROM per`,
		from, to, q.DepartmentID).Scan(&f.VisitsDone, &f.VisitsAttempted, &f.JointVisits); err != nil {
		return f, translatePg(err, "figures: visits done")
	}
	err := s.queryRows(ctx, w+`
SELECT outcome, count(*) FROM res WHERE $3::bigint = 0 OR department_id = $3::bigint GROUP BY outcome`,
		[]any{from, to, q.DepartmentID}, func(rows *sql.Rows) error {
			var o string
			var n int
			if err := rows.Scan(&o, &n); err != nil {
				return err
			}
			f.ResultsByOutcome[o] = n
			return nil
		})
	if err != nil {
		return f, fmt.Errorf("figures: results: %w", err)
	}
	if err := s.sql.QueryRowContext(ctx, w+`
SELECT count(*) FILTER (WHERE published_at IS NOT NULL AND (published_at AT TIME ZONE $4)::date <= publish_due),
	count(*) FILTER (WHERE published_at IS NOT NULL AND (published_at AT TIME ZONE $4)::date > publish_due),
	count(*) FILTER (WHERE published_at IS NULL AND publish_due >= $5::date),
	count(*) FILTER (WHERE published_at IS NULL AND publish_due < $5::date)
FROM rep`, from, to, q.DepartmentID, loc.String(), today).
		Scan(&f.PublishedOnTime, &f.PublishedLate, &f.PublicationPending, &f.PublicationOverdue); err != nil {
		return f, translatePg(err, "figures: publication")
	}
	if f.VisitsPlanned > 0 {
		f.DoneRate = float64(f.VisitsDone) / float64(f.VisitsPlanned)
	}
	if f.VisitsDone > 0 {
		f.JointVisitRate = float64(f.JointVisits) / float64(f.VisitsDone)
	}
	if decided := f.PublishedOnTime + f.PublishedLate + f.PublicationOverdue; decided > 0 {
		f.OnTimeRate = float64(f.PublishedOnTime) / float64(decided)
	}
	return f, nil
}
