package store

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"inspectonce/visitcode"
)

// Read cache of the calendar (issue 20). A business's schedule and the /v/
// check of a visit code are read far more often than the calendar changes,
// and each costs PostgreSQL a view over every published plan with
// correlated subqueries. A replica therefore keeps what it has read, with
// the snapshot it was read in, and serves it again only after checking, in
// one index probe, that no transaction which changed the tables behind it
// has committed unseen by that snapshot (migration 00029: every such
// transaction records its id in calendar_changes). A cached answer is thus
// exactly what a fresh read would answer at the moment of the check, on
// every replica, with no notification to wait for and no window.
//
// Entries are bounded in number (readCacheSize) and in age (readCacheMaxAge,
// which lets calendar_changes be pruned: see prune).

// readCacheMaxAge is how long an entry may be served at all; calendar_changes
// rows are pruned only below the snapshots of entries at least twice as old.
const readCacheMaxAge = 30 * time.Minute

// DefaultReadCacheSize bounds each of the read cache's maps (schedules,
// code checks): past it an arbitrary entry makes room.
const DefaultReadCacheSize = 50000

// readSnapshot is the PostgreSQL snapshot (pg_snapshot's text) an entry was
// read in; xmin is its lower bound.
type readSnapshot struct {
	text string
	xmin uint64
}

// parseSnapshot reads pg_snapshot's text form "xmin:xmax:xip,...".
func parseSnapshot(text string) (readSnapshot, error) {
	head, _, ok := strings.Cut(text, ":")
	if !ok {
		return readSnapshot{}, fmt.Errorf("snapshot %q: no xmin", text)
	}
	xmin, err := strconv.ParseUint(head, 10, 64)
	if err != nil {
		return readSnapshot{}, fmt.Errorf("snapshot %q: %w", text, err)
	}
	return readSnapshot{text: text, xmin: xmin}, nil
}

// snapshotSQL is queued first in a batch whose answers are cached: every
// later statement of the batch sees at least what it saw (each statement of
// a READ COMMITTED batch takes a newer snapshot), so checking an entry
// against it is conservative.
const snapshotSQL = `SELECT pg_current_snapshot()::text`

// unchangedSinceSQL is true when no transaction that changed the calendar
// committed unseen by snapshot $1: every recorded id at or above its xmin
// is visible in it. An id below xmin was completed before it.
const unchangedSinceSQL = `SELECT NOT EXISTS (SELECT 1 FROM calendar_changes c
	WHERE c.xid >= pg_snapshot_xmin($1::text::pg_snapshot) AND NOT pg_visible_in_snapshot(c.xid, $1::text::pg_snapshot))`

// scheduleKey is a business's schedule on one civil day (the day decides
// which visits it may see, and which are past).
type scheduleKey struct {
	uscc string
	day  int64 // days since 1970-01-01
}

type cachedSchedule struct {
	snap readSnapshot
	at   time.Time
	s    BusinessSchedule
}

type cachedCode struct {
	snap readSnapshot
	at   time.Time
	// until is the database's next midnight: the check depends on its date.
	until time.Time
	c     CodeCheck
}

// readMark is the xmin of a snapshot seen at a time (prune).
type readMark struct {
	at   time.Time
	xmin uint64
}

// readCache holds the cached reads of one replica. A nil *readCache caches
// nothing.
type readCache struct {
	mu        sync.Mutex
	size      int
	schedules map[scheduleKey]cachedSchedule
	codes     map[visitcode.Code]cachedCode
	marks     []readMark
	now       func() time.Time
	pruning   atomic.Bool

	hits, misses, stale atomic.Int64
}

func newReadCache(size int) *readCache {
	if size < 0 {
		return nil
	}
	if size == 0 {
		size = DefaultReadCacheSize
	}
	return &readCache{size: size, schedules: map[scheduleKey]cachedSchedule{},
		codes: map[visitcode.Code]cachedCode{}, now: time.Now}
}

// ReadCacheStats are the read cache's counters since the start.
type ReadCacheStats struct {
	// Hits are reads answered from the cache, Misses reads that found no
	// live entry, Stale entries found but changed since (a miss too).
	Hits, Misses, Stale int64
}

// ReadCacheStats reports the read cache's counters (zero when it is off).
func (s *Store) ReadCacheStats() ReadCacheStats {
	c := s.reads
	if c == nil {
		return ReadCacheStats{}
	}
	return ReadCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Stale: c.stale.Load()}
}

func dayKey(day time.Time) int64 { return day.Unix() / 86400 }

// unchanged asks PostgreSQL whether snap still shows the calendar as it is.
func unchanged(ctx context.Context, c *pgx.Conn, snap readSnapshot) (bool, error) {
	var ok bool
	if err := c.QueryRow(ctx, unchangedSinceSQL, snap.text).Scan(&ok); err != nil {
		return false, fmt.Errorf("check the read cache: %w", err)
	}
	return ok, nil
}

// schedule returns the cached schedule of k if it is still true.
func (c *readCache) schedule(ctx context.Context, s *Store, k scheduleKey) (BusinessSchedule, bool, error) {
	if c == nil {
		return BusinessSchedule{}, false, nil
	}
	c.mu.Lock()
	e, ok := c.schedules[k]
	c.mu.Unlock()
	if !ok || c.now().Sub(e.at) > readCacheMaxAge {
		c.misses.Add(1)
		return BusinessSchedule{}, false, nil
	}
	fresh, err := c.check(ctx, s, e.snap)
	if err != nil || !fresh {
		c.dropSchedule(k, e.at)
		return BusinessSchedule{}, false, err
	}
	// The caller may write into the visits (the code URL): a copy of the
	// list, whose elements' own slices nobody writes.
	out := e.s
	out.Visits = slices.Clone(e.s.Visits)
	return out, true, nil
}

// code returns the cached check of code k if it is still true.
func (c *readCache) code(ctx context.Context, s *Store, k visitcode.Code) (CodeCheck, bool, error) {
	if c == nil {
		return CodeCheck{}, false, nil
	}
	c.mu.Lock()
	e, ok := c.codes[k]
	c.mu.Unlock()
	now := c.now()
	if !ok || now.Sub(e.at) > readCacheMaxAge || !now.Before(e.until) {
		c.misses.Add(1)
		return CodeCheck{}, false, nil
	}
	fresh, err := c.check(ctx, s, e.snap)
	if err != nil || !fresh {
		c.mu.Lock()
		if cur, ok := c.codes[k]; ok && cur.at.Equal(e.at) {
			delete(c.codes, k)
		}
		c.mu.Unlock()
		return CodeCheck{}, false, err
	}
	out := e.c
	if out.Visit != nil {
		v := *out.Visit
		out.Visit = &v
	}
	return out, true, nil
}

func (c *readCache) check(ctx context.Context, s *Store, snap readSnapshot) (bool, error) {
	var fresh bool
	err := s.withPgx(ctx, func(conn *pgx.Conn) error {
		var err error
		fresh, err = unchanged(ctx, conn, snap)
		return err
	})
	switch {
	case err != nil:
		return false, err
	case fresh:
		c.hits.Add(1)
	default:
		c.stale.Add(1)
		c.misses.Add(1)
	}
	return fresh, nil
}

func (c *readCache) dropSchedule(k scheduleKey, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.schedules[k]; ok && cur.at.Equal(at) {
		delete(c.schedules, k)
	}
}

// putSchedule caches sched, read in snapshot text.
func (c *readCache) putSchedule(s *Store, k scheduleKey, text string, sched BusinessSchedule) {
	if c == nil {
		return
	}
	snap, err := parseSnapshot(text)
	if err != nil {
		slog.Warn("read cache: unreadable snapshot; not cached", "err", err)
		return
	}
	now := c.now()
	c.mu.Lock()
	if len(c.schedules) >= c.size {
		for k := range c.schedules {
			delete(c.schedules, k)
			break
		}
	}
	sched.Visits = slices.Clone(sched.Visits)
	c.schedules[k] = cachedSchedule{snap: snap, at: now, s: sched}
	c.mu.Unlock()
	c.mark(s, snap, now)
}

// putCode caches check of code k, read in snapshot text, until the
// database's next midnight.
func (c *readCache) putCode(s *Store, k visitcode.Code, text string, until time.Time, check CodeCheck) {
	if c == nil {
		return
	}
	snap, err := parseSnapshot(text)
	if err != nil {
		slog.Warn("read cache: unreadable snapshot; not cached", "err", err)
		return
	}
	now := c.now()
	if check.Visit != nil {
		v := *check.Visit
		check.Visit = &v
	}
	c.mu.Lock()
	if len(c.codes) >= c.size {
		for k := range c.codes {
			delete(c.codes, k)
			break
		}
	}
	c.codes[k] = cachedCode{snap: snap, at: now, until: until, c: check}
	c.mu.Unlock()
	c.mark(s, snap, now)
}

// Pruning. calendar_changes would grow by one row per calendar-changing
// transaction forever. A row whose id is below the xmin of every snapshot
// still cached anywhere can never make an entry stale, and xmin only grows
// with time across the whole cluster (it is the oldest transaction still
// running). Entries live at most readCacheMaxAge, so rows below the xmin of
// a snapshot seen more than twice that long ago are useless to every
// replica. Each replica remembers one snapshot's xmin every few minutes and
// prunes below the newest one old enough, at most once per mark.
const (
	readMarkEvery = 5 * time.Minute
	pruneAfter    = 2 * readCacheMaxAge
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
