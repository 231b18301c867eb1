package store

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"

	"inspectonce/domain"
)

// The door visits (DoorVisit, InspectorVisits) are read in one pgx batch,
// one round trip however many visits (issue 20): every statement of the
// batch starts from the same key, a CTE k of the visits wanted
// (published_visits rows), so each reads the rows of all of them at once.

// doorKeyOne is k for one visit: $1 plan, $2 visit, $3 an inspector it must
// be assigned to, or 0.
const doorKeyOne = `WITH k AS MATERIALIZED (SELECT pv.plan_id, pv.seq, pv.date, pv.original_date, pv.uscc, pv.team_id, pv.route_order
	FROM published_visits pv
	WHERE pv.plan_id = $1 AND pv.seq = $2 AND ($3::bigint = 0 OR EXISTS (
		SELECT 1 FROM visit_assignments a WHERE a.plan_id = pv.plan_id AND a.visit_seq = pv.seq AND a.inspector_id = $3)))`

// doorKeyDay is k for an inspector's day: $1 the inspector, $2 the date.
const doorKeyDay = `WITH k AS MATERIALIZED (SELECT pv.plan_id, pv.seq, pv.date, pv.original_date, pv.uscc, pv.team_id, pv.route_order
	FROM published_visits pv JOIN visit_assignments a ON a.plan_id = pv.plan_id AND a.visit_seq = pv.seq
	WHERE a.inspector_id = $1 AND pv.date = $2::date)`

// DoorVisit returns visit seq of published plan planID as its inspectors see
// it at the door. With inspectorID != 0 the visit must be assigned to that
// inspector; any other visit, or one not in a published plan, is ErrNotFound.
func (s *Store) DoorVisit(ctx context.Context, planID int64, seq int, inspectorID int64) (DoorVisit, error) {
	if seq <= 0 || seq > math.MaxInt32 {
		return DoorVisit{}, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	vs, err := s.doorVisits(ctx, doorKeyOne, planID, seq, inspectorID)
	if err != nil {
		return DoorVisit{}, translate(err, visitObject(planID, seq))
	}
	if len(vs) == 0 {
		return DoorVisit{}, fmt.Errorf("%s: %w", visitObject(planID, seq), domain.ErrNotFound)
	}
	return vs[0], nil
}

// InspectorVisits returns the visits of published plans assigned to
// inspectorID on date (their effective date), in route order, as DoorVisit
// gives them.
func (s *Store) InspectorVisits(ctx context.Context, inspectorID int64, date time.Time) ([]DoorVisit, error) {
	y, m, d := date.Date()
	vs, err := s.doorVisits(ctx, doorKeyDay, inspectorID, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, translate(err, fmt.Sprintf("visits of inspector %d", inspectorID))
	}
	return vs, nil
}

// doorVisits reads the visits of key (doorKeyOne, doorKeyDay) with args, by
// route order.
func (s *Store) doorVisits(ctx context.Context, key string, args ...any) ([]DoorVisit, error) {
	type vkey struct {
		plan int64
		seq  int
	}
	out := []DoorVisit{}
	at := map[vkey]int{}
	// each calls fn with the visit of a row, if it is one of k's.
	each := func(k vkey, fn func(*DoorVisit)) {
		if i, ok := at[k]; ok {
			fn(&out[i])
		}
	}
	results := map[vkey]map[int]TaskResult{}
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		b.Queue(key+` SELECT k.plan_id, k.seq, k.date, k.original_date, k.uscc, b.name, b.address, k.team_id, t.name, k.route_order
			FROM k JOIN businesses b ON b.uscc = k.uscc JOIN teams t ON t.id = k.team_id
			ORDER BY k.route_order, k.plan_id, k.seq`, args...).Query(func(rs pgx.Rows) error {
			var v DoorVisit
			var date, original time.Time
			_, err := pgx.ForEachRow(rs, []any{&v.PlanID, &v.VisitSeq, &date, &original, &v.USCC, &v.BusinessName,
				&v.Address, &v.TeamID, &v.TeamName, &v.RouteOrder}, func() error {
				x := v
				x.Date, x.OriginalDate, x.USCC = civilDate(date), civilDate(original), strings.TrimSpace(v.USCC)
				x.Inspectors, x.Tasks, x.CheckIns, x.Confirmations = []DoorInspector{}, []DoorTask{}, []CheckIn{}, []Confirmation{}
				at[vkey{x.PlanID, x.VisitSeq}] = len(out)
				out = append(out, x)
				return nil
			})
			return err
		})
		b.Queue(key+` SELECT a.plan_id, a.visit_seq, i.id, i.name, i.code, i.phone, a.role
			FROM visit_assignments a JOIN k ON k.plan_id = a.plan_id AND k.seq = a.visit_seq JOIN inspectors i ON i.id = a.inspector_id
			ORDER BY a.plan_id, a.visit_seq, a.ord`, args...).Query(func(rs pgx.Rows) error {
			var k vkey
			var in DoorInspector
			_, err := pgx.ForEachRow(rs, []any{&k.plan, &k.seq, &in.ID, &in.Name, &in.Code, &in.Phone, &in.Role}, func() error {
				each(k, func(v *DoorVisit) { v.Inspectors = append(v.Inspectors, in) })
				return nil
			})
			return err
		})
		// A task a later plan's join added is hidden from the public page
		// until the visit's day or its notice (DoorTask.PublicHidden).
		b.Queue(key+` SELECT t.plan_id, t.visit_seq, t.seq, t.item_id, i.code, i.name, i.legal_basis, t.department_id, d.name,
				t.demand_id, (t.added_by_plan_id IS NOT NULL AND k.date > current_date
					AND NOT (dm.announce_days > 0 AND k.date - dm.announce_days <= current_date))
			FROM plan_tasks t JOIN k ON k.plan_id = t.plan_id AND k.seq = t.visit_seq
				JOIN items i ON i.id = t.item_id JOIN departments d ON d.id = t.department_id
				JOIN demands dm ON dm.id = t.demand_id
			ORDER BY t.plan_id, t.visit_seq, t.seq`, args...).Query(func(rs pgx.Rows) error {
			var k vkey
			var t DoorTask
			_, err := pgx.ForEachRow(rs, []any{&k.plan, &k.seq, &t.TaskSeq, &t.ItemID, &t.ItemCode, &t.ItemName, &t.LegalBasis,
				&t.DepartmentID, &t.Department, &t.DemandID, &t.PublicHidden}, func() error {
				each(k, func(v *DoorVisit) { v.Tasks = append(v.Tasks, t) })
				return nil
			})
			return err
		})
		b.Queue(key+` SELECT c.plan_id, c.visit_seq, c.inspector_id, c.client_id, c.at, c.lat, c.lng, c.accuracy_m, c.recorded_at
			FROM visit_checkins c JOIN k ON k.plan_id = c.plan_id AND k.seq = c.visit_seq
			ORDER BY c.at, c.inspector_id`, args...).Query(func(rs pgx.Rows) error {
			var ci CheckIn
			_, err := pgx.ForEachRow(rs, []any{&ci.PlanID, &ci.VisitSeq, &ci.InspectorID, &ci.ClientID, &ci.At, &ci.Lat, &ci.Lng,
				&ci.AccuracyM, &ci.RecordedAt}, func() error {
				x := ci
				// Each row owns its pointers: ForEachRow scans into the same ones.
				x.Lat, x.Lng, x.AccuracyM = copyPtr(ci.Lat), copyPtr(ci.Lng), copyPtr(ci.AccuracyM)
				each(vkey{x.PlanID, x.VisitSeq}, func(v *DoorVisit) { v.CheckIns = append(v.CheckIns, x) })
				return nil
			})
			return err
		})
		// The current result of a task is its latest (current_task_results),
		// read here for k's visits only.
		b.Queue(key+` SELECT DISTINCT ON (r.plan_id, r.task_seq) r.id, r.plan_id, r.task_seq, r.visit_seq, r.uscc, r.demand_id,
				r.department_id, r.item_id, r.outcome, r.rule_cited, r.rectify_by, r.transferred_to, r.not_done_reason, r.note,
				r.recorded_by, r.client_id, r.recorded_at
			FROM task_results r JOIN k ON k.plan_id = r.plan_id AND k.seq = r.visit_seq
			ORDER BY r.plan_id, r.task_seq, r.id DESC`, args...).Query(func(rs pgx.Rows) error {
			var r TaskResult
			var rectify *time.Time
			_, err := pgx.ForEachRow(rs, []any{&r.ID, &r.PlanID, &r.TaskSeq, &r.VisitSeq, &r.USCC, &r.DemandID, &r.DepartmentID,
				&r.ItemID, &r.Outcome, &r.RuleCited, &rectify, &r.TransferredTo, &r.NotDoneReason, &r.Note, &r.RecordedBy,
				&r.ClientID, &r.RecordedAt}, func() error {
				x := taskResultRow{TaskResult: r, RectifyDate: rectify}
				x.TransferredTo, x.NotDoneReason = copyPtr(r.TransferredTo), copyPtr(r.NotDoneReason)
				k := vkey{r.PlanID, r.VisitSeq}
				if results[k] == nil {
					results[k] = map[int]TaskResult{}
				}
				results[k][r.TaskSeq] = x.result()
				return nil
			})
			return err
		})
		b.Queue(key+` SELECT c.plan_id, c.visit_seq, c.inspector_id, c.client_id, c.results_hash, c.confirmed_at
			FROM visit_confirmations c JOIN k ON k.plan_id = c.plan_id AND k.seq = c.visit_seq
			ORDER BY c.confirmed_at, c.inspector_id`, args...).Query(func(rs pgx.Rows) error {
			var cf Confirmation
			var hash []byte
			_, err := pgx.ForEachRow(rs, []any{&cf.PlanID, &cf.VisitSeq, &cf.InspectorID, &cf.ClientID, &hash, &cf.ConfirmedAt},
				func() error {
					x := cf
					x.ResultsHash = Hex(append([]byte(nil), hash...))
					each(vkey{x.PlanID, x.VisitSeq}, func(v *DoorVisit) { v.Confirmations = append(v.Confirmations, x) })
					return nil
				})
			return err
		})
		b.Queue(key+` SELECT r.plan_id, r.visit_seq, r.uscc, to_char(r.visit_date, 'YYYY-MM-DD'), r.team_id, r.department_ids,
				r.performed_tasks, r.not_done_tasks, r.checked_in_at, r.confirmed_at, to_char(r.publish_due, 'YYYY-MM-DD'),
				r.published_at
			FROM visit_reports r JOIN k ON k.plan_id = r.plan_id AND k.seq = r.visit_seq`, args...).Query(func(rs pgx.Rows) error {
			var r VisitReport
			var depts []int64
			_, err := pgx.ForEachRow(rs, []any{&r.PlanID, &r.VisitSeq, &r.USCC, &r.VisitDate, &r.TeamID, &depts, &r.PerformedTasks,
				&r.NotDoneTasks, &r.CheckedInAt, &r.ConfirmedAt, &r.PublishDue, &r.PublishedAt}, func() error {
				x := r
				x.USCC = strings.TrimSpace(r.USCC)
				x.DepartmentIDs = append(pq.Int64Array{}, depts...)
				x.CheckedInAt, x.PublishedAt = copyPtr(r.CheckedInAt), copyPtr(r.PublishedAt)
				each(vkey{x.PlanID, x.VisitSeq}, func(v *DoorVisit) { v.Report = &x })
				return nil
			})
			return err
		})
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	for i := range out {
		v := &out[i]
		byTask := results[vkey{v.PlanID, v.VisitSeq}]
		hashIn := make([]visitTask, len(v.Tasks))
		for j := range v.Tasks {
			hashIn[j].Seq = v.Tasks[j].TaskSeq
			if r, ok := byTask[v.Tasks[j].TaskSeq]; ok {
				v.Tasks[j].Result = &r
				hashIn[j].ResultID = r.ID
			}
		}
		v.ResultsHash = resultsHash(hashIn)
		for j := range v.Confirmations {
			v.Confirmations[j].Current = string(v.Confirmations[j].ResultsHash) == string(v.ResultsHash)
		}
	}
	return out, nil
}

// copyPtr returns a pointer to a copy of *p, or nil: rows scanned into the
// same variables must not share what they point to.
func copyPtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	x := *p
	return &x
}
