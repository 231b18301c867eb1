package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/domain"
	"inspectonce/visitcode"
)

// Read cache of the calendar (issue 20). A business's schedule and the /v/
// check of a visit code are read far more often than the calendar changes,
// and each costs PostgreSQL a view over every published plan with
// correlated subqueries. A replica therefore keeps what it has read, with
// the snapshot it was read in, and serves it again only once it has made
// sure that no transaction which changed the tables behind it committed
// unseen by that snapshot. Every such transaction records its id in
// calendar_changes (migration 00029), so a cached answer is exactly what a
// fresh read would answer when the request arrived, on every replica, with
// no notification to wait for and no window.
//
// Making sure costs a round trip, but one shared by every request waiting:
// a check round takes a new snapshot and reads the ids of the changes
// committed since the previous round's snapshot, and every request that
// arrived before the round started is then answered in memory by comparing
// those ids with its entry's snapshot. Under load, many requests share a
// round; alone, a request pays one small query.
//
// Entries are bounded in number (DefaultReadCacheSize) and in age
// (readCacheMaxAge, which lets calendar_changes be pruned: see mark).

// readCacheMaxAge is how long an entry may be served at all.
const readCacheMaxAge = 30 * time.Minute

// roundStale is how old the latest round may be for the next to build on
// it; past that, the next round starts afresh and every entry is dropped
// (calendar_changes may have been pruned past its snapshot meanwhile).
const roundStale = 10 * time.Minute

// DefaultReadCacheSize bounds each of the read cache's maps (schedules,
// code checks, roster days; pages of the business list, a 25th of it): past
// it an arbitrary entry makes room.
const DefaultReadCacheSize = 50000

// readSnapshot is a PostgreSQL snapshot (pg_snapshot's text and parts).
type readSnapshot struct {
	text       string
	xmin, xmax uint64
	xip        []uint64
}

// parseSnapshot reads pg_snapshot's text form "xmin:xmax:xip,...".
func parseSnapshot(text string) (readSnapshot, error) {
	parts := strings.Split(text, ":")
	if len(parts) != 3 {
		return readSnapshot{}, fmt.Errorf("snapshot %q: want xmin:xmax:xip", text)
	}
	snap := readSnapshot{text: text}
	var err error
	if snap.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return readSnapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
	}
	if snap.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return readSnapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
	}
	if parts[2] != "" {
		for _, f := range strings.Split(parts[2], ",") {
			x, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return readSnapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
			}
			snap.xip = append(snap.xip, x)
		}
	}
	return snap, nil
}

// visible is pg_visible_in_snapshot: transaction xid had completed when the
// snapshot was taken.
func (s readSnapshot) visible(xid uint64) bool {
	return xid < s.xmin || (xid < s.xmax && !slices.Contains(s.xip, xid))
}

// snapshotSQL is queued first in a batch whose answers are cached: every
// later statement of the batch sees at least what it saw (each statement of
// a READ COMMITTED batch takes a newer snapshot), so checking an entry
// against it is conservative.
const snapshotSQL = `SELECT pg_current_snapshot()::text`

// roundSQL is a check round: its own snapshot, and the ids of the calendar
// changes committed in it that snapshot $1 (the previous round's) did not
// see. An id below $1's xmin was completed before $1.
const roundSQL = `SELECT pg_current_snapshot()::text, coalesce((SELECT array_agg(c.xid::text || '/' || c.scope) FROM calendar_changes c
	WHERE c.xid >= pg_snapshot_xmin($1::text::pg_snapshot) AND NOT pg_visible_in_snapshot(c.xid, $1::text::pg_snapshot)), '{}')`

// Scopes of a change (calendar_changes.scope, migration 00030): the reads
// it may have changed. An entry is checked only against the changes of the
// scopes it depends on, so a recorded result (a risk code) or a new demand
// leaves the calendar's entries in use.
const (
	scopeCalendar = 1 << iota // the calendar: visits, plans, teams, people, days away
	scopeRegistry             // businesses (every column) and scenarios
	scopeNamed                // the businesses demands name (a planner's contacts)
)

// scheduleKey is a business's schedule on one civil day (the day decides
// which visits it may see, and which are past).
type scheduleKey struct {
	uscc string
	day  int64 // days since 1970-01-01
}

// rosterKey is a team's roster day as a reader who may see all of it reads
// it (an admin, the team's leader: rosterContactsAll); inspectors, who see
// only some stops' contacts, are not cached.
type rosterKey struct {
	team int64
	day  int64
}

// listKey is a page of the business list: its filter, its page, and the
// contact rule of its reader (contactScope's condition and arguments, which
// say all there is about whose contact details it sees).
type listKey struct {
	contacts                                 string
	regionID, scenarioID                     int64
	industryCode, riskCode, listKind, search string
	after                                    string
	limit                                    int
}

// listCacheRows bounds the rows of a page worth caching: the pages people
// read (the API's default, the registry page) are 50.
const listCacheRows = 100

// cachedRead is an entry: a value read in snapshot snap, known true through
// check round valid, to be served before until (when set) only.
type cachedRead[V any] struct {
	snap  readSnapshot
	at    time.Time
	valid uint64
	until time.Time
	v     V
}

// discovery is a calendar change a check round found committed.
type discovery struct {
	xid    uint64
	scopes uint8
	round  uint64
	at     time.Time
}

// checkRound is one check round; done closes when it has run.
type checkRound struct {
	done chan struct{}
	n    uint64
	err  error
}

// readMark is the xmin of a round's snapshot at a time (mark).
type readMark struct {
	at   time.Time
	xmin uint64
}

// readCache holds the cached reads of one replica. A nil *readCache caches
// nothing.
type readCache struct {
	mu        sync.Mutex
	size      int
	schedules map[scheduleKey]cachedRead[BusinessSchedule]
	codes     map[visitcode.Code]cachedRead[CodeCheck]
	rosters   map[rosterKey]cachedRead[TeamRosterDay]
	lists     map[listKey]cachedRead[listPage]
	listSize  int
	now       func() time.Time

	// Check rounds: the one running, the one to run after it (for the
	// requests that arrived while it ran), the number of the last one
	// completed, its snapshot and when it completed.
	cur, next *checkRound
	completed uint64
	last      readSnapshot
	lastAt    time.Time
	// discoveries since dropped (in round order): an entry known true
	// through a round before dropped cannot be checked and is a miss.
	discoveries []discovery
	dropped     uint64

	marks   []readMark
	pruning atomic.Bool

	hits, misses, stale, rounds atomic.Int64
}

func newReadCache(size int) *readCache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultReadCacheSize
	}
	// A page of the list is some 50 times a schedule's size.
	return &readCache{size: size, schedules: map[scheduleKey]cachedRead[BusinessSchedule]{},
		codes: map[visitcode.Code]cachedRead[CodeCheck]{}, rosters: map[rosterKey]cachedRead[TeamRosterDay]{},
		lists: map[listKey]cachedRead[listPage]{}, listSize: max(1, size/25), now: time.Now}
}

// ReadCacheStats are the read cache's counters since the start.
type ReadCacheStats struct {
	// Hits are reads answered from the cache, Misses reads that found no
	// live entry, Stale entries found but changed since (a miss too), and
	// Rounds the check rounds run (each shared by every request waiting).
	Hits, Misses, Stale, Rounds int64
}

// ReadCacheStats reports the read cache's counters (zero when it is off).
func (s *Store) ReadCacheStats() ReadCacheStats {
	c := s.reads
	if c == nil {
		return ReadCacheStats{}
	}
	return ReadCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load(), Rounds: c.rounds.Load()}
}

func dayKey(day time.Time) int64 { return day.Unix() / 86400 }

// lookup returns the entry of k in m if it is true now: unchanged by every
// change of scopes since it was read. On a miss, base is
// the check round a fresh read may be cached against (0: do not cache): a
// round that completed before the fresh read starts, so every change its
// snapshot missed is found by the rounds after it. The cache never fails a
// read: when a round cannot run, the read goes to PostgreSQL.
func lookup[K comparable, V any](ctx context.Context, c *readCache, s *Store, m map[K]cachedRead[V], k K, scopes uint8, clone func(V) V) (v V, ok bool, base uint64) {
	if c == nil {
		return v, false, 0
	}
	now := c.now()
	c.mu.Lock()
	e, ok := m[k]
	c.mu.Unlock()
	if ok && (now.Sub(e.at) > readCacheMaxAge || (!e.until.IsZero() && !now.Before(e.until))) {
		ok = false
	}
	if !ok {
		c.misses.Add(1)
		return v, false, c.baseline(ctx, s)
	}
	r, err := c.await(ctx, s)
	if err != nil {
		c.misses.Add(1)
		return v, false, 0
	}
	c.mu.Lock()
	fresh := c.unchangedLocked(e.snap, e.valid, r, scopes)
	if cur, found := m[k]; found && cur.at.Equal(e.at) {
		if fresh && cur.valid < r {
			cur.valid = r
			m[k] = cur
		} else if !fresh {
			delete(m, k)
		}
	}
	c.mu.Unlock()
	if !fresh {
		c.stale.Add(1)
		c.misses.Add(1)
		return v, false, r
	}
	c.hits.Add(1)
	return clone(e.v), true, 0
}

// keep caches v under k in m (of at most bound entries), read in snapshot
// text after round base completed.
func keep[K comparable, V any](c *readCache, m map[K]cachedRead[V], bound int, k K, base uint64, text string, until time.Time, v V) {
	if c == nil || base == 0 {
		return
	}
	snap, err := parseSnapshot(text)
	if err != nil {
		slog.Warn("read cache: unreadable snapshot; not cached", "err", err)
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if base < c.dropped {
		return
	}
	if len(m) >= bound {
		for k := range m {
			delete(m, k)
			break
		}
	}
	m[k] = cachedRead[V]{snap: snap, at: now, valid: base, until: until, v: v}
}

// unchangedLocked says whether an entry read in snap and known true through
// round valid is still true at round r: every change of scopes found by the
// rounds after valid was visible to snap.
func (c *readCache) unchangedLocked(snap readSnapshot, valid, r uint64, scopes uint8) bool {
	if valid < c.dropped {
		return false
	}
	i := sort.Search(len(c.discoveries), func(i int) bool { return c.discoveries[i].round > valid })
	for _, d := range c.discoveries[i:] {
		if d.round > r {
			break
		}
		if d.scopes&scopes != 0 && !snap.visible(d.xid) {
			return false
		}
	}
	return true
}

// Each map's values are copied on the way in and out: callers write into a
// schedule's or roster's visits (the code URL) and a check's visit, not into
// the elements' own slices.
func cloneSchedule(v BusinessSchedule) BusinessSchedule { v.Visits = slices.Clone(v.Visits); return v }
func cloneRoster(v TeamRosterDay) TeamRosterDay         { v.Visits = slices.Clone(v.Visits); return v }
func cloneCheck(v CodeCheck) CodeCheck                  { v.Visit = copyVisit(v.Visit); return v }

// schedule returns the cached schedule of k if it is still true.
func (c *readCache) schedule(ctx context.Context, s *Store, k scheduleKey) (BusinessSchedule, bool, uint64) {
	if c == nil {
		return BusinessSchedule{}, false, 0
	}
	return lookup(ctx, c, s, c.schedules, k, scopeCalendar, cloneSchedule)
}

// putSchedule caches sched, read in snapshot text after round base.
func (c *readCache) putSchedule(k scheduleKey, base uint64, text string, sched BusinessSchedule) {
	if c != nil {
		keep(c, c.schedules, c.size, k, base, text, time.Time{}, cloneSchedule(sched))
	}
}

// code returns the cached check of code k if it is still true.
func (c *readCache) code(ctx context.Context, s *Store, k visitcode.Code) (CodeCheck, bool, uint64) {
	if c == nil {
		return CodeCheck{}, false, 0
	}
	return lookup(ctx, c, s, c.codes, k, scopeCalendar, cloneCheck)
}

// putCode caches check of code k, read in snapshot text after round base,
// until the database's next midnight (the check depends on its date).
func (c *readCache) putCode(k visitcode.Code, base uint64, text string, until time.Time, check CodeCheck) {
	if c != nil {
		keep(c, c.codes, c.size, k, base, text, until, cloneCheck(check))
	}
}

// roster returns the cached roster day of k if it is still true.
func (c *readCache) roster(ctx context.Context, s *Store, k rosterKey) (TeamRosterDay, bool, uint64) {
	if c == nil {
		return TeamRosterDay{}, false, 0
	}
	return lookup(ctx, c, s, c.rosters, k, scopeCalendar, cloneRoster)
}

// putRoster caches rd, read in snapshot text after round base.
func (c *readCache) putRoster(k rosterKey, base uint64, text string, rd TeamRosterDay) {
	if c != nil {
		keep(c, c.rosters, c.size, k, base, text, time.Time{}, cloneRoster(rd))
	}
}

// listPage is a cached page of the business list, and the page as the API
// writes it once it has been written (ListBusinessesJSON): shared by the
// entry and every hit, so the bytes are made once per entry.
type listPage struct {
	page    Paged[domain.Business]
	encoded *atomic.Pointer[[]byte]
}

// list returns the cached page of k, its reader's contacts depending on
// the businesses demands name when named, if it is still true. The page's
// items are the entry's own: callers copy them before handing them on.
func (c *readCache) list(ctx context.Context, s *Store, k listKey, named bool) (listPage, bool, uint64) {
	if c == nil || k.limit > listCacheRows {
		return listPage{}, false, 0
	}
	return lookup(ctx, c, s, c.lists, k, listScopes(named), func(p listPage) listPage { return p })
}

// putList caches page p of k, read in snapshot text after round base (its
// items copied, its encoded bytes shared).
func (c *readCache) putList(k listKey, base uint64, text string, p listPage) {
	if c != nil && k.limit <= listCacheRows {
		p.page = cloneList(p.page)
		keep(c, c.lists, c.listSize, k, base, text, time.Time{}, p)
	}
}

// listScopes are the changes a page of the list depends on: the contact
// rule reads the calendar (whose visits a reader works on), the page the
// registry, and a planner's rule the businesses demands name.
func listScopes(named bool) uint8 {
	if named {
		return scopeCalendar | scopeRegistry | scopeNamed
	}
	return scopeCalendar | scopeRegistry
}

func cloneList(p Paged[domain.Business]) Paged[domain.Business] {
	p.Items = slices.Clone(p.Items)
	return p
}

func copyVisit(v *PublicVisit) *PublicVisit {
	if v == nil {
		return nil
	}
	cp := *v
	return &cp
}

// baseline is the number of a recent completed round, running one when
// there is none; 0 when it cannot.
func (c *readCache) baseline(ctx context.Context, s *Store) uint64 {
	c.mu.Lock()
	n, at := c.completed, c.lastAt
	c.mu.Unlock()
	if n > 0 && c.now().Sub(at) < roundStale {
		return n
	}
	n, err := c.await(ctx, s)
	if err != nil {
		return 0
	}
	return n
}

// await returns the number of a check round that started after the call,
// once it has run: the one about to start, or the one after the one
// running (which may have taken its snapshot before the caller came).
func (c *readCache) await(ctx context.Context, s *Store) (uint64, error) {
	c.mu.Lock()
	var w *checkRound
	switch {
	case c.cur == nil:
		w = &checkRound{done: make(chan struct{})}
		c.cur = w
		go c.run(s, w)
	case c.next == nil:
		c.next = &checkRound{done: make(chan struct{})}
		w = c.next
	default:
		w = c.next
	}
	c.mu.Unlock()
	select {
	case <-w.done:
		return w.n, w.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run runs round w, then the rounds asked for meanwhile, one at a time.
func (c *readCache) run(s *Store, w *checkRound) {
	for w != nil {
		c.runRound(s, w)
		c.mu.Lock()
		close(w.done)
		w, c.next = c.next, nil
		c.cur = w
		c.mu.Unlock()
	}
}

// runRound runs one check round: a new snapshot and the changes committed
// since the last one's.
func (c *readCache) runRound(s *Store, w *checkRound) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.mu.Lock()
	prev := c.last
	if c.completed > 0 && c.now().Sub(c.lastAt) >= roundStale {
		prev = readSnapshot{}
	}
	c.mu.Unlock()
	var text string
	var xids []string
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		if prev.text == "" {
			return conn.QueryRow(ctx, snapshotSQL).Scan(&text)
		}
		return conn.QueryRow(ctx, roundSQL, prev.text).Scan(&text, &xids)
	})
	var snap readSnapshot
	if err == nil {
		snap, err = parseSnapshot(text)
	}
	found := make([]discovery, 0, len(xids))
	for _, x := range xids {
		if err != nil {
			break
		}
		var d discovery
		d, err = parseChange(x)
		found = append(found, d)
	}
	if err != nil {
		w.err = fmt.Errorf("read cache check round: %w", err)
		return
	}
	c.rounds.Add(1)
	now := c.now()
	c.mu.Lock()
	c.completed++
	w.n = c.completed
	if prev.text == "" {
		// Nothing to build on: whatever was cached may have missed a change.
		c.dropped, c.discoveries = w.n, nil
		clear(c.schedules)
		clear(c.codes)
		clear(c.rosters)
		clear(c.lists)
	}
	for _, d := range found {
		d.round, d.at = w.n, now
		c.discoveries = append(c.discoveries, d)
	}
	// Discoveries older than any entry may be are of no more use.
	i := 0
	for i < len(c.discoveries) && now.Sub(c.discoveries[i].at) > readCacheMaxAge {
		c.dropped = max(c.dropped, c.discoveries[i].round)
		i++
	}
	c.discoveries = c.discoveries[i:]
	c.last, c.lastAt = snap, now
	c.mu.Unlock()
	c.mark(s, snap, now)
}

// parseChange reads a change as roundSQL gives it, "xid/scope".
func parseChange(text string) (discovery, error) {
	x, sc, ok := strings.Cut(text, "/")
	if !ok {
		return discovery{}, fmt.Errorf("change %q: want xid/scope", text)
	}
	xid, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return discovery{}, fmt.Errorf("change %q: %w", text, err)
	}
	scope, err := strconv.ParseUint(sc, 10, 8)
	if err != nil {
		return discovery{}, fmt.Errorf("change %q: %w", text, err)
	}
	return discovery{xid: xid, scopes: uint8(scope)}, nil
}

// Pruning. calendar_changes would grow by one row per calendar-changing
// transaction forever. A round reads only the rows its previous round's
// snapshot did not see, and builds on a previous round at most roundStale
// old; xmin only grows with time across the whole cluster (it is the
// oldest transaction still running). So rows below the xmin of a snapshot
// taken more than pruneAfter (> roundStale) ago are of use to no replica.
// Each replica remembers one round's xmin every few minutes and prunes
// below the newest one old enough.
const (
	readMarkEvery = 5 * time.Minute
	pruneAfter    = 6 * roundStale
)

func (c *readCache) mark(s *Store, snap readSnapshot, now time.Time) {
	c.mu.Lock()
	if n := len(c.marks); n > 0 && now.Sub(c.marks[n-1].at) < readMarkEvery {
		c.mu.Unlock()
		return
	}
	c.marks = append(c.marks, readMark{at: now, xmin: snap.xmin})
	var below uint64
	i := 0
	for ; i < len(c.marks) && now.Sub(c.marks[i].at) >= pruneAfter; i++ {
		below = c.marks[i].xmin
	}
	c.marks = c.marks[i:]
	c.mu.Unlock()
	if below > 0 && c.pruning.CompareAndSwap(false, true) {
		go func() {
			defer c.pruning.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := s.pruneCalendarChanges(ctx, below); err != nil {
				slog.Warn("read cache: prune calendar_changes", "err", err)
			}
		}()
	}
}

// pruneCalendarChanges deletes the calendar_changes rows below xid below.
func (s *Store) pruneCalendarChanges(ctx context.Context, below uint64) (int64, error) {
	var n int64
	err := s.withPgx(ctx, func(c *pgx.Conn) error {
		tag, err := c.Exec(ctx, `DELETE FROM calendar_changes WHERE xid < $1::text::xid8`, strconv.FormatUint(below, 10))
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune calendar changes: %w", err)
	}
	return n, nil
}
