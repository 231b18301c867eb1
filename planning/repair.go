package planning

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"inspectonce/planner"
	"inspectonce/store"
)

// maxRepairAttempts bounds how often one run of a repair recomputes after a
// visit changed under it (a coordinator's move, a result): each attempt
// starts from the calendar as it is.
const maxRepairAttempts = 5

// RepairSeed is the seed of repair id's inspector draws: HMAC-SHA256 of the
// year key over "repair:<id>". Like target draws it is secret until the year
// key is revealed, and then anyone can replay the draws.
func RepairSeed(yearKey []byte, id int64) [32]byte {
	m := hmac.New(sha256.New, yearKey)
	m.Write([]byte("repair:" + strconv.FormatInt(id, 10)))
	var seed [32]byte
	copy(seed[:], m.Sum(nil))
	return seed
}

// repairYear is the year whose key seeds repair r's draws: the year it was
// opened in, in the configured zone.
func (s *Service) repairYear(r store.CalendarRepair) int { return r.CreatedAt.In(s.loc).Year() }

// RunRepair runs repair id: it reads the published visits the cause hits,
// lets the planner find the least change for them (planner.Repair) and
// applies it visit by visit, then records what could not be repaired and
// marks the repair done. Run again (a retry, a worker killed part-way), it
// starts from the calendar as it is: visits already repaired no longer need
// anything, and none is changed twice for the same cause. A repair already
// done is returned as it is.
func (s *Service) RunRepair(ctx context.Context, id int64) (out store.CalendarRepair, err error) {
	err = s.st.WithRepairLock(ctx, func() error {
		out, err = s.runRepair(ctx, id)
		return err
	})
	return out, err
}

// runRepair is RunRepair under the repairs' lock.
func (s *Service) runRepair(ctx context.Context, id int64) (store.CalendarRepair, error) {
	r, err := s.st.StartRepair(ctx, id)
	if err != nil || r.Status == store.RepairDone {
		return r, err
	}
	key, err := s.st.YearKey(ctx, "repair:"+strconv.FormatInt(id, 10), s.repairYear(r))
	if err != nil {
		return r, err
	}
	seed := RepairSeed(key.Key, id)
	today := s.Today()
	for attempt := 1; ; attempt++ {
		targets, err := s.st.RepairTargets(ctx, r, today)
		if err != nil {
			return r, err
		}
		if attempt == 1 {
			if err := s.st.SetRepairVisits(ctx, id, len(targets)); err != nil {
				return r, err
			}
		}
		res, err := s.computeRepair(ctx, r, targets, today, seed)
		if err != nil {
			return r, err
		}
		stale := false
		for _, c := range res.Changes {
			ch := store.RepairChange{PlanID: c.PlanID, Seq: c.Seq, From: c.From.Time(), To: c.To.Time()}
			for _, rp := range c.Replacements {
				ch.Swaps = append(ch.Swaps, store.RepairSwap{Ord: rp.Ord, Out: rp.Out, In: rp.In, DrawKey: rp.Draw.VisitKey,
					Draw: store.PlanDrawOf(&rp.Draw)})
			}
			if _, err := s.st.ApplyRepairChange(ctx, r, ch); errors.Is(err, store.ErrRepairStale) {
				stale = true
				break
			} else if err != nil {
				return r, err
			}
		}
		if stale {
			if attempt >= maxRepairAttempts {
				return r, fmt.Errorf("repair %d: the calendar kept changing under it (%d attempts): %w", id, attempt, store.ErrRepairStale)
			}
			continue
		}
		problems := make([]store.RepairProblemInput, len(res.Unrepaired))
		for i, u := range res.Unrepaired {
			problems[i] = store.RepairProblemInput{PlanID: u.PlanID, Seq: u.Seq, USCC: u.USCC, Date: u.Date.Time(),
				Reason: u.Reason, Detail: u.Detail}
		}
		return s.st.FinishRepair(ctx, r, problems)
	}
}

// computeRepair builds the repair's input — the calendar from today to the
// end of the last target's window, with the registries, availability and
// the recusal history — and runs the pure repair.
func (s *Service) computeRepair(ctx context.Context, r store.CalendarRepair, targets []store.RepairTarget, today time.Time,
	seed [32]byte) (planner.RepairResult, error) {
	if len(targets) == 0 {
		return planner.RepairResult{}, nil
	}
	to := today
	for _, t := range targets {
		for _, d := range []time.Time{t.Date, t.WindowTo} {
			if d.After(to) {
				to = d
			}
		}
	}
	if lim := today.AddDate(0, 0, 366); to.After(lim) {
		to = lim
	}
	// No demands: a repair places nothing new, it reads the calendar.
	in, err := s.st.PlannerInput(ctx, today, to, nil, store.InputToday(today), store.InputDemands())
	if err != nil {
		return planner.RepairResult{}, err
	}
	in.Calendar = s.cal
	in.Policy = s.policy
	in.Policy.RiskWeights = maps.Clone(s.policy.RiskWeights)
	in.Seed = seed
	first := planner.DayOf(today)
	rin := &planner.RepairInput{Input: *in, FirstDay: first + 1, DrawPrefix: "repair:" + strconv.FormatInt(r.ID, 10)}
	for _, t := range targets {
		v := planner.RepairVisit{PlanID: t.PlanID, Seq: t.Seq, From: planner.DayOf(t.WindowFrom), To: planner.DayOf(t.WindowTo),
			Domains: t.Domains}
		if t.AnnounceDays > 0 {
			v.NoticeFrom = first + planner.Day(t.AnnounceDays)
		}
		if !t.BackTo.IsZero() {
			v.BackTo = planner.DayOf(t.BackTo)
		}
		rin.Visits = append(rin.Visits, v)
	}
	return planner.Repair(rin), nil
}

// RepairDrawCheck is the verdict on one replacement draw of a repair.
type RepairDrawCheck struct {
	PlanID     int64    `json:"plan_id"`
	VisitSeq   int      `json:"visit_seq"`
	Ord        int      `json:"ord"`
	VisitKey   string   `json:"visit_key"`
	Out        int64    `json:"out_inspector_id"`
	In         int64    `json:"inspector_id"`
	Match      bool     `json:"match"`
	Recomputed []string `json:"recomputed"`
	Reason     string   `json:"reason,omitempty"`
}

// RepairVerification is the verdict on every draw of a repair.
type RepairVerification struct {
	RepairID    int64             `json:"repair_id"`
	Year        int               `json:"year"`
	KeyRevealed bool              `json:"key_revealed"`
	Draws       []RepairDrawCheck `json:"draws"`
	Mismatches  int               `json:"mismatches"`
}

// VerifyRepair replays every replacement draw of repair id from its seed
// (RepairSeed of the year key): each pick must be what the seed gives over
// the recorded candidates, and the inspector who took the place the one
// drawn. Like Verify it runs on the operator's side until the year key is
// revealed.
func (s *Service) VerifyRepair(ctx context.Context, id int64) (*RepairVerification, error) {
	r, err := s.st.GetRepair(ctx, id)
	if err != nil {
		return nil, err
	}
	year := s.repairYear(r)
	subs, err := s.st.RepairSubstitutions(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &RepairVerification{RepairID: id, Year: year, Draws: []RepairDrawCheck{}}
	if len(subs) == 0 {
		return out, nil
	}
	key, err := s.st.SecretYearKey(ctx, year)
	if err != nil {
		return nil, err
	}
	out.KeyRevealed = key.RevealedAt != nil
	seed := RepairSeed(key.Key, id)
	for _, sub := range subs {
		c := RepairDrawCheck{PlanID: sub.PlanID, VisitSeq: sub.VisitSeq, Ord: sub.Ord, VisitKey: sub.DrawKey, Out: sub.OutID,
			In: sub.InID, Recomputed: []string{}}
		var rec store.PlanDraw
		if err := json.Unmarshal(sub.Draw, &rec); err != nil {
			c.Reason = "the recorded draw is not readable: " + err.Error()
		} else {
			d := rec.Draw()
			var got []string
			c.Match, got, c.Reason = planner.VerifyInspectorDraw(d, seed)
			if got != nil {
				c.Recomputed = got
			}
			if c.Match && (d.VisitKey != sub.DrawKey || len(d.Result) != 1 || d.Result[0] != strconv.FormatInt(sub.InID, 10)) {
				c.Match, c.Reason = false, "the inspector who took the place is not the one drawn"
			}
		}
		if !c.Match {
			out.Mismatches++
		}
		out.Draws = append(out.Draws, c)
	}
	return out, nil
}
