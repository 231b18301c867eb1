package store_test

import (
	"context"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestResultFigures checks the figures of a small fixture against counts made
// by hand: three visits, one moved into April; in March a joint visit with a
// violation (published on time) and a visit where nothing was done (its
// report overdue); in April the moved visit, compliant and published late.
func TestResultFigures(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	if _, err := st.MoveVisit(ctx, "admin", p.ID, 3, day("2026-04-01"), "业户申请延期", store.MoveRules{Today: day("2026-03-02")}); err != nil {
		t.Fatal(err)
	}
	seedReport(t, st, p.ID, 1, "2026-03-03", map[int64]string{f.deptA: "violation"})
	seedReport(t, st, p.ID, 2, "2026-03-03", map[int64]string{f.deptA: "not_done"})
	seedReport(t, st, p.ID, 3, "2026-04-01", nil)
	for _, q := range []string{
		`UPDATE visit_reports SET published_at = '2026-03-10T10:00:00+08:00' WHERE visit_seq = 1`,
		`UPDATE visit_reports SET published_at = '2026-05-15T10:00:00+08:00' WHERE visit_seq = 3`,
	} {
		if err := st.ExecForTest(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	outcomes := func(c, m, v, tr, nd int) map[string]int {
		return map[string]int{"compliant": c, "minor": m, "violation": v, "transferred": tr, "not_done": nd}
	}
	for _, tc := range []struct {
		name     string
		from, to string
		dept     int64
		want     store.Figures
	}{
		{"march", "2026-03-01", "2026-03-31", 0, store.Figures{VisitsPlanned: 2, VisitsDone: 1, VisitsAttempted: 1, JointVisits: 1,
			ResultsByOutcome: outcomes(1, 0, 1, 0, 1), PublishedOnTime: 1, PublicationOverdue: 1}},
		{"april", "2026-04-01", "2026-04-30", 0, store.Figures{VisitsPlanned: 1, VisitsDone: 1,
			ResultsByOutcome: outcomes(1, 0, 0, 0, 0), PublishedLate: 1}},
		{"quarter", "2026-03-01", "2026-05-31", 0, store.Figures{VisitsPlanned: 3, VisitsDone: 2, VisitsAttempted: 1, JointVisits: 1,
			ResultsByOutcome: outcomes(2, 0, 1, 0, 1), PublishedOnTime: 1, PublishedLate: 1, PublicationOverdue: 1}},
		{"march, department A", "2026-03-01", "2026-03-31", f.deptA, store.Figures{VisitsPlanned: 2, VisitsDone: 1, VisitsAttempted: 1,
			JointVisits: 1, ResultsByOutcome: outcomes(0, 0, 1, 0, 1), PublishedOnTime: 1, PublicationOverdue: 1}},
		{"february", "2026-02-01", "2026-02-28", 0, store.Figures{ResultsByOutcome: outcomes(0, 0, 0, 0, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.ResultFigures(ctx, store.FiguresQuery{From: day(tc.from), To: day(tc.to), Today: day("2026-04-10"),
				Location: sh, DepartmentID: tc.dept})
			if err != nil {
				t.Fatal(err)
			}
			w := tc.want
			w.From, w.To = tc.from, tc.to
			if w.VisitsPlanned > 0 {
				w.DoneRate = float64(w.VisitsDone) / float64(w.VisitsPlanned)
			}
			if w.VisitsDone > 0 {
				w.JointVisitRate = float64(w.JointVisits) / float64(w.VisitsDone)
			}
			if d := w.PublishedOnTime + w.PublishedLate + w.PublicationOverdue; d > 0 {
				w.OnTimeRate = float64(w.PublishedOnTime) / float64(d)
			}
			if got.From != w.From || got.To != w.To || got.VisitsPlanned != w.VisitsPlanned || got.VisitsDone != w.VisitsDone ||
				got.VisitsAttempted != w.VisitsAttempted || got.JointVisits != w.JointVisits || got.DoneRate != w.DoneRate ||
				got.JointVisitRate != w.JointVisitRate || got.PublishedOnTime != w.PublishedOnTime || got.PublishedLate != w.PublishedLate ||
				got.PublicationPending != w.PublicationPending || got.PublicationOverdue != w.PublicationOverdue || got.OnTimeRate != w.OnTimeRate {
				t.Errorf("figures\n got %+v\nwant %+v", got, w)
			}
			for o, n := range w.ResultsByOutcome {
				if got.ResultsByOutcome[o] != n {
					t.Errorf("outcome %s: %d, want %d (%v)", o, got.ResultsByOutcome[o], n, got.ResultsByOutcome)
				}
			}
		})
	}
}
