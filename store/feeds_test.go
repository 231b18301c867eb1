package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

func TestFeedTokens(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newPlanFixture(t, st)
	for _, c := range []struct {
		name, kind, subject string
		canonical           string // the subject as stored, if not as given
		field               string // validation error naming it
		is                  error
	}{
		{"business", store.FeedBusiness, f.biz[0], "", "", nil},
		{"team", store.FeedTeam, fmt.Sprint(f.team), "", "", nil},
		{"inspector", store.FeedInspector, fmt.Sprint(f.inspectors[1]), "", "", nil},
		{"inspector id with leading zeros", store.FeedInspector, fmt.Sprintf("00%d", f.inspectors[2]), fmt.Sprint(f.inspectors[2]), "", nil},
		{"unknown business", store.FeedBusiness, code(99), "", "", domain.ErrNotFound},
		{"unknown team", store.FeedTeam, "999999", "", "", domain.ErrNotFound},
		{"team id not a number", store.FeedTeam, "T1", "", "", domain.ErrNotFound},
		{"inspector id not positive", store.FeedInspector, "-1", "", "", domain.ErrNotFound},
		{"unknown kind", "department", "SCJG", "", "kind", nil},
	} {
		if c.canonical == "" {
			c.canonical = c.subject
		}
		t.Run(c.name, func(t *testing.T) {
			secret, err := st.RotateFeedToken(ctx, "admin", c.kind, c.subject)
			switch {
			case c.field != "":
				var ve *domain.ValidationError
				if !errors.As(err, &ve) || ve.Fields[0].Field != c.field {
					t.Fatalf("error %v, want a validation error naming %s", err, c.field)
				}
				return
			case c.is != nil:
				if !errors.Is(err, c.is) {
					t.Fatalf("error %v, want %v", err, c.is)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
				t.Fatalf("secret %q is not 32 bytes of base64url: %v", secret, err)
			}
			kind, subject, err := st.ResolveFeedToken(ctx, secret)
			if err != nil || kind != c.kind || subject != c.canonical {
				t.Fatalf("resolve: %s %s %v", kind, subject, err)
			}
			// Rotating revokes the old secret.
			next, err := st.RotateFeedToken(ctx, "admin", c.kind, c.subject)
			if err != nil || next == secret {
				t.Fatalf("rotate: %q %v", next, err)
			}
			if _, _, err := st.ResolveFeedToken(ctx, secret); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("old secret after rotation: %v", err)
			}
			if k, s, err := st.ResolveFeedToken(ctx, next); err != nil || k != c.kind || s != c.canonical {
				t.Fatalf("new secret: %s %s %v", k, s, err)
			}
		})
	}
	for _, bad := range []string{"", "nope", string(make([]byte, 500))} {
		if _, _, err := st.ResolveFeedToken(ctx, bad); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("secret %.10q: %v", bad, err)
		}
	}

	// Rotations at once: each succeeds, one secret stays active.
	const n = 6
	secrets := make([]string, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secrets[i], errs[i] = st.RotateFeedToken(ctx, "admin", store.FeedBusiness, f.biz[1])
		}()
	}
	wg.Wait()
	active := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("rotation %d: %v", i, errs[i])
		}
		if _, _, err := st.ResolveFeedToken(ctx, secrets[i]); err == nil {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("%d active secrets after concurrent rotations, want 1", active)
	}

	// The secret is never stored, only its hash; every rotation is audited.
	if err := st.ExecForTest(ctx, fmt.Sprintf(`DO $$ BEGIN IF EXISTS (SELECT 1 FROM feed_tokens
		WHERE position(convert_to('%s', 'UTF8') IN secret_hash) > 0) THEN RAISE EXCEPTION 'stored'; END IF; END $$`, secrets[0])); err != nil {
		t.Fatal(err)
	}
	entries, err := st.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var rotations int
	for _, e := range entries {
		if e.Action == "feed.rotate" && e.Object == "feed/business/"+f.biz[1] {
			rotations++
		}
	}
	if rotations != n {
		t.Errorf("%d feed.rotate entries, want %d", rotations, n)
	}
	if _, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil {
		t.Fatalf("audit chain: %v %+v", err, brk)
	}
}

func TestStaffCalendars(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f := newScheduleFixture(t, st)

	cal, err := st.TeamCalendar(ctx, f.team, day("2026-03-01"), day("2026-03-31"))
	if err != nil {
		t.Fatal(err)
	}
	if cal.Kind != store.FeedTeam || cal.ID != f.team || cal.Name != "队" || cal.From != "2026-03-01" || cal.To != "2026-03-31" {
		t.Fatalf("team calendar head: %+v", cal)
	}
	// Every visit the team leads, announced or not, by date then route.
	var got []int
	for _, v := range cal.Visits {
		got = append(got, v.VisitSeq)
		if v.Role != store.RoleLeadTeam || v.UID != store.VisitUID(f.plan.ID, v.VisitSeq) || v.Business.Name == "" ||
			v.Business.Lat == 0 || v.ItemCount == 0 || len(v.Inspectors) != 2 || v.Inspectors[0].Role != "lead" {
			t.Errorf("visit %+v", v)
		}
	}
	if !slices.Equal(got, []int{1, 3, 4, 2}) {
		t.Fatalf("team visits %v, want [1 3 4 2]", got)
	}
	// Times on the planned route: 09:00 + travel 12 → 09:12, 45 minutes;
	// the second stop after it: 09:00 + 12 + 45 + 8 → 10:05, 30 minutes.
	for i, want := range [][2]string{{"09:12", "09:57"}, {"10:05", "10:35"}} {
		if v := cal.Visits[i]; v.StartTime != want[0] || v.EndTime != want[1] {
			t.Errorf("visit %d: %s–%s, want %s–%s", v.VisitSeq, v.StartTime, v.EndTime, want[0], want[1])
		}
	}
	if v := cal.Visits[0]; v.ItemCount != 2 || len(v.Departments) != 2 || !v.Announced {
		t.Errorf("joint visit: %+v", v)
	}

	// A range holds the visits whose effective date lies in it.
	narrow, err := st.TeamCalendar(ctx, f.team, day("2026-03-11"), day("2026-03-11"))
	if err != nil || len(narrow.Visits) != 1 || narrow.Visits[0].VisitSeq != 4 {
		t.Fatalf("one day: %v %+v", err, narrow.Visits)
	}
	rules := store.MoveRules{Today: day("2026-03-09")}
	if _, err := st.MoveVisit(ctx, "admin", f.plan.ID, 4, day("2026-03-20"), "改期", rules); err != nil {
		t.Fatal(err)
	}
	narrow, err = st.TeamCalendar(ctx, f.team, day("2026-03-11"), day("2026-03-11"))
	if err != nil || len(narrow.Visits) != 0 {
		t.Fatalf("after the move: %v %+v", err, narrow.Visits)
	}
	later, err := st.TeamCalendar(ctx, f.team, day("2026-03-20"), day("2026-03-20"))
	if err != nil || len(later.Visits) != 1 {
		t.Fatalf("the new day: %v %+v", err, later.Visits)
	}
	// A moved visit was not routed on its new day: the working window.
	if v := later.Visits[0]; v.Date != "2026-03-20" || v.OriginalDate != "2026-03-11" || v.Revision != 1 ||
		v.StartTime != "09:00" || v.EndTime != "17:00" {
		t.Fatalf("moved visit: %+v", v)
	}

	// An inspector's calendar: the visits it is assigned to, with its role.
	ins, err := st.InspectorCalendar(ctx, f.outsider, day("2026-03-01"), day("2026-03-31"))
	if err != nil {
		t.Fatal(err)
	}
	if ins.Kind != store.FeedInspector || ins.Name != "外援" || len(ins.Visits) != 1 || ins.Visits[0].VisitSeq != 1 ||
		ins.Visits[0].Role != "member" || ins.Visits[0].LeadTeam.ID != f.team {
		t.Fatalf("outsider's calendar: %+v", ins)
	}
	lead, err := st.InspectorCalendar(ctx, f.inspectors[2], day("2026-03-01"), day("2026-03-31"))
	if err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, v := range lead.Visits {
		roles = append(roles, fmt.Sprintf("%d:%s", v.VisitSeq, v.Role))
	}
	if !slices.Equal(roles, []string{"3:member", "2:member", "4:lead"}) {
		t.Fatalf("inspector 2's visits: %v", roles)
	}

	for _, c := range []struct {
		name string
		call func() error
	}{
		{"team", func() error { _, err := st.TeamCalendar(ctx, 999999, day("2026-03-01"), day("2026-03-31")); return err }},
		{"inspector", func() error {
			_, err := st.InspectorCalendar(ctx, 999999, day("2026-03-01"), day("2026-03-31"))
			return err
		}},
	} {
		if err := c.call(); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("unknown %s: %v", c.name, err)
		}
	}
}
