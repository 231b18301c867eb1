package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// SchedulerLockKey is the Postgres advisory lock the scheduler leader holds for
// the life of its session.
const SchedulerLockKey int64 = 7_310_002

// ErrNotLeader means the caller's epoch is no longer the current one: another
// replica became leader, so the caller must stop firing entries.
var ErrNotLeader = errors.New("scheduler: leadership lost (a newer epoch holds it)")

// SchedulerLeader is held leadership: a dedicated connection holding the session
// advisory lock, and the epoch this leadership was given.
type SchedulerLeader struct {
	conn   *sql.Conn
	epoch  int64
	holder string
}

// Epoch is this leadership's fencing token.
func (l *SchedulerLeader) Epoch() int64 { return l.epoch }

// AcquireSchedulerLeader tries once to become the scheduler leader. It returns
// nil, nil when another session holds the lock. On success the lock lives on a
// connection taken out of the pool for as long as the leadership lasts, and the
// leader row's epoch has been incremented.
func (s *Store) AcquireSchedulerLeader(ctx context.Context, holder string) (*SchedulerLeader, error) {
	conn, err := s.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler lock: %w", err)
	}
	var got bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, SchedulerLockKey).Scan(&got); err != nil {
		discardConn(conn)
		return nil, fmt.Errorf("scheduler lock: %w", err)
	}
	if !got {
		_ = conn.Close()
		return nil, nil
	}
	l := &SchedulerLeader{conn: conn, holder: holder}
	// Let the server notice a vanished leader (host down, network cut) within
	// about 5 + 3×2 = 11 s, so that it releases the lock; a killed process's
	// connection is closed by its kernel and the lock goes at once. Harmless
	// where the settings do not apply (Unix sockets).
	for _, set := range []string{`SET tcp_keepalives_idle = 5`, `SET tcp_keepalives_interval = 2`, `SET tcp_keepalives_count = 3`} {
		if _, err := conn.ExecContext(ctx, set); err != nil {
			l.discard()
			return nil, fmt.Errorf("scheduler lock: %s: %w", set, err)
		}
	}
	err = conn.QueryRowContext(ctx, `INSERT INTO scheduler_leader (id, epoch, holder, acquired_at) VALUES (1, 1, $1, now())
		ON CONFLICT (id) DO UPDATE SET epoch = scheduler_leader.epoch + 1, holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at
		RETURNING epoch`, holder).Scan(&l.epoch)
	if err != nil {
		l.discard()
		return nil, fmt.Errorf("scheduler epoch: %w", err)
	}
	return l, nil
}

// Check pings the leader's connection and makes sure its epoch is still the
// current one. Any error means leadership may be gone: step down.
func (l *SchedulerLeader) Check(ctx context.Context) error {
	var epoch int64
	if err := l.conn.QueryRowContext(ctx, `SELECT epoch FROM scheduler_leader WHERE id = 1`).Scan(&epoch); err != nil {
		return fmt.Errorf("scheduler leader connection: %w", err)
	}
	if epoch != l.epoch {
		return fmt.Errorf("epoch %d, current %d: %w", l.epoch, epoch, ErrNotLeader)
	}
	return nil
}

// Release gives the lock up and closes its connection for good (never back to
// the pool, so a failed unlock cannot leave a pooled session holding it).
func (l *SchedulerLeader) Release(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, _ = l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, SchedulerLockKey)
	l.discard()
}

func (l *SchedulerLeader) discard() { discardConn(l.conn) }

// discardConn closes the physical connection behind conn instead of returning
// it to the pool.
func discardConn(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// SchedulerLeaderRow is the leader row as stored.
type SchedulerLeaderRow struct {
	Epoch      int64
	Holder     string
	AcquiredAt time.Time
}

// SchedulerLeaderInfo reads the leader row; ErrNotFound-free: ok is false when
// no replica has ever led.
func (s *Store) SchedulerLeaderInfo(ctx context.Context) (row SchedulerLeaderRow, ok bool, err error) {
	err = s.sql.QueryRowContext(ctx, `SELECT epoch, holder, acquired_at FROM scheduler_leader WHERE id = 1`).
		Scan(&row.Epoch, &row.Holder, &row.AcquiredAt)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("scheduler leader: %w", err)
	}
	return row, true, nil
}

// CronEntry is a durable cron entry.
type CronEntry struct {
	Name      string
	Spec      string
	NextDue   time.Time
	LastRunAt *time.Time
	LastEpoch int64
}

// CronRun is one recorded run of an entry for one due time.
type CronRun struct {
	Name       string
	DueAt      time.Time
	Epoch      int64
	StartedAt  time.Time
	FinishedAt *time.Time
	Outcome    string // "" while running, "ok" or "failed"
	Error      string
	Missed     int
}

// fenced runs fn in a transaction that first checks epoch is still the current
// leader epoch. The leader row stays share-locked until commit, so a new leader
// (which updates that row) cannot take over in the middle: whatever fn records
// was recorded by the current leader.
func (s *Store) fenced(ctx context.Context, epoch int64, fn func(tx *sql.Tx) error) error {
	tx, err := s.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var cur int64
	err = tx.QueryRowContext(ctx, `SELECT epoch FROM scheduler_leader WHERE id = 1 FOR SHARE`).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && cur != epoch) {
		return fmt.Errorf("epoch %d, current %d: %w", epoch, cur, ErrNotLeader)
	}
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// SyncCronEntries makes the stored entries match the configured ones (name →
// spec and next due time computed by the caller). A new entry starts at its
// next due time. An entry whose spec changed takes the new next due time unless
// its old one has already passed: then the missed run still happens, once.
// Stored entries that are no longer configured are left alone (not driven).
func (s *Store) SyncCronEntries(ctx context.Context, epoch int64, entries []CronEntry) error {
	err := s.fenced(ctx, epoch, func(tx *sql.Tx) error {
		for _, e := range entries {
			_, err := tx.ExecContext(ctx, `INSERT INTO cron_entries (name, spec, next_due) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO UPDATE SET spec = EXCLUDED.spec,
					next_due = CASE WHEN cron_entries.spec <> EXCLUDED.spec AND cron_entries.next_due > now()
						THEN EXCLUDED.next_due ELSE cron_entries.next_due END`, e.Name, e.Spec, e.NextDue)
			if err != nil {
				return fmt.Errorf("cron entry %s: %w", e.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sync cron entries: %w", err)
	}
	return nil
}

// CronEntries lists the stored entries by name.
func (s *Store) CronEntries(ctx context.Context) ([]CronEntry, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT name, spec, next_due, last_run_at, last_epoch FROM cron_entries ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("cron entries: %w", err)
	}
	defer rows.Close()
	var out []CronEntry
	for rows.Next() {
		var e CronEntry
		if err := rows.Scan(&e.Name, &e.Spec, &e.NextDue, &e.LastRunAt, &e.LastEpoch); err != nil {
			return nil, fmt.Errorf("cron entries: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClaimCronRun records that epoch runs entry name for its stored due time, if
// that due time is ≤ now, and moves the entry's next due time to next (the
// schedule's next time after now, computed by the caller). However many due
// times passed since, this is one run: missed counts the ones it stands for
// beyond the first (computed by the caller, stored for the record).
//
// claimed is false when nothing is due or when (name, due) was already recorded
// (by this or an earlier epoch): the caller must not run it. A superseded epoch
// gets ErrNotLeader and records nothing.
func (s *Store) ClaimCronRun(ctx context.Context, epoch int64, name string, now, next time.Time, missed func(due time.Time) int) (due time.Time, claimed bool, err error) {
	err = s.fenced(ctx, epoch, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT next_due FROM cron_entries WHERE name = $1 FOR UPDATE`, name).Scan(&due)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("cron entry %s is not stored", name)
		}
		if err != nil {
			return err
		}
		if due.After(now) {
			return nil
		}
		m := 0
		if missed != nil {
			m = missed(due)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO cron_runs (name, due_at, epoch, started_at, missed) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (name, due_at) DO NOTHING`, name, due, epoch, now, m)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		claimed = n == 1
		upd := `UPDATE cron_entries SET next_due = $2 WHERE name = $1`
		if claimed {
			upd = `UPDATE cron_entries SET next_due = $2, last_run_at = $3, last_epoch = $4 WHERE name = $1`
			_, err = tx.ExecContext(ctx, upd, name, next, now, epoch)
		} else {
			_, err = tx.ExecContext(ctx, upd, name, next)
		}
		return err
	})
	if err != nil {
		return due, false, fmt.Errorf("claim cron run %s: %w", name, err)
	}
	return due, claimed, nil
}

// FinishCronRun records the outcome of a run. Only the epoch that holds the run
// can finish it: if a newer leader has taken an unfinished run over, the stale
// finish changes nothing (finished is false).
func (s *Store) FinishCronRun(ctx context.Context, epoch int64, name string, due time.Time, runErr error) (finished bool, err error) {
	outcome, msg := "ok", sql.NullString{}
	if runErr != nil {
		outcome, msg = "failed", sql.NullString{String: runErr.Error(), Valid: true}
	}
	res, err := s.sql.ExecContext(ctx, `UPDATE cron_runs SET finished_at = now(), outcome = $4, error = $5
		WHERE name = $1 AND due_at = $2 AND epoch = $3 AND finished_at IS NULL`, name, due, epoch, outcome, msg)
	if err != nil {
		return false, fmt.Errorf("finish cron run %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UnfinishedCronRuns lists runs started by an earlier epoch, since since, that
// never finished: their leader died while running them.
func (s *Store) UnfinishedCronRuns(ctx context.Context, epoch int64, since time.Time) ([]CronRun, error) {
	return s.cronRuns(ctx, `WHERE finished_at IS NULL AND epoch < $1 AND started_at >= $2 ORDER BY due_at, name`, epoch, since)
}

// ReclaimCronRun moves an unfinished run of an earlier epoch to epoch, so that
// the new leader runs it again (its job must be idempotent) and finishes it.
// claimed is false when it had finished or was already taken over.
func (s *Store) ReclaimCronRun(ctx context.Context, epoch int64, name string, due, now time.Time) (claimed bool, err error) {
	err = s.fenced(ctx, epoch, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cron_runs SET epoch = $3, started_at = $4
			WHERE name = $1 AND due_at = $2 AND finished_at IS NULL AND epoch < $3`, name, due, epoch, now)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("reclaim cron run %s: %w", name, err)
	}
	return claimed, nil
}

// CronRuns lists an entry's runs in due order.
func (s *Store) CronRuns(ctx context.Context, name string) ([]CronRun, error) {
	return s.cronRuns(ctx, `WHERE name = $1 ORDER BY due_at`, name)
}

func (s *Store) cronRuns(ctx context.Context, where string, args ...any) ([]CronRun, error) {
	rows, err := s.sql.QueryContext(ctx, `SELECT name, due_at, epoch, started_at, finished_at, coalesce(outcome, ''), coalesce(error, ''), missed
		FROM cron_runs `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("cron runs: %w", err)
	}
	defer rows.Close()
	var out []CronRun
	for rows.Next() {
		var r CronRun
		if err := rows.Scan(&r.Name, &r.DueAt, &r.Epoch, &r.StartedAt, &r.FinishedAt, &r.Outcome, &r.Error, &r.Missed); err != nil {
			return nil, fmt.Errorf("cron runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetCronEntryNextDueForTest moves an entry's next due time (tests simulate
// downtime with it).
func (s *Store) SetCronEntryNextDueForTest(ctx context.Context, name string, due time.Time) error {
	_, err := s.sql.ExecContext(ctx, `UPDATE cron_entries SET next_due = $2 WHERE name = $1`, name, due)
	return err
}
