package planner

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// noticeInput is a random instance whose demands carry notice periods and a
// publish day around the horizon's start, with some follow-up demands.
func noticeInput(seed uint64) *Input {
	r := rand.New(rand.NewPCG(seed, 23))
	ins := instance{
		businesses: 30 + r.IntN(250), departments: 2 + r.IntN(4), teamCapacity: 300 + r.IntN(3000),
		inspectorsTeam: 2 + r.IntN(5), demands: 3 + r.IntN(25), horizonDays: 5 + r.IntN(30), history: r.IntN(150),
		independent: r.IntN(4) == 0,
	}
	in := randomInput(r, ins)
	in.PublishDay = in.From + Day(r.IntN(11)-5)
	for i := range in.Demands {
		d := &in.Demands[i]
		if r.IntN(3) > 0 {
			d.AnnounceDays = 1 + r.IntN(12)
		}
		d.FollowUp = r.IntN(8) == 0
	}
	return in
}

// Property (issue 9, defect): no announced visit is dated inside its notice
// period, counted from the publish day; a demand whose notice leaves nothing
// of its window is listed as notice_period (or deferred, when its window goes
// on after the horizon), and a sample with too few days left in the horizon
// is deferred without a draw instead of piling onto those days.
func TestPlanKeepsNoticePeriod(t *testing.T) {
	// Over all seeds, each case must have come up, or the property was not
	// exercised.
	var announcedVisits, noticeCases, deferredCases int
	for seed := range uint64(80) {
		in := noticeInput(seed)
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			p, err := Build(in)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, in, p)
			byID := map[int64]*Demand{}
			for i := range in.Demands {
				byID[in.Demands[i].ID] = &in.Demands[i]
			}
			pub := in.PublishDay
			for _, v := range p.Visits {
				for _, task := range v.Tasks {
					d := byID[task.DemandID]
					if d.AnnounceDays == 0 {
						continue
					}
					announcedVisits++
					if earliest := pub + Day(d.AnnounceDays); v.Date < earliest {
						t.Errorf("visit to %s on %s holds demand %d announced %d days ahead of publication on %s (earliest %s)",
							v.USCC, v.Date, d.ID, d.AnnounceDays, pub, earliest)
					}
				}
			}
			reasons := map[int64][]string{}
			for _, u := range p.Unplaced {
				reasons[u.DemandID] = append(reasons[u.DemandID], u.Reason)
			}
			drawn := map[int64]bool{}
			for _, dr := range p.Draws {
				if dr.Kind == DrawTargets {
					drawn[dr.DemandID] = true
				}
			}
			for i := range in.Demands {
				d := &in.Demands[i]
				if d.From > d.To || d.To < in.From || d.From > in.To {
					continue
				}
				lo, hi := max(d.From, in.From), min(d.To, in.To)
				if d.AnnounceDays > 0 {
					lo = max(lo, pub+Day(d.AnnounceDays))
				}
				want := ""
				switch {
				case lo > hi && d.To > in.To:
					want = ReasonDeferred
				case lo > hi:
					want = ReasonNoticePeriod
				case d.Sample != nil && d.To > in.To && workingDaysIn(in, lo, hi) < in.Policy.MinSampleDays:
					want = ReasonDeferred
				}
				switch want {
				case ReasonNoticePeriod:
					noticeCases++
				case ReasonDeferred:
					deferredCases++
				}
				if want == "" {
					if d.Sample != nil && !drawn[d.ID] {
						t.Errorf("demand %d: sample not drawn although its window %s..%s fits", d.ID, lo, hi)
					}
					continue
				}
				if d.Sample != nil && drawn[d.ID] {
					t.Errorf("demand %d postponed (%s) but drawn", d.ID, want)
				}
				if (d.Sample != nil || len(d.Businesses) > 0) && !slices.Contains(reasons[d.ID], want) {
					t.Errorf("demand %d (window %s..%s, notice %d): want unplaced %q, got %v", d.ID, d.From, d.To, d.AnnounceDays, want, reasons[d.ID])
				}
				for _, v := range p.Visits {
					for _, task := range v.Tasks {
						if task.DemandID == d.ID {
							t.Errorf("demand %d postponed (%s) but placed on %s", d.ID, want, v.Date)
						}
					}
				}
			}
		})
	}
	if announcedVisits == 0 || noticeCases == 0 || deferredCases == 0 {
		t.Errorf("instances exercised too little: %d announced tasks placed, %d notice_period and %d deferred demands",
			announcedVisits, noticeCases, deferredCases)
	}
	t.Logf("%d announced tasks placed, %d notice_period and %d deferred demands", announcedVisits, noticeCases, deferredCases)
}

func workingDaysIn(in *Input, lo, hi Day) int {
	n := 0
	for d := lo; d <= hi; d++ {
		if in.Calendar.IsWorkingDay(d.Time()) {
			n++
		}
	}
	return n
}

// Follow-up demands (a re-inspection, a task not done) reach the businesses
// that the 无事不扰 list, a cool-down or the yearly cap would otherwise shield,
// as complaints do.
func TestResolveFollowUpIsExempt(t *testing.T) {
	in := resExclusionFixture()
	all := []string{}
	for i := 0; i < 10; i++ {
		all = append(all, resUSCC(i))
	}
	in.Demands = []Demand{
		{ID: 10, DepartmentID: 1, ItemIDs: []int64{101}, Sample: &SampleRule{RegionIDs: []int64{11}, Count: 10},
			From: in.From, To: in.To, Source: SourceRoutine},
		{ID: 12, DepartmentID: 1, ItemIDs: []int64{101, 102}, Businesses: all,
			From: in.From, To: in.To, Source: SourceRoutine},
	}
	plain, _, plainUnplaced := Resolve(in)
	for i := range in.Demands {
		in.Demands[i].FollowUp = true
	}
	follow, _, followUnplaced := Resolve(in)
	excluded := func(us []Unplaced) int {
		n := 0
		for _, u := range us {
			switch u.Reason {
			case ReasonLeaveAlone, ReasonCooldown, ReasonYearlyCap:
				n++
			}
		}
		return n
	}
	if excluded(plainUnplaced) == 0 {
		t.Fatal("fixture refuses nothing for ordinary demands; the test would prove nothing")
	}
	if n := excluded(followUnplaced); n != 0 {
		t.Errorf("follow-up demands: %d entries refused by leave-alone/cool-down/cap, want 0: %v", n, followUnplaced)
	}
	if len(follow) <= len(plain) {
		t.Errorf("follow-up demands gave %d tasks, ordinary %d: exemptions should add tasks", len(follow), len(plain))
	}
}
