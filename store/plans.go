package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lib/pq"
	"gorm.io/gorm"

	"inspectonce/domain"
	"inspectonce/planner"
)

// Plan statuses: running → draft → published, or running → failed, or
// running/draft → discarded.
const (
	PlanRunning   = "running"
	PlanDraft     = "draft"
	PlanPublished = "published"
	PlanDiscarded = "discarded"
	PlanFailed    = "failed"
)

// Plan modes: coordinated draws share each business's permanent random number;
// independent draws salt it with the demand (to measure the gain).
const (
	ModeCoordinated = "coordinated"
	ModeIndependent = "independent"
)

// Hex is bytes that encode to JSON as a lower-case hex string.
type Hex []byte

// MarshalJSON writes the bytes as a hex string (null when nil).
func (h Hex) MarshalJSON() ([]byte, error) {
	if h == nil {
		return []byte("null"), nil
	}
	return json.Marshal(hex.EncodeToString(h))
}

// UnmarshalJSON reads a hex string.
func (h *Hex) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil {
		*h = nil
		return nil
	}
	v, err := hex.DecodeString(*s)
	if err != nil {
		return err
	}
	*h = v
	return nil
}

// String is the hex form.
func (h Hex) String() string { return hex.EncodeToString(h) }

// PlanStats are a plan's figures (planner.Stats with JSON names), plus
// VisitReduction = 1 − visits / naive visits.
type PlanStats struct {
	Tasks            int               `json:"tasks"`
	NaiveVisits      int               `json:"naive_visits"`
	LowerBound       int               `json:"lower_bound"`
	Visits           int               `json:"visits"`
	JointVisits      int               `json:"joint_visits"`
	JointVisitRate   float64           `json:"joint_visit_rate"`
	VisitReduction   float64           `json:"visit_reduction"`
	Unplaced         int               `json:"unplaced"`
	UnplacedByReason map[string]int    `json:"unplaced_by_reason"`
	TravelKm         float64           `json:"travel_km"`
	Utilisation      map[int64]float64 `json:"utilisation"`
	TargetDraws      int               `json:"target_draws"`
	InspectorDraws   int               `json:"inspector_draws"`
	// BusiestDay is the working day holding the most of the plan's visits
	// (YYYY-MM-DD; empty without visits, and for plans made before it was
	// reported), BusiestDayShare its share of them.
	BusiestDay      string  `json:"busiest_day,omitempty"`
	BusiestDayShare float64 `json:"busiest_day_share"`
	// TeamLoad per team id: peak and mean team-day minutes of the plan
	// (absent for plans made before it was reported, and without visits).
	TeamLoad map[int64]TeamLoad `json:"team_load,omitempty"`
	// MaxFraction is the largest sampling fraction (n / frame size) of the
	// plan's target draws: it rotates the next plan's shift.
	MaxFraction float64 `json:"max_fraction"`
	// TasksJoined tasks of the plan join VisitsAmended visits already on the
	// calendar (GET /plans/{id}/joins), and DoorKnocksSaved is how many fewer
	// new visits the plan needs for it (planner.Stats).
	TasksJoined     int `json:"tasks_joined"`
	VisitsAmended   int `json:"visits_amended"`
	DoorKnocksSaved int `json:"door_knocks_saved"`
	// Independent holds the figures of the plan's independent counterpart
	// (see ComparisonStats); nil for an independent plan, and for plans made
	// before the comparison existed.
	Independent *ComparisonStats `json:"independent,omitempty"`
}

// TeamLoad is how one team's minutes of a plan fall on its working days
// (planner.TeamLoad): the busiest team-day's minutes and date, and the mean
// over the horizon's working days.
type TeamLoad struct {
	PeakMinutes int     `json:"peak_minutes"`
	PeakDay     string  `json:"peak_day"`
	MeanMinutes float64 `json:"mean_minutes"`
}

// StatsOf gives a plan's figures.
func StatsOf(p *planner.Plan) PlanStats {
	st := p.Stats
	out := PlanStats{
		Tasks: st.Tasks, NaiveVisits: st.NaiveVisits, LowerBound: st.LowerBound, Visits: st.Visits,
		JointVisits: st.JointVisits, JointVisitRate: st.JointVisitRate, Unplaced: st.Unplaced,
		UnplacedByReason: st.UnplacedByReason, TravelKm: st.TravelKm, Utilisation: st.Utilisation,
		MaxFraction: MaxFraction(p.Draws), BusiestDayShare: st.BusiestDayShare, TeamLoad: map[int64]TeamLoad{},
		TasksJoined: st.TasksJoined, VisitsAmended: st.VisitsAmended, DoorKnocksSaved: st.DoorKnocksSaved,
	}
	if st.BusiestDay != 0 {
		out.BusiestDay = st.BusiestDay.String()
	}
	for id, tl := range st.TeamLoad {
		out.TeamLoad[id] = TeamLoad{PeakMinutes: tl.PeakMinutes, PeakDay: tl.PeakDay.String(), MeanMinutes: tl.MeanMinutes}
	}
	if out.UnplacedByReason == nil {
		out.UnplacedByReason = map[string]int{}
	}
	if out.Utilisation == nil {
		out.Utilisation = map[int64]float64{}
	}
	if st.NaiveVisits > 0 {
		out.VisitReduction = 1 - float64(st.Visits)/float64(st.NaiveVisits)
	}
	for _, d := range p.Draws {
		if d.Kind == planner.DrawTargets {
			out.TargetDraws++
		} else {
			out.InspectorDraws++
		}
	}
	return out
}

// plannerStats turns stored figures back into the planner's.
func (s PlanStats) plannerStats() planner.Stats {
	// nil when none, as the planner leaves it for a plan without visits, so a
	// plan reads back as it was saved.
	var tl map[int64]planner.TeamLoad
	if len(s.TeamLoad) > 0 {
		tl = make(map[int64]planner.TeamLoad, len(s.TeamLoad))
	}
	for id, l := range s.TeamLoad {
		tl[id] = planner.TeamLoad{PeakMinutes: l.PeakMinutes, PeakDay: dayOfString(l.PeakDay), MeanMinutes: l.MeanMinutes}
	}
	return planner.Stats{
		Tasks: s.Tasks, NaiveVisits: s.NaiveVisits, LowerBound: s.LowerBound, Visits: s.Visits,
		JointVisits: s.JointVisits, JointVisitRate: s.JointVisitRate, Unplaced: s.Unplaced,
		UnplacedByReason: s.UnplacedByReason, TravelKm: s.TravelKm, Utilisation: s.Utilisation,
		BusiestDay: dayOfString(s.BusiestDay), BusiestDayShare: s.BusiestDayShare, TeamLoad: tl,
		TasksJoined: s.TasksJoined, VisitsAmended: s.VisitsAmended, DoorKnocksSaved: s.DoorKnocksSaved,
	}
}

// dayOfString reads a stored YYYY-MM-DD; anything else is day 0 (unknown).
func dayOfString(s string) planner.Day {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0
	}
	return planner.DayOf(t)
}

// MaxFraction is the largest n / frame size over the target draws (0 without any).
func MaxFraction(draws []planner.Draw) float64 {
	f := 0.0
	for _, d := range draws {
		if d.Kind == planner.DrawTargets && len(d.Frame) > 0 {
			f = math.Max(f, math.Min(1, float64(d.N)/float64(len(d.Frame))))
		}
	}
	return f
}

// Plan is one planning run. Dates are YYYY-MM-DD.
type Plan struct {
	ID        int64   `json:"id"`
	Status    string  `json:"status"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	RegionIDs []int64 `json:"region_ids"`
	Mode      string  `json:"mode"`
	Year      int     `json:"year"`
	Shift     float64 `json:"shift"`
	// NextShift is the shift the next plan of the year uses once this one is
	// published; set when the run finishes.
	NextShift *float64 `json:"next_shift"`
	// SeedHash is the SHA-256 commitment to the seed, public from creation.
	SeedHash Hex `json:"seed_hash"`
	// Seed is revealed once no draft can use it any more: when the plan is
	// published, discarded or failed. It is nil while running or draft.
	Seed         Hex        `json:"seed,omitempty"`
	Progress     int        `json:"progress"`
	ProgressNote string     `json:"progress_note"`
	Stats        *PlanStats `json:"stats"`
	Failure      string     `json:"failure,omitempty"`
	CreatedBy    string     `json:"created_by"`
	CreatedAt    time.Time  `json:"created_at"`
	PublishedAt  *time.Time `json:"published_at"`
	DiscardedAt  *time.Time `json:"discarded_at"`
	// Empty says why a draft or published plan has no visits (every open
	// demand already served, and by which plan; nothing open; everything
	// unplaced; no task in reach). Only GetPlan fills it: a plan that finds
	// nothing new should say so before anyone tries to publish it.
	Empty *EmptyPlan `json:"empty,omitempty"`
	// UrgentDemandID marks an urgent placement ("place now"): the plan
	// covers only that demand, and a run carried out again does too.
	UrgentDemandID *int64 `json:"urgent_demand_id,omitempty"`
	// ComparisonStatus is the state of the job building the independent
	// counterpart (ComparisonQueued … ComparisonDone); empty when the plan
	// has none. Stats.Independent holds its figures once it is done.
	ComparisonStatus string `json:"comparison_status,omitempty"`
	// ComparisonError says why that job failed; present only then.
	ComparisonError string `json:"comparison_error,omitempty"`
}

// States of a plan's comparison job (Plan.ComparisonStatus).
const (
	ComparisonQueued  = "queued"
	ComparisonRunning = "running"
	ComparisonDone    = "done"
	ComparisonFailed  = "failed"
	// ComparisonSkipped: the plan was discarded, or published, before its
	// counterpart was built.
	ComparisonSkipped = "skipped"
)

type planRow struct {
	ID           int64
	Status       string
	HorizonFrom  time.Time
	HorizonTo    time.Time
	RegionIDs    pq.Int64Array `gorm:"column:region_ids;type:bigint[]"`
	Mode         string
	Year         int
	Shift        float64
	NextShift    *float64
	Seed         []byte
	SeedHash     []byte
	Progress     int
	ProgressNote string
	Stats        []byte
	Failure      string
	CreatedBy    string
	CreatedAt    time.Time
	PublishedAt  *time.Time
	DiscardedAt  *time.Time
	// UrgentDemandID: see Plan.UrgentDemandID.
	UrgentDemandID   *int64
	Comparison       []byte
	ComparisonStatus string
	ComparisonError  string
}

// planColumns never selects the seed of a plan that may still use it.
const planColumns = `id, status, horizon_from, horizon_to, region_ids, mode, year, shift, next_shift,
	CASE WHEN status IN ('published', 'discarded', 'failed') THEN seed END AS seed,
	seed_hash, progress, progress_note, stats, failure, created_by, created_at, published_at, discarded_at,
	urgent_demand_id, comparison, comparison_status, comparison_error`

func (r planRow) plan() (Plan, error) {
	p := Plan{
		ID: r.ID, Status: r.Status, From: r.HorizonFrom.Format(time.DateOnly), To: r.HorizonTo.Format(time.DateOnly),
		RegionIDs: nonNil([]int64(r.RegionIDs)), Mode: r.Mode, Year: r.Year, Shift: r.Shift, NextShift: r.NextShift,
		SeedHash: r.SeedHash, Seed: r.Seed, Progress: r.Progress, ProgressNote: r.ProgressNote, Failure: r.Failure,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt, DiscardedAt: r.DiscardedAt,
		UrgentDemandID: r.UrgentDemandID, ComparisonStatus: r.ComparisonStatus, ComparisonError: r.ComparisonError,
	}
	if len(r.Stats) > 0 {
		var st PlanStats
		if err := json.Unmarshal(r.Stats, &st); err != nil {
			return p, fmt.Errorf("plan %d stats: %w", r.ID, err)
		}
		// Plans made before the comparison became a job of its own keep it
		// in stats; later ones in their comparison column.
		if st.Independent == nil && len(r.Comparison) > 0 {
			var c ComparisonStats
			if err := json.Unmarshal(r.Comparison, &c); err != nil {
				return p, fmt.Errorf("plan %d comparison: %w", r.ID, err)
			}
			st.Independent = &c
		}
		p.Stats = &st
	}
	return p, nil
}

func planObject(id int64) string { return objectID("plan", id) }

// NewPlan is what a planning run fixes before it draws anything.
type NewPlan struct {
	From, To  time.Time // civil dates of the horizon, both included
	RegionIDs []int64   // empty = everything
	Mode      string    // ModeCoordinated or ModeIndependent
	Year      int       // whose year key the draws use; the key must exist
	Shift     float64
	Seed      []byte // 32 bytes from crypto/rand
	// UrgentDemandID, when not 0, restricts the plan to that demand (an
	// urgent placement, see Plan.UrgentDemandID).
	UrgentDemandID int64
}

// CreatePlan records a running plan and commits to its seed: the row stores
// the seed (kept secret) and its SHA-256, and the audit entry "plan.create"
// publishes the hash with the year key's hash before anything is drawn.
func (s *Store) CreatePlan(ctx context.Context, actor string, np NewPlan) (Plan, error) {
	if len(np.Seed) != 32 {
		return Plan{}, fmt.Errorf("plan seed must be 32 bytes, got %d", len(np.Seed))
	}
	if np.Mode != ModeCoordinated && np.Mode != ModeIndependent {
		return Plan{}, domain.Invalid("mode", "must be %q or %q", ModeCoordinated, ModeIndependent)
	}
	hash := sha256.Sum256(np.Seed)
	var p Plan
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var keyHash []byte
		err := tx.Raw(`SELECT key_hash FROM year_keys WHERE year = ?`, np.Year).Row().Scan(&keyHash)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("year %d has no key yet: %w", np.Year, domain.ErrNotFound)
		}
		if err != nil {
			return translate(err, "year key")
		}
		var row planRow
		var urgent *int64
		if np.UrgentDemandID != 0 {
			urgent = &np.UrgentDemandID
		}
		if err := tx.Raw(`INSERT INTO plans (horizon_from, horizon_to, region_ids, mode, year, shift, seed, seed_hash, created_by, progress_note, urgent_demand_id)
			VALUES (?::date, ?::date, ?::bigint[], ?, ?, ?, ?, ?, ?, 'created', ?) RETURNING `+planColumns,
			civilDate(np.From), civilDate(np.To), pq.Int64Array(nonNil(np.RegionIDs)), np.Mode, np.Year, np.Shift,
			np.Seed, hash[:], actor, urgent).Scan(&row).Error; err != nil {
			return translate(err, "plan")
		}
		if p, err = row.plan(); err != nil {
			return err
		}
		detail := map[string]any{
			"from": p.From, "to": p.To, "region_ids": p.RegionIDs, "mode": p.Mode, "year": p.Year,
			"shift": p.Shift, "seed_hash": Hex(hash[:]), "year_key_hash": Hex(keyHash),
		}
		if urgent != nil {
			detail["urgent_demand_id"] = *urgent
		}
		return appendAudit(tx, actor, "plan.create", planObject(p.ID), OutcomeOK, detail)
	})
	return p, err
}

// PlanRun is what a worker needs to carry out a running plan, the secret seed
// included. Never hand it to a caller outside the planning process.
type PlanRun struct {
	Plan
	RunSeed [32]byte
}

// RunningPlan returns a running plan with its seed, for the process that
// carries it out. A plan in any other status is a conflict.
func (s *Store) RunningPlan(ctx context.Context, id int64) (PlanRun, error) {
	p, err := s.GetPlan(ctx, id)
	if err != nil {
		return PlanRun{}, err
	}
	if p.Status != PlanRunning {
		return PlanRun{}, fmt.Errorf("%s is %s, not running: %w", planObject(id), p.Status, domain.ErrConflict)
	}
	var seed []byte
	if err := s.db.WithContext(ctx).Raw(`SELECT seed FROM plans WHERE id = ?`, id).Row().Scan(&seed); err != nil {
		return PlanRun{}, translate(err, planObject(id))
	}
	if len(seed) != 32 {
		return PlanRun{}, fmt.Errorf("%s: stored seed has %d bytes", planObject(id), len(seed))
	}
	run := PlanRun{Plan: p}
	copy(run.RunSeed[:], seed)
	return run, nil
}

// UpdatePlanProgress sets a running plan's progress (0-100) and a note on the
// stage it is in. It is not audited.
func (s *Store) UpdatePlanProgress(ctx context.Context, id int64, progress int, note string) error {
	progress = max(0, min(100, progress))
	res := s.db.WithContext(ctx).Exec(`UPDATE plans SET progress = ?, progress_note = ? WHERE id = ? AND status = 'running'`,
		progress, note, id)
	if res.Error != nil {
		return translate(res.Error, planObject(id))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%s is not running: %w", planObject(id), domain.ErrConflict)
	}
	return nil
}

// GetPlan returns a plan.
func (s *Store) GetPlan(ctx context.Context, id int64) (Plan, error) {
	var row planRow
	res := s.db.WithContext(ctx).Raw(`SELECT `+planColumns+` FROM plans WHERE id = ?`, id).Scan(&row)
	if res.Error != nil {
		return Plan{}, translate(res.Error, planObject(id))
	}
	if res.RowsAffected == 0 {
		return Plan{}, fmt.Errorf("%s: %w", planObject(id), domain.ErrNotFound)
	}
	p, err := row.plan()
	if err != nil {
		return Plan{}, err
	}
	if (p.Status == PlanDraft || p.Status == PlanPublished) && p.Stats != nil && p.Stats.Visits == 0 {
		why, err := emptyPlan(s.db.WithContext(ctx), row)
		if err != nil {
			return Plan{}, err
		}
		p.Empty = &why
	}
	return p, nil
}

// PlanFilter narrows a list of plans.
type PlanFilter struct {
	Status string
	Year   int
}

// ListPlans pages through plans, oldest first.
func (s *Store) ListPlans(ctx context.Context, f PlanFilter, p Page) (Paged[Plan], error) {
	q := s.db.WithContext(ctx).Table("plans").Select(planColumns)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Year != 0 {
		q = q.Where("year = ?", f.Year)
	}
	rows, err := pageByID(q, p, func(r planRow) int64 { return r.ID })
	if err != nil {
		return Paged[Plan]{}, translate(err, "plans")
	}
	out := Paged[Plan]{Items: make([]Plan, len(rows.Items)), Next: rows.Next}
	for i, r := range rows.Items {
		if out.Items[i], err = r.plan(); err != nil {
			return Paged[Plan]{}, err
		}
	}
	return out, nil
}

// NextShift is the shift a new plan of year starts from: the next_shift of
// the year's most recently published plan, or 0 for the year's first.
func (s *Store) NextShift(ctx context.Context, year int) (float64, error) {
	var shift []float64
	err := s.db.WithContext(ctx).Raw(`SELECT next_shift FROM plans WHERE status = 'published' AND year = ?
		ORDER BY published_at DESC, id DESC LIMIT 1`, year).Scan(&shift).Error
	if err != nil {
		return 0, translate(err, "shift")
	}
	if len(shift) == 0 {
		return 0, nil
	}
	return shift[0], nil
}

// ---- saving a run

// SavePlanResult stores the result of a running plan in one transaction —
// visits, tasks (placed and unplaced), assignments, team-days and every draw,
// by COPY — and makes the plan a draft with its stats and next shift. The
// audit entry "plan.draft" (by the plan's creator) carries the counts and
// DrawsDigest of the draws, which puts them in the hash chain. A plan that is
// not running is a conflict (its result was saved already, or it was
// discarded).
func (s *Store) SavePlanResult(ctx context.Context, planID int64, p *planner.Plan) error {
	return s.SavePlanResultWith(ctx, planID, p, SaveOptions{})
}

// SaveOptions tune SavePlanResultWith.
type SaveOptions struct {
	// QueueComparison marks the draft's comparison as queued in the same
	// transaction, so the draft never shows as having none while its
	// counterpart job waits.
	QueueComparison bool
}

// SavePlanResultWith is SavePlanResult with options.
func (s *Store) SavePlanResultWith(ctx context.Context, planID int64, p *planner.Plan, o SaveOptions) error {
	cmpStatus := ""
	if o.QueueComparison {
		cmpStatus = ComparisonQueued
	}
	stats := StatsOf(p)
	statsJSON, err := json.Marshal(stats)
	if err != nil {
		return fmt.Errorf("plan stats: %w", err)
	}
	return s.bulk(ctx, "save "+planObject(planID), func(tx pgx.Tx) error {
		var status, actor string
		var shift float64
		err := tx.QueryRow(ctx, `SELECT status, shift, created_by FROM plans WHERE id = $1 FOR UPDATE`, planID).Scan(&status, &shift, &actor)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("%s: %w", planObject(planID), domain.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if status != PlanRunning {
			return fmt.Errorf("%s is %s; only a running plan takes a result: %w", planObject(planID), status, domain.ErrConflict)
		}
		digest := newDrawsHasher()
		if err := copyPlanRows(ctx, tx, planID, p, digest); err != nil {
			return err
		}
		next := planner.NextShift(shift, stats.MaxFraction)
		if _, err := tx.Exec(ctx, `UPDATE plans SET status = 'draft', stats = $2, next_shift = $3, progress = 100, progress_note = 'done',
			comparison_status = $4 WHERE id = $1`, planID, statsJSON, next, cmpStatus); err != nil {
			return err
		}
		return appendAuditPgx(ctx, tx, actor, "plan.draft", planObject(planID), OutcomeOK, map[string]any{
			"visits": len(p.Visits), "unplaced": len(p.Unplaced), "draws": len(p.Draws), "draws_sha256": digest.sum(),
			"naive_visits": stats.NaiveVisits, "lower_bound": stats.LowerBound, "next_shift": next,
		})
	})
}

type demandInfo struct {
	department int64
	from, to   time.Time
	priority   int
	complaint  bool
}

// copyPlanRows writes the plan's rows. Visit seq is its index + 1; team-day
// visits are recovered from (team, date, route order).
func copyPlanRows(ctx context.Context, tx pgx.Tx, planID int64, p *planner.Plan, digest *drawsHasher) error {
	// The references the tables do not check row by row (see the migration),
	// checked here set-wise.
	demandIDs, deptIDs, itemIDs, inspectorIDs, teamIDs := idSet{}, idSet{}, idSet{}, idSet{}, idSet{}
	codes := make([]string, 0, len(p.Visits))
	for i := range p.Visits {
		v := &p.Visits[i]
		codes = append(codes, v.USCC)
		teamIDs.add(v.TeamID)
		for _, t := range v.Tasks {
			demandIDs.add(t.DemandID)
			deptIDs.add(t.DepartmentID)
			itemIDs.add(t.ItemID)
		}
		for _, id := range v.InspectorIDs {
			inspectorIDs.add(id)
		}
	}
	for i := range p.Joins {
		j := &p.Joins[i]
		for _, t := range j.Tasks {
			demandIDs.add(t.DemandID)
			deptIDs.add(t.DepartmentID)
			itemIDs.add(t.ItemID)
		}
		for _, id := range j.AddedInspectorIDs {
			inspectorIDs.add(id)
		}
	}
	for _, u := range p.Unplaced {
		demandIDs.add(u.DemandID)
	}
	for _, d := range p.Draws {
		if d.DemandID != 0 {
			demandIDs.add(d.DemandID)
		}
	}
	for _, c := range []struct {
		table string
		ids   idSet
	}{{"demands", demandIDs}, {"departments", deptIDs}, {"items", itemIDs}, {"inspectors", inspectorIDs}, {"teams", teamIDs}} {
		var missing []int64
		rows, err := tx.Query(ctx, `SELECT x FROM unnest($1::bigint[]) AS x WHERE NOT EXISTS (SELECT 1 FROM `+c.table+` t WHERE t.id = x) ORDER BY x`,
			c.ids.list())
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			missing = append(missing, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("the plan names %s that do not exist: %v: %w", c.table, missing, domain.ErrConflict)
		}
	}

	var missingBiz []string
	rows, err := tx.Query(ctx, `SELECT x FROM unnest($1::text[]) AS x WHERE NOT EXISTS (SELECT 1 FROM businesses b WHERE b.uscc = x::char(18)) ORDER BY x LIMIT 10`, codes)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		missingBiz = append(missingBiz, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(missingBiz) > 0 {
		return fmt.Errorf("the plan visits businesses that are not registered: %v: %w", missingBiz, domain.ErrConflict)
	}

	if err := checkJoinTargets(ctx, tx, planID, p.Joins); err != nil {
		return err
	}

	// Unplaced entries take their department and window from their demand.
	var ids []int64
	for _, u := range p.Unplaced {
		ids = append(ids, u.DemandID)
	}
	demands := map[int64]demandInfo{}
	if len(ids) > 0 {
		rows, err := tx.Query(ctx, `SELECT id, department_id, window_from, window_to, priority, source FROM demands WHERE id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var d demandInfo
			var source string
			if err := rows.Scan(&id, &d.department, &d.from, &d.to, &d.priority, &source); err != nil {
				rows.Close()
				return err
			}
			d.complaint = source == domain.SourceComplaint
			demands[id] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}

	copyRows := func(table string, cols []string, n int, row func(i int) ([]any, error)) error {
		if n == 0 {
			return nil
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, row))
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		return nil
	}

	err = copyRows("plan_visits", []string{"plan_id", "seq", "uscc", "date", "team_id", "duration_minutes",
		"travel_minutes", "route_order", "department_ids"}, len(p.Visits), func(i int) ([]any, error) {
		v := &p.Visits[i]
		return []any{planID, int32(i + 1), v.USCC, v.Date.Time(), v.TeamID, int32(v.DurationMinutes),
			int32(v.TravelMinutes), int32(v.RouteOrder), nonNil(v.DepartmentIDs)}, nil
	})
	if err != nil {
		return err
	}

	// Tasks: the placed ones visit by visit, then the joined ones join by
	// join (naming the visit they join), then the unplaced: every resolved
	// task is in exactly one of them (plan_tasks_one_place).
	type taskRef struct{ visit, task int }
	refs := make([]taskRef, 0, len(p.Visits)*3)
	for vi := range p.Visits {
		for ti := range p.Visits[vi].Tasks {
			refs = append(refs, taskRef{vi, ti})
		}
	}
	nPlaced := len(refs)
	for ji := range p.Joins {
		for ti := range p.Joins[ji].Tasks {
			refs = append(refs, taskRef{ji, ti})
		}
	}
	nJoined := len(refs)
	err = copyRows("plan_tasks", []string{"plan_id", "seq", "visit_seq", "demand_id", "department_id", "uscc", "item_id",
		"window_from", "window_to", "priority", "complaint", "unplaced_reason", "join_plan_id", "join_visit_seq"},
		nJoined+len(p.Unplaced), func(i int) ([]any, error) {
			if i < nPlaced {
				r := refs[i]
				t := &p.Visits[r.visit].Tasks[r.task]
				return []any{planID, int32(i + 1), int32(r.visit + 1), t.DemandID, t.DepartmentID, t.USCC, t.ItemID,
					t.From.Time(), t.To.Time(), int32(t.Priority), t.Complaint, nil, nil, nil}, nil
			}
			if i < nJoined {
				r := refs[i]
				j := &p.Joins[r.visit]
				t := &j.Tasks[r.task]
				return []any{planID, int32(i + 1), nil, t.DemandID, t.DepartmentID, t.USCC, t.ItemID,
					t.From.Time(), t.To.Time(), int32(t.Priority), t.Complaint, nil, j.PlanID, int32(j.Seq)}, nil
			}
			u := &p.Unplaced[i-nJoined]
			d, ok := demands[u.DemandID]
			if !ok {
				return nil, fmt.Errorf("unplaced task names demand %d, which does not exist: %w", u.DemandID, domain.ErrConflict)
			}
			var code, item any
			if u.USCC != "" {
				code = u.USCC
			}
			if u.ItemID != 0 {
				item = u.ItemID
			}
			return []any{planID, int32(i + 1), nil, u.DemandID, d.department, code, item,
				d.from, d.to, int32(d.priority), d.complaint, u.Reason, nil, nil}, nil
		})
	if err != nil {
		return err
	}

	err = copyRows("plan_joins", []string{"plan_id", "seq", "target_plan_id", "target_visit_seq", "uscc", "date", "added_minutes",
		"duration_minutes", "added_inspector_ids", "unannounced"}, len(p.Joins), func(i int) ([]any, error) {
		j := &p.Joins[i]
		return []any{planID, int32(i + 1), j.PlanID, int32(j.Seq), j.USCC, j.Date.Time(), int32(j.AddedMinutes),
			int32(j.DurationMinutes), nonNil(j.AddedInspectorIDs), j.Unannounced}, nil
	})
	if err != nil {
		return err
	}

	type assignRef struct{ visit, ord int }
	var arefs []assignRef
	for vi := range p.Visits {
		for k := range p.Visits[vi].InspectorIDs {
			arefs = append(arefs, assignRef{vi, k})
		}
	}
	err = copyRows("plan_assignments", []string{"plan_id", "visit_seq", "inspector_id", "role", "ord"}, len(arefs),
		func(i int) ([]any, error) {
			r := arefs[i]
			role := "member"
			if r.ord == 0 {
				role = "lead"
			}
			return []any{planID, int32(r.visit + 1), p.Visits[r.visit].InspectorIDs[r.ord], role, int16(r.ord)}, nil
		})
	if err != nil {
		return err
	}

	err = copyRows("plan_team_days", []string{"plan_id", "team_id", "date", "travel_km", "work_minutes", "travel_minutes"},
		len(p.TeamDays), func(i int) ([]any, error) {
			td := &p.TeamDays[i]
			return []any{planID, td.TeamID, td.Date.Time(), td.TravelKm, int32(td.WorkMinutes), int32(td.TravelMinutes)}, nil
		})
	if err != nil {
		return err
	}

	return copyRows("plan_draws", []string{"plan_id", "seq", "kind", "demand_id", "visit_key", "frame", "frame_hash",
		"n", "shift", "salt", "required", "excluded", "steps", "result", "certain"}, len(p.Draws), func(i int) ([]any, error) {
		d := &p.Draws[i]
		enc := encodeDraw(d)
		frame, excluded, steps, result := enc.frame, enc.excluded, enc.steps, enc.result
		digest.add(d, &enc)
		var demand any
		if d.DemandID != 0 {
			demand = d.DemandID
		}
		return []any{planID, int32(i + 1), d.Kind, demand, d.VisitKey, frame, d.FrameHash, int32(d.N), d.Shift,
			d.Salt, nonNil(d.Required), excluded, steps, result, appendStrings(nil, d.Certain)}, nil
	})
}

type idSet map[int64]bool

func (s idSet) add(id int64) { s[id] = true }

func (s idSet) list() []int64 {
	out := make([]int64, 0, len(s))
	for id := range s {
		out = append(out, id)
	}
	return out
}

// appendAuditPgx is appendAudit for a pgx transaction (the bulk path).
func appendAuditPgx(ctx context.Context, tx pgx.Tx, actor, action, object, outcome string, detail any) error {
	d, err := auditDetail(detail)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (at, actor, action, object, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
		auditNow(), actor, action, object, outcome, d)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	return nil
}

// ---- draws

// Candidate is one member of a draw's frame. A weight JSON cannot hold as a
// number (±Inf, NaN, -0: the planner's "always drawn" marks) is written as a
// string, so that every weight reads back bit for bit.
type Candidate struct {
	Key    string  `json:"key"`
	Weight float64 `json:"weight"`
}

type candidateJSON struct {
	Key    string          `json:"key"`
	Weight json.RawMessage `json:"weight"`
}

// MarshalJSON writes the weight as a number when JSON can hold it exactly.
func (c Candidate) MarshalJSON() ([]byte, error) {
	w := c.Weight
	var raw []byte
	if math.IsInf(w, 0) || math.IsNaN(w) || (w == 0 && math.Signbit(w)) {
		raw, _ = json.Marshal(strconv.FormatFloat(w, 'g', -1, 64))
	} else {
		raw = strconv.AppendFloat(nil, w, 'g', -1, 64)
	}
	return json.Marshal(candidateJSON{Key: c.Key, Weight: raw})
}

// UnmarshalJSON reads a weight written as a number or a string.
func (c *Candidate) UnmarshalJSON(b []byte) error {
	var cj candidateJSON
	if err := json.Unmarshal(b, &cj); err != nil {
		return err
	}
	c.Key = cj.Key
	var s string
	if len(cj.Weight) > 0 && cj.Weight[0] == '"' {
		if err := json.Unmarshal(cj.Weight, &s); err != nil {
			return err
		}
	} else {
		s = string(cj.Weight)
	}
	w, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("frame weight %q: %w", s, err)
	}
	c.Weight = w
	return nil
}

// Exclusion is a key removed from a frame before a draw, with why.
type Exclusion struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// PlanDraw is one stored draw with everything needed to recompute it.
type PlanDraw struct {
	Seq       int         `json:"seq"`
	Kind      string      `json:"kind"`
	DemandID  int64       `json:"demand_id,omitempty"`
	VisitKey  string      `json:"visit_key,omitempty"`
	Frame     []Candidate `json:"frame"`
	FrameHash string      `json:"frame_hash"`
	N         int         `json:"n"`
	Shift     float64     `json:"shift"`
	Salt      string      `json:"salt"`
	Required  []string    `json:"required"`
	Excluded  []Exclusion `json:"excluded"`
	Steps     []DrawStep  `json:"steps"`
	Result    []string    `json:"result"`
	// Certain is a target draw's key list (重点), taken outside the random
	// draw: first in Result, not in Frame, not counted in N.
	Certain []string `json:"certain"`
}

// DrawStep is one weighted pick of an inspector draw.
type DrawStep struct {
	Need       string      `json:"need"`
	Candidates []Candidate `json:"candidates"`
	Pick       string      `json:"pick"`
}

// PlanDrawOf is a planner draw as it is recorded: plan_draws rows, and the
// draws of calendar repairs (visit_substitutions.draw).
func PlanDrawOf(d *planner.Draw) PlanDraw {
	r := PlanDraw{Kind: d.Kind, DemandID: d.DemandID, VisitKey: d.VisitKey, FrameHash: d.FrameHash, N: d.N,
		Shift: d.Shift, Salt: d.Salt, Required: nonNil(d.Required), Result: nonNil(d.Result), Certain: nonNil(d.Certain),
		Frame: make([]Candidate, len(d.Frame)), Excluded: make([]Exclusion, len(d.Excluded))}
	for i, c := range d.Frame {
		r.Frame[i] = Candidate(c)
	}
	for i, e := range d.Excluded {
		r.Excluded[i] = Exclusion(e)
	}
	r.Steps = make([]DrawStep, len(d.Steps))
	for i, st := range d.Steps {
		r.Steps[i] = DrawStep{Need: st.Need, Pick: st.Pick, Candidates: make([]Candidate, len(st.Candidates))}
		for j, c := range st.Candidates {
			r.Steps[i].Candidates[j] = Candidate(c)
		}
	}
	return r
}

// Draw returns the record as the planner's Draw, for verification.
func (r PlanDraw) Draw() planner.Draw {
	d := planner.Draw{Kind: r.Kind, DemandID: r.DemandID, VisitKey: r.VisitKey, FrameHash: r.FrameHash, N: r.N,
		Shift: r.Shift, Salt: r.Salt, Required: r.Required, Result: r.Result,
		Frame: make([]planner.Candidate, len(r.Frame)), Excluded: make([]planner.Exclusion, len(r.Excluded))}
	if len(r.Certain) > 0 {
		d.Certain = r.Certain
	}
	for i, c := range r.Frame {
		d.Frame[i] = planner.Candidate(c)
	}
	for i, e := range r.Excluded {
		d.Excluded[i] = planner.Exclusion(e)
	}
	if len(r.Steps) > 0 {
		d.Steps = make([]planner.DrawStep, len(r.Steps))
		for i, st := range r.Steps {
			d.Steps[i] = planner.DrawStep{Need: st.Need, Pick: st.Pick, Candidates: make([]planner.Candidate, len(st.Candidates))}
			for j, c := range st.Candidates {
				d.Steps[i].Candidates[j] = planner.Candidate(c)
			}
		}
	}
	return d
}

// DrawsDigest is the hex SHA-256 over the draws' records in order, each
// written as one line: a JSON array of kind, demand id, visit key, frame hash,
// n, shift, salt, required, excluded, steps, result and frame, in the encoding
// the draws are stored in. It pins every draw and is recorded in the audit log
// when a run is saved.
func DrawsDigest(draws []planner.Draw) (string, error) {
	h := newDrawsHasher()
	for i := range draws {
		enc := encodeDraw(&draws[i])
		h.add(&draws[i], &enc)
	}
	return h.sum(), nil
}

type drawsHasher struct {
	h   hash.Hash
	buf []byte
}

func newDrawsHasher() *drawsHasher { return &drawsHasher{h: sha256.New()} }

func (d *drawsHasher) add(dr *planner.Draw, enc *drawJSON) {
	b := append(d.buf[:0], '[')
	b = appendJSONString(b, dr.Kind)
	b = append(b, ',')
	b = strconv.AppendInt(b, dr.DemandID, 10)
	b = append(b, ',')
	b = appendJSONString(b, dr.VisitKey)
	b = append(b, ',')
	b = appendJSONString(b, dr.FrameHash)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(dr.N), 10)
	b = append(b, ',')
	b = appendWeight(b, dr.Shift)
	b = append(b, ',')
	b = appendJSONString(b, dr.Salt)
	b = append(b, ',')
	b = appendStrings(b, dr.Required)
	for _, part := range [][]byte{enc.excluded, enc.steps, enc.result, enc.frame} {
		b = append(b, ',')
		b = append(b, part...)
	}
	// The key list goes last, and only when there is one: the digests of
	// draws recorded before it existed stay what they were.
	if len(dr.Certain) > 0 {
		b = append(b, ',')
		b = appendStrings(b, dr.Certain)
	}
	b = append(b, "]\n"...)
	d.h.Write(b)
	d.buf = b
}

func (d *drawsHasher) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// drawJSON is a draw's JSON columns, encoded by hand: the generic encoder
// spent more time on a district plan's 100,000 draws than the database.
type drawJSON struct {
	frame, excluded, steps, result []byte
}

func encodeDraw(d *planner.Draw) drawJSON {
	var e drawJSON
	e.frame = appendCandidates(nil, d.Frame)
	b := []byte{'['}
	for i, x := range d.Excluded {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendJSONString(b, x.Key)
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, x.Reason)
		b = append(b, '}')
	}
	e.excluded = append(b, ']')
	b = []byte{'['}
	for i, st := range d.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"need":`...)
		b = appendJSONString(b, st.Need)
		b = append(b, `,"candidates":`...)
		b = appendCandidates(b, st.Candidates)
		b = append(b, `,"pick":`...)
		b = appendJSONString(b, st.Pick)
		b = append(b, '}')
	}
	e.steps = append(b, ']')
	e.result = appendStrings(nil, d.Result)
	return e
}

func appendCandidates(b []byte, cs []planner.Candidate) []byte {
	b = append(b, '[')
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"key":`...)
		b = appendJSONString(b, c.Key)
		b = append(b, `,"weight":`...)
		b = appendWeight(b, c.Weight)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}

// appendWeight writes w as a JSON number, or as a string when JSON cannot
// hold it exactly (±Inf, NaN, -0).
func appendWeight(b []byte, w float64) []byte {
	if math.IsInf(w, 0) || math.IsNaN(w) || (w == 0 && math.Signbit(w)) {
		b = append(b, '"')
		b = strconv.AppendFloat(b, w, 'g', -1, 64)
		return append(b, '"')
	}
	return strconv.AppendFloat(b, w, 'g', -1, 64)
}

// appendJSONString writes s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

type drawRow struct {
	Seq       int
	Kind      string
	DemandID  *int64
	VisitKey  string
	Frame     []byte
	FrameHash string
	N         int
	Shift     float64
	Salt      string
	Required  pq.StringArray `gorm:"type:text[]"`
	Excluded  []byte
	Steps     []byte
	Result    []byte
	Certain   []byte
}

func (r drawRow) draw() (PlanDraw, error) {
	d := PlanDraw{Seq: r.Seq, Kind: r.Kind, VisitKey: r.VisitKey, FrameHash: r.FrameHash, N: r.N, Shift: r.Shift,
		Salt: r.Salt, Required: nonNil([]string(r.Required))}
	if r.DemandID != nil {
		d.DemandID = *r.DemandID
	}
	if err := json.Unmarshal(r.Frame, &d.Frame); err != nil {
		return d, fmt.Errorf("draw %d frame: %w", r.Seq, err)
	}
	if err := json.Unmarshal(r.Excluded, &d.Excluded); err != nil {
		return d, fmt.Errorf("draw %d excluded: %w", r.Seq, err)
	}
	if err := json.Unmarshal(r.Steps, &d.Steps); err != nil {
		return d, fmt.Errorf("draw %d steps: %w", r.Seq, err)
	}
	if err := json.Unmarshal(r.Result, &d.Result); err != nil {
		return d, fmt.Errorf("draw %d result: %w", r.Seq, err)
	}
	if len(r.Certain) > 0 {
		if err := json.Unmarshal(r.Certain, &d.Certain); err != nil {
			return d, fmt.Errorf("draw %d key list: %w", r.Seq, err)
		}
	}
	d.Frame, d.Excluded, d.Steps, d.Result = nonNil(d.Frame), nonNil(d.Excluded), nonNil(d.Steps), nonNil(d.Result)
	d.Certain = nonNil(d.Certain)
	return d, nil
}

// ListPlanDraws pages through a plan's draws in draw order.
func (s *Store) ListPlanDraws(ctx context.Context, planID int64, p Page) (Paged[PlanDraw], error) {
	if err := s.planExists(ctx, planID); err != nil {
		return Paged[PlanDraw]{}, err
	}
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[PlanDraw]{}, err
	}
	return s.planDraws(ctx, planID, after, p.limit())
}

// PlanDraws returns every draw of a plan in draw order.
func (s *Store) PlanDraws(ctx context.Context, planID int64) ([]PlanDraw, error) {
	if err := s.planExists(ctx, planID); err != nil {
		return nil, err
	}
	out, err := s.planDraws(ctx, planID, 0, 0)
	return out.Items, err
}

// planDraws reads draws after seq; limit 0 reads them all.
func (s *Store) planDraws(ctx context.Context, planID, after int64, limit int) (Paged[PlanDraw], error) {
	q := s.db.WithContext(ctx).Table("plan_draws").Where("plan_id = ? AND seq > ?", planID, after).Order("seq")
	if limit > 0 {
		q = q.Limit(limit + 1)
	}
	var rows []drawRow
	if err := q.Find(&rows).Error; err != nil {
		return Paged[PlanDraw]{}, translate(err, "plan draws")
	}
	var out Paged[PlanDraw]
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
		out.Next = strconv.Itoa(rows[limit-1].Seq)
	}
	out.Items = make([]PlanDraw, len(rows))
	for i, r := range rows {
		d, err := r.draw()
		if err != nil {
			return Paged[PlanDraw]{}, err
		}
		out.Items[i] = d
	}
	return out, nil
}

// PlanDrawsDigest returns the DrawsDigest the audit log recorded when the
// plan's run was saved ("plan.draft"), or "" when there is none.
func (s *Store) PlanDrawsDigest(ctx context.Context, planID int64) (string, error) {
	var details []string
	err := s.db.WithContext(ctx).Raw(`SELECT detail FROM audit_log WHERE object = ? AND action = 'plan.draft' ORDER BY id DESC LIMIT 1`,
		planObject(planID)).Scan(&details).Error
	if err != nil {
		return "", translate(err, "audit log")
	}
	if len(details) == 0 {
		return "", nil
	}
	var d struct {
		DrawsSHA256 string `json:"draws_sha256"`
	}
	if err := json.Unmarshal([]byte(details[0]), &d); err != nil {
		return "", fmt.Errorf("audit detail of %s: %w", planObject(planID), err)
	}
	return d.DrawsSHA256, nil
}

func (s *Store) planExists(ctx context.Context, id int64) error {
	var n int64
	if err := s.db.WithContext(ctx).Table("plans").Where("id = ?", id).Count(&n).Error; err != nil {
		return translate(err, planObject(id))
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", planObject(id), domain.ErrNotFound)
	}
	return nil
}

// ---- visits and tasks

// PlanAssignment is an inspector on a visit.
type PlanAssignment struct {
	InspectorID int64  `json:"inspector_id"`
	Role        string `json:"role"` // lead or member
}

// PlanTask is one (business, item, window) of a demand: placed in a visit
// (VisitSeq) or unplaced with the reason. A whole demand that could not be
// resolved has no USCC (and no item when it concerns them all).
type PlanTask struct {
	Seq            int    `json:"seq"`
	VisitSeq       *int   `json:"visit_seq,omitempty"`
	DemandID       int64  `json:"demand_id"`
	DepartmentID   int64  `json:"department_id"`
	USCC           string `json:"uscc,omitempty"`
	ItemID         int64  `json:"item_id,omitempty"`
	WindowFrom     string `json:"window_from"`
	WindowTo       string `json:"window_to"`
	Priority       int    `json:"priority"`
	Complaint      bool   `json:"complaint"`
	UnplacedReason string `json:"unplaced_reason,omitempty"`
}

// PlanVisit is one door-knock of a plan.
type PlanVisit struct {
	Seq             int              `json:"seq"`
	USCC            string           `json:"uscc"`
	BusinessName    string           `json:"business_name"`
	Date            string           `json:"date"`
	TeamID          int64            `json:"team_id"`
	DurationMinutes int              `json:"duration_minutes"`
	TravelMinutes   int              `json:"travel_minutes"`
	RouteOrder      int              `json:"route_order"`
	DepartmentIDs   []int64          `json:"department_ids"`
	Inspectors      []PlanAssignment `json:"inspectors"`
	Tasks           []PlanTask       `json:"tasks"`
}

type taskRow struct {
	Seq            int
	VisitSeq       *int
	DemandID       int64
	DepartmentID   int64
	USCC           *string `gorm:"column:uscc"`
	ItemID         *int64
	WindowFrom     time.Time
	WindowTo       time.Time
	Priority       int
	Complaint      bool
	UnplacedReason *string
}

func (r taskRow) task() PlanTask {
	t := PlanTask{Seq: r.Seq, VisitSeq: r.VisitSeq, DemandID: r.DemandID, DepartmentID: r.DepartmentID,
		WindowFrom: r.WindowFrom.Format(time.DateOnly), WindowTo: r.WindowTo.Format(time.DateOnly),
		Priority: r.Priority, Complaint: r.Complaint}
	if r.USCC != nil {
		t.USCC = *r.USCC
	}
	if r.ItemID != nil {
		t.ItemID = *r.ItemID
	}
	if r.UnplacedReason != nil {
		t.UnplacedReason = *r.UnplacedReason
	}
	return t
}

type visitRow struct {
	Seq             int
	USCC            string `gorm:"column:uscc"`
	BusinessName    string
	Date            time.Time
	TeamID          int64
	DurationMinutes int
	TravelMinutes   int
	RouteOrder      int
	DepartmentIDs   pq.Int64Array `gorm:"column:department_ids;type:bigint[]"`
}

// ListPlanVisits pages through a plan's visits in seq order. With departmentID
// != 0 it lists only the visits that carry that department's tasks, and of
// their tasks only the department's own (DepartmentIDs still names every
// department of the visit).
func (s *Store) ListPlanVisits(ctx context.Context, planID, departmentID int64, p Page) (Paged[PlanVisit], error) {
	if err := s.planExists(ctx, planID); err != nil {
		return Paged[PlanVisit]{}, err
	}
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[PlanVisit]{}, err
	}
	lim := p.limit()
	q := s.db.WithContext(ctx).Table("plan_visits v").
		Select("v.seq, v.uscc, coalesce(b.name, '') AS business_name, v.date, v.team_id, v.duration_minutes, v.travel_minutes, v.route_order, v.department_ids").
		Joins("LEFT JOIN businesses b ON b.uscc = v.uscc").
		Where("v.plan_id = ? AND v.seq > ?", planID, after)
	if departmentID != 0 {
		q = q.Where("EXISTS (SELECT 1 FROM plan_tasks t WHERE t.plan_id = v.plan_id AND t.department_id = ? AND t.visit_seq = v.seq)", departmentID)
	}
	var rows []visitRow
	if err := q.Order("v.seq").Limit(lim + 1).Find(&rows).Error; err != nil {
		return Paged[PlanVisit]{}, translate(err, "plan visits")
	}
	var out Paged[PlanVisit]
	if len(rows) > lim {
		rows = rows[:lim]
		out.Next = strconv.Itoa(rows[lim-1].Seq)
	}
	out.Items = make([]PlanVisit, len(rows))
	if len(rows) == 0 {
		return out, nil
	}
	seqs := make(pq.Int64Array, len(rows))
	index := make(map[int]int, len(rows))
	for i, r := range rows {
		out.Items[i] = PlanVisit{Seq: r.Seq, USCC: r.USCC, BusinessName: r.BusinessName, Date: r.Date.Format(time.DateOnly),
			TeamID: r.TeamID, DurationMinutes: r.DurationMinutes, TravelMinutes: r.TravelMinutes, RouteOrder: r.RouteOrder,
			DepartmentIDs: nonNil([]int64(r.DepartmentIDs)), Inspectors: []PlanAssignment{}, Tasks: []PlanTask{}}
		seqs[i] = int64(r.Seq)
		index[r.Seq] = i
	}
	tq := s.db.WithContext(ctx).Table("plan_tasks").Where("plan_id = ? AND visit_seq = ANY(?::int[])", planID, seqs)
	if departmentID != 0 {
		tq = tq.Where("department_id = ?", departmentID)
	}
	var tasks []taskRow
	if err := tq.Order("seq").Find(&tasks).Error; err != nil {
		return Paged[PlanVisit]{}, translate(err, "plan tasks")
	}
	for _, t := range tasks {
		v := &out.Items[index[*t.VisitSeq]]
		v.Tasks = append(v.Tasks, t.task())
	}
	var as []struct {
		VisitSeq    int
		InspectorID int64
		Role        string
	}
	if err := s.db.WithContext(ctx).Table("visit_assignments").Select("visit_seq, inspector_id, role").
		Where("plan_id = ? AND visit_seq = ANY(?::int[])", planID, seqs).Order("visit_seq, ord").Find(&as).Error; err != nil {
		return Paged[PlanVisit]{}, translate(err, "plan assignments")
	}
	for _, a := range as {
		v := &out.Items[index[a.VisitSeq]]
		v.Inspectors = append(v.Inspectors, PlanAssignment{InspectorID: a.InspectorID, Role: a.Role})
	}
	return out, nil
}

// ListPlanUnplaced pages through the tasks (and whole demands) a plan could not
// place, with the reason; departmentID != 0 keeps that department's.
func (s *Store) ListPlanUnplaced(ctx context.Context, planID, departmentID int64, p Page) (Paged[PlanTask], error) {
	if err := s.planExists(ctx, planID); err != nil {
		return Paged[PlanTask]{}, err
	}
	after, err := idCursor(p.After)
	if err != nil {
		return Paged[PlanTask]{}, err
	}
	lim := p.limit()
	q := s.db.WithContext(ctx).Table("plan_tasks").Where("plan_id = ? AND unplaced_reason IS NOT NULL AND seq > ?", planID, after)
	if departmentID != 0 {
		q = q.Where("department_id = ?", departmentID)
	}
	var rows []taskRow
	if err := q.Order("seq").Limit(lim + 1).Find(&rows).Error; err != nil {
		return Paged[PlanTask]{}, translate(err, "plan unplaced tasks")
	}
	var out Paged[PlanTask]
	if len(rows) > lim {
		rows = rows[:lim]
		out.Next = strconv.Itoa(rows[lim-1].Seq)
	}
	out.Items = make([]PlanTask, len(rows))
	for i, r := range rows {
		out.Items[i] = r.task()
	}
	return out, nil
}

// PlanResult reads a saved plan back as the planner's value: visits in seq
// order with their tasks and inspectors, team-days ordered by date then team
// (each with its visits in route order), draws, unplaced tasks, joins and
// stats.
func (s *Store) PlanResult(ctx context.Context, planID int64) (*planner.Plan, error) {
	pl, err := s.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	out := &planner.Plan{}
	if pl.Stats != nil {
		out.Stats = pl.Stats.plannerStats()
	}
	err = s.queryRows(ctx, `SELECT seq, uscc, date, team_id, duration_minutes, travel_minutes, route_order, department_ids
		FROM plan_visits WHERE plan_id = $1 ORDER BY seq`, []any{planID}, func(rows *sql.Rows) error {
		var v planner.Visit
		var seq int
		var date time.Time
		var depts pq.Int64Array
		if err := rows.Scan(&seq, &v.USCC, &date, &v.TeamID, &v.DurationMinutes, &v.TravelMinutes, &v.RouteOrder, &depts); err != nil {
			return err
		}
		if seq != len(out.Visits)+1 {
			return fmt.Errorf("%s: visit %d is missing", planObject(planID), len(out.Visits)+1)
		}
		v.Date, v.DepartmentIDs = planner.DayOf(date), []int64(depts)
		out.Visits = append(out.Visits, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s visits: %w", planObject(planID), err)
	}
	err = s.queryRows(ctx, `SELECT visit_seq, demand_id, department_id, coalesce(uscc, ''), coalesce(item_id, 0), window_from, window_to,
		priority, complaint, coalesce(unplaced_reason, '') FROM plan_tasks WHERE plan_id = $1 ORDER BY seq`, []any{planID},
		func(rows *sql.Rows) error {
			var vs *int
			var t planner.Task
			var from, to time.Time
			var reason string
			if err := rows.Scan(&vs, &t.DemandID, &t.DepartmentID, &t.USCC, &t.ItemID, &from, &to, &t.Priority, &t.Complaint, &reason); err != nil {
				return err
			}
			if vs == nil {
				out.Unplaced = append(out.Unplaced, planner.Unplaced{DemandID: t.DemandID, USCC: t.USCC, ItemID: t.ItemID, Reason: reason})
				return nil
			}
			t.From, t.To = planner.DayOf(from), planner.DayOf(to)
			v := &out.Visits[*vs-1]
			v.Tasks = append(v.Tasks, t)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s tasks: %w", planObject(planID), err)
	}
	err = s.queryRows(ctx, `SELECT visit_seq, inspector_id FROM plan_assignments WHERE plan_id = $1 ORDER BY visit_seq, ord`,
		[]any{planID}, func(rows *sql.Rows) error {
			var vs int
			var id int64
			if err := rows.Scan(&vs, &id); err != nil {
				return err
			}
			v := &out.Visits[vs-1]
			v.InspectorIDs = append(v.InspectorIDs, id)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s assignments: %w", planObject(planID), err)
	}
	type tdKey struct {
		team int64
		date planner.Day
	}
	tdIndex := map[tdKey]int{}
	err = s.queryRows(ctx, `SELECT team_id, date, travel_km, work_minutes, travel_minutes FROM plan_team_days
		WHERE plan_id = $1 ORDER BY date, team_id`, []any{planID}, func(rows *sql.Rows) error {
		var td planner.TeamDay
		var date time.Time
		if err := rows.Scan(&td.TeamID, &date, &td.TravelKm, &td.WorkMinutes, &td.TravelMinutes); err != nil {
			return err
		}
		td.Date = planner.DayOf(date)
		tdIndex[tdKey{td.TeamID, td.Date}] = len(out.TeamDays)
		out.TeamDays = append(out.TeamDays, td)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s team days: %w", planObject(planID), err)
	}
	order := make([]int, len(out.Visits))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(out.Visits[a].RouteOrder, out.Visits[b].RouteOrder) })
	for _, vi := range order {
		v := &out.Visits[vi]
		if i, ok := tdIndex[tdKey{v.TeamID, v.Date}]; ok {
			out.TeamDays[i].Visits = append(out.TeamDays[i].Visits, vi)
		}
	}
	draws, err := s.PlanDraws(ctx, planID)
	if err != nil {
		return nil, err
	}
	for _, d := range draws {
		out.Draws = append(out.Draws, d.Draw())
	}
	if out.Joins, err = s.planJoins(ctx, planID); err != nil {
		return nil, err
	}
	return out, nil
}

// ---- publication

// PublishPlan publishes a draft: the plan and its rows are frozen, its seed
// is revealed (the audit entry "plan.publish" records seed and seed_hash),
// and an outbox row per visit records its dispatch, in the same transaction.
// It is a conflict when the plan is not a draft, or when another plan of the
// same year over overlapping regions was published after this one was
// created: this draft's shift is stale then, and it must be run again.
//
// A draft with no visits is refused (an *EmptyPlanError, a conflict, that
// says why it is empty) unless forced (PublishPlanWith): publishing nothing
// without a word hides that the cycle found no work.
func (s *Store) PublishPlan(ctx context.Context, actor string, id int64) (Plan, error) {
	return s.PublishPlanWith(ctx, actor, id, PublishOptions{})
}

// PublishPlanOn is PublishPlan on the civil date today, refusing (a conflict)
// a draft that would give a business less notice than its demand promised:
// an announced visit dated before today + announce_days. That happens when a
// draft made on one day is published days later; planning it again from
// today moves those visits later or lists them as notice_period.
func (s *Store) PublishPlanOn(ctx context.Context, actor string, id int64, today time.Time) (Plan, error) {
	return s.PublishPlanWith(ctx, actor, id, PublishOptions{Today: today})
}

// PublishOptions qualify a publication.
type PublishOptions struct {
	// Today, when set, refuses announced visits inside their notice period
	// (see PublishPlanOn).
	Today time.Time
	// Force publishes a draft with no visits; without it that is an
	// *EmptyPlanError. The audit entry records "empty": true.
	Force bool
	// ApprovalSteps, when set, refuses (a conflict naming what is missing)
	// a draft whose steps are not all approved, in order, or that was
	// rejected (RecordApproval).
	ApprovalSteps []string
}

// PublishPlanWith is PublishPlan with options.
func (s *Store) PublishPlanWith(ctx context.Context, actor string, id int64, o PublishOptions) (Plan, error) {
	today := o.Today
	var p Plan
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, id)
		if err != nil {
			return err
		}
		if row.Status != PlanDraft {
			return fmt.Errorf("%s is %s; only a draft can be published: %w", planObject(id), row.Status, domain.ErrConflict)
		}
		if err := checkApprovedTx(tx, id, o.ApprovalSteps); err != nil {
			return err
		}
		var visits int
		if err := tx.Raw(`SELECT count(*) FROM plan_visits WHERE plan_id = ?`, id).Scan(&visits).Error; err != nil {
			return translate(err, planObject(id))
		}
		// A plan whose only work is joins to visits on the calendar is not
		// empty: publishing it amends them.
		var joins int
		if err := tx.Raw(`SELECT count(*) FROM plan_joins WHERE plan_id = ?`, id).Scan(&joins).Error; err != nil {
			return translate(err, planObject(id))
		}
		if visits == 0 && joins == 0 && !o.Force {
			why, err := emptyPlan(tx, row)
			if err != nil {
				return err
			}
			return &EmptyPlanError{EmptyPlan: why}
		}
		if !today.IsZero() {
			var short struct {
				N      int
				USCC   string
				Date   string
				Days   int
				Demand int64
			}
			if err := tx.Raw(`SELECT count(*) OVER () AS n, v.uscc, v.date::text AS date, d.announce_days AS days, d.id AS demand
FROM plan_tasks t JOIN plan_visits v ON v.plan_id = t.plan_id AND v.seq = t.visit_seq JOIN demands d ON d.id = t.demand_id
WHERE t.plan_id = ? AND d.announce_days > 0 AND v.date < ?::date + d.announce_days
ORDER BY v.date, v.uscc LIMIT 1`, id, civilDate(today)).Scan(&short).Error; err != nil {
				return translate(err, planObject(id))
			}
			if short.N > 0 {
				return fmt.Errorf("%s has %d announced task(s) inside their notice period if published on %s (first: %s on %s, demand %d with %d days' notice); plan it again from today: %w",
					planObject(id), short.N, civilDate(today), short.USCC, short.Date, short.Demand, short.Days, domain.ErrConflict)
			}
		}
		var later []struct {
			ID        int64
			RegionIDs pq.Int64Array `gorm:"column:region_ids;type:bigint[]"`
		}
		if err := tx.Raw(`SELECT id, region_ids FROM plans WHERE status = 'published' AND year = ? AND published_at > ? AND id <> ?`,
			row.Year, row.CreatedAt, id).Scan(&later).Error; err != nil {
			return translate(err, "plans")
		}
		for _, l := range later {
			overlap := len(l.RegionIDs) == 0 || len(row.RegionIDs) == 0
			if !overlap {
				if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM regions WHERE id IN `+regionSubtree+` AND id IN `+regionSubtree+`)`,
					l.RegionIDs, row.RegionIDs).Scan(&overlap).Error; err != nil {
					return translate(err, "regions")
				}
			}
			if overlap {
				return fmt.Errorf("plan %d, over the same regions, was published after %s was made, so its shift is stale; run it again: %w",
					l.ID, planObject(id), domain.ErrConflict)
			}
		}
		if err := tx.Exec(`UPDATE plans SET status = 'published', published_at = now() WHERE id = ?`, id).Error; err != nil {
			return translate(err, planObject(id))
		}
		// The dispatch of every visit, committed with the publication (DESIGN.md §5).
		if err := writeDispatchOutbox(tx, id); err != nil {
			return err
		}
		// The amendments of the visits it joins tasks to, with their news, in
		// the same transaction: a joined task is in no visit of this plan, so
		// publishing the plan without its joins would drop it.
		amended, err := publishJoins(tx, id, today)
		if err != nil {
			return err
		}
		var seed []byte
		if err := tx.Raw(`SELECT seed FROM plans WHERE id = ?`, id).Row().Scan(&seed); err != nil {
			return translate(err, planObject(id))
		}
		if p, err = getPlanTx(tx, id); err != nil {
			return err
		}
		detail := map[string]any{
			"seed": Hex(seed), "seed_hash": p.SeedHash, "year": p.Year, "shift": p.Shift, "next_shift": p.NextShift,
		}
		if visits == 0 && joins == 0 {
			detail["empty"] = true // forced
		}
		if amended > 0 {
			detail["visits_amended"] = amended
		}
		return appendAudit(tx, actor, "plan.publish", planObject(id), OutcomeOK, detail)
	})
	return p, err
}

// DiscardPlan discards a draft (or a plan still running, whose result will
// then be refused). Its rows are kept for the record and its seed is revealed.
func (s *Store) DiscardPlan(ctx context.Context, actor string, id int64) (Plan, error) {
	var p Plan
	err := s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, id)
		if err != nil {
			return err
		}
		if row.Status != PlanDraft && row.Status != PlanRunning {
			return fmt.Errorf("%s is %s; only a draft or a running plan can be discarded: %w", planObject(id), row.Status, domain.ErrConflict)
		}
		if err := tx.Exec(`UPDATE plans SET status = 'discarded', discarded_at = now() WHERE id = ?`, id).Error; err != nil {
			return translate(err, planObject(id))
		}
		if p, err = getPlanTx(tx, id); err != nil {
			return err
		}
		return appendAudit(tx, actor, "plan.discard", planObject(id), OutcomeOK, map[string]any{
			"was": row.Status, "seed": p.Seed, "seed_hash": p.SeedHash,
		})
	})
	return p, err
}

// FailPlan ends a running plan as failed with the reason (audit "plan.fail",
// by the plan's creator).
func (s *Store) FailPlan(ctx context.Context, id int64, failure string) error {
	if failure == "" {
		failure = "failed"
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, id)
		if err != nil {
			return err
		}
		if row.Status != PlanRunning {
			return fmt.Errorf("%s is %s, not running: %w", planObject(id), row.Status, domain.ErrConflict)
		}
		if err := tx.Exec(`UPDATE plans SET status = 'failed', failure = ? WHERE id = ?`, failure, id).Error; err != nil {
			return translate(err, planObject(id))
		}
		return appendAudit(tx, row.CreatedBy, "plan.fail", planObject(id), OutcomeOK, map[string]string{"failure": failure})
	})
}

// WithdrawPlan deletes a running plan that was never handed to the worker
// pool (its run could not be queued): nothing was drawn from its seed, so it
// leaves no plan behind, neither running nor failed. The audit log keeps its
// "plan.create" entry (with the seed hash) and gets "plan.withdraw" with the
// reason. A plan that is not running is a conflict.
func (s *Store) WithdrawPlan(ctx context.Context, id int64, reason string) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		row, err := lockPlan(tx, id)
		if err != nil {
			return err
		}
		if row.Status != PlanRunning {
			return fmt.Errorf("%s is %s, not running: %w", planObject(id), row.Status, domain.ErrConflict)
		}
		if err := tx.Exec(`DELETE FROM plans WHERE id = ?`, id).Error; err != nil {
			return translate(err, planObject(id))
		}
		return appendAudit(tx, row.CreatedBy, "plan.withdraw", planObject(id), OutcomeOK, map[string]string{"reason": reason})
	})
}

func lockPlan(tx *gorm.DB, id int64) (planRow, error) {
	var row planRow
	res := tx.Raw(`SELECT `+planColumns+` FROM plans WHERE id = ? FOR UPDATE`, id).Scan(&row)
	if res.Error != nil {
		return row, translate(res.Error, planObject(id))
	}
	if res.RowsAffected == 0 {
		return row, fmt.Errorf("%s: %w", planObject(id), domain.ErrNotFound)
	}
	return row, nil
}

func getPlanTx(tx *gorm.DB, id int64) (Plan, error) {
	var row planRow
	if err := tx.Raw(`SELECT `+planColumns+` FROM plans WHERE id = ?`, id).Scan(&row).Error; err != nil {
		return Plan{}, translate(err, planObject(id))
	}
	return row.plan()
}

// ---- year keys

// YearKey is the key of one year's permanent random numbers. Key is the
// secret: it is encoded to JSON only once the year is revealed.
type YearKey struct {
	Year       int        `json:"year"`
	Key        Hex        `json:"-"`
	KeyHash    Hex        `json:"key_hash"`
	CreatedAt  time.Time  `json:"created_at"`
	RevealedAt *time.Time `json:"revealed_at"`
}

// MarshalJSON includes the key only when it has been revealed.
func (k YearKey) MarshalJSON() ([]byte, error) {
	type plain YearKey
	out := struct {
		plain
		Key Hex `json:"key,omitempty"`
	}{plain: plain(k)}
	if k.RevealedAt != nil {
		out.Key = k.Key
	}
	return json.Marshal(out)
}

// YearKey returns the key of year, creating it from crypto/rand when the year
// has none (audit "year_key.commit" with its hash: the commitment). The result
// holds the secret key: it is for the planning process, never for an answer to
// a caller while the year is open.
func (s *Store) YearKey(ctx context.Context, actor string, year int) (YearKey, error) {
	k, err := s.SecretYearKey(ctx, year)
	if !errors.Is(err, domain.ErrNotFound) {
		return k, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return YearKey{}, fmt.Errorf("year key: %w", err)
	}
	hash := sha256.Sum256(key)
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Exec(`INSERT INTO year_keys (year, key, key_hash) VALUES (?, ?, ?) ON CONFLICT (year) DO NOTHING`, year, key, hash[:])
		if res.Error != nil {
			return translate(res.Error, "year key")
		}
		if res.RowsAffected == 0 {
			return nil // made concurrently: use that one
		}
		return appendAudit(tx, actor, "year_key.commit", "year_key/"+strconv.Itoa(year), OutcomeOK,
			map[string]any{"year": year, "key_hash": Hex(hash[:])})
	})
	if err != nil {
		return YearKey{}, err
	}
	return s.SecretYearKey(ctx, year)
}

// SecretYearKey returns year's key whether or not it is revealed, without
// creating one (ErrNotFound). For the operator's side only: planning runs and
// `draw verify`, which runs with database access and may check a published
// plan's target draws before the year closes. The API must use
// RevealedYearKey.
func (s *Store) SecretYearKey(ctx context.Context, year int) (YearKey, error) {
	var k YearKey
	res := s.db.WithContext(ctx).Raw(`SELECT year, key, key_hash, created_at, revealed_at FROM year_keys WHERE year = ?`, year).Scan(&k)
	if res.Error != nil {
		return k, translate(res.Error, "year key")
	}
	if res.RowsAffected == 0 {
		return k, fmt.Errorf("year %d has no key: %w", year, domain.ErrNotFound)
	}
	return k, nil
}

// RevealedYearKey returns year's commitment, with the key itself only when
// the year has been closed (Key is nil before). A year without a key is
// ErrNotFound.
func (s *Store) RevealedYearKey(ctx context.Context, year int) (YearKey, error) {
	k, err := s.SecretYearKey(ctx, year)
	if k.RevealedAt == nil {
		k.Key = nil
	}
	return k, err
}

// RevealYearKey closes a year: its key is revealed (audit "year_key.reveal"
// records the key). Revealing twice is a conflict; a year without a key is
// ErrNotFound.
func (s *Store) RevealYearKey(ctx context.Context, actor string, year int) (YearKey, error) {
	var k YearKey
	err := s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Raw(`SELECT year, key, key_hash, created_at, revealed_at FROM year_keys WHERE year = ? FOR UPDATE`, year).Scan(&k)
		if res.Error != nil {
			return translate(res.Error, "year key")
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("year %d has no key: %w", year, domain.ErrNotFound)
		}
		if k.RevealedAt != nil {
			return fmt.Errorf("year %d was closed on %s: %w", year, k.RevealedAt.Format(time.DateOnly), domain.ErrConflict)
		}
		if err := tx.Raw(`UPDATE year_keys SET revealed_at = now() WHERE year = ? RETURNING revealed_at`, year).Scan(&k.RevealedAt).Error; err != nil {
			return translate(err, "year key")
		}
		return appendAudit(tx, actor, "year_key.reveal", "year_key/"+strconv.Itoa(year), OutcomeOK,
			map[string]any{"year": year, "key": k.Key, "key_hash": k.KeyHash})
	})
	return k, err
}
