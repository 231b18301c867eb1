package planning_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

// Issue 9's defect, end to end: a plan made today keeps every announced
// visit at least announce_days after today; a draft published days after it
// was made, when that would cut a notice short, is refused.
func TestAnnouncedVisitsKeepTheirNotice(t *testing.T) {
	st := seeded(t)
	svc := newService(t, st)
	ctx := context.Background()
	// Start the horizon today, so the notice, not the horizon, is what keeps
	// announced visits back.
	today := svc.Today()
	res, err := svc.Run(ctx, "tester", planning.Request{From: today, To: today.AddDate(0, 0, 27)})
	if err != nil {
		t.Fatal(err)
	}
	visits, err := svc.Visits(ctx, res.PlanID, 0, store.Page{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	notice := map[int64]int{}
	announced, earliest := 0, ""
	for _, v := range visits.Items {
		date, err := time.Parse(time.DateOnly, v.Date)
		if err != nil {
			t.Fatal(err)
		}
		for _, task := range v.Tasks {
			days, ok := notice[task.DemandID]
			if !ok {
				d, err := st.GetDemand(ctx, task.DemandID, 0)
				if err != nil {
					t.Fatal(err)
				}
				days = d.AnnounceDays
				notice[task.DemandID] = days
			}
			if days == 0 {
				continue
			}
			announced++
			if limit := today.AddDate(0, 0, days); date.Before(limit) {
				t.Errorf("visit %d to %s on %s: demand %d promised %d days' notice from %s", v.Seq, v.USCC, v.Date,
					task.DemandID, days, today.Format(time.DateOnly))
			}
			if earliest == "" || v.Date < earliest {
				earliest = v.Date
			}
		}
	}
	if announced == 0 {
		t.Fatal("the demo county's plan holds no announced task; the test proves nothing")
	}
	t.Logf("%d announced tasks, earliest on %s (plan made %s)", announced, earliest, today.Format(time.DateOnly))

	// The same draft published a week later would cut notices short.
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	late, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now.AddDate(0, 0, 7) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Publish(ctx, "tester", res.PlanID); !errors.Is(err, domain.ErrConflict) || !strings.Contains(err.Error(), "notice period") {
		t.Fatalf("publishing a week late: %v, want a conflict over the notice period", err)
	}
	if p, err := svc.Get(ctx, res.PlanID); err != nil || p.Status != store.PlanDraft {
		t.Fatalf("after the refused publication: %+v, %v; want it still a draft", p.Status, err)
	}
	if _, err := svc.Publish(ctx, "tester", res.PlanID); err != nil {
		t.Fatalf("publishing on the day it was made: %v", err)
	}
}
