package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"inspectonce/configs"
	"inspectonce/planning"
	"inspectonce/store"
)

// planOutput is what `plan --json` prints: one object.
type planOutput struct {
	PlanID           int64          `json:"plan_id"`
	Status           string         `json:"status"`
	From             string         `json:"from"`
	To               string         `json:"to"`
	Mode             string         `json:"mode"`
	Year             int            `json:"year"`
	Shift            float64        `json:"shift"`
	SeedHash         store.Hex      `json:"seed_hash"`
	Seed             store.Hex      `json:"seed,omitempty"`
	Tasks            int            `json:"tasks"`
	NaiveVisits      int            `json:"naive_visits"`
	LowerBound       int            `json:"lower_bound"`
	Visits           int            `json:"visits"`
	JointVisits      int            `json:"joint_visits"`
	JointVisitRate   float64        `json:"joint_visit_rate"`
	VisitReduction   float64        `json:"visit_reduction"`
	Unplaced         int            `json:"unplaced"`
	UnplacedByReason map[string]int `json:"unplaced_by_reason"`
	TravelKm         float64        `json:"travel_km"`
	TargetDraws      int            `json:"target_draws"`
	InspectorDraws   int            `json:"inspector_draws"`
	// BusiestDay holds BusiestDayShare of the visits; TeamLoad gives each
	// team's peak and mean team-day minutes (how evenly the work spreads).
	BusiestDay      string                   `json:"busiest_day,omitempty"`
	BusiestDayShare float64                  `json:"busiest_day_share"`
	TeamLoad        map[int64]store.TeamLoad `json:"team_load"`
	// TasksJoined tasks join VisitsAmended visits already on the calendar,
	// DoorKnocksSaved fewer new visits for it.
	TasksJoined     int `json:"tasks_joined"`
	VisitsAmended   int `json:"visits_amended"`
	DoorKnocksSaved int `json:"door_knocks_saved"`
	// Independent compares with each demand drawing on its own (coordinated plans only).
	Independent *store.ComparisonStats `json:"independent,omitempty"`
	// Empty says why a stored plan has no visits (already served, and by
	// which plan; nothing open; ...), so nobody publishes it to learn that.
	Empty *store.EmptyPlan `json:"empty,omitempty"`
}

func newPlanning(cfg *configs.Config) (*planning.Service, *store.Store, error) {
	st, err := openStore(cfg)
	if err != nil {
		return nil, nil, err
	}
	svc, err := planning.New(planning.Options{Store: st, Config: cfg})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, st, nil
}

// parseHorizon reads a horizon length: 28d, 4w or 28 (days).
func parseHorizon(s string) (int, error) {
	n, unit := s, 1
	switch {
	case strings.HasSuffix(s, "d"):
		n = strings.TrimSuffix(s, "d")
	case strings.HasSuffix(s, "w"):
		n, unit = strings.TrimSuffix(s, "w"), 7
	}
	v, err := strconv.Atoi(n)
	if err != nil || v < 1 {
		return 0, fmt.Errorf("--horizon %q: give a number of days or weeks, e.g. 28d or 4w", s)
	}
	return v * unit, nil
}

func parseIDs(s string) ([]int64, error) {
	var out []int64
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--region %q: give region ids separated by commas", s)
		}
		out = append(out, id)
	}
	return out, nil
}

// runPlan is `inspectonce plan …`: run a planning cycle, or publish, discard
// or show a stored plan.
func runPlan(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return runPlanAction(ctx, cfg, args, out)
	}
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	horizon := fs.String("horizon", "28d", "length of the horizon: 28d, 4w")
	fromS := fs.String("from", "", "first day YYYY-MM-DD (default: the next working day)")
	regionS := fs.String("region", "", "region ids to plan, comma-separated (default: all)")
	independent := fs.Bool("independent", false, "draw each demand on its own instead of coordinated")
	dry := fs.Bool("dry-run", false, "plan without storing anything")
	publish := fs.Bool("publish", false, "publish the plan made")
	force := fs.Bool("force", false, "with --publish: publish it even with no visits")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return usageError{"plan: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("plan: unexpected argument %q", fs.Arg(0))}
	}
	if *dry && *publish {
		return usageError{"plan: --dry-run and --publish exclude each other"}
	}
	if *force && !*publish {
		return usageError{"plan: --force goes with --publish"}
	}
	days, err := parseHorizon(*horizon)
	if err != nil {
		return usageError{"plan: " + err.Error()}
	}
	regions, err := parseIDs(*regionS)
	if err != nil {
		return usageError{"plan: " + err.Error()}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	from := svc.NextWorkingDay()
	if *fromS != "" {
		if from, err = time.Parse(time.DateOnly, *fromS); err != nil {
			return usageError{fmt.Sprintf("plan: --from %q is not a date YYYY-MM-DD", *fromS)}
		}
	}
	actor := "cli:" + osUser()
	res, err := svc.Run(ctx, actor, planning.Request{From: from, To: from.AddDate(0, 0, days-1), RegionIDs: regions,
		Independent: *independent, DryRun: *dry})
	if err != nil {
		return err
	}
	o := planOutput{PlanID: res.PlanID, Status: "dry-run", From: from.Format(time.DateOnly),
		To: from.AddDate(0, 0, days-1).Format(time.DateOnly), Mode: store.ModeCoordinated, Year: res.Year,
		Shift: res.Shift, SeedHash: res.SeedHash}
	if *independent {
		o.Mode = store.ModeIndependent
	}
	if res.PlanID != 0 {
		o.Status = res.Plan.Status
	}
	if *publish {
		p, err := svc.PublishWith(ctx, actor, res.PlanID, *force)
		if err != nil {
			return fmt.Errorf("plan %d was made but not published: %w%s", res.PlanID, err, approveHint(ctx, svc, res.PlanID))
		}
		o.Status, o.Seed = p.Status, p.Seed
	}
	fillStats(&o, res.Stats)
	if res.PlanID != 0 && o.Visits == 0 {
		p, err := svc.Get(ctx, res.PlanID)
		if err != nil {
			return err
		}
		o.Empty = p.Empty
	}
	return printPlan(out, o, *asJSON)
}

func fillStats(o *planOutput, s store.PlanStats) {
	o.Tasks, o.NaiveVisits, o.LowerBound, o.Visits = s.Tasks, s.NaiveVisits, s.LowerBound, s.Visits
	o.JointVisits, o.JointVisitRate, o.VisitReduction = s.JointVisits, s.JointVisitRate, s.VisitReduction
	o.Unplaced, o.UnplacedByReason, o.TravelKm = s.Unplaced, s.UnplacedByReason, s.TravelKm
	o.TargetDraws, o.InspectorDraws = s.TargetDraws, s.InspectorDraws
	o.Independent = s.Independent
	o.BusiestDay, o.BusiestDayShare, o.TeamLoad = s.BusiestDay, s.BusiestDayShare, s.TeamLoad
	o.TasksJoined, o.VisitsAmended, o.DoorKnocksSaved = s.TasksJoined, s.VisitsAmended, s.DoorKnocksSaved
	if o.UnplacedByReason == nil {
		o.UnplacedByReason = map[string]int{}
	}
	if o.TeamLoad == nil {
		o.TeamLoad = map[int64]store.TeamLoad{}
	}
}

func printPlan(out io.Writer, o planOutput, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(o)
	}
	if o.PlanID == 0 {
		fmt.Fprintf(out, "dry run (nothing stored), %s to %s, %s\n", o.From, o.To, o.Mode)
	} else {
		fmt.Fprintf(out, "plan %d (%s), %s to %s, %s\n", o.PlanID, o.Status, o.From, o.To, o.Mode)
	}
	fmt.Fprintf(out, "year %d, shift %.6f, seed commitment (SHA-256) %s\n", o.Year, o.Shift, o.SeedHash)
	if o.Seed != nil {
		fmt.Fprintf(out, "seed (revealed) %s\n", o.Seed)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "tasks\t%d\n", o.Tasks)
	fmt.Fprintf(tw, "naive visits\t%d\t(one per business × department)\n", o.NaiveVisits)
	fmt.Fprintf(tw, "lower bound\t%d\n", o.LowerBound)
	fmt.Fprintf(tw, "visits\t%d\t(%.1f %% fewer than naive)\n", o.Visits, 100*o.VisitReduction)
	fmt.Fprintf(tw, "joint visits\t%d\t(joint-visit rate %.1f %%)\n", o.JointVisits, 100*o.JointVisitRate)
	fmt.Fprintf(tw, "joined\t%d tasks to %d visits on the calendar\t(%d door-knocks saved)\n", o.TasksJoined, o.VisitsAmended,
		o.DoorKnocksSaved)
	fmt.Fprintf(tw, "unplaced\t%d\n", o.Unplaced)
	reasons := make([]string, 0, len(o.UnplacedByReason))
	for r := range o.UnplacedByReason {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		fmt.Fprintf(tw, "  %s\t%d\n", r, o.UnplacedByReason[r])
	}
	fmt.Fprintf(tw, "travel\t%.1f km\n", o.TravelKm)
	fmt.Fprintf(tw, "draws\t%d targets, %d inspectors\n", o.TargetDraws, o.InspectorDraws)
	if o.BusiestDay != "" {
		fmt.Fprintf(tw, "busiest day\t%s\t(%.1f %% of the visits)\n", o.BusiestDay, 100*o.BusiestDayShare)
	}
	teams := make([]int64, 0, len(o.TeamLoad))
	for id := range o.TeamLoad {
		teams = append(teams, id)
	}
	slices.Sort(teams)
	for _, id := range teams {
		l := o.TeamLoad[id]
		fmt.Fprintf(tw, "  team %d\tpeak %d min on %s, mean %.0f min a working day\n", id, l.PeakMinutes, l.PeakDay, l.MeanMinutes)
	}
	if c := o.Independent; c != nil {
		fmt.Fprintf(tw, "independent\t%d visits, lower bound %d\t(coordinated needs %.1f %% of the visits, %.1f %% of the lower bound)\n",
			c.Visits, c.LowerBound, 100*c.VisitRatio, 100*c.LowerBoundRatio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.Empty != nil {
		fmt.Fprintf(out, "empty (%s): %s\n", o.Empty.Reason, o.Empty.Message)
	}
	return nil
}

// runPlanAction is `plan publish|discard|show ID [--json]`, and
// `plan publish ID --force` to publish a plan with no visits. Flags may come
// before or after the id.
func runPlanAction(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	action := args[0]
	if action == "approve" {
		return runPlanApprove(ctx, cfg, args[1:], out)
	}
	fs := flag.NewFlagSet("plan "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print one JSON object")
	force := fs.Bool("force", false, "publish: publish a plan even with no visits")
	if action != "publish" && action != "discard" && action != "show" {
		return usageError{fmt.Sprintf("plan: unknown action %q (approve, publish, discard, show)", action)}
	}
	var idS string
	for rest := args[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return usageError{"plan " + action + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		if idS != "" {
			return usageError{fmt.Sprintf("plan %s: unexpected argument %q", action, fs.Arg(0))}
		}
		idS, rest = fs.Arg(0), fs.Args()[1:]
	}
	if idS == "" {
		return usageError{"plan " + action + " needs a plan id"}
	}
	if *force && action != "publish" {
		return usageError{"plan " + action + ": --force goes with publish"}
	}
	id, err := strconv.ParseInt(idS, 10, 64)
	if err != nil {
		return usageError{fmt.Sprintf("plan %s: %q is not a plan id", action, idS)}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	actor := "cli:" + osUser()
	var p store.Plan
	switch action {
	case "publish":
		if p, err = svc.PublishWith(ctx, actor, id, *force); err != nil {
			return fmt.Errorf("%w%s", err, approveHint(ctx, svc, id))
		}
	case "discard":
		p, err = svc.Discard(ctx, actor, id)
	default:
		p, err = svc.Get(ctx, id)
	}
	if err != nil {
		return err
	}
	o := planOutput{PlanID: p.ID, Status: p.Status, From: p.From, To: p.To, Mode: p.Mode, Year: p.Year, Shift: p.Shift,
		SeedHash: p.SeedHash, Seed: p.Seed, Empty: p.Empty}
	if p.Stats != nil {
		fillStats(&o, *p.Stats)
	}
	if p.Status == store.PlanRunning && !*asJSON {
		fmt.Fprintf(out, "plan %d is running: %d %% (%s)\n", p.ID, p.Progress, p.ProgressNote)
		return nil
	}
	if p.Status == store.PlanFailed && !*asJSON {
		fmt.Fprintf(out, "plan %d failed: %s\n", p.ID, p.Failure)
		return nil
	}
	return printPlan(out, o, *asJSON)
}

// approveHint tells how to approve draft id from the command line when its
// approval is what holds its publication back ("" otherwise).
func approveHint(ctx context.Context, svc *planning.Service, id int64) string {
	st, err := svc.Approvals(ctx, id)
	if err != nil || st.Approved || st.Rejected || st.Next == "" {
		return ""
	}
	return fmt.Sprintf("\n  approve it first: inspectonce plan approve --id %d --step %s --opinion \"…\"", id, st.Next)
}

// runPlanApprove is `plan approve --id N --step S --opinion TEXT [--reject]
// [--json]`: a decision on a draft's next approval step (as POST
// /api/v1/plans/{id}/approvals), audited plan.approve or plan.reject.
func runPlanApprove(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("plan approve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Int64("id", 0, "the draft's id")
	step := fs.String("step", "", "the approval step (planning.approval_steps), e.g. 法制审核")
	opinion := fs.String("opinion", "", "the reviewer's opinion (required)")
	reject := fs.Bool("reject", false, "reject the draft instead of approving the step")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return usageError{"plan approve: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("plan approve: unexpected argument %q", fs.Arg(0))}
	}
	if *id <= 0 {
		return usageError{"plan approve needs --id N (the draft's id)"}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	decision := store.DecisionApprove
	if *reject {
		decision = store.DecisionReject
	}
	rec, state, err := svc.Approve(ctx, "cli:"+osUser(), *id, store.ApprovalInput{Step: *step, Decision: decision, Opinion: *opinion})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"approval": rec, "state": state})
	}
	fmt.Fprintf(out, "plan %d: step %s %sd by %s\n", rec.PlanID, rec.Step, rec.Decision, rec.Reviewer)
	switch {
	case state.Rejected:
		fmt.Fprintf(out, "the draft is rejected and cannot be published; run a new plan\n")
	case state.Approved:
		fmt.Fprintf(out, "every approval step is approved: inspectonce plan publish %d\n", rec.PlanID)
	default:
		fmt.Fprintf(out, "next step: %s\n", state.Next)
	}
	return nil
}

// runDraw is `inspectonce draw verify --plan ID [--json]`. It exits non-zero
// when any draw or commitment does not check out.
func runDraw(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"draw needs: verify --plan ID [--json]"}
	}
	fs := flag.NewFlagSet("draw verify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	id := fs.Int64("plan", 0, "the published plan whose draws to recompute")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{"draw verify: " + err.Error()}
	}
	if *id <= 0 || fs.NArg() > 0 {
		return usageError{"draw verify needs --plan ID"}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := svc.Verify(ctx, *id)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			*planning.Verification
			OK bool `json:"ok"`
		}{v, v.OK()}); err != nil {
			return err
		}
	} else {
		printVerification(out, v)
	}
	if !v.OK() {
		return errors.New(verdict(v))
	}
	return nil
}

func verdict(v *planning.Verification) string {
	var bad []string
	if v.Mismatches > 0 {
		bad = append(bad, fmt.Sprintf("%d of %d draws do not match", v.Mismatches, len(v.Draws)))
	}
	if !v.KeyCommitment {
		bad = append(bad, "the year key does not match its commitment")
	}
	if !v.SeedCommitment {
		bad = append(bad, "the seed does not match its commitment")
	}
	if !v.RecordsPinned {
		bad = append(bad, "the draw records differ from those the audit log pinned")
	}
	if len(bad) == 0 {
		return fmt.Sprintf("plan %d: all %d draws match", v.PlanID, len(v.Draws))
	}
	return fmt.Sprintf("plan %d: %s", v.PlanID, strings.Join(bad, "; "))
}

func printVerification(out io.Writer, v *planning.Verification) {
	ok := map[bool]string{true: "OK", false: "MISMATCH"}
	fmt.Fprintf(out, "plan %d, year %d\n", v.PlanID, v.Year)
	if !v.KeyRevealed {
		fmt.Fprintf(out, "the year key is not revealed yet: target draws were checked with the operator's copy\n")
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "year key commitment\t%s\n", ok[v.KeyCommitment])
	fmt.Fprintf(tw, "seed commitment\t%s\n", ok[v.SeedCommitment])
	fmt.Fprintf(tw, "records pinned in the audit log\t%s\n", ok[v.RecordsPinned])
	_ = tw.Flush()
	tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tKIND\tFOR\tN\tFRAME\tRESULT\tVERDICT\tREASON")
	for _, c := range v.Draws {
		what := c.VisitKey
		if c.DemandID != 0 {
			what = "demand " + strconv.FormatInt(c.DemandID, 10)
		}
		verdict := "MATCH"
		if !c.Match {
			verdict = "MISMATCH"
		}
		result := strings.Join(c.Result, ",")
		if len(result) > 60 {
			result = result[:57] + "..."
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", c.Seq, c.Kind, what, c.N, c.FrameSize, result, verdict, c.Reason)
	}
	_ = tw.Flush()
	fmt.Fprintln(out, verdict(v))
}

// runYear is `inspectonce year close YEAR [--force]`: reveal a year's key.
func runYear(ctx context.Context, cfg *configs.Config, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] != "close" {
		return usageError{"year needs: close YEAR [--force]"}
	}
	fs := flag.NewFlagSet("year close", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	force := fs.Bool("force", false, "close a year that has not ended")
	// Accept the flag before or after the year.
	rest := args[1:]
	var year string
	for len(rest) > 0 {
		if err := fs.Parse(rest); err != nil {
			return usageError{"year close: " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		if year != "" {
			return usageError{fmt.Sprintf("year close: unexpected argument %q", fs.Arg(0))}
		}
		year, rest = fs.Arg(0), fs.Args()[1:]
	}
	y, err := strconv.Atoi(year)
	if err != nil {
		return usageError{"year close needs a year, e.g. year close 2026"}
	}
	svc, st, err := newPlanning(cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := svc.CloseYear(ctx, "cli:"+osUser(), y, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "year %d closed; key %s (SHA-256 %s, committed %s)\n", k.Year, k.Key, k.KeyHash, k.CreatedAt.Format(time.DateOnly))
	return nil
}
