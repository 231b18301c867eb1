// Package planning runs planning cycles: it validates a request, commits to
// the cycle's secrets, loads the planner's input from storage, calls the pure
// planner, stores the result as a draft, and publishes, discards and verifies
// plans. It joins store and planner; the API and the command line call it.
package planning

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planner"
	"inspectonce/store"
)

// Progress stages of a run, as UpdatePlanProgress records them.
const (
	ProgressLoading  = 10
	ProgressPlanning = 40
	// ProgressComparing was the stage building a coordinated plan's
	// independent counterpart; that is now done after the draft is stored
	// (Compare), and the constant stays for the notes of older runs.
	ProgressComparing = 60
	ProgressSaving    = 80
	ProgressDone      = 100
)

// Options configure New.
type Options struct {
	Store  *store.Store
	Config *configs.Config
	// Calendar is the working-day calendar; nil builds it from Config.
	Calendar *calendar.Calendar
	// Policy overrides the planner policy; nil means planner.DefaultPolicy()
	// with Config's risk weights.
	Policy *planner.Policy
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// EnqueueComparison, when set, hands the independent counterpart of a
	// stored coordinated draft to a job of its own (jobs.EnqueuePlanCompare,
	// which runs Compare), so the draft is ready without waiting for it. nil
	// builds the counterpart in Execute, just after the draft is stored.
	EnqueueComparison func(ctx context.Context, planID int64) error
}

// Service runs and manages plans.
type Service struct {
	st         *store.Store
	cal        *calendar.Calendar
	policy     planner.Policy
	maxHorizon int
	// compare builds the independent counterpart of coordinated plans.
	compare bool
	// approvalSteps must all be approved, in order, before publication.
	approvalSteps []string
	loc           *time.Location
	now           func() time.Time
	// enqueueComparison: see Options.EnqueueComparison.
	enqueueComparison func(ctx context.Context, planID int64) error
	// randomness, randomnessSource and jitter: who fixes the target draws'
	// randomness after the frames are committed (witness.go).
	randomness       string
	randomnessSource string
	jitter           float64
}

// New builds a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Config == nil {
		return nil, errors.New("planning: Store and Config are required")
	}
	s := &Service{st: o.Store, cal: o.Calendar, maxHorizon: o.Config.Planning.MaxHorizonDays,
		compare: o.Config.Planning.CompareIndependent, loc: o.Config.Location(), now: o.Now,
		approvalSteps: slices.Clone(o.Config.Planning.ApprovalSteps), enqueueComparison: o.EnqueueComparison,
		randomness: o.Config.Planning.Randomness, randomnessSource: o.Config.Planning.RandomnessSource,
		jitter: o.Config.Planning.ShiftJitter}
	if s.randomness == "" {
		s.randomness = RandomnessOperator
	}
	if !(s.jitter > 0 && s.jitter <= 1) {
		s.jitter = 1
	}
	if s.cal == nil {
		cal, err := calendar.New(o.Config.Calendar.Holidays, o.Config.Calendar.WorkingWeekends)
		if err != nil {
			return nil, fmt.Errorf("planning: %w", err)
		}
		s.cal = cal
	}
	if o.Policy != nil {
		s.policy = *o.Policy
	} else {
		s.policy = planner.DefaultPolicy()
		if len(o.Config.Risk.Weights) > 0 {
			s.policy.RiskWeights = maps.Clone(o.Config.Risk.Weights)
		}
		// Joins are persisted with the draft and published as amendments
		// (store.PublishPlan), so they are on unless the config says not.
		s.policy.Join = o.Config.Planning.Join
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxHorizon <= 0 {
		s.maxHorizon = 92
	}
	return s, nil
}

// Calendar is the working-day calendar plans follow.
func (s *Service) Calendar() *calendar.Calendar { return s.cal }

// Today is the current civil date in the configured time zone (midnight UTC).
func (s *Service) Today() time.Time { return civil(s.now().In(s.loc)) }

// NextWorkingDay is the first working day after today: the default start of
// a plan.
func (s *Service) NextWorkingDay() time.Time {
	d := s.Today().AddDate(0, 0, 1)
	for i := 0; i < 366 && !s.cal.IsWorkingDay(d); i++ {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// Request asks for one planning cycle over [From, To] (civil dates, both
// included) for RegionIDs and everything below them (none = the whole
// register).
type Request struct {
	From, To  time.Time
	RegionIDs []int64
	// Independent makes each demand draw on its own instead of sharing the
	// businesses' permanent random numbers (to measure the gain of coordination).
	Independent bool
	// DryRun plans without storing anything: no plan row, no seed commitment.
	DryRun bool
	// UrgentDemandID, when not 0, restricts the plan to that demand and puts
	// its visits on the earliest feasible days (see PlaceNow). It is stored
	// on the plan row, so Execute honours it wherever it runs.
	UrgentDemandID int64
}

// Result is a finished run.
type Result struct {
	// PlanID is the stored draft's id, 0 for a dry run.
	PlanID int64
	// Plan is the stored plan row (zero for a dry run).
	Plan store.Plan
	// Result is the planner's plan: visits, draws, unplaced tasks.
	Result *planner.Plan
	// Stats are the figures of Result.
	Stats    store.PlanStats
	Year     int
	Shift    float64
	SeedHash store.Hex
	// Awaiting: the plan's frames are committed and it waits for the value
	// that fixes its draws (witness.go); Result is nil and Stats zero.
	Awaiting bool
}

// civil is t's civil date as midnight UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// validate checks a request; it returns the request with civil dates and the
// year whose key the draws use.
func (s *Service) validate(ctx context.Context, req Request) (Request, int, error) {
	var v domain.ValidationError
	if req.From.IsZero() || req.To.IsZero() {
		v.Add("horizon", "give the first and last day of the horizon")
		return req, 0, v.Err()
	}
	req.From, req.To = civil(req.From), civil(req.To)
	days := int(req.To.Sub(req.From).Hours()/24) + 1
	switch {
	case req.To.Before(req.From):
		v.Add("horizon", "is empty: it ends (%s) before it starts (%s)", req.To.Format(time.DateOnly), req.From.Format(time.DateOnly))
	case days > s.maxHorizon:
		v.Add("horizon", "covers %d days, more than the %d allowed (planning.max_horizon_days)", days, s.maxHorizon)
	case req.From.Before(s.Today()):
		v.Add("horizon", "starts in the past (%s; today is %s)", req.From.Format(time.DateOnly), s.Today().Format(time.DateOnly))
	case s.cal.WorkingDays(req.From, req.To) == 0:
		v.Add("horizon", "holds no working day from %s to %s", req.From.Format(time.DateOnly), req.To.Format(time.DateOnly))
	}
	seen := map[int64]bool{}
	for i, id := range req.RegionIDs {
		switch {
		case id <= 0:
			v.Add(fmt.Sprintf("region_ids[%d]", i), "must be a positive id, got %d", id)
		case seen[id]:
			v.Add(fmt.Sprintf("region_ids[%d]", i), "repeats region %d", id)
		}
		seen[id] = true
	}
	if len(v.Fields) == 0 && len(req.RegionIDs) > 0 {
		missing, err := s.st.MissingIDs(ctx, "regions", req.RegionIDs)
		if err != nil {
			return req, 0, err
		}
		if len(missing) > 0 {
			ids := make([]string, len(missing))
			for i, id := range missing {
				ids[i] = fmt.Sprint(id)
			}
			v.Add("region_ids", "no such region: %s", strings.Join(ids, ", "))
		}
	}
	year := req.From.Year()
	if len(v.Fields) == 0 {
		k, err := s.st.RevealedYearKey(ctx, year)
		switch {
		case errors.Is(err, domain.ErrNotFound):
		case err != nil:
			return req, 0, err
		case k.RevealedAt != nil:
			v.Add("horizon", "starts in %d, a closed year whose key is revealed: its draws would be predictable", year)
		}
	}
	return req, year, v.Err()
}

func mode(independent bool) string {
	if independent {
		return store.ModeIndependent
	}
	return store.ModeCoordinated
}

// Run plans one cycle and waits for it: validate, commit (year key and seed
// hash), load, plan, save as a draft. A dry run stores nothing but may create
// the year's key (its commitment must precede any use). Bad requests are
// domain.ValidationError naming "horizon" or "region_ids".
func (s *Service) Run(ctx context.Context, actor string, req Request) (*Result, error) {
	if !req.DryRun {
		p, err := s.Start(ctx, actor, req)
		if err != nil {
			return nil, err
		}
		return s.Execute(ctx, p.ID)
	}
	req, year, err := s.validate(ctx, req)
	if err != nil {
		return nil, err
	}
	key, err := s.st.YearKey(ctx, actor, year)
	if err != nil {
		return nil, err
	}
	shift, err := s.st.NextShift(ctx, year)
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("plan seed: %w", err)
	}
	plan, cmp, err := s.build(ctx, runParams{from: req.From, to: req.To, regions: req.RegionIDs, independent: req.Independent,
		key: key.Key, shift: shift, seed: seed, urgent: req.UrgentDemandID})
	if err != nil {
		return nil, err
	}
	hash := sha256.Sum256(seed[:])
	stats := store.StatsOf(plan)
	stats.Independent = cmp
	return &Result{Result: plan, Stats: stats, Year: year, Shift: shift, SeedHash: hash[:]}, nil
}

// Start validates req and records a running plan: the year's key exists (it
// is made and committed if not), the seed is drawn from crypto/rand and its
// SHA-256 committed (audit "plan.create") before anything is drawn. Execute
// carries it out — at once, in a goroutine or in a worker that gets only the
// plan id. req.DryRun is ignored.
func (s *Service) Start(ctx context.Context, actor string, req Request) (store.Plan, error) {
	req, year, err := s.validate(ctx, req)
	if err != nil {
		return store.Plan{}, err
	}
	if _, err := s.st.YearKey(ctx, actor, year); err != nil {
		return store.Plan{}, err
	}
	shift, err := s.st.NextShift(ctx, year)
	if err != nil {
		return store.Plan{}, err
	}
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return store.Plan{}, fmt.Errorf("plan seed: %w", err)
	}
	return s.st.CreatePlan(ctx, actor, store.NewPlan{From: req.From, To: req.To, RegionIDs: req.RegionIDs,
		Mode: mode(req.Independent), Year: year, Shift: shift, Seed: seed, UrgentDemandID: req.UrgentDemandID})
}

// Execute carries out a running plan: load (progress 10), plan (40), save
// (80), done (100: the plan is a draft). A coordinated plan's independent
// counterpart is built after the draft is stored: by its own job when
// Options.EnqueueComparison is set (the plan's comparison_status is queued
// until Compare runs), otherwise here, right after saving. On failure the
// plan is marked failed with the reason (unless it was discarded meanwhile)
// and the error returned; a failed comparison never fails the plan. Running
// it again after a crash is safe: the same input and seed give the same plan,
// and a plan whose result is saved is no longer running.
func (s *Service) Execute(ctx context.Context, planID int64) (*Result, error) {
	run, err := s.st.RunningPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Result, error) {
		if ctx.Err() != nil {
			// Stopped, not failed (a worker shutting down): the plan stays
			// running so the redelivered task carries it out.
			return nil, err
		}
		if ferr := s.st.FailPlan(context.WithoutCancel(ctx), planID, err.Error()); ferr != nil && !errors.Is(ferr, domain.ErrConflict) {
			return nil, errors.Join(err, ferr)
		}
		return nil, err
	}
	progress := func(p int, note string) error {
		return s.st.UpdatePlanProgress(ctx, planID, p, note)
	}
	rp, err := s.paramsOf(ctx, run)
	if err != nil {
		return fail(err)
	}
	if s.randomness != RandomnessOperator {
		res, opts, fr, err := s.witnessStage(ctx, run, rp)
		switch {
		case err != nil:
			if errors.Is(err, domain.ErrConflict) {
				return nil, err
			}
			return fail(err)
		case res != nil:
			return res, nil // committed; waiting for the value
		}
		rp.extra, rp.frozen = opts, fr
	}
	plan, in, err := s.plan(ctx, rp, progress)
	if err != nil {
		if errors.Is(err, domain.ErrConflict) {
			return nil, err // discarded while running
		}
		return fail(err)
	}
	compare := !rp.independent && s.compare
	if err := progress(ProgressSaving, "saving"); err != nil {
		return nil, err
	}
	if err := s.st.SavePlanResultWith(ctx, planID, plan, store.SaveOptions{QueueComparison: compare}); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			// Discarded while running is not a failure; anything else that
			// conflicts (a registry row gone meanwhile) is.
			if _, rerr := s.st.RunningPlan(context.WithoutCancel(ctx), planID); rerr != nil {
				return nil, err
			}
		}
		return fail(err)
	}
	switch {
	case !compare:
	case s.enqueueComparison != nil:
		if err := s.enqueueComparison(ctx, planID); err != nil {
			// The draft stands; only its comparison is missing, and the plan
			// says why.
			if ferr := s.st.FailPlanComparison(context.WithoutCancel(ctx), planID, err.Error()); ferr != nil && !errors.Is(ferr, domain.ErrConflict) {
				return nil, errors.Join(err, ferr)
			}
		}
	default:
		// No job queue: the counterpart follows the stored draft here, on
		// the input already loaded. A plan discarded (or published) in
		// between simply keeps no comparison.
		if _, err := s.st.StartPlanComparison(ctx, planID); err == nil {
			if err := s.counterpart(ctx, planID, plan.Stats, in); err != nil && !errors.Is(err, domain.ErrConflict) {
				// The draft stands; its comparison says why it has none.
				if ferr := s.st.FailPlanComparison(context.WithoutCancel(ctx), planID, err.Error()); ferr != nil && !errors.Is(ferr, domain.ErrConflict) {
					return nil, fmt.Errorf("plan %d comparison: %w", planID, errors.Join(err, ferr))
				}
			}
		} else if !errors.Is(err, domain.ErrConflict) {
			return nil, fmt.Errorf("plan %d comparison: %w", planID, err)
		}
	}
	p, err := s.st.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	return &Result{PlanID: planID, Plan: p, Result: plan, Stats: *p.Stats, Year: p.Year, Shift: p.Shift, SeedHash: p.SeedHash}, nil
}

// Compare builds the independent counterpart of a stored coordinated draft
// and records its figures as the plan's comparison: the job that
// Options.EnqueueComparison queues. It loads the plan's input again with the
// plan's secrets and plans it with independent draws; only the figures are
// kept, so nothing of it reaches the plan. A plan that is not a draft waiting
// for its comparison (discarded, published, compared already) is a conflict:
// nothing to do, and the comparison of a plan published or discarded first is
// marked skipped (a published plan's figures are frozen, and its own visits,
// now on the calendar, would skew a counterpart built later). A failure is recorded on the plan (comparison_status failed)
// and returned.
func (s *Service) Compare(ctx context.Context, planID int64) error {
	run, err := s.st.StartPlanComparison(ctx, planID)
	if err != nil {
		return err
	}
	err = s.compareRun(ctx, run)
	if err != nil && !errors.Is(err, domain.ErrConflict) && ctx.Err() == nil {
		if ferr := s.st.FailPlanComparison(context.WithoutCancel(ctx), planID, err.Error()); ferr != nil && !errors.Is(ferr, domain.ErrConflict) {
			return errors.Join(err, ferr)
		}
	}
	return err
}

func (s *Service) compareRun(ctx context.Context, run store.PlanRun) error {
	if run.Stats == nil {
		return fmt.Errorf("plan %d has no figures to compare with", run.ID)
	}
	rp, err := s.paramsOf(ctx, run)
	if err != nil {
		return err
	}
	// A committed plan planned the demands of its commitment only: so does
	// its counterpart.
	switch c, err := s.st.PlanCommitment(ctx, run.ID); {
	case err == nil:
		rp.extra = []store.InputOption{store.InputDemands(c.DemandIDs...)}
	case !errors.Is(err, domain.ErrNotFound):
		return err
	}
	in, err := s.input(ctx, rp)
	if err != nil {
		return err
	}
	return s.counterpart(ctx, run.ID, planner.Stats{Visits: run.Stats.Visits, LowerBound: run.Stats.LowerBound}, in)
}

// counterpart plans in (a coordinated plan's input) again with independent
// draws and records its figures against the coordinated plan's. Only the
// figures are kept, so nothing of it can leak into the plan that is stored
// and verified.
func (s *Service) counterpart(ctx context.Context, planID int64, coordinated planner.Stats, in *planner.Input) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ind := *in
	ind.Policy.Independent = true
	// A report, not a commitment: the same demands drawn independently
	// from the registry as it is, committed frames or not.
	ind.Frozen = nil
	other, err := planner.Build(&ind)
	if err != nil {
		return fmt.Errorf("planner, independent counterpart: %w", err)
	}
	return s.st.SetPlanComparison(ctx, planID, store.ComparisonOf(coordinated, other.Stats))
}

// runParams is what a run is planned from.
type runParams struct {
	from, to    time.Time
	regions     []int64
	independent bool
	key         []byte
	shift       float64
	seed        [32]byte
	urgent      int64
	// frozen are the frames committed before the randomness (witness.go);
	// extra restricts the input (to the committed run's demands).
	frozen map[int64]planner.FrozenDraw
	extra  []store.InputOption
}

// paramsOf reads a stored plan's parameters and its year's key.
func (s *Service) paramsOf(ctx context.Context, run store.PlanRun) (runParams, error) {
	from, err1 := time.Parse(time.DateOnly, run.From)
	to, err2 := time.Parse(time.DateOnly, run.To)
	if err := errors.Join(err1, err2); err != nil {
		return runParams{}, err
	}
	key, err := s.st.SecretYearKey(ctx, run.Year)
	if err != nil {
		return runParams{}, err
	}
	return runParams{from: from, to: to, regions: run.RegionIDs, independent: run.Mode == store.ModeIndependent,
		key: key.Key, shift: run.Shift, seed: run.RunSeed, urgent: urgentOf(run.Plan)}, nil
}

// input loads what the planner needs for rp.
func (s *Service) input(ctx context.Context, rp runParams) (*planner.Input, error) {
	opts := []store.InputOption{store.InputToday(s.Today())}
	if rp.urgent != 0 {
		opts = append(opts, store.InputDemands(rp.urgent))
	}
	in, err := s.st.PlannerInput(ctx, rp.from, rp.to, rp.regions, append(opts, rp.extra...)...)
	if err != nil {
		return nil, err
	}
	in.Calendar = s.cal
	// Notice runs from publication, at the earliest today.
	in.PublishDay = planner.DayOf(s.Today())
	in.Policy = s.policy
	in.Policy.RiskWeights = maps.Clone(s.policy.RiskWeights)
	in.Policy.Independent = rp.independent
	in.Policy.Earliest = in.Policy.Earliest || rp.urgent != 0
	in.YearKey = rp.key
	in.Shift = rp.shift
	in.Seed = rp.seed
	in.Frozen = rp.frozen
	return in, nil
}

// plan loads the input and calls the planner, reporting progress if asked;
// it returns the input too, for the counterpart.
func (s *Service) plan(ctx context.Context, rp runParams, progress func(int, string) error) (*planner.Plan, *planner.Input, error) {
	if progress == nil {
		progress = func(int, string) error { return nil }
	}
	if err := progress(ProgressLoading, "loading"); err != nil {
		return nil, nil, err
	}
	in, err := s.input(ctx, rp)
	if err != nil {
		return nil, nil, err
	}
	if err := progress(ProgressPlanning, "planning"); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	plan, err := planner.Build(in)
	if err != nil {
		return nil, nil, fmt.Errorf("planner: %w", err)
	}
	return plan, in, nil
}

// build plans a dry run and, for a coordinated one, its independent
// counterpart on the same input (one more planner run; the input is loaded
// once), returning the counterpart's figures next to the plan.
func (s *Service) build(ctx context.Context, rp runParams) (*planner.Plan, *store.ComparisonStats, error) {
	plan, in, err := s.plan(ctx, rp, nil)
	if err != nil {
		return nil, nil, err
	}
	if rp.independent || !s.compare {
		return plan, nil, nil // its own counterpart, or no comparison wanted
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	ind := *in
	ind.Policy.Independent = true
	// A report, not a commitment: the same demands drawn independently
	// from the registry as it is, committed frames or not.
	ind.Frozen = nil
	other, err := planner.Build(&ind)
	if err != nil {
		return nil, nil, fmt.Errorf("planner, independent counterpart: %w", err)
	}
	cmp := store.ComparisonOf(plan.Stats, other.Stats)
	return plan, &cmp, nil
}

// Get returns a plan. Its seed is there only once it was published (or
// discarded or failed).
func (s *Service) Get(ctx context.Context, id int64) (store.Plan, error) {
	return s.st.GetPlan(ctx, id)
}

// List pages through plans.
func (s *Service) List(ctx context.Context, f store.PlanFilter, p store.Page) (store.Paged[store.Plan], error) {
	return s.st.ListPlans(ctx, f, p)
}

// Visits pages through a plan's visits; departmentID != 0 keeps the visits
// that carry that department's tasks (and only its tasks).
func (s *Service) Visits(ctx context.Context, id, departmentID int64, p store.Page) (store.Paged[store.PlanVisit], error) {
	return s.st.ListPlanVisits(ctx, id, departmentID, p)
}

// Unplaced pages through what a plan could not place, with the reasons.
func (s *Service) Unplaced(ctx context.Context, id, departmentID int64, p store.Page) (store.Paged[store.PlanTask], error) {
	return s.st.ListPlanUnplaced(ctx, id, departmentID, p)
}

// Joins pages through the visits already on the calendar a plan joins tasks
// to, with the joined tasks (departmentID != 0 keeps that department's).
func (s *Service) Joins(ctx context.Context, id, departmentID int64, p store.Page) (store.Paged[store.PlanJoin], error) {
	return s.st.ListPlanJoins(ctx, id, departmentID, p)
}

// Draws pages through a plan's draw records.
func (s *Service) Draws(ctx context.Context, id int64, p store.Page) (store.Paged[store.PlanDraw], error) {
	return s.st.ListPlanDraws(ctx, id, p)
}

// Publish publishes a draft: it is frozen and its seed revealed. A plan that
// is not a draft, whose shift went stale, or that would publish an announced
// visit inside its notice period (made on an earlier day), is a conflict; so
// is a plan with no visits (a *store.EmptyPlanError saying why).
func (s *Service) Publish(ctx context.Context, actor string, id int64) (store.Plan, error) {
	return s.PublishWith(ctx, actor, id, false)
}

// PublishWith is Publish; with force, a plan with no visits is published too.
// Either way every configured approval step must be approved first.
func (s *Service) PublishWith(ctx context.Context, actor string, id int64, force bool) (store.Plan, error) {
	return s.st.PublishPlanWith(ctx, actor, id, store.PublishOptions{Today: s.Today(), Force: force, ApprovalSteps: s.approvalSteps})
}

// ApprovalSteps are the configured approval steps (planning.approval_steps),
// in order; empty when drafts are published without approval.
func (s *Service) ApprovalSteps() []string { return slices.Clone(s.approvalSteps) }

// Approvals is plan id's approval state against the configured steps.
func (s *Service) Approvals(ctx context.Context, id int64) (store.ApprovalState, error) {
	return s.st.PlanApprovals(ctx, id, s.approvalSteps)
}

// Approve records actor's decision on the next approval step of draft id.
func (s *Service) Approve(ctx context.Context, actor string, id int64, in store.ApprovalInput) (store.PlanApproval, store.ApprovalState, error) {
	return s.st.RecordApproval(ctx, actor, id, s.approvalSteps, in)
}

// Discard discards a draft (or a running plan).
func (s *Service) Discard(ctx context.Context, actor string, id int64) (store.Plan, error) {
	return s.st.DiscardPlan(ctx, actor, id)
}

// CloseYear reveals year's key. Unless force is set, only a year that has
// ended can be closed: revealing the key earlier makes the rest of the year's
// draws predictable.
func (s *Service) CloseYear(ctx context.Context, actor string, year int, force bool) (store.YearKey, error) {
	if now := s.now().In(s.loc).Year(); !force && year >= now {
		return store.YearKey{}, domain.Invalid("year", "%d has not ended (it is %d); closing it now would make its remaining draws predictable", year, now)
	}
	return s.st.RevealYearKey(ctx, actor, year)
}

// DrawCheck is the verdict on one recomputed draw.
type DrawCheck struct {
	Seq        int      `json:"seq"`
	Kind       string   `json:"kind"`
	DemandID   int64    `json:"demand_id,omitempty"`
	VisitKey   string   `json:"visit_key,omitempty"`
	N          int      `json:"n"`
	FrameSize  int      `json:"frame_size"`
	Result     []string `json:"result"`
	Recomputed []string `json:"recomputed"`
	Match      bool     `json:"match"`
	Reason     string   `json:"reason,omitempty"`
}

// Verification is the verdict on a published plan's draws and secrets.
type Verification struct {
	PlanID int64 `json:"plan_id"`
	Year   int   `json:"year"`
	// KeyRevealed is false while the year is open: target draws were then
	// checked with the operator's copy of the key, and outsiders cannot
	// reproduce them until the year closes.
	KeyRevealed bool `json:"key_revealed"`
	// KeyCommitment and SeedCommitment: the key and seed hash to the
	// commitments made before they were used.
	KeyCommitment  bool `json:"key_commitment"`
	SeedCommitment bool `json:"seed_commitment"`
	// RecordsPinned: the stored draw records hash to the digest the audit log
	// recorded when the run was saved.
	RecordsPinned bool        `json:"records_pinned"`
	Draws         []DrawCheck `json:"draws"`
	Mismatches    int         `json:"mismatches"`
	// FrameCommitment is present for a plan whose draws waited for a value
	// after their frames were committed (witness.go): what differs, if
	// anything, between the commitment, the value, the shift and the draws.
	FrameCommitment *CommitmentCheck `json:"frame_commitment,omitempty"`
}

// CommitmentCheck is the verdict on a plan's frame commitment.
type CommitmentCheck struct {
	Commitment string   `json:"commitment_sha256"`
	Problems   []string `json:"problems"`
}

// OK reports whether every check passed.
func (v *Verification) OK() bool {
	return v.KeyCommitment && v.SeedCommitment && v.RecordsPinned && v.Mismatches == 0 &&
		(v.FrameCommitment == nil || len(v.FrameCommitment.Problems) == 0)
}

// Verify recomputes every draw of a published plan — target draws from the
// year key, inspector draws from the revealed seed — and checks both secrets
// against their commitments and the draw records against the digest in the
// audit log. A plan that is not published is a conflict: its seed is secret.
//
// Verify reads the year key even before the year closes: it runs on the
// operator's side (the draw verify command, or an admin-only endpoint that
// returns only the verdicts), never handing the key out.
func (s *Service) Verify(ctx context.Context, planID int64) (*Verification, error) {
	p, err := s.st.GetPlan(ctx, planID)
	if err != nil {
		return nil, err
	}
	if p.Status != store.PlanPublished {
		return nil, fmt.Errorf("plan %d is %s; draws are verified once the plan is published and its seed revealed: %w",
			planID, p.Status, domain.ErrConflict)
	}
	key, err := s.st.SecretYearKey(ctx, p.Year)
	if err != nil {
		return nil, err
	}
	v := &Verification{PlanID: planID, Year: p.Year, KeyRevealed: key.RevealedAt != nil}
	kh := sha256.Sum256(key.Key)
	v.KeyCommitment = bytes.Equal(kh[:], key.KeyHash)
	sh := sha256.Sum256(p.Seed)
	v.SeedCommitment = len(p.Seed) == 32 && bytes.Equal(sh[:], p.SeedHash)
	var seed [32]byte
	copy(seed[:], p.Seed)

	records, err := s.st.PlanDraws(ctx, planID)
	if err != nil {
		return nil, err
	}
	draws := make([]planner.Draw, len(records))
	for i, r := range records {
		d := r.Draw()
		draws[i] = d
		c := DrawCheck{Seq: r.Seq, Kind: r.Kind, DemandID: r.DemandID, VisitKey: r.VisitKey, N: r.N,
			FrameSize: len(r.Frame), Result: r.Result}
		switch r.Kind {
		case planner.DrawTargets:
			c.Match, c.Recomputed, c.Reason = planner.VerifyTargetDraw(d, key.Key)
		case planner.DrawInspectors:
			c.Match, c.Recomputed, c.Reason = planner.VerifyInspectorDraw(d, seed)
		default:
			c.Reason = fmt.Sprintf("unknown draw kind %q", r.Kind)
		}
		if c.Recomputed == nil {
			c.Recomputed = []string{}
		}
		if !c.Match {
			v.Mismatches++
		}
		v.Draws = append(v.Draws, c)
	}
	digest, err := store.DrawsDigest(draws)
	if err != nil {
		return nil, err
	}
	recorded, err := s.st.PlanDrawsDigest(ctx, planID)
	if err != nil {
		return nil, err
	}
	v.RecordsPinned = recorded != "" && recorded == digest
	c, err := s.st.PlanCommitment(ctx, planID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		var targets []planner.DrawUse
		for _, d := range draws {
			if d.Kind == planner.DrawTargets {
				targets = append(targets, planner.DrawUse{DemandID: d.DemandID, FrameHash: d.FrameHash, N: d.N, Shift: d.Shift,
					Closed: true, Certain: d.Certain})
			}
		}
		v.FrameCommitment = &CommitmentCheck{Commitment: c.Commitment,
			Problems: nonNilStrings(planner.VerifyCommitment(CommitmentRecordOf(c, p.Year), p.Shift, targets))}
	}
	return v, nil
}

// CommitmentRecordOf is a stored commitment as the planner verifies it.
func CommitmentRecordOf(c store.PlanCommitment, year int) planner.CommitmentRecord {
	r := planner.CommitmentRecord{PlanID: c.PlanID, Year: year, Rotation: c.Rotation, Jitter: c.Jitter, Source: c.Source,
		Body: c.Body, Commitment: c.Commitment, Value: c.Value, R: c.R, Shift: c.Shift}
	for _, l := range c.Draws {
		r.Lines = append(r.Lines, planner.CommittedDraw{DemandID: l.DemandID, FrameHash: l.FrameSHA256, N: l.N, CertainHash: l.CertainHash})
	}
	return r
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// VerifyDraws is Verify's per-draw verdicts.
func (s *Service) VerifyDraws(ctx context.Context, planID int64) ([]DrawCheck, error) {
	v, err := s.Verify(ctx, planID)
	if err != nil {
		return nil, err
	}
	return v.Draws, nil
}
