package store_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestMoveArmsItsOutboxRowAndDispatchReadsEffectiveDates: a move writes (or
// re-arms) its visit's visit_moved outbox row in its own transaction, and the
// dispatch reads see the visit at its effective date.
func TestMoveArmsItsOutboxRowAndDispatchReadsEffectiveDates(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, _ := publishedHandPlan(t, st)
	rules := store.MoveRules{Today: day("2026-03-02")}
	movedRow := func() (store.OutboxRow, *time.Time, int) {
		t.Helper()
		rows, relayed, err := st.OutboxRows(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		var row store.OutboxRow
		var at *time.Time
		n := 0
		for i, r := range rows {
			if r.Kind == store.OutboxVisitMoved {
				row, at = r, relayed[i]
				n++
			}
		}
		return row, at, n
	}
	payload := func(row store.OutboxRow) map[string]int64 {
		t.Helper()
		var m map[string]int64
		if err := json.Unmarshal(row.Payload, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}

	if _, err := st.MoveVisit(ctx, "admin", p.ID, 2, day("2026-03-05"), "改期", rules); err != nil {
		t.Fatal(err)
	}
	row, relayed, n := movedRow()
	if n != 1 || row.VisitSeq != 2 || relayed != nil || payload(row)["revision"] != 1 || payload(row)["plan_id"] != p.ID ||
		payload(row)["visit_seq"] != 2 || payload(row)["v"] != 1 {
		t.Fatalf("visit_moved row %+v %s (relayed %v, %d rows)", row, row.Payload, relayed, n)
	}
	if got, err := st.RelayOutbox(ctx, 100, func(_ context.Context, rows []store.OutboxRow) ([]int64, error) {
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		return ids, nil
	}); err != nil || got != 4 {
		t.Fatalf("relayed %d: %v", got, err)
	}
	// The plan's dispatch figures count its visits' rows, not the move's.
	if ds, err := st.PlanDispatchStatus(ctx, p.ID); err != nil || ds.Outbox != ds.Visits || ds.Relayed != ds.Visits {
		t.Fatalf("dispatch status after a move: %+v, %v", ds, err)
	}
	// A refused move arms nothing; the next move re-arms the same row.
	if _, err := st.MoveVisit(ctx, "admin", p.ID, 2, day("2026-03-05"), "改期", rules); err == nil {
		t.Fatal("a move to the visit's own date was accepted")
	}
	if _, at, _ := movedRow(); at == nil {
		t.Fatal("a refused move re-armed the outbox row")
	}
	if _, err := st.MoveVisit(ctx, "admin", p.ID, 2, day("2026-03-06"), "再改", rules); err != nil {
		t.Fatal(err)
	}
	again, relayed, n := movedRow()
	if n != 1 || again.ID != row.ID || relayed != nil || payload(again)["revision"] != 2 {
		t.Fatalf("re-armed row %+v %s (relayed %v, %d rows)", again, again.Payload, relayed, n)
	}

	// Visit 2 (planned 03-03) is on 03-06 now; visit 3 moves earlier, from
	// 03-04 to 03-03.
	if _, err := st.MoveVisit(ctx, "admin", p.ID, 3, day("2026-03-03"), "提前", rules); err != nil {
		t.Fatal(err)
	}
	seqs := func(vs []store.DispatchVisit) []int {
		var out []int
		for _, v := range vs {
			out = append(out, v.Seq)
		}
		return out
	}
	d3, err := st.DayVisits(ctx, day("2026-03-03"))
	if err != nil || len(d3) != 2 || d3[0].Seq != 1 || d3[1].Seq != 3 || d3[1].Revision != 1 ||
		!d3[1].EarliestDate.Equal(day("2026-03-03")) || !d3[1].OriginalDate.Equal(day("2026-03-04")) {
		t.Fatalf("03-03: visits %v %v (the planned route first, then visits moved in)", seqs(d3), err)
	}
	if d5, _ := st.DayVisits(ctx, day("2026-03-05")); len(d5) != 0 {
		t.Fatalf("03-05 (a move since moved on): %v", seqs(d5))
	}
	d6, _ := st.DayVisits(ctx, day("2026-03-06"))
	if len(d6) != 1 || d6[0].Seq != 2 || d6[0].Revision != 2 || !d6[0].OriginalDate.Equal(day("2026-03-03")) ||
		!d6[0].EarliestDate.Equal(day("2026-03-03")) || len(d6[0].Inspectors) != 2 || len(d6[0].Items) == 0 {
		t.Fatalf("03-06: %+v", d6)
	}
	one, err := st.DispatchVisitOf(ctx, p.ID, 2)
	if err != nil || !one.Date.Equal(day("2026-03-06")) || one.Revision != 2 || !one.OriginalDate.Equal(day("2026-03-03")) {
		t.Fatalf("DispatchVisitOf: %+v %v", one, err)
	}
	batch, err := st.DispatchVisitsOf(ctx, p.ID, []int{1, 2, 3})
	if err != nil || len(batch) != 3 || !batch[0].Date.Equal(day("2026-03-03")) || batch[0].Revision != 0 ||
		!batch[1].Date.Equal(day("2026-03-06")) || !batch[2].Date.Equal(day("2026-03-03")) || !batch[2].EarliestDate.Equal(day("2026-03-03")) {
		t.Fatalf("DispatchVisitsOf: %+v %v", batch, err)
	}
}

// TestRefreshRostersLocksTheDay: roster checks of one day run one after the
// other, each seeing what the one before wrote; another day is not held up.
func TestRefreshRostersLocksTheDay(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	team := strconv.FormatInt(f.team, 10)
	roster := func(key, date string) store.NewNotification {
		return store.NewNotification{EffectKey: key, RecipientKind: store.RecipientTeam, RecipientID: team,
			Kind: store.NoticeRoster, Title: "r", Body: map[string]string{"date": date}}
	}

	// The first check of 03-03 sees its two visits and no notice yet.
	w, err := st.RefreshRosters(ctx, day("2026-03-03"), nil, func(rd store.RosterDay) ([]store.NewNotification, error) {
		if len(rd.Visits) != 2 || rd.Visits[0].PlanID != p.ID || len(rd.Latest) != 0 {
			t.Errorf("first check: %d visits, latest %v", len(rd.Visits), rd.Latest)
		}
		return []store.NewNotification{roster("r:1", "2026-03-03")}, nil
	})
	if err != nil || w.Inserted != 1 {
		t.Fatalf("first check: %+v %v", w, err)
	}
	sent, err := st.RosteredTeams(ctx, []time.Time{day("2026-03-03"), day("2026-03-04")}, []int64{f.team, f.team + 1000})
	if err != nil || len(sent) != 1 || len(sent["2026-03-03"]) != 1 || sent["2026-03-03"][0] != f.team {
		t.Fatalf("rostered teams %v %v", sent, err)
	}

	// A check of 03-03 held in its build holds up the next check of 03-03,
	// not a check of 03-04.
	inA, release := make(chan struct{}), make(chan struct{})
	doneA := make(chan error, 1)
	go func() {
		_, err := st.RefreshRosters(ctx, day("2026-03-03"), []int64{f.team}, func(rd store.RosterDay) ([]store.NewNotification, error) {
			close(inA)
			<-release
			return []store.NewNotification{roster("r:2", "2026-03-03")}, nil
		})
		doneA <- err
	}()
	<-inA
	inB := make(chan store.RosterDay, 1)
	doneB := make(chan error, 1)
	go func() {
		_, err := st.RefreshRosters(ctx, day("2026-03-03"), []int64{f.team}, func(rd store.RosterDay) ([]store.NewNotification, error) {
			inB <- rd
			return nil, nil
		})
		doneB <- err
	}()
	if _, err := st.RefreshRosters(ctx, day("2026-03-04"), nil, func(rd store.RosterDay) ([]store.NewNotification, error) {
		if len(rd.Visits) != 1 {
			t.Errorf("03-04: %d visits", len(rd.Visits))
		}
		return nil, nil
	}); err != nil {
		t.Fatalf("another day was held up or failed: %v", err)
	}
	select {
	case <-inB:
		t.Fatal("two checks of one day ran at once")
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	rd := <-inB
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	if l := rd.Latest[f.team]; l.EffectKey != "r:2" || l.Sent != 2 || len(rd.Visits) != 2 {
		t.Fatalf("the second check saw %+v and %d visits, want the first's notice r:2 of 2", l, len(rd.Visits))
	}
}
