package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"inspectonce/store"
	"inspectonce/store/storetest"
)

// moveRules allow a move to any day from today (in Shanghai) on.
func moveRules() store.MoveRules { return store.MoveRules{Today: time.Now().In(shanghai)} }

// daysAfter is the civil date (UTC midnight) n days after tomorrow.
func daysAfter(n int) time.Time { return visitDay(0).Time().AddDate(0, 0, n) }

func mustMove(t *testing.T, st *store.Store, planID int64, seq int, to time.Time, reason string) store.VisitMove {
	t.Helper()
	m, err := st.MoveVisit(context.Background(), "admin", planID, seq, to, reason, moveRules())
	if err != nil {
		t.Fatalf("move visit %d to %s: %v", seq, to.Format(time.DateOnly), err)
	}
	return m
}

// waitNotices polls until the notices of kind are exactly those of keys
// (by effect key), and returns them; more of them, other keys, or too few
// after 30 s fail the test.
func waitNotices(t *testing.T, st *store.Store, kind string, keys []string) map[string]store.Notification {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		got := ofKind(allNotifications(t, st), kind)
		if len(got) == len(keys) {
			var ks []string
			for k := range got {
				ks = append(ks, k)
			}
			if !sameKeys(ks, keys) {
				t.Fatalf("%s notices %v, want %v", kind, ks, keys)
			}
			return got
		}
		if len(got) > len(keys) || time.Now().After(deadline) {
			t.Fatalf("%d %s notices, want %d", len(got), kind, len(keys))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ofKind picks the notifications of one kind.
func ofKind(all map[string]store.Notification, kind string) map[string]store.Notification {
	out := map[string]store.Notification{}
	for k, n := range all {
		if n.Kind == kind {
			out[k] = n
		}
	}
	return out
}

func TestRelayTasksOfMovedRows(t *testing.T) {
	r := NewRelay(RelayOptions{PerTask: 10, QueueName: "q"})
	moved := func(id int64, payload string) store.OutboxRow {
		return store.OutboxRow{ID: id, PlanID: 7, VisitSeq: 3, Kind: store.OutboxVisitMoved, Payload: []byte(payload)}
	}
	rows := []store.OutboxRow{
		{ID: 1, PlanID: 7, VisitSeq: 1, Kind: store.OutboxDispatchVisit},
		moved(5, `{"v":1,"plan_id":7,"visit_seq":3,"revision":2}`),
		{ID: 2, PlanID: 7, VisitSeq: 2, Kind: store.OutboxDispatchVisit},
	}
	tasks, err := r.TasksOf(rows)
	if err != nil || len(tasks) != 2 {
		t.Fatalf("%d tasks: %v", len(tasks), err)
	}
	if tasks[0].Task.Type() != TypeDispatchVisits || fmt.Sprint(tasks[0].IDs) != "[1 2]" {
		t.Fatalf("dispatch task %s %v", tasks[0].Task.Type(), tasks[0].IDs)
	}
	mt := tasks[1]
	var p VisitMovedPayload
	if mt.Task.Type() != TypeDispatchVisitMoved || fmt.Sprint(mt.IDs) != "[5]" || json.Unmarshal(mt.Task.Payload(), &p) != nil ||
		p != (VisitMovedPayload{V: 1, PlanID: 7, VisitSeq: 3, Revision: 2}) {
		t.Fatalf("move task %s %v %s", mt.Task.Type(), mt.IDs, mt.Task.Payload())
	}
	if MovedTaskID(5, 2) != "outbox:5:moved:2" || MovedTaskID(5, 2) == MovedTaskID(5, 3) {
		t.Fatalf("task IDs %s %s", MovedTaskID(5, 2), MovedTaskID(5, 3))
	}
	// A payload not understood, or naming another visit, is left out and named.
	for _, bad := range []string{`{"v":2,"plan_id":7,"visit_seq":3,"revision":1}`, `{"v":1,"plan_id":7,"visit_seq":4,"revision":1}`,
		`{"v":1,"plan_id":7,"visit_seq":3,"revision":0}`, `nope`} {
		tasks, err := r.TasksOf([]store.OutboxRow{moved(9, bad)})
		if err == nil || len(tasks) != 0 || !strings.Contains(err.Error(), "outbox row 9") {
			t.Errorf("%s: %d tasks, %v", bad, len(tasks), err)
		}
	}
}

// TestMovedVisitRemindersFollowTheNewDate: the reminder scan reads effective
// dates. A visit moved after its reminder went out is reminded again the day
// before its new date, never again for the old one; a visit moved onto
// tomorrow is reminded, and not on its old day; a scan run again writes
// nothing.
func TestMovedVisitRemindersFollowTheNewDate(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 12
	p := publishFixturePlan(t, st, f, n)
	e := newDispatchEnv(t, st)
	tomorrow := visitDay(0).Time()
	remind := func(day time.Time) int {
		t.Helper()
		w, err := e.disp.RemindFor(ctx, day)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	insp := func(i int) [2]string {
		return [2]string{strconv.FormatInt(f.inspectors[i%4], 10), strconv.FormatInt(f.inspectors[(i+1)%4], 10)}
	}
	// the reminder keys of visit i (seq i+1, announced unless i%3 == 2) at a revision
	keysOf := func(i, revision int) []string {
		var ks []string
		for _, id := range insp(i) {
			ks = append(ks, store.ReminderEffectKey(p.ID, i+1, store.RecipientInspector, id, revision))
		}
		if i%3 != 2 {
			ks = append(ks, store.ReminderEffectKey(p.ID, i+1, store.RecipientBusiness, f.biz[i%len(f.biz)], revision))
		}
		return ks
	}
	remindersOf := func(seq int) []string {
		var ks []string
		for k, nt := range ofKind(allNotifications(t, st), store.NoticeReminder) {
			if *nt.VisitSeq == seq {
				ks = append(ks, k)
			}
		}
		return ks
	}

	// Today's scan (due 01:00 in Shanghai): visit 1 (i 0) is tomorrow.
	now := time.Now().In(shanghai)
	scan, _ := NewCronTask(TypeCronReminderScan, time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, shanghai))
	if err := e.disp.HandleReminderScan(ctx, scan); err != nil {
		t.Fatal(err)
	}
	if got := remindersOf(1); len(got) != 3 || !sameKeys(got, keysOf(0, 0)) {
		t.Fatalf("visit 1 reminded %v, want %v", got, keysOf(0, 0))
	}

	// Visit 1 moves from tomorrow to 5 days later, visit 2 (i 1, 4 days
	// later) onto tomorrow.
	mustMove(t, st, p.ID, 1, daysAfter(5), "企业停业装修")
	mustMove(t, st, p.ID, 2, tomorrow, "提前")
	before := len(allNotifications(t, st))
	// The scan again: visit 2's reminders at revision 1, nothing for visit 1.
	if err := e.disp.HandleReminderScan(ctx, scan); err != nil {
		t.Fatal(err)
	}
	if got := remindersOf(2); !sameKeys(got, keysOf(1, 1)) {
		t.Fatalf("visit 2 moved onto tomorrow: reminders %v, want %v", got, keysOf(1, 1))
	}
	if got := len(allNotifications(t, st)); got != before+3 {
		t.Fatalf("the scan again wrote %d notices, want visit 2's 3", got-before)
	}
	// Its old day (4 days after tomorrow) does not remind of it.
	if w := remind(daysAfter(4)); w == 0 {
		t.Fatal("the other visits of the old day were not reminded")
	}
	if got := remindersOf(2); !sameKeys(got, keysOf(1, 1)) {
		t.Fatalf("visit 2 reminded on its old day: %v", got)
	}
	// Visit 1, whose reminder went out for tomorrow, is reminded the day
	// before its new date, at revision 1, with the new date.
	if w := remind(daysAfter(5)); w != 3 {
		t.Fatalf("new day of visit 1: %d reminders, want 3", w)
	}
	all := allNotifications(t, st)
	if got := remindersOf(1); !sameKeys(got, append(keysOf(0, 0), keysOf(0, 1)...)) {
		t.Fatalf("visit 1 reminders %v", got)
	}
	var body visitBody
	if err := json.Unmarshal(all[keysOf(0, 1)[0]].Body, &body); err != nil || body.Date != daysAfter(5).Format(time.DateOnly) ||
		body.OriginalDate != tomorrow.Format(time.DateOnly) || body.Revision != 1 {
		t.Fatalf("moved visit's reminder body %+v %v", body, err)
	}
	// Every scan again writes nothing new.
	for _, day := range []time.Time{tomorrow, daysAfter(4), daysAfter(5)} {
		if w := remind(day); w != 0 {
			t.Fatalf("scan of %s again wrote %d", day.Format(time.DateOnly), w)
		}
	}
}

func sameKeys(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	in := map[string]bool{}
	for _, k := range got {
		in[k] = true
	}
	for _, k := range want {
		if !in[k] {
			return false
		}
	}
	return true
}

// TestMoveNoticesOnceThroughTheOutbox: a move's outbox row, relayed, tells
// the inspectors, the lead team and — for an announced visit only — the
// business, each once, and the webhooks carry them; the business of an
// announced visit not told yet hears of the move only when it may hear of the
// visit. A redelivered task writes nothing; a second move of the same visit
// is told too, through the same (re-armed) outbox row.
func TestMoveNoticesOnceThroughTheOutbox(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 12
	e := newDispatchEnv(t, st)
	inspHook := newReceiver(t, "insp-secret-0123456789", false)
	teamHook := newReceiver(t, "team-secret-0123456789", false)
	bizHook := newReceiver(t, "biz-secret-01234567890", false)
	for kind, r := range map[string]*receiver{store.RecipientInspector: inspHook, store.RecipientTeam: teamHook, store.RecipientBusiness: bizHook} {
		if _, err := st.CreateWebhook(ctx, "test", kind, r.srv.URL, r.secret); err != nil {
			t.Fatal(err)
		}
	}
	p := publishFixturePlan(t, st, f, n)
	e.start(t)
	waitDispatched(t, st, p.ID, 60*time.Second)

	// Visit 1 (i 0: tomorrow, announced 3 days ahead, told already), visit 3
	// (i 2: 8 days on, unannounced) and visit 7 (i 6: 8 days on, announced 3
	// days ahead, not told yet) move.
	m1 := mustMove(t, st, p.ID, 1, daysAfter(5), "企业停业装修")
	mustMove(t, st, p.ID, 3, daysAfter(9), "台风")
	mustMove(t, st, p.ID, 7, daysAfter(10), "检查人员培训")
	team := strconv.FormatInt(f.team, 10)
	want := func(i, revision int) []string {
		seq := i + 1
		ks := []string{
			store.MoveEffectKey(p.ID, seq, store.RecipientInspector, strconv.FormatInt(f.inspectors[i%4], 10), revision),
			store.MoveEffectKey(p.ID, seq, store.RecipientInspector, strconv.FormatInt(f.inspectors[(i+1)%4], 10), revision),
			store.MoveEffectKey(p.ID, seq, store.RecipientTeam, team, revision),
		}
		if i%3 != 2 {
			ks = append(ks, store.MoveEffectKey(p.ID, seq, store.RecipientBusiness, f.biz[i%len(f.biz)], revision))
		}
		return ks
	}
	waitMoved := func(keys []string) map[string]store.Notification {
		t.Helper()
		return waitNotices(t, st, store.NoticeVisitMoved, keys)
	}
	keys := append(append(want(0, 1), want(2, 1)...), want(6, 1)...)
	moved := waitMoved(keys)
	if len(keys) != 11 {
		t.Fatalf("fixture: %d keys", len(keys))
	}
	// What they say: old and new date and the reason.
	var b moveBody
	if err := json.Unmarshal(moved[want(0, 1)[0]].Body, &b); err != nil || b.Move.FromDate != visitDay(0).String() ||
		b.Move.ToDate != daysAfter(5).Format(time.DateOnly) || b.Move.Reason != "企业停业装修" || b.Move.Revision != 1 ||
		b.Date != m1.ToDate || b.Role == "" || len(b.Items) == 0 {
		t.Fatalf("inspector's move notice %+v %v", b, err)
	}
	var bb businessMoveBody
	if err := json.Unmarshal(moved[want(0, 1)[3]].Body, &bb); err != nil || bb.Move.FromDate != m1.FromDate ||
		bb.Move.ToDate != m1.ToDate || bb.Move.Reason != m1.Reason || bb.Date != m1.ToDate || len(bb.Items) == 0 {
		t.Fatalf("business's move notice %+v %v", bb, err)
	}
	// The business of visit 1 was told of it: it sees the move now. That of
	// visit 7 was not: it sees the move when it may see the visit, 3 days
	// before its (earliest) date. That of visit 3 (unannounced) is told nothing.
	now := time.Now()
	biz1, biz7 := moved[want(0, 1)[3]], moved[want(6, 1)[3]]
	if biz1.VisibleFrom.After(now) {
		t.Fatalf("visit 1's business sees the move from %v", biz1.VisibleFrom)
	}
	vd := visitDay(6).Time()
	if wantVF := time.Date(vd.Year(), vd.Month(), vd.Day()-3, 0, 0, 0, 0, shanghai); !biz7.VisibleFrom.Equal(wantVF) || !wantVF.After(now) {
		t.Fatalf("visit 7's business sees the move from %v, want %v", biz7.VisibleFrom, wantVF)
	}
	for _, nt := range moved {
		if nt.RecipientKind == store.RecipientBusiness && *nt.VisitSeq == 3 {
			t.Fatal("the business of an unannounced visit was told of its move")
		}
	}

	// The webhooks carry them, each once; the business's hook only what is visible.
	byKind := map[string]map[int64]bool{}
	for _, nt := range moved {
		if byKind[nt.RecipientKind] == nil {
			byKind[nt.RecipientKind] = map[int64]bool{}
		}
		if !nt.VisibleFrom.After(now) {
			byKind[nt.RecipientKind][nt.ID] = true
		}
	}
	waitHooks := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; {
			ok := true
			for kind, r := range map[string]*receiver{store.RecipientInspector: inspHook, store.RecipientTeam: teamHook, store.RecipientBusiness: bizHook} {
				got, bad := r.snapshot()
				if len(bad) > 0 {
					t.Fatalf("%s hook: %v", kind, bad)
				}
				for id := range byKind[kind] {
					if got[id] == 0 {
						ok = false
					} else if got[id] > 1 {
						t.Fatalf("%s hook got notice %d %d times", kind, id, got[id])
					}
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the webhooks did not get every move notice")
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitHooks()
	if got, _ := bizHook.snapshot(); got[biz7.ID] != 0 {
		t.Fatal("the business's webhook got a move notice before it is visible")
	}

	// Redelivery: the task again under another ID, and the handler called
	// directly, write nothing.
	again, _ := NewVisitMoved(p.ID, 1, 1, asynq.Queue(e.queue), asynq.TaskID("again:moved:1"))
	if _, err := e.client.Enqueue(again); err != nil {
		t.Fatal(err)
	}
	if w, err := e.disp.TellMoves(ctx, p.ID, 3); err != nil || w != 0 {
		t.Fatalf("told again: %d %v", w, err)
	}
	ins := asynq.NewInspector(e.opt)
	defer ins.Close()
	for deadline := time.Now().Add(30 * time.Second); ; {
		qi, err := ins.GetQueueInfo(e.queue)
		if err == nil && qi.Pending == 0 && qi.Active == 0 && qi.Retry == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v %v", qi, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitMoved(keys)

	// A second move of visit 1: told too, through the same outbox row.
	mustMove(t, st, p.ID, 1, daysAfter(6), "再次改期")
	keys = append(keys, want(0, 2)...)
	moved = waitMoved(keys)
	rows, relayed, err := st.OutboxRows(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	movedRows := 0
	for i, row := range rows {
		if row.Kind != store.OutboxVisitMoved {
			continue
		}
		movedRows++
		if row.VisitSeq == 1 && !strings.Contains(string(row.Payload), `"revision": 2`) {
			t.Fatalf("visit 1's outbox row %s", row.Payload)
		}
		for deadline := time.Now().Add(10 * time.Second); relayed[i] == nil; {
			if time.Now().After(deadline) {
				t.Fatalf("outbox row %d not relayed", row.ID)
			}
			time.Sleep(50 * time.Millisecond)
			_, relayed, _ = st.OutboxRows(ctx, p.ID)
		}
	}
	if movedRows != 3 {
		t.Fatalf("%d visit_moved outbox rows, want one per moved visit", movedRows)
	}
	for _, k := range want(0, 2) {
		nt := moved[k]
		if nt.RecipientKind != store.RecipientBusiness || !nt.VisibleFrom.After(now) {
			byKind[nt.RecipientKind][nt.ID] = true
		}
	}
	waitHooks()
	if s, err := st.PlanDispatchStatus(ctx, p.ID); err != nil || s.NotificationsByKind[store.NoticeVisitMoved] != int64(len(keys)) {
		t.Fatalf("status %+v %v", s, err)
	}
}

// TestRosterUpdates: a team-day whose roster went out gets an updated roster
// when a move or a publication changes it — one notice per change, an empty
// one when every visit moved away, one again when it changes back — and
// nothing when it has not changed, however often the checks run.
func TestRosterUpdates(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newDispatchFixture(t, st, 5)
	const n = 12
	p := publishFixturePlan(t, st, f, n)
	e := newDispatchEnv(t, st)
	tomorrow := visitDay(0).Time()
	rosters := func(day time.Time) []store.Notification {
		t.Helper()
		var out []store.Notification
		prefix := store.RosterEffectKey(f.team, day)
		for k, nt := range ofKind(allNotifications(t, st), store.NoticeRoster) {
			if strings.HasPrefix(k, prefix) {
				out = append(out, nt)
			}
		}
		// oldest first
		for i := 1; i < len(out); i++ {
			for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
		return out
	}
	bodyOfRoster := func(nt store.Notification) rosterBody {
		t.Helper()
		var b rosterBody
		if err := json.Unmarshal(nt.Body, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	seqsOf := func(b rosterBody) string {
		var s []string
		for _, v := range b.Visits {
			s = append(s, fmt.Sprintf("%d/%d", v.PlanID, v.VisitSeq))
		}
		return strings.Join(s, ",")
	}
	runRosters := func(day time.Time, want int) {
		t.Helper()
		if w, err := e.disp.RostersFor(ctx, day); err != nil || w != want {
			t.Fatalf("rosters of %s: wrote %d, want %d (%v)", day.Format(time.DateOnly), w, want, err)
		}
	}
	tell := func(seq int) {
		t.Helper()
		if _, err := e.disp.TellMoves(ctx, p.ID, seq); err != nil {
			t.Fatal(err)
		}
	}

	// Tomorrow's roster: visits 1, 5 and 9. Run again: nothing.
	runRosters(tomorrow, 1)
	runRosters(tomorrow, 0)
	first := rosters(tomorrow)
	if len(first) != 1 || first[0].EffectKey != store.RosterEffectKey(f.team, tomorrow) ||
		seqsOf(bodyOfRoster(first[0])) != fmt.Sprintf("%d/1,%d/5,%d/9", p.ID, p.ID, p.ID) || bodyOfRoster(first[0]).Updated {
		t.Fatalf("first roster %+v", first)
	}

	// Visit 5 moves to the day after: tomorrow's roster is updated at once
	// (the move's dispatch re-checks it); the day after has no roster yet,
	// and the move does not send one (its daily run will).
	mustMove(t, st, p.ID, 5, daysAfter(1), "改期")
	tell(5)
	got := rosters(tomorrow)
	if len(got) != 2 {
		t.Fatalf("%d rosters of tomorrow after the move, want 2", len(got))
	}
	upd := bodyOfRoster(got[1])
	if !upd.Updated || seqsOf(upd) != fmt.Sprintf("%d/1,%d/9", p.ID, p.ID) ||
		got[1].EffectKey != store.RosterUpdateEffectKey(f.team, tomorrow, 2, upd.Digest) ||
		!strings.Contains(got[1].Title, "检查行程已更新") || got[1].RecipientKind != store.RecipientTeam {
		t.Fatalf("updated roster %s %q %+v", got[1].EffectKey, got[1].Title, upd)
	}
	if r := rosters(daysAfter(1)); len(r) != 0 {
		t.Fatalf("the move sent the new day's roster before its daily run: %+v", r)
	}
	// Unchanged: the daily run and the move's task again write nothing.
	runRosters(tomorrow, 0)
	tell(5)
	if got := rosters(tomorrow); len(got) != 2 {
		t.Fatalf("%d rosters after unchanged re-runs", len(got))
	}

	// Back to tomorrow: a third roster, though a roster with these visits
	// went out before (the latest one did not have it).
	mustMove(t, st, p.ID, 5, tomorrow, "改回")
	tell(5)
	got = rosters(tomorrow)
	if len(got) != 3 || seqsOf(bodyOfRoster(got[2])) != fmt.Sprintf("%d/1,%d/9,%d/5", p.ID, p.ID, p.ID) {
		t.Fatalf("after the move back: %d rosters", len(got))
	}
	if v := bodyOfRoster(got[2]).Visits[2]; v.Revision != 2 || v.OriginalDate != tomorrow.Format(time.DateOnly) {
		t.Fatalf("moved visit on the roster %+v", v)
	}
	runRosters(tomorrow, 0)

	// Every visit of a team-day moves away: an empty updated roster.
	last := visitDay(3).Time() // visits 4, 8 and 12
	runRosters(last, 1)
	for i, seq := range []int{4, 8, 12} {
		mustMove(t, st, p.ID, seq, last.AddDate(0, 0, 1), "清空")
		tell(seq)
		if r := rosters(last); len(r) != i+2 || len(bodyOfRoster(r[i+1]).Visits) != 2-i {
			t.Fatalf("after moving visit %d: %d rosters", seq, len(r))
		}
	}
	r := rosters(last)
	if b := bodyOfRoster(r[3]); !b.Updated || len(b.Visits) != 0 || b.Team == "" || !strings.Contains(r[3].Title, "已更新：0 家") || !strings.Contains(b.Text, "当日已无检查") {
		t.Fatalf("emptied roster %q %+v", r[3].Title, b)
	}
	runRosters(last, 0)

	// A plan published later with visits tomorrow: its dispatch updates
	// tomorrow's roster once, however often it runs.
	p2 := publishFixturePlan(t, st, f, n)
	for range 2 {
		if res, err := e.disp.DispatchVisits(ctx, p2.ID, seqRange(1, n)); err != nil || res.Dispatched != n {
			t.Fatalf("dispatch: %+v %v", res, err)
		}
	}
	got = rosters(tomorrow)
	if len(got) != 4 || len(bodyOfRoster(got[3]).Visits) != 6 || !bodyOfRoster(got[3]).Updated {
		t.Fatalf("after a publication: %d rosters", len(got))
	}
	runRosters(tomorrow, 0)
}
