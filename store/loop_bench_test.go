package store_test

import (
	"context"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"inspectonce/configs"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// BenchmarkDemoCountyLoop closes the loop on the demo county: a 28-day plan
// is published, then every visit gets two check-ins, a result per task
// (mostly compliant, some minor, violations, transfers and tasks not done)
// and two confirmations; the publication job publishes the reports, the
// open data is exported, and the period's figures and the publication
// dashboard are computed. It reports the time per visit at the door and of
// each later step, and logs the figures.
func BenchmarkDemoCountyLoop(b *testing.B) {
	ctx := context.Background()
	// The real clock: reports are published now, so whether that is on time
	// is measured against deadlines of visits around now.
	now := time.Now()
	for range b.N {
		b.StopTimer()
		st, _ := storetest.New(b)
		if _, err := seed.LoadAt(ctx, st, now); err != nil {
			b.Fatal(err)
		}
		cfg, err := configs.Load("", nil)
		if err != nil {
			b.Fatal(err)
		}
		svc, err := planning.New(planning.Options{Store: st, Config: cfg, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		from := svc.NextWorkingDay()
		to := from.AddDate(0, 0, 27)
		res, err := svc.Run(ctx, "bench", planning.Request{From: from, To: to})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Publish(ctx, "bench", res.PlanID); err != nil {
			b.Fatal(err)
		}
		visits, err := svc.Visits(ctx, res.PlanID, 0, store.Page{Limit: store.MaxLimit})
		if err != nil {
			b.Fatal(err)
		}
		rules, _ := resultRules(b)
		rules.Today = to.AddDate(0, 0, 1)
		depts := queryIDs(b, st, `SELECT id FROM departments ORDER BY id`)
		rnd := rand.New(rand.NewPCG(9, 9))

		b.StartTimer()
		start, tasks := time.Now(), 0
		for _, v := range visits.Items {
			if len(v.Inspectors) < 2 {
				b.Fatalf("visit %d has %d inspectors", v.Seq, len(v.Inspectors))
			}
			a, c := v.Inspectors[0].InspectorID, v.Inspectors[1].InspectorID
			for _, who := range []int64{a, c} {
				if _, _, err := st.RecordCheckIn(ctx, res.PlanID, v.Seq, who, store.CheckInInput{ClientID: newUUID()}, rules); err != nil {
					b.Fatal(err)
				}
			}
			door, err := st.DoorVisit(ctx, res.PlanID, v.Seq, a)
			if err != nil {
				b.Fatal(err)
			}
			for _, tk := range door.Tasks {
				in := store.ResultInput{ClientID: newUUID(), Outcome: store.ResultCompliant}
				switch x := rnd.IntN(100); {
				case x < 8:
					in.Outcome, in.RuleCited = store.ResultMinor, "《食品安全法》第五十四条"
				case x < 13:
					in.Outcome, in.RuleCited, in.RectifyBy = store.ResultViolation, "《食品安全法》第五十五条",
						rules.Today.AddDate(0, 0, 10).Format(time.DateOnly)
				case x < 15:
					for _, d := range depts {
						if d != tk.DepartmentID {
							in.Outcome, in.TransferredTo = store.ResultTransferred, d
							break
						}
					}
				case x < 20:
					in.Outcome, in.NotDoneReason = store.ResultNotDone, "closed"
				}
				if _, _, err := st.RecordResult(ctx, res.PlanID, v.Seq, tk.TaskSeq, a, in, rules); err != nil {
					b.Fatalf("visit %d task %d %s: %v", v.Seq, tk.TaskSeq, in.Outcome, err)
				}
				tasks++
			}
			for _, who := range []int64{a, c} {
				if _, _, err := st.ConfirmVisit(ctx, "bench", res.PlanID, v.Seq, who, newUUID(), rules); err != nil {
					b.Fatal(err)
				}
			}
		}
		door := time.Since(start)

		start = time.Now()
		published := 0
		for {
			n, err := st.PublishReports(ctx, "bench", 500)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
			published += n
		}
		publish := time.Since(start)

		start = time.Now()
		w := csv.NewWriter(io.Discard)
		exported := 0
		if err := st.EachPublishedResult(ctx, store.ResultFilter{}, func(r store.PublishedResult) error {
			exported++
			return w.Write([]string{r.USCC, r.BusinessName, r.VisitDate})
		}); err != nil {
			b.Fatal(err)
		}
		w.Flush()
		export := time.Since(start)

		start = time.Now()
		fig, err := st.ResultFigures(ctx, store.FiguresQuery{From: from, To: to, Today: rules.Today, Location: cfg.Location()})
		if err != nil {
			b.Fatal(err)
		}
		dash, err := st.PublicationStatus(ctx, store.PublicationQuery{Today: rules.Today, AddWorkingDays: rules.Calendar.AddWorkingDays,
			WorkingDays: cfg.Results.PublishWithinWorkingDays, Location: cfg.Location()})
		if err != nil {
			b.Fatal(err)
		}
		figures := time.Since(start)
		b.StopTimer()

		if published != len(visits.Items) || fig.VisitsPlanned != len(visits.Items) || fig.VisitsDone+fig.VisitsAttempted != published {
			b.Fatalf("published %d of %d visits; figures %+v", published, len(visits.Items), fig)
		}
		nv := float64(len(visits.Items))
		b.ReportMetric(float64(door.Milliseconds())/nv, "ms/visit-at-door")
		b.ReportMetric(float64(publish.Milliseconds()), "ms-publish")
		b.ReportMetric(float64(export.Milliseconds()), "ms-export")
		b.ReportMetric(float64(figures.Milliseconds()), "ms-figures")
		b.Logf("%d visits, %d tasks: at the door %v (%.1f ms/visit); published %d in %v; %d published visits exported in %v; figures+dashboard in %v",
			len(visits.Items), tasks, door, float64(door.Milliseconds())/nv, published, publish, exported, export, figures)
		b.Logf("figures: planned %d, done %d (%.1f %%), attempted %d, joint %d (%.1f %% of done), outcomes %v, on time %d, late %d, pending %d, overdue %d; dashboard due %d, published on time %d, overdue %d+%d",
			fig.VisitsPlanned, fig.VisitsDone, 100*fig.DoneRate, fig.VisitsAttempted, fig.JointVisits, 100*fig.JointVisitRate,
			fig.ResultsByOutcome, fig.PublishedOnTime, fig.PublishedLate, fig.PublicationPending, fig.PublicationOverdue,
			dash.Due, dash.PublishedOnTime, dash.OverdueUnpublished, dash.OverdueUnreported)
	}
}

// queryIDs returns the ids a query selects.
func queryIDs(tb testing.TB, st *store.Store, query string) []int64 {
	tb.Helper()
	rows, err := st.SQL().Query(query)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return ids
}
