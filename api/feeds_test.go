package api

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/getkin/kin-openapi/openapi3filter"

	"inspectonce/domain"
	"inspectonce/store"
)

func init() {
	// The feeds answer text/calendar; the response checker reads it as text.
	openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.PlainBodyDecoder)
}

// feedEvent is what a test checks of a VEVENT.
type feedEvent struct {
	UID      string
	Sequence int
	Start    time.Time
	Summary  string
}

// rotate makes a new feed secret as who at path and returns its URL.
func (f *scheduleFixture) rotate(who, path string) string {
	f.t.Helper()
	r := f.do(who, "POST", path, nil)
	expect(f.t, r, 201, "rotate "+path+" as "+who)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		f.t.Errorf("rotation answered Cache-Control %q", cc)
	}
	var a feedAnswer
	r.json(f.t, &a)
	if a.URL != "/feeds/"+a.Secret+".ics" || len(a.Secret) != 43 {
		f.t.Fatalf("feed answer %+v", a)
	}
	return a.URL
}

// feed fetches a feed without a token and parses it with an independent
// iCalendar parser.
func (f *scheduleFixture) feed(url string) (*ical.Calendar, []feedEvent) {
	f.t.Helper()
	r := f.do("", "GET", url, nil)
	expect(f.t, r, 200, "feed")
	if ct := r.Header.Get("Content-Type"); ct != "text/calendar; charset=utf-8" {
		f.t.Errorf("Content-Type %q", ct)
	}
	cal, err := ical.NewDecoder(bytes.NewReader(r.Body)).Decode()
	if err != nil {
		f.t.Fatalf("parse feed: %v\n%s", err, r.Body)
	}
	var out []feedEvent
	for _, e := range cal.Events() {
		uid, _ := e.Props.Text(ical.PropUID)
		summary, _ := e.Props.Text(ical.PropSummary)
		seq, err := e.Props.Get(ical.PropSequence).Int()
		if err != nil {
			f.t.Fatalf("SEQUENCE of %s: %v", uid, err)
		}
		start, err := e.DateTimeStart(nil)
		if err != nil {
			f.t.Fatalf("DTSTART of %s: %v", uid, err)
		}
		out = append(out, feedEvent{UID: uid, Sequence: seq, Start: start, Summary: summary})
	}
	return cal, out
}

func uids(es []feedEvent) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, e.UID)
	}
	return out
}

func TestBusinessFeed(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	jointUID, silentUID := store.VisitUID(f.plan.ID, f.joint.Seq), store.VisitUID(f.plan.ID, f.silent.Seq)
	f.clock.set(midnight(f.joint.Date, -3))
	url := f.rotate("business", "/api/v1/businesses/"+v.bizA.USCC+"/feed")

	cal, events := f.feed(url)
	if name, _ := cal.Props.Text("X-WR-CALNAME"); !strings.Contains(name, v.bizA.Name) {
		t.Errorf("X-WR-CALNAME %q", name)
	}
	if tz, _ := cal.Props.Text("X-WR-TIMEZONE"); tz != "Asia/Shanghai" {
		t.Errorf("X-WR-TIMEZONE %q", tz)
	}
	if len(events) != 1 || events[0].UID != jointUID || events[0].Sequence != 0 ||
		!events[0].Start.Equal(midnight(f.joint.Date, 0).Add(9*time.Hour)) || !strings.HasPrefix(events[0].Summary, "联合检查：") {
		t.Fatalf("events on the notice day: %+v", events)
	}

	// The unannounced visit is absent on its day and present from the next.
	f.clock.set(midnight(f.silent.Date, 0).Add(16 * time.Hour))
	if _, events := f.feed(url); !slices.Equal(uids(events), []string{jointUID}) {
		t.Fatalf("on the unannounced visit's day: %v", uids(events))
	}
	f.clock.set(midnight(f.silent.Date, 1))
	_, before := f.feed(url)
	if !slices.Equal(uids(before), []string{jointUID, silentUID}) {
		t.Fatalf("the day after: %v", uids(before))
	}

	// A second plan, published later, adds a visit to business A: the first
	// plan's events keep their UIDs, times and sequences. (Two more
	// inspectors: those of business A's last two visits must recuse.)
	for i := range 2 {
		in := domain.Inspector{Code: fmt.Sprintf("ZJ-02%02d", i), Name: fmt.Sprintf("新检查员%d", i), TeamID: v.team.ID,
			Domains: []string{"food_safety"}}
		if err := v.st.CreateInspector(context.Background(), "test", &in); err != nil {
			t.Fatal(err)
		}
	}
	v.demand("planner", v.itemA.ID, "complaint", 2, map[string]string{"from": "2026-12-14", "to": "2026-12-18"}, v.bizA.USCC)
	p2 := v.waitPlan(v.startPlan(map[string]any{"from": "2026-12-14", "to": "2026-12-18"}).ID)
	expect(t, v.do("admin", "POST", fmt.Sprintf("/api/v1/plans/%d/publish", p2.ID), nil), 200, "publish the second plan")
	second := v.planVisits(p2.ID)
	if len(second) != 1 {
		t.Fatalf("second plan: %+v; unplaced %s", second, v.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/unplaced", p2.ID), nil).Body)
	}
	f.clock.set(midnight(second[0].Date, -2))
	_, after := f.feed(url)
	if want := []string{jointUID, silentUID, store.VisitUID(p2.ID, second[0].Seq)}; !slices.Equal(uids(after), want) {
		t.Fatalf("after the second plan: %v, want %v", uids(after), want)
	}
	for i := range before {
		if a, b := after[i], before[i]; a.UID != b.UID || a.Sequence != b.Sequence || !a.Start.Equal(b.Start) || a.Summary != b.Summary {
			t.Errorf("event %s changed: %+v, was %+v", before[i].UID, after[i], before[i])
		}
	}

	// A business rotates only its own feed; another's, registered or not, is 404.
	for _, code := range []string{v.bizB.USCC, mustUSCC(t, 999)} {
		expect(t, f.do("business", "POST", "/api/v1/businesses/"+code+"/feed", nil), 404, "rotate the feed of "+code)
	}
	// Rotating makes the old URL stop working.
	next := f.rotate("business", "/api/v1/businesses/"+v.bizA.USCC+"/feed")
	expect(t, f.do("", "GET", url, nil), 404, "the old feed URL")
	if _, events := f.feed(next); len(events) != 3 {
		t.Fatalf("the new feed URL: %v", uids(events))
	}
	// The admin rotates any business's feed, which also revokes the one the
	// business had.
	byAdmin := f.rotate("admin", "/api/v1/businesses/"+v.bizA.USCC+"/feed")
	expect(t, f.do("", "GET", next, nil), 404, "the business's URL after the admin rotated")
	f.feed(byAdmin)

	for _, bad := range []string{"/feeds/nope.ics", "/feeds/" + strings.Repeat("A", 43) + ".ics", strings.TrimSuffix(byAdmin, ".ics") + ".txt"} {
		r := f.do("", "GET", bad, nil)
		if r.Status != 404 {
			t.Errorf("%s: %d", bad, r.Status)
		}
	}
	// A feed secret never reaches the request log.
	for _, u := range []string{url, next, byAdmin} {
		secret := strings.TrimSuffix(strings.TrimPrefix(u, "/feeds/"), ".ics")
		if strings.Contains(f.logs.String(), secret) {
			t.Fatalf("the log holds feed secret %s", secret)
		}
	}
	if !strings.Contains(f.logs.String(), "/feeds/[redacted].ics") {
		t.Errorf("feed requests are not logged:\n%s", f.logs.String())
	}
}

func TestStaffFeeds(t *testing.T) {
	f := newScheduleFixture(t)
	v := f.env
	// Staff see every visit of their own, announced or not, before it happens.
	team := f.rotate("team_leader", fmt.Sprintf("/api/v1/teams/%d/feed", v.team.ID))
	_, events := f.feed(team)
	var want []string
	for _, pv := range v.planVisits(f.plan.ID) {
		if pv.TeamID == v.team.ID {
			want = append(want, store.VisitUID(f.plan.ID, pv.Seq))
		}
	}
	got := uids(events)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || !slices.Contains(got, store.VisitUID(f.plan.ID, f.silent.Seq)) {
		t.Fatalf("team feed %v, want %v", got, want)
	}
	for _, e := range events {
		if e.UID == store.VisitUID(f.plan.ID, f.joint.Seq) && e.Summary != v.bizA.Name {
			t.Errorf("team feed SUMMARY %q, want the business name", e.Summary)
		}
	}

	// The inspector's feed holds the visits it is assigned to.
	ins := f.rotate("inspector", fmt.Sprintf("/api/v1/inspectors/%d/feed", v.inspector.ID))
	_, mine := f.feed(ins)
	want = want[:0]
	for _, pv := range v.planVisits(f.plan.ID) {
		for _, a := range pv.Inspectors {
			if a.InspectorID == v.inspector.ID {
				want = append(want, store.VisitUID(f.plan.ID, pv.Seq))
			}
		}
	}
	got = uids(mine)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("inspector feed %v, want %v", got, want)
	}

	// Out of the feed's range (30 days back to 120 ahead), nothing.
	f.clock.set(testToday.AddDate(0, 0, 200))
	if _, events := f.feed(team); len(events) != 0 {
		t.Fatalf("team feed 200 days on: %v", uids(events))
	}

	// Only one's own team or self; others' are 404, other roles 403.
	other := fmt.Sprintf("/api/v1/teams/%d/feed", v.team.ID+1000)
	expect(t, f.do("team_leader", "POST", other, nil), 404, "another team")
	expect(t, f.do("admin", "POST", other, nil), 404, "admin, unknown team")
	expect(t, f.do("inspector", "POST", fmt.Sprintf("/api/v1/inspectors/%d/feed", v.inspector.ID+1000), nil), 404, "another inspector")
	for _, who := range []string{"planner", "business", "inspector"} {
		expect(t, f.do(who, "POST", fmt.Sprintf("/api/v1/teams/%d/feed", v.team.ID), nil), 403, "team feed as "+who)
	}
	expect(t, f.do("", "POST", fmt.Sprintf("/api/v1/teams/%d/feed", v.team.ID), nil), 401, "anonymous")
}
