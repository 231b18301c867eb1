package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// TestNoticesCarryVisitCode: with a public base URL configured, every
// assignment, visit notice, reminder and move notice of a visit carries the
// URL of the visit's code page, with its current code; a code revoked before
// a visit is dispatched is not the one told.
func TestNoticesCarryVisitCode(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 6)
	p := publishFixturePlan(t, st, f, 6)
	if _, err := st.RevokeVisitCode(ctx, "admin", p.ID, 2, "printed notice lost"); err != nil {
		t.Fatal(err)
	}
	d := NewDispatcher(DispatchOptions{Store: st, AllowPrivateWebhooks: true, Location: shanghai, Logger: slog.New(slog.DiscardHandler),
		PublicBaseURL: "https://inspect.example.gov.cn/"})
	if _, err := d.DispatchVisit(ctx, p.ID, 1); err != nil {
		t.Fatal(err)
	}
	if r, err := d.DispatchVisits(ctx, p.ID, seqRange(2, 6)); err != nil || len(r.Refused) != 0 {
		t.Fatalf("dispatch: %+v %v", r, err)
	}
	mustMove(t, st, p.ID, 4, daysAfter(10), "the kitchen is being refitted")
	if w, err := d.TellMoves(ctx, p.ID, 4); err != nil || w == 0 {
		t.Fatalf("tell the move: %d written, %v", w, err)
	}
	if w, err := d.RemindFor(ctx, visitDay(0).Time()); err != nil || w == 0 {
		t.Fatalf("reminders: %d written, %v", w, err)
	}
	told := map[string]int{}
	for _, n := range allNotifications(t, st) {
		switch n.Kind {
		case store.NoticeAssignment, store.NoticeVisit, store.NoticeReminder, store.NoticeVisitMoved:
		default:
			continue
		}
		code, err := st.VisitCode(ctx, *n.PlanID, *n.VisitSeq)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			CodeURL string `json:"code_url"`
		}
		if err := json.Unmarshal(n.Body, &body); err != nil {
			t.Fatal(err)
		}
		if want := "https://inspect.example.gov.cn/v/" + code.Code; body.CodeURL != want {
			t.Errorf("%s of visit %d: code_url %q, want %q", n.Kind, *n.VisitSeq, body.CodeURL, want)
		}
		if *n.VisitSeq == 2 && code.Generation != 1 {
			t.Errorf("visit 2 told generation %d, want 1 (after its revocation)", code.Generation)
		}
		told[n.Kind]++
	}
	if told[store.NoticeReminder] == 0 || told[store.NoticeVisitMoved] == 0 {
		t.Errorf("reminders and move notices checked: %v", told)
	}
	if told[store.NoticeVisit] == 0 {
		t.Error("no business visit notice checked: the fixture has announced visits")
	}
	if told[store.NoticeAssignment] < 12 {
		t.Errorf("%d assignments checked, want at least 2 for each of 6 visits", told[store.NoticeAssignment])
	}
}
