package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"time"

	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
)

// RoutineQuery selects the businesses of one risk code that are due a
// routine visit (DESIGN.md §2a: red monthly, yellow quarterly …).
type RoutineQuery struct {
	RiskCode string
	// VisitedSince: a business with a performed visit (a confirmed report
	// with a task done) dated after this day, or a published visit still to
	// come (no report, dated Today or later), is not due. A past published
	// visit with no report, or one whose every task was not done, does not
	// count: nobody inspected the business.
	VisitedSince time.Time
	// Today is today's civil date in the configured zone; zero means the
	// UTC date of the clock.
	Today time.Time
	// WindowFrom is the first day of the run's demands. A business named by an
	// open routine demand of Actor whose window starts before WindowFrom and
	// has not ended by then is already pending and not due again. Demands of
	// the run itself (window starting on WindowFrom) do not count, so that a
	// redelivered run finds the same businesses.
	WindowFrom time.Time
	Actor      string
}

// RoutineDepartment is one department's items of a scenario.
type RoutineDepartment struct {
	DepartmentID int64
	ItemIDs      []int64
}

// RoutineGroup is a scenario with the due businesses of its industries and
// the departments owning items of it.
type RoutineGroup struct {
	ScenarioID   int64
	ScenarioCode string
	Businesses   []string // sorted
	Departments  []RoutineDepartment
}

// RoutineDue returns the groups of businesses due a routine visit: of the
// risk code, not on the leave-alone list (无事不扰), with no performed or
// upcoming visit after q.VisitedSince (see RoutineQuery), not pending in an earlier routine demand; grouped by
// every scenario whose industries hold the business's industry. Unmatched
// counts the due businesses no scenario applies to (they get no demand).
func (s *Store) RoutineDue(ctx context.Context, q RoutineQuery) (groups []RoutineGroup, unmatched int, err error) {
	db := s.db.WithContext(ctx)
	const due = `
	WITH due AS (
		SELECT b.uscc::text AS uscc, b.industry_code FROM businesses b
		WHERE b.risk_code = @risk AND b.list_kind <> 'leave_alone'
		AND NOT EXISTS (SELECT 1 FROM visit_reports r WHERE r.uscc = b.uscc AND r.visit_date > CAST(@since AS date)
			AND EXISTS (SELECT 1 FROM task_results t WHERE t.plan_id = r.plan_id AND t.visit_seq = r.visit_seq
				AND t.outcome <> 'not_done' AND NOT EXISTS (SELECT 1 FROM task_results l
					WHERE l.plan_id = t.plan_id AND l.task_seq = t.task_seq AND l.id > t.id)))
		AND NOT EXISTS (SELECT 1 FROM published_visits v WHERE v.uscc = b.uscc
			AND v.date > CAST(@since AS date) AND v.date >= CAST(@today AS date)
			AND NOT EXISTS (SELECT 1 FROM visit_reports x WHERE x.plan_id = v.plan_id AND x.visit_seq = v.seq))
		AND NOT EXISTS (SELECT 1 FROM demand_businesses x JOIN demands d ON d.id = x.demand_id
			WHERE x.uscc = b.uscc AND d.status = 'open' AND d.source = 'routine' AND d.created_by = @actor
			AND d.window_from < CAST(@wfrom AS date) AND d.window_to >= CAST(@wfrom AS date))
	)`
	today := q.Today
	if today.IsZero() {
		today = time.Now().UTC()
	}
	args := map[string]any{"risk": q.RiskCode, "since": civilDate(q.VisitedSince), "wfrom": civilDate(q.WindowFrom),
		"actor": q.Actor, "today": civilDate(today)}
	var rows []struct {
		ScenarioID int64
		Code       string
		USCC       string
	}
	if err := db.Raw(due+`
	SELECT s.id AS scenario_id, s.code, d.uscc FROM due d JOIN scenarios s ON d.industry_code = ANY (s.industry_codes)
	ORDER BY s.id, d.uscc`, args).Scan(&rows).Error; err != nil {
		return nil, 0, translate(err, "routine businesses")
	}
	var n int64
	if err := db.Raw(due+`
	SELECT count(*) FROM due d WHERE NOT EXISTS (SELECT 1 FROM scenarios s WHERE d.industry_code = ANY (s.industry_codes))`,
		args).Scan(&n).Error; err != nil {
		return nil, 0, translate(err, "routine businesses")
	}
	if len(rows) == 0 {
		return nil, int(n), nil
	}
	var depts []struct {
		ScenarioID   int64
		DepartmentID int64
		ItemIDs      pq.Int64Array `gorm:"type:bigint[]"`
	}
	if err := db.Raw(`SELECT si.scenario_id, i.department_id, array_agg(i.id ORDER BY i.id) AS item_ids
		FROM scenario_items si JOIN items i ON i.id = si.item_id
		GROUP BY si.scenario_id, i.department_id ORDER BY si.scenario_id, i.department_id`).Scan(&depts).Error; err != nil {
		return nil, 0, translate(err, "scenario items")
	}
	byScenario := map[int64][]RoutineDepartment{}
	for _, d := range depts {
		byScenario[d.ScenarioID] = append(byScenario[d.ScenarioID], RoutineDepartment{DepartmentID: d.DepartmentID, ItemIDs: []int64(d.ItemIDs)})
	}
	for _, r := range rows {
		if len(groups) == 0 || groups[len(groups)-1].ScenarioID != r.ScenarioID {
			groups = append(groups, RoutineGroup{ScenarioID: r.ScenarioID, ScenarioCode: r.Code, Departments: byScenario[r.ScenarioID]})
		}
		g := &groups[len(groups)-1]
		g.Businesses = append(g.Businesses, r.USCC)
	}
	return groups, int(n), nil
}

// InternalTokenID returns the id of the internal token called name, creating
// it on first use. It exists only so that internal callers (the scheduler)
// can key idempotent submissions (idempotency_keys references a token). The
// row is created already revoked, with the hash of 32 random bytes nobody
// ever sees: it can never authenticate. created_by is name, so an API token
// someone happens to call the same is never taken for it. Concurrent first
// calls serialise on an advisory lock and get the same row.
func (s *Store) InternalTokenID(ctx context.Context, name string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtext('internal token ' || ?))`, name).Error; err != nil {
			return translate(err, "internal token")
		}
		var ids []int64
		if err := tx.Raw(`SELECT id FROM api_tokens WHERE name = ? AND created_by = ? AND role = 'admin' ORDER BY id LIMIT 1`,
			name, name).Scan(&ids).Error; err != nil {
			return translate(err, "internal token")
		}
		if len(ids) > 0 {
			id = ids[0]
			return nil
		}
		var raw [32]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return fmt.Errorf("internal token: %w", err)
		}
		now := time.Now().UTC()
		row := tokenRow{Name: name, Role: string(domain.RoleAdmin), TokenHash: hashToken(string(raw[:])), CreatedBy: name, RevokedAt: &now}
		if err := tx.Create(&row).Error; err != nil {
			return translate(err, "internal token")
		}
		id = row.ID
		return appendAudit(tx, name, "token.create", "token/"+strconv.FormatInt(row.ID, 10), OutcomeOK,
			map[string]any{"role": string(domain.RoleAdmin), "name": name, "internal": true, "revoked": true})
	})
	return id, err
}

// PlanStartedBy returns the latest plan created by actor whose horizon starts
// on from and that is running, draft or published; found is false when there
// is none (discarded and failed plans do not count).
func (s *Store) PlanStartedBy(ctx context.Context, actor string, from time.Time) (p Plan, found bool, err error) {
	var rows []planRow
	if err := s.db.WithContext(ctx).Raw(`SELECT `+planColumns+` FROM plans
		WHERE created_by = ? AND horizon_from = ?::date AND status IN ('running', 'draft', 'published')
		ORDER BY id DESC LIMIT 1`, actor, civilDate(from)).Scan(&rows).Error; err != nil {
		return Plan{}, false, translate(err, "plans")
	}
	if len(rows) == 0 {
		return Plan{}, false, nil
	}
	p, err = rows[0].plan()
	return p, err == nil, err
}
