package store

import (
	"context"
	"strings"
	"time"
)

// Reads for the registry pages (issue 18): a business's published visits
// and their results as staff see them, and the business search.

// businessSearch is the condition of BusinessFilter.Search over businesses b:
// the name contains the text, in any case, or the USCC starts with it (codes
// are upper case; a code typed in lower case still matches). LIKE's wildcards
// in the text match themselves.
func businessSearch(text string) (string, []any) {
	text = strings.TrimSpace(text)
	if text == "" {
		return "", nil
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(text)
	return `(b.name ILIKE ? OR b.uscc LIKE ?)`, []any{"%" + esc + "%", strings.ToUpper(esc) + "%"}
}

// MaxBusinessVisits bounds the visits BusinessVisits returns: the latest.
const MaxBusinessVisits = 200

// BusinessVisit is one published visit to a business as staff see it: every
// item, joined ones included, with no notice period hiding anything, and the
// current result of each task once recorded.
type BusinessVisit struct {
	ScheduleVisit
	// Results are the current results of the visit's tasks, by department
	// and item; empty until the first is recorded.
	Results []BusinessResult `json:"results"`
	// ConfirmedAt is when two inspectors confirmed the results (the visit
	// report); PublishedAt when they were published (一公开). Nil until then.
	ConfirmedAt *time.Time `json:"confirmed_at"`
	PublishedAt *time.Time `json:"published_at"`
}

// BusinessResult is the current result of one task.
type BusinessResult struct {
	DepartmentName string `json:"department_name"`
	ItemCode       string `json:"item_code"`
	ItemName       string `json:"item_name"`
	// Outcome is one of ResultOutcomes.
	Outcome string `json:"outcome"`
}

// BusinessVisits returns the published visits to business uscc, latest first
// (at most MaxBusinessVisits), with their results; with teamID > 0 only the
// visits that team leads. Unlike BusinessSchedule it is for staff: an
// unannounced visit or a joined item shows before its day. An unknown
// business has no visits.
func (s *Store) BusinessVisits(ctx context.Context, uscc string, teamID int64, now time.Time, loc *time.Location) ([]BusinessVisit, error) {
	db := s.db.WithContext(ctx)
	q := `SELECT ` + visitDetailColumns + ` FROM published_visits v JOIN teams t ON t.id = v.team_id WHERE v.uscc = ?`
	args := []any{uscc}
	if teamID > 0 {
		q += ` AND v.team_id = ?`
		args = append(args, teamID)
	}
	q += ` ORDER BY v.date DESC, v.plan_id DESC, v.seq LIMIT ?`
	args = append(args, MaxBusinessVisits)
	var rows []scheduleVisitRow
	if err := db.Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, translate(err, "visits of business "+uscc)
	}
	day := today(now, loc)
	out := make([]BusinessVisit, 0, len(rows))
	at := make(map[VisitKey]int, len(rows))
	for i := range rows {
		v, err := rows[i].common(day)
		if err != nil {
			return nil, err
		}
		at[VisitKey{v.PlanID, v.VisitSeq}] = len(out)
		out = append(out, BusinessVisit{ScheduleVisit: v, Results: []BusinessResult{}})
	}
	if len(out) == 0 {
		return out, nil
	}

	var results []struct {
		PlanID   int64
		VisitSeq int
		BusinessResult
	}
	// The current result of each task is its latest row (as
	// current_task_results reads it), here over the business's rows alone.
	if err := db.Raw(`SELECT c.plan_id, c.visit_seq, d.name AS department_name, i.code AS item_code,
			i.name AS item_name, c.outcome
		FROM (SELECT DISTINCT ON (t.plan_id, t.task_seq) t.plan_id, t.visit_seq, t.task_seq, t.department_id,
				t.item_id, t.outcome
			FROM task_results t WHERE t.uscc = ? ORDER BY t.plan_id, t.task_seq, t.id DESC) c
		JOIN departments d ON d.id = c.department_id JOIN items i ON i.id = c.item_id
		ORDER BY c.plan_id, c.visit_seq, d.code, i.code, c.task_seq`, uscc).Scan(&results).Error; err != nil {
		return nil, translate(err, "results of business "+uscc)
	}
	for _, r := range results {
		if i, ok := at[VisitKey{r.PlanID, r.VisitSeq}]; ok {
			out[i].Results = append(out[i].Results, r.BusinessResult)
		}
	}
	var reports []struct {
		PlanID      int64
		VisitSeq    int
		ConfirmedAt time.Time
		PublishedAt *time.Time
	}
	if err := db.Raw(`SELECT plan_id, visit_seq, confirmed_at, published_at FROM visit_reports WHERE uscc = ?`, uscc).
		Scan(&reports).Error; err != nil {
		return nil, translate(err, "reports of business "+uscc)
	}
	for _, r := range reports {
		if i, ok := at[VisitKey{r.PlanID, r.VisitSeq}]; ok {
			confirmed := r.ConfirmedAt
			out[i].ConfirmedAt, out[i].PublishedAt = &confirmed, r.PublishedAt
		}
	}
	return out, nil
}
