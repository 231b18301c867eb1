package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// What an outside verifier needs beyond the target draws (issue 19 part 5):
// the inspector draws and the placed tasks of a published plan, each only
// once it can no longer reveal a visit still to come.

// PublicInspectorDraws is a plan's inspector draws whose business has no
// published visit still to come (of any plan: a conservative rule that may
// hold a draw back longer than needed, never shorter), and how many are
// still held back.
type PublicInspectorDraws struct {
	Draws   []PlanDraw `json:"draws"`
	Pending int        `json:"pending"`
}

// PublicInspectorDraws returns a published plan's inspector draws that are
// public on today.
func (s *Store) PublicInspectorDraws(ctx context.Context, id int64, today time.Time) (PublicInspectorDraws, error) {
	out := PublicInspectorDraws{Draws: []PlanDraw{}}
	if _, err := s.PublicPlan(ctx, id); err != nil {
		return out, err
	}
	all, err := s.planDraws(ctx, id, 0, 0)
	if err != nil {
		return out, err
	}
	coming := map[string]bool{}
	err = s.queryRows(ctx, `SELECT DISTINCT uscc FROM published_visits WHERE date >= $1::date`, []any{civilDate(today)},
		func(rows *sql.Rows) error {
			var u string
			if err := rows.Scan(&u); err != nil {
				return err
			}
			coming[u] = true
			return nil
		})
	if err != nil {
		return out, fmt.Errorf("visits to come: %w", err)
	}
	for _, d := range all.Items {
		if d.Kind != "inspectors" {
			continue
		}
		if coming[visitKeyBusiness(d.VisitKey)] {
			out.Pending++
			continue
		}
		out.Draws = append(out.Draws, d)
	}
	return out, nil
}

// visitKeyBusiness is the USCC a visit key starts with ("USCC#n",
// "USCC/date/join:…").
func visitKeyBusiness(k string) string {
	if i := strings.IndexAny(k, "#/"); i >= 0 {
		return k[:i]
	}
	return k
}

// PublicTask is a placed task of a published plan whose visit has happened
// (its date, after moves, is before today): which business a demand's task
// went to, so a verifier can check it was drawn.
type PublicTask struct {
	DemandID int64  `json:"demand_id"`
	USCC     string `json:"uscc"`
	PlanID   int64  `json:"visit_plan_id"`
	VisitSeq int    `json:"visit_seq"`
	Date     string `json:"date"`
}

// PublicTasks lists a published plan's placed tasks of its sample demands
// whose visit's date has passed, and how many are still to come.
func (s *Store) PublicTasks(ctx context.Context, id int64, today time.Time) ([]PublicTask, int, error) {
	if _, err := s.PublicPlan(ctx, id); err != nil {
		return nil, 0, err
	}
	out := []PublicTask{}
	pending := 0
	err := s.queryRows(ctx, `SELECT DISTINCT t.demand_id, t.uscc, v.plan_id, v.seq, v.date
		FROM plan_tasks t JOIN published_visits v
			ON v.plan_id = COALESCE(t.join_plan_id, t.plan_id) AND v.seq = COALESCE(t.join_visit_seq, t.visit_seq)
		WHERE t.plan_id = $1 AND t.demand_id IN (SELECT demand_id FROM plan_draws WHERE plan_id = $1 AND kind = 'targets')
		ORDER BY t.demand_id, t.uscc, v.plan_id, v.seq`, []any{id}, func(rows *sql.Rows) error {
		var t PublicTask
		var date time.Time
		if err := rows.Scan(&t.DemandID, &t.USCC, &t.PlanID, &t.VisitSeq, &date); err != nil {
			return err
		}
		t.Date = civilDate(date)
		if t.Date >= civilDate(today) {
			pending++
			return nil
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("tasks of %s: %w", planObject(id), err)
	}
	return out, pending, nil
}
