// Package drawcheck is the outside verifier of InspectOnce's draws (issue 19
// part 5): from a service's public open data alone — no database, no token,
// no configuration — it recomputes every draw of a published plan by the
// specification (docs/draws.md), checks every commitment, and checks that
// each business visited for a draw was drawn and each business drawn is
// accounted for. What cannot be checked yet (the year key is revealed when
// the year closes; a draw's records when its visits have happened) is
// listed as pending, with why.
package drawcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"inspectonce/planner"
)

// Report is the verdict on one plan.
type Report struct {
	PlanID int64  `json:"plan_id"`
	Source string `json:"source"`
	Year   int    `json:"year"`
	// Randomness: "witness" or "public" when the frames were committed
	// before the value that fixed the draws, "operator" otherwise.
	Randomness       string `json:"randomness"`
	YearKeyRevealed  bool   `json:"year_key_revealed"`
	TargetDraws      int    `json:"target_draws"`
	TargetRecomputed int    `json:"target_recomputed"`
	TargetMatched    int    `json:"target_matched"`
	InspectorDraws   int    `json:"inspector_draws"`
	InspectorMatched int    `json:"inspector_matched"`
	Selected         int    `json:"selected"`
	AccountedFor     int    `json:"accounted_for"`
	TasksChecked     int    `json:"tasks_checked"`
	// Checks are what was checked and passed, in words.
	Checks []string `json:"checks"`
	// Mismatches name what differs; a plan verifies when there is none.
	Mismatches []string `json:"mismatches"`
	// Pending are what could not be checked yet, and why.
	Pending []string `json:"pending"`
}

// OK reports whether nothing differs.
func (r *Report) OK() bool { return len(r.Mismatches) == 0 }

// Complete reports whether everything was checked: nothing pending, every
// target draw recomputed, every business drawn accounted for.
func (r *Report) Complete() bool {
	return len(r.Pending) == 0 && r.TargetRecomputed == r.TargetDraws && r.AccountedFor == r.Selected
}

func (r *Report) bad(format string, args ...any) {
	r.Mismatches = append(r.Mismatches, fmt.Sprintf(format, args...))
}
func (r *Report) ok(format string, args ...any) {
	r.Checks = append(r.Checks, fmt.Sprintf(format, args...))
}
func (r *Report) wait(format string, args ...any) {
	r.Pending = append(r.Pending, fmt.Sprintf(format, args...))
}

// Client reads a service's open data.
type Client struct {
	Base string
	HTTP *http.Client
}

// NewClient checks base (an http or https URL of the service) and returns a
// client with a timeout.
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--public must be the service's http(s) address, e.g. https://inspect.example.gov.cn, got %q", base)
	}
	return &Client{Base: u.String(), HTTP: &http.Client{Timeout: 60 * time.Second}}, nil
}

// errNotFound is a 404 from the open data.
var errNotFound = errors.New("not found")

// get reads path into into. A 429 or 503 is retried after its Retry-After
// (the open data is rate-limited per client), a few times.
func (c *Client) get(ctx context.Context, path string, into any) error {
	var res *http.Response
	var body []byte
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		res, err = c.HTTP.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		body, err = io.ReadAll(io.LimitReader(res.Body, 1<<30))
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		if (res.StatusCode != http.StatusTooManyRequests && res.StatusCode != http.StatusServiceUnavailable) || attempt >= 20 {
			break
		}
		wait := time.Second
		if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && n > 0 && n <= 60 {
			wait = time.Duration(n) * time.Second
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	switch {
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("GET %s: %w", path, errNotFound)
	case res.StatusCode != http.StatusOK:
		return fmt.Errorf("GET %s: %s: %s", path, res.Status, strings.TrimSpace(string(body[:min(len(body), 300)])))
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// The open data, as published (api/opendraws.go, api/witness.go).

type publicPlan struct {
	ID          int64    `json:"id"`
	PublishedAt string   `json:"published_at"`
	Year        int      `json:"year"`
	Mode        string   `json:"mode"`
	Shift       float64  `json:"shift"`
	NextShift   *float64 `json:"next_shift"`
	SeedHash    hexBytes `json:"seed_sha256"`
	Seed        hexBytes `json:"seed"`
	YearKeyHash hexBytes `json:"year_key_sha256"`
	YearKey     hexBytes `json:"year_key"`
	KeyRevealed bool     `json:"year_key_revealed"`
}

type drawSummary struct {
	Seq       int     `json:"seq"`
	DemandID  int64   `json:"demand_id"`
	N         int     `json:"n"`
	Shift     float64 `json:"shift"`
	Salt      string  `json:"salt"`
	FrameHash string  `json:"frame_sha256"`
	FrameSize int     `json:"frame_size"`
	Closed    bool    `json:"closed"`
	ClosesBy  string  `json:"closes_by"`
}

type planAnswer struct {
	Plan  publicPlan    `json:"plan"`
	Draws []drawSummary `json:"draws"`
}

type candidate struct {
	Key    string
	Weight float64
}

// UnmarshalJSON reads a weight written as a number or, for ±Inf, NaN and
// -0, as a string (docs/draws.md §3.2).
func (c *candidate) UnmarshalJSON(b []byte) error {
	var raw struct {
		Key    string          `json:"key"`
		Weight json.RawMessage `json:"weight"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	s := string(raw.Weight)
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(raw.Weight, &s); err != nil {
			return err
		}
	}
	w, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("weight %q: %w", s, err)
	}
	c.Key, c.Weight = raw.Key, w
	return nil
}

type exclusion struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

type outcome struct {
	USCC    string `json:"uscc"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

type targetDraw struct {
	drawSummary
	Frame    []candidate `json:"frame"`
	Certain  []string    `json:"certain"`
	Excluded []exclusion `json:"excluded"`
	Result   []string    `json:"result"`
	Outcomes []outcome   `json:"outcomes"`
}

type step struct {
	Need       string      `json:"need"`
	Candidates []candidate `json:"candidates"`
	Pick       string      `json:"pick"`
}

type inspectorDraw struct {
	Seq       int      `json:"seq"`
	Kind      string   `json:"kind"`
	VisitKey  string   `json:"visit_key"`
	FrameHash string   `json:"frame_hash"`
	Required  []string `json:"required"`
	Steps     []step   `json:"steps"`
	Result    []string `json:"result"`
}

type commitment struct {
	PlanID     int64    `json:"plan_id"`
	Source     string   `json:"source"`
	Kind       string   `json:"kind"`
	Rotation   float64  `json:"rotation"`
	Jitter     float64  `json:"jitter"`
	Body       string   `json:"body"`
	Commitment string   `json:"commitment_sha256"`
	Committed  string   `json:"committed_at"`
	Value      *string  `json:"value"`
	Entered    *string  `json:"entered_at"`
	R          *float64 `json:"r"`
	Shift      *float64 `json:"shift"`
	Draws      []struct {
		DemandID    int64  `json:"demand_id"`
		FrameSHA256 string `json:"frame_sha256"`
		N           int    `json:"n"`
		CertainHash string `json:"certain_sha256"`
	} `json:"draws"`
}

type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil {
		*h = nil
		return nil
	}
	d, err := hex.DecodeString(*s)
	*h = d
	return err
}

// Verify checks plan id from the open data at c.
func (c *Client) Verify(ctx context.Context, id int64) (*Report, error) {
	r := &Report{PlanID: id, Source: c.Base, Checks: []string{}, Mismatches: []string{}, Pending: []string{}}
	var pa planAnswer
	if err := c.get(ctx, fmt.Sprintf("/api/v1/open-data/plans/%d", id), &pa); err != nil {
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("plan %d is not a published plan of %s", id, c.Base)
		}
		return nil, err
	}
	p := pa.Plan
	r.Year, r.YearKeyRevealed = p.Year, p.KeyRevealed

	// Commitments: the seed (revealed on publication) and the year key
	// (revealed when the year closes) hash to what was published first.
	if h := sha256.Sum256(p.Seed); len(p.Seed) == 32 && slices.Equal(h[:], p.SeedHash) {
		r.ok("the revealed seed hashes to its commitment %x", []byte(p.SeedHash))
	} else {
		r.bad("the plan's seed does not hash to its commitment %x", []byte(p.SeedHash))
	}
	if p.KeyRevealed {
		if h := sha256.Sum256(p.YearKey); len(p.YearKey) == 32 && slices.Equal(h[:], p.YearKeyHash) {
			r.ok("the revealed year key of %d hashes to its commitment %x", p.Year, []byte(p.YearKeyHash))
		} else {
			r.bad("the year key of %d does not hash to its commitment %x", p.Year, []byte(p.YearKeyHash))
			p.KeyRevealed = false
		}
	} else {
		r.wait("the year key of %d is revealed when the year closes: until then no target draw can be recomputed", p.Year)
	}
	shifts, from, rotOK := c.rotations(ctx, r, p)

	// Target draws.
	var seed [32]byte
	copy(seed[:], p.Seed)
	var uses []planner.DrawUse
	closed := map[int64]*targetDraw{}
	for _, s := range pa.Draws {
		r.TargetDraws++
		if s.Shift != p.Shift {
			r.bad("target draw %d (demand %d) was made at shift %v, its plan's shift is %v", s.Seq, s.DemandID, s.Shift, p.Shift)
		}
		use := planner.DrawUse{DemandID: s.DemandID, FrameHash: s.FrameHash, N: s.N, Shift: s.Shift}
		if !s.Closed {
			r.wait("target draw %d (demand %d) is published once its visits have happened, by %s at the latest", s.Seq, s.DemandID, s.ClosesBy)
			uses = append(uses, use)
			continue
		}
		var d targetDraw
		if err := c.get(ctx, fmt.Sprintf("/api/v1/open-data/plans/%d/draws/%d", id, s.Seq), &d); err != nil {
			return nil, err
		}
		closed[s.DemandID] = &d
		use.Closed, use.Certain = true, d.Certain
		uses = append(uses, use)
		c.checkTarget(r, p, s, &d)
	}

	// The frame commitment, if the plan waited for an outside value.
	var cm commitment
	switch err := c.get(ctx, fmt.Sprintf("/api/v1/open-data/plans/%d/commitment", id), &cm); {
	case errors.Is(err, errNotFound):
		r.Randomness = "operator"
		if rotOK {
			c.checkRotation(r, p.Shift, shifts, from)
		}
		if r.TargetDraws > 0 {
			r.Checks = append(r.Checks, "no frame commitment: the plan drew under operator randomness, so whoever held the year key "+
				"could tell in advance whom a frame would select (docs/draws.md §3.8)")
		}
	case err != nil:
		return nil, err
	default:
		r.Randomness = cm.Kind
		if rotOK {
			c.checkRotation(r, cm.Rotation, shifts, from)
		}
		rec := planner.CommitmentRecord{PlanID: cm.PlanID, Year: p.Year, Rotation: cm.Rotation, Jitter: cm.Jitter, Source: cm.Source,
			Body: cm.Body, Commitment: cm.Commitment, Value: cm.Value, R: cm.R, Shift: cm.Shift}
		for _, l := range cm.Draws {
			rec.Lines = append(rec.Lines, planner.CommittedDraw{DemandID: l.DemandID, FrameHash: l.FrameSHA256, N: l.N, CertainHash: l.CertainHash})
		}
		problems := planner.VerifyCommitment(rec, p.Shift, uses)
		if cm.PlanID != id {
			problems = append(problems, fmt.Sprintf("the commitment names plan %d", cm.PlanID))
		}
		if cm.Entered != nil && *cm.Entered < cm.Committed {
			problems = append(problems, "the value was entered before the frames were committed")
		}
		for _, pr := range problems {
			r.bad("frame commitment %s: %s", short(cm.Commitment), pr)
		}
		if len(problems) == 0 {
			r.ok("frame commitment %s (committed %s) fixes every target frame; the value from %q, entered %s, gives r = %v and the plan's shift %v",
				short(cm.Commitment), cm.Committed, deref(cm.Value), deref(cm.Entered), deref(cm.R), p.Shift)
		}
	}

	c.checkInspectors(ctx, r, id, seed)
	if err := c.checkTasks(ctx, r, id, closed); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Client) checkTarget(r *Report, p publicPlan, s drawSummary, d *targetDraw) {
	what := fmt.Sprintf("target draw %d (demand %d)", s.Seq, s.DemandID)
	if d.Seq != s.Seq || d.DemandID != s.DemandID || d.FrameHash != s.FrameHash || d.N != s.N || d.Shift != s.Shift {
		r.bad("%s: its record differs from the plan's summary of it", what)
	}
	frame := make([]planner.Candidate, len(d.Frame))
	for i, x := range d.Frame {
		frame[i] = planner.Candidate{Key: x.Key, Weight: x.Weight}
	}
	if len(frame) != s.FrameSize {
		r.bad("%s: the frame has %d members, the summary says %d", what, len(frame), s.FrameSize)
	}
	excluded := make([]planner.Exclusion, len(d.Excluded))
	for i, e := range d.Excluded {
		excluded[i] = planner.Exclusion{Key: e.Key, Reason: e.Reason}
		if e.Reason == "" {
			r.bad("%s: %s is excluded with no reason", what, e.Key)
		}
	}
	draw := planner.Draw{Kind: planner.DrawTargets, DemandID: d.DemandID, Frame: frame, FrameHash: d.FrameHash, N: d.N,
		Shift: d.Shift, Salt: d.Salt, Excluded: excluded, Result: d.Result}
	if len(d.Certain) > 0 {
		draw.Certain = d.Certain
	}
	if got := planner.FrameHash(frame); got != d.FrameHash {
		r.bad("%s: the published frame hashes to %s, the record says %s (a frame row was changed, added or removed)", what, short(got), short(d.FrameHash))
	}
	if p.KeyRevealed {
		r.TargetRecomputed++
		ok, recomputed, why := planner.VerifyTargetDraw(draw, p.YearKey)
		if ok {
			r.TargetMatched++
		} else {
			msg := fmt.Sprintf("%s does not recompute: %s", what, why)
			if recomputed != nil {
				msg += fmt.Sprintf(" (recomputed %s; recorded %s)", diff(recomputed, d.Result), diff(d.Result, recomputed))
			}
			r.bad("%s", msg)
		}
	}
	// Every business drawn is accounted for: visited, not done, unplaced
	// or missed, each once.
	seen := map[string]bool{}
	for _, o := range d.Outcomes {
		if seen[o.USCC] {
			r.bad("%s: %s is accounted for twice", what, o.USCC)
		}
		seen[o.USCC] = true
		if !slices.Contains(d.Result, o.USCC) {
			r.bad("%s: an outcome for %s, which was not drawn", what, o.USCC)
		}
		if o.Outcome == "" {
			r.bad("%s: %s has no outcome", what, o.USCC)
		}
	}
	for _, k := range d.Result {
		r.Selected++
		if seen[k] {
			r.AccountedFor++
		} else {
			r.bad("%s: %s was drawn and is not accounted for", what, k)
		}
	}
}

// rotations are the shifts a plan of p's year could start from: 0 (the
// year's first plan) and the next_shift of each plan of the year published
// before p, latest first. A plan starts from the latest published before it
// was made; one over other regions may have been published in between.
func (c *Client) rotations(ctx context.Context, r *Report, p publicPlan) ([]float64, []int64, bool) {
	var all []publicPlan
	after := ""
	for range 1000 {
		var page struct {
			Items []publicPlan `json:"items"`
			Next  string       `json:"next"`
		}
		path := "/api/v1/open-data/plans?limit=1000"
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		if err := c.get(ctx, path, &page); err != nil {
			r.wait("the list of published plans could not be read (%v): the rotation of the shift is not checked", err)
			return nil, nil, false
		}
		all = append(all, page.Items...)
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	var before []publicPlan
	for _, q := range all {
		if q.Year == p.Year && q.ID != p.ID && q.NextShift != nil && instant(q.PublishedAt).Before(instant(p.PublishedAt)) {
			before = append(before, q)
		}
	}
	slices.SortFunc(before, func(a, b publicPlan) int { return instant(b.PublishedAt).Compare(instant(a.PublishedAt)) })
	var shifts []float64
	var from []int64
	for _, q := range before {
		shifts, from = append(shifts, *q.NextShift), append(from, q.ID)
	}
	return append(shifts, 0), append(from, 0), true
}

// checkRotation checks that rotation (an operator plan's shift, or a
// committed plan's rotation) follows from the plans published before it.
func (c *Client) checkRotation(r *Report, rotation float64, shifts []float64, from []int64) {
	for i, s := range shifts {
		if s != rotation {
			continue
		}
		switch {
		case from[i] == 0 && i == len(shifts)-1 && len(shifts) == 1:
			r.ok("the rotation %v is the year's start (no plan of the year was published before)", rotation)
		case from[i] == 0:
			r.ok("the rotation %v is the year's start", rotation)
		default:
			r.ok("the rotation %v is the next shift of plan %d, published before it", rotation, from[i])
		}
		return
	}
	latest := "0 (the year's start)"
	if len(from) > 1 {
		latest = fmt.Sprintf("%v (plan %d)", shifts[0], from[0])
	}
	r.bad("the rotation %v does not follow from any plan published before it; the latest gives %s", rotation, latest)
}

func instant(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (c *Client) checkInspectors(ctx context.Context, r *Report, id int64, seed [32]byte) {
	var out struct {
		Draws   []inspectorDraw `json:"draws"`
		Pending int             `json:"pending"`
	}
	if err := c.get(ctx, fmt.Sprintf("/api/v1/open-data/plans/%d/inspector-draws", id), &out); err != nil {
		r.wait("the inspector draws could not be read: %v", err)
		return
	}
	for _, d := range out.Draws {
		r.InspectorDraws++
		draw := planner.Draw{Kind: d.Kind, VisitKey: d.VisitKey, FrameHash: d.FrameHash, Required: d.Required, Result: d.Result,
			Steps: make([]planner.DrawStep, len(d.Steps))}
		for i, st := range d.Steps {
			draw.Steps[i] = planner.DrawStep{Need: st.Need, Pick: st.Pick, Candidates: make([]planner.Candidate, len(st.Candidates))}
			for j, x := range st.Candidates {
				draw.Steps[i].Candidates[j] = planner.Candidate{Key: x.Key, Weight: x.Weight}
			}
		}
		ok, recomputed, why := planner.VerifyInspectorDraw(draw, seed)
		if ok {
			r.InspectorMatched++
		} else {
			r.bad("inspector draw %d (visit %s) does not recompute: %s (recomputed %v, recorded %v)", d.Seq, d.VisitKey, why, recomputed, d.Result)
		}
	}
	if out.Pending > 0 {
		r.wait("%d inspector draws are published once their businesses' visits have happened", out.Pending)
	}
	if r.InspectorDraws > 0 && r.InspectorMatched == r.InspectorDraws {
		r.ok("%d inspector draws replayed from the revealed seed", r.InspectorDraws)
	}
}

// checkTasks checks that every business visited for a sample demand of the
// plan was drawn by that demand's draw.
func (c *Client) checkTasks(ctx context.Context, r *Report, id int64, closed map[int64]*targetDraw) error {
	var out struct {
		Tasks []struct {
			DemandID int64  `json:"demand_id"`
			USCC     string `json:"uscc"`
			PlanID   int64  `json:"visit_plan_id"`
			VisitSeq int    `json:"visit_seq"`
			Date     string `json:"date"`
		} `json:"tasks"`
		Pending int `json:"pending"`
	}
	if err := c.get(ctx, fmt.Sprintf("/api/v1/open-data/plans/%d/tasks", id), &out); err != nil {
		return err
	}
	waiting := 0
	for _, t := range out.Tasks {
		d, ok := closed[t.DemandID]
		if !ok {
			waiting++
			continue
		}
		r.TasksChecked++
		if !slices.Contains(d.Result, t.USCC) {
			r.bad("visit %d/%d on %s inspected %s for demand %d, which its draw did not select", t.PlanID, t.VisitSeq, t.Date, t.USCC, t.DemandID)
		}
	}
	if waiting > 0 {
		r.wait("%d tasks of visits already made belong to draws not yet published", waiting)
	}
	if out.Pending > 0 {
		r.wait("%d tasks are of visits still to come: which businesses they are is published after the visits", out.Pending)
	}
	if r.TasksChecked > 0 {
		r.ok("%d tasks of visits made went to businesses their draws selected", r.TasksChecked)
	}
	return nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func deref[T any](p *T) any {
	if p == nil {
		return "—"
	}
	return *p
}

// diff lists what a has and b has not.
func diff(a, b []string) string {
	var out []string
	for _, k := range a {
		if !slices.Contains(b, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return "the same businesses in another order"
	}
	return strings.Join(out, ", ")
}
