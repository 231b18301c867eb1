package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// readCacheCounty is the demo county with a cached store (the replica under
// test), an uncached one on the same database (the truth), and a raw
// connection that stands for any other writer.
type readCacheCounty struct {
	cached, truth *store.Store
	raw           *pgx.Conn
	now           time.Time
	loc           *time.Location
	uscc          string
	code          string
	leader        domain.Principal
	// readers are one reader of each contact rule: an admin, a planner, a
	// team leader, an inspector.
	readers map[domain.Role]domain.Principal
}

func newReadCacheCounty(t *testing.T) readCacheCounty {
	t.Helper()
	ctx := context.Background()
	st, dsn := storetest.New(t)
	now := time.Now()
	res, err := seed.LoadAt(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := store.Open(dsn, store.Options{MaxOpenConns: 4, ReadCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = truth.Close() })
	raw, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close(context.Background()) })
	var business, leader domain.Principal
	readers := map[domain.Role]domain.Principal{}
	for _, tk := range res.Tokens {
		switch tk.Role {
		case domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader, domain.RoleInspector:
			if _, ok := readers[tk.Role]; !ok {
				if readers[tk.Role], err = st.Authenticate(ctx, tk.Token); err != nil {
					t.Fatal(err)
				}
			}
		}
		if tk.Role == domain.RoleBusiness {
			if business, err = st.Authenticate(ctx, tk.Token); err != nil {
				t.Fatal(err)
			}
		}
		if tk.Role == domain.RoleTeamLeader {
			if leader, err = st.Authenticate(ctx, tk.Token); err != nil {
				t.Fatal(err)
			}
		}
	}
	c := readCacheCounty{cached: st, truth: truth, raw: raw, now: now, loc: cfg.Location(), uscc: business.Scope, leader: leader, readers: readers}
	sched, err := truth.BusinessSchedule(ctx, c.uscc, now, c.loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(sched.Visits) == 0 {
		t.Fatal("the demo business has no visits")
	}
	c.code = sched.Visits[len(sched.Visits)-1].Code
	return c
}

// same fails unless the cached store answers the schedule and the code check
// exactly as the uncached one does.
func (c readCacheCounty) same(t *testing.T, when string) (sched store.BusinessSchedule, check store.CodeCheck) {
	t.Helper()
	ctx := context.Background()
	for _, st := range []*store.Store{c.cached, c.truth} {
		s, err := st.BusinessSchedule(ctx, c.uscc, c.now, c.loc)
		if err != nil {
			t.Fatalf("%s: schedule: %v", when, err)
		}
		k, err := st.VerifyVisitCode(ctx, c.code, "test")
		if err != nil {
			t.Fatalf("%s: code: %v", when, err)
		}
		if st == c.cached {
			sched, check = s, k
			continue
		}
		if got, want := js(t, sched), js(t, s); got != want {
			t.Fatalf("%s: the cached schedule differs from a fresh read:\ncached %s\nfresh  %s", when, got, want)
		}
		if got, want := js(t, check), js(t, k); got != want {
			t.Fatalf("%s: the cached code check differs from a fresh read:\ncached %s\nfresh  %s", when, got, want)
		}
	}
	return sched, check
}

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestReadCacheSeesEveryChange changes, from outside the cached store, each
// table a cached read depends on, and checks that the very next read answers
// as a fresh one does, with no wait: the change is committed before the read
// starts, so the read must show it. Writes that change nothing on the
// calendar (a risk code, a new demand) must leave the entries in use.
func TestReadCacheSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	before, check := c.same(t, "first read")
	if check.Outcome != store.CodeValid || check.Visit == nil {
		t.Fatalf("the demo code checks %q", check.Outcome)
	}
	v := before.Visits[len(before.Visits)-1]
	changes := []struct {
		name string
		sql  string
		args []any
	}{
		{"business name", `UPDATE businesses SET name = name || '·' WHERE uscc = $1`, []any{c.uscc}},
		{"business address", `UPDATE businesses SET address = address || '·' WHERE uscc = $1`, []any{c.uscc}},
		{"team phone", `UPDATE teams SET contact_phone = '0571-0000000' WHERE id = $1`, []any{v.LeadTeam.ID}},
		{"team name", `UPDATE teams SET name = name || '·' WHERE id = $1`, []any{v.LeadTeam.ID}},
		{"inspector name", `UPDATE inspectors SET name = name || '·' WHERE id IN
			(SELECT inspector_id FROM visit_assignments WHERE plan_id = $1 AND visit_seq = $2)`, []any{v.PlanID, v.VisitSeq}},
		{"item legal basis", `UPDATE items SET legal_basis = legal_basis || '·'`, nil},
		{"department name", `UPDATE departments SET name = name || '·'`, nil},
		{"demands unannounced", `UPDATE demands SET announce_days = 0 WHERE id IN
			(SELECT demand_id FROM plan_tasks WHERE plan_id = $1 AND visit_seq = $2)`, []any{v.PlanID, v.VisitSeq}},
	}
	for _, ch := range changes {
		if _, err := c.raw.Exec(ctx, ch.sql, ch.args...); err != nil {
			t.Fatalf("%s: %v", ch.name, err)
		}
		after, _ := c.same(t, "after "+ch.name)
		if js(t, after) == js(t, before) && ch.name != "demands unannounced" {
			t.Fatalf("%s: the change shows nowhere on the schedule; the test changes nothing", ch.name)
		}
		before = after
	}

	// Through the store's own writers, on another replica.
	if _, err := c.truth.RevokeVisitCode(ctx, "test", v.PlanID, v.VisitSeq, "lost"); err != nil {
		t.Fatal(err)
	}
	_, check = c.same(t, "after a revocation")
	if check.Outcome != store.CodeRevoked {
		t.Fatalf("the revoked code checks %q", check.Outcome)
	}

	// Writes the calendar does not show keep the entries.
	stats := c.cached.ReadCacheStats()
	for _, q := range []string{
		`UPDATE businesses SET risk_code = 'red'`,
		`UPDATE plans SET progress_note = progress_note`,
	} {
		if _, err := c.raw.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	c.same(t, "after writes the calendar does not show")
	if got := c.cached.ReadCacheStats(); got.Hits < stats.Hits+2 || got.Stale != stats.Stale {
		t.Fatalf("writes the calendar does not show dropped cached entries: before %+v, after %+v", stats, got)
	}
}

// TestReadCacheTransactionInFlight: a read taken while a calendar change is
// uncommitted must not be served once that change commits, whichever order
// its transaction id and the read's snapshot have.
func TestReadCacheTransactionInFlight(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	c.same(t, "first read")
	tx, err := c.raw.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `UPDATE businesses SET name = 'in flight' WHERE uscc = $1`, c.uscc); err != nil {
		t.Fatal(err)
	}
	// Read (and cache) while the change is in flight: the old name.
	sched, _ := c.same(t, "while in flight")
	if sched.Business.Name == "in flight" {
		t.Fatal("an uncommitted name shows")
	}
	sched, _ = c.same(t, "while in flight, again") // a hit on the entry read before the commit
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	sched, _ = c.same(t, "after the commit")
	if sched.Business.Name != "in flight" {
		t.Fatalf("after the commit the schedule says %q", sched.Business.Name)
	}
}

// TestReadCacheNeverStale is the property under load: a writer renames the
// business again and again (each rename committed before its number is
// published to the readers) while readers read the cached schedule; no read
// that starts after a rename's commit may show an older name.
func TestReadCacheNeverStale(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				floor := committed.Load()
				s, err := c.cached.BusinessSchedule(ctx, c.uscc, c.now, c.loc)
				if err != nil {
					errs <- err
					return
				}
				var n int64
				if _, err := fmt.Sscanf(s.Business.Name, "rename %d", &n); err != nil && floor > 0 {
					errs <- fmt.Errorf("reader %d: name %q after rename %d", r, s.Business.Name, floor)
					return
				}
				if n < floor {
					errs <- fmt.Errorf("reader %d: stale read: %q after rename %d committed", r, s.Business.Name, floor)
					return
				}
			}
		}()
	}
	for i := int64(1); i <= 150; i++ {
		if _, err := c.raw.Exec(ctx, `UPDATE businesses SET name = $2 WHERE uscc = $1`, c.uscc, fmt.Sprintf("rename %d", i)); err != nil {
			t.Fatal(err)
		}
		committed.Store(i)
		time.Sleep(2 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := c.cached.ReadCacheStats(); st.Hits == 0 || st.Stale == 0 {
		t.Fatalf("the property ran without the cache at work: %+v", st)
	}
}

// TestReadCachePrunesOnlyWhatNoEntryNeeds: calendar_changes is pruned only
// below the snapshots of check rounds taken more than an hour ago (no
// replica's round builds on one that old), and entries are not served past
// their age.
func TestReadCachePrunesOnlyWhatNoEntryNeeds(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	var mu sync.Mutex
	clock := time.Now()
	at := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	store.SetReadCacheClock(c.cached, at)
	// Prunes run in the background, one at a time: wait for each.
	settle := func() {
		deadline := time.Now().Add(5 * time.Second)
		for store.ReadCachePruning(c.cached) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	rows := func() (n int64) {
		if err := c.raw.QueryRow(ctx, `SELECT count(*) FROM calendar_changes`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if rows() == 0 {
		t.Fatal("seeding the county recorded no calendar change")
	}
	c.same(t, "first read") // round 1 at +0: its xmin is marked
	// A change every 6 minutes, each in its own transaction, each found by
	// the round of the next read; rounds are marked every 5 minutes or more.
	const steps = 12
	for i := 1; i <= steps; i++ {
		if _, err := c.raw.Exec(ctx, `UPDATE teams SET contact_phone = $1`, fmt.Sprintf("0571-%07d", i)); err != nil {
			t.Fatal(err)
		}
		advance(6 * time.Minute)
		c.same(t, fmt.Sprintf("read at +%d min", 6*i))
		settle()
	}
	// Marks at +0, +6, ..., +72: the reads at +60, +66 and +72 pruned below
	// the marks of +0, +6 and +12, each taken after the change before it
	// committed: the seed's changes and the first two are gone, the ten
	// after them stay (a round at +12 builds on nothing older).
	if got := rows(); got != steps-2 {
		t.Fatalf("want the %d changes after the +12 mark kept, %d rows left", steps-2, got)
	}
	// An entry older than its age is not served, even unchanged.
	stats := c.cached.ReadCacheStats()
	advance(31 * time.Minute)
	c.same(t, "after 31 minutes")
	if got := c.cached.ReadCacheStats(); got.Hits != stats.Hits {
		t.Fatalf("an entry past its age was served: %+v then %+v", stats, got)
	}
	c.same(t, "again")
	if got := c.cached.ReadCacheStats(); got.Hits == stats.Hits {
		t.Fatalf("a fresh entry was not served: %+v then %+v", stats, got)
	}
}

// sameRoster fails unless the cached store answers the leader's roster day
// exactly as the uncached one does.
func (c readCacheCounty) sameRoster(t *testing.T, day time.Time, when string) store.TeamRosterDay {
	t.Helper()
	ctx := context.Background()
	got, err := c.cached.ReadRosterDay(ctx, c.leader, c.leader.TeamID(), day)
	if err != nil {
		t.Fatalf("%s: roster: %v", when, err)
	}
	want, err := c.truth.ReadRosterDay(ctx, c.leader, c.leader.TeamID(), day)
	if err != nil {
		t.Fatalf("%s: roster: %v", when, err)
	}
	if g, w := js(t, got), js(t, want); g != w {
		t.Fatalf("%s: the cached roster differs from a fresh read:\ncached %s\nfresh  %s", when, g, w)
	}
	return got
}

// TestReadCacheRosterSeesEveryChange is TestReadCacheSeesEveryChange for a
// team leader's roster day: each table behind it changed from outside, the
// next read answers as a fresh one. An inspector's roster is never cached
// (contacts differ by reader) and answers as ever.
func TestReadCacheRosterSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	team := c.leader.TeamID()
	y, m, d := c.now.In(c.loc).Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	before := c.sameRoster(t, day, "first read")
	if len(before.Visits) == 0 {
		t.Fatal("the demo squad has no visits today")
	}
	c.sameRoster(t, day, "second read")
	if st := c.cached.ReadCacheStats(); st.Hits == 0 {
		t.Fatalf("the second read of the roster was not a hit: %+v", st)
	}
	uscc := before.Visits[0].Business.USCC
	changes := []struct {
		name string
		sql  string
		args []any
	}{
		{"business contact phone", `UPDATE businesses SET contact_phone = '13900000000' WHERE uscc = $1`, []any{uscc}},
		{"business position", `UPDATE businesses SET lat = lat + 0.001 WHERE uscc = $1`, []any{uscc}},
		{"inspector phone", `UPDATE inspectors SET phone = '13800000000' WHERE team_id = $1`, []any{team}},
		{"a day away", `INSERT INTO inspector_unavailability (inspector_id, from_date, to_date, reason, created_by)
			SELECT id, $2, $2, '病假', 'test' FROM inspectors WHERE team_id = $1 ORDER BY id LIMIT 1`, []any{team, day}},
		{"a closure of the team's region", `INSERT INTO closures (region_id, from_date, to_date, reason, created_by)
			SELECT region_id, $2, $2, '台风', 'test' FROM team_regions WHERE team_id = $1 ORDER BY region_id LIMIT 1`, []any{team, day}},
		{"the region's name", `UPDATE regions SET name = name || '·' WHERE id IN (SELECT region_id FROM closures)`, nil},
		{"the closure's repair", `INSERT INTO calendar_repairs (cause, cause_id, reason, from_date, to_date, created_by)
			SELECT 'closure', id, '台风', from_date, to_date, 'test' FROM closures`, nil},
		{"the team's regions", `DELETE FROM team_regions WHERE team_id = $1`, []any{team}},
	}
	for _, ch := range changes {
		if _, err := c.raw.Exec(ctx, ch.sql, ch.args...); err != nil {
			t.Fatalf("%s: %v", ch.name, err)
		}
		after := c.sameRoster(t, day, "after "+ch.name)
		if js(t, after) == js(t, before) {
			t.Fatalf("%s: the change shows nowhere on the roster; the test changes nothing", ch.name)
		}
		before = after
	}
}

// sameLists fails unless the cached store answers each reader's first page
// of each filter exactly as the uncached one does; it returns the pages.
func (c readCacheCounty) sameLists(t *testing.T, readers map[domain.Role]domain.Principal, filters []store.BusinessFilter, when string) string {
	t.Helper()
	ctx := context.Background()
	var all []string
	for _, role := range []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader, domain.RoleInspector} {
		viewer := readers[role]
		for _, f := range filters {
			f.Viewer = &viewer
			got, err := c.cached.ListBusinesses(ctx, f, store.Page{Limit: 50})
			if err != nil {
				t.Fatalf("%s: %s's list: %v", when, role, err)
			}
			want, err := c.truth.ListBusinesses(ctx, f, store.Page{Limit: 50})
			if err != nil {
				t.Fatalf("%s: %s's list: %v", when, role, err)
			}
			if g, w := js(t, got), js(t, want); g != w {
				t.Fatalf("%s: %s's cached list %+v differs from a fresh read:\ncached %s\nfresh  %s", when, role, f, g, w)
			}
			// The bytes kept with a cached page, twice (made, then kept).
			for range 2 {
				enc, err := c.cached.ListBusinessesJSON(ctx, f, store.Page{Limit: 50}, encodePage)
				if err != nil {
					t.Fatalf("%s: %s's list as JSON: %v", when, role, err)
				}
				if g, w := string(enc), js(t, want); g != w {
					t.Fatalf("%s: %s's cached list %+v as JSON differs from a fresh read:\ncached %s\nfresh  %s", when, role, f, g, w)
				}
			}
			all = append(all, js(t, got))
		}
	}
	return fmt.Sprint(all)
}

// TestReadCacheListSeesEveryChange is TestReadCacheSeesEveryChange for the
// business list: each thing behind a page (any column of a business, a new
// business, the contact rule of each kind of reader, a scenario's
// industries, the region tree) changed from outside, the next read answers
// as a fresh one, for every kind of reader. A new demand leaves the pages
// of readers other than planners in use, and a risk code the calendar's.
func TestReadCacheListSeesEveryChange(t *testing.T) {
	ctx := context.Background()
	c := newReadCacheCounty(t)
	readers := c.readers
	if len(readers) != 4 {
		t.Fatalf("the demo county has readers %v; want one of each of four roles", readers)
	}
	var scenario, township, grid int64
	if err := c.raw.QueryRow(ctx, `SELECT id FROM scenarios ORDER BY id LIMIT 1`).Scan(&scenario); err != nil {
		t.Fatal(err)
	}
	if err := c.raw.QueryRow(ctx, `SELECT g.parent_id, g.id FROM regions g WHERE g.level = 'grid'
		AND EXISTS (SELECT 1 FROM businesses b WHERE b.region_id = g.id) ORDER BY g.id LIMIT 1`).Scan(&township, &grid); err != nil {
		t.Fatal(err)
	}
	// A business with a published visit the inspector is not on.
	inspector := c.readers[domain.RoleInspector].InspectorID()
	var visited string
	if err := c.raw.QueryRow(ctx, `SELECT min(v.uscc) FROM plan_visits v JOIN plans p ON p.id = v.plan_id
		AND p.status = 'published' WHERE NOT EXISTS (SELECT 1 FROM visit_assignments x
			JOIN plan_visits v2 ON v2.plan_id = x.plan_id AND v2.seq = x.visit_seq
			WHERE v2.uscc = v.uscc AND x.inspector_id = $1)`, inspector).Scan(&visited); err != nil {
		t.Fatal(err)
	}
	filters := []store.BusinessFilter{{}, {RiskCode: "red"}, {ScenarioID: scenario}, {RegionID: township}, {Search: visited}}
	before := c.sameLists(t, readers, filters, "first read")
	c.sameLists(t, readers, filters, "second read")
	if st := c.cached.ReadCacheStats(); st.Hits < int64(4*len(filters)) {
		t.Fatalf("the second reads of the lists were not hits: %+v", st)
	}
	const newcomer = "000000000000000000" // first on every page it is on
	changes := []struct {
		name string
		sql  string
		args []any
	}{
		{"a risk code", `UPDATE businesses SET risk_code = CASE risk_code WHEN 'red' THEN 'green' ELSE 'red' END
			WHERE uscc = (SELECT min(uscc) FROM businesses)`, nil},
		{"a new business", `INSERT INTO businesses (uscc, name, region_id, industry_code, lat, lng)
			SELECT $1, '新开的小吃店', $2, industry_code, lat, lng FROM businesses ORDER BY uscc LIMIT 1`, []any{newcomer, grid}},
		{"a demand names it", `INSERT INTO demand_businesses (demand_id, uscc)
			SELECT id, $1 FROM demands WHERE department_id = $2 ORDER BY id LIMIT 1`, []any{newcomer, readers[domain.RolePlanner].DepartmentID}},
		{"its contact", `UPDATE businesses SET contact_name = '王老板', contact_phone = '13900000000' WHERE uscc = $1`, []any{newcomer}},
		{"the inspector takes over a visit", `INSERT INTO visit_substitutions
			(plan_id, visit_seq, seq, ord, out_inspector_id, inspector_id, date, reason, draw_key, draw, created_by)
			SELECT a.plan_id, a.visit_seq, 1000, a.ord, a.inspector_id, $1, v.date, '病假', 'test', '{}', 'test'
			FROM plan_assignments a JOIN plan_visits v ON v.plan_id = a.plan_id AND v.seq = a.visit_seq
				JOIN plans p ON p.id = a.plan_id AND p.status = 'published'
			WHERE a.ord = 0 AND v.uscc = $2 ORDER BY a.plan_id, a.visit_seq LIMIT 1`, []any{inspector, visited}},
		{"a scenario's industries", `UPDATE scenarios SET industry_codes = '{}' WHERE id = $1`, []any{scenario}},
		{"the region tree", `UPDATE regions SET parent_id = (SELECT id FROM regions WHERE level = 'township' AND id <> $1
			ORDER BY id LIMIT 1) WHERE id = $2`, []any{township, grid}},
	}
	for _, ch := range changes {
		tag, err := c.raw.Exec(ctx, ch.sql, ch.args...)
		if err != nil {
			t.Fatalf("%s: %v", ch.name, err)
		}
		if tag.RowsAffected() == 0 {
			t.Fatalf("%s: no row changed", ch.name)
		}
		after := c.sameLists(t, readers, filters, "after "+ch.name)
		if after == before {
			t.Fatalf("%s: the change shows on no page; the test changes nothing", ch.name)
		}
		before = after
	}

	// A demand naming a business changes planners' pages only, and a risk
	// code no calendar read.
	c.same(t, "calendar reads")
	stats := c.cached.ReadCacheStats()
	for _, q := range []string{
		`INSERT INTO demand_businesses (demand_id, uscc) SELECT d.id, b.uscc FROM demands d, businesses b
			WHERE NOT EXISTS (SELECT 1 FROM demand_businesses x WHERE x.demand_id = d.id AND x.uscc = b.uscc) LIMIT 1`,
		`UPDATE plans SET progress_note = progress_note`,
	} {
		if _, err := c.raw.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	c.sameLists(t, readers, filters, "after a demand")
	got := c.cached.ReadCacheStats()
	if want := stats.Hits + int64(3*len(filters)); got.Hits < want || got.Stale != stats.Stale+int64(len(filters)) {
		t.Fatalf("a new demand: want %d more hits and the planner's %d pages stale; before %+v, after %+v",
			3*len(filters), len(filters), stats, got)
	}
	stats = got
	if _, err := c.raw.Exec(ctx, `UPDATE businesses SET risk_code = 'yellow'`); err != nil {
		t.Fatal(err)
	}
	c.same(t, "after risk codes")
	if got := c.cached.ReadCacheStats(); got.Hits < stats.Hits+2 || got.Stale != stats.Stale {
		t.Fatalf("risk codes dropped the calendar's entries: before %+v, after %+v", stats, got)
	}
	c.sameLists(t, readers, filters, "after risk codes")
}

func encodePage(p store.Paged[domain.Business]) ([]byte, error) { return json.Marshal(p) }
