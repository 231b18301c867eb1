package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Scans of visit codes are recorded off the request path (issue 20): the
// /v/ page puts its scan in a bounded buffer and answers; one goroutine per
// replica writes what the buffer holds in one statement per table, at least
// every scanFlushEvery, or sooner when scanBatchMax scans wait. When the
// buffer is full the scan is dropped and counted (ScanStats, and a log line),
// never waited for: a flood of scans must not slow the page. Close writes
// what is still buffered; readers of the scans on the same replica
// (VisitCodeScans, UnknownCodeScans) flush first, so they see their own.
// A replica that dies loses at most its buffer: up to scanFlushEvery of
// scans.
const (
	scanBuffer     = 8192
	scanBatchMax   = 1024
	scanFlushEvery = 100 * time.Millisecond
)

// scanEvent is one scan: of a code this service signed (signed, with its
// visit), or of anything else, counted per hour.
type scanEvent struct {
	signed     bool
	planID     int64
	seq        int
	generation int
	outcome    string
	userAgent  string
	at         time.Time
}

type scanRecorder struct {
	s       *Store
	ch      chan scanEvent
	flushes chan chan error

	// The writer's lifetime: started by the first scan, ended by Close.
	mu      sync.Mutex
	started bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}

	recorded, dropped, failed atomic.Uint64
}

func newScanRecorder(s *Store) *scanRecorder {
	return &scanRecorder{s: s, ch: make(chan scanEvent, scanBuffer), flushes: make(chan chan error)}
}

// ScanStats are the counts of code scans since the process started: written
// to the database, dropped because the buffer was full, and lost because
// their batch failed to write.
type ScanStats struct {
	Recorded, Dropped, Failed uint64
}

// ScanStats returns this replica's scan counts, for /metrics.
func (s *Store) ScanStats() ScanStats {
	r := s.scans
	return ScanStats{Recorded: r.recorded.Load(), Dropped: r.dropped.Load(), Failed: r.failed.Load()}
}

// FlushScans writes the scans this replica still buffers, and waits for it.
func (s *Store) FlushScans(ctx context.Context) error { return s.scans.flush(ctx) }

// record buffers a scan, or drops and counts it when the buffer is full.
func (r *scanRecorder) record(e scanEvent) {
	if !r.ensure() {
		r.dropped.Add(1) // after Close
		return
	}
	select {
	case r.ch <- e:
	default:
		if n := r.dropped.Add(1); n == 1 || n%1000 == 0 {
			slog.Warn("visit code scans dropped: the scan buffer is full", "dropped_total", n, "buffer", cap(r.ch))
		}
	}
}

// ensure starts the writer unless it runs already; false after stop.
func (r *scanRecorder) ensure() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return false
	}
	if !r.started {
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel, r.done, r.started = cancel, make(chan struct{}), true
		go r.loop(ctx)
	}
	return true
}

// running reports whether the writer was started, and its done channel.
func (r *scanRecorder) running() (chan struct{}, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.done, r.started
}

// flush asks the writer to write everything buffered now.
func (r *scanRecorder) flush(ctx context.Context) error {
	done, ok := r.running()
	if !ok {
		return nil // nothing was ever recorded: nothing to flush
	}
	reply := make(chan error, 1)
	select {
	case r.flushes <- reply:
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the writer after it has written what is buffered.
func (r *scanRecorder) stop(ctx context.Context) {
	r.mu.Lock()
	r.stopped = true
	started, cancel, done := r.started, r.cancel, r.done
	r.mu.Unlock()
	if !started {
		return
	}
	cancel()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (r *scanRecorder) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(scanFlushEvery)
	defer tick.Stop()
	batch := make([]scanEvent, 0, scanBatchMax)
	write := func(wctx context.Context) error {
		// Take whatever else is waiting, up to what one batch holds.
		for len(batch) < cap(batch) {
			select {
			case e := <-r.ch:
				batch = append(batch, e)
				continue
			default:
			}
			break
		}
		err := r.write(wctx, batch)
		batch = batch[:0]
		return err
	}
	for {
		select {
		case e := <-r.ch:
			batch = append(batch, e)
			if len(batch) == cap(batch) {
				_ = write(ctx)
			}
		case <-tick.C:
			if len(batch) > 0 || len(r.ch) > 0 {
				_ = write(ctx)
			}
		case reply := <-r.flushes:
			var err error
			for first := true; first || len(r.ch) > 0; first = false {
				if e := write(ctx); e != nil {
					err = e
				}
			}
			reply <- err
		case <-ctx.Done():
			// Shutting down: write what is left, on a context of its own.
			wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			for first := true; first || len(r.ch) > 0; first = false {
				if write(wctx) != nil {
					break
				}
			}
			cancel()
			return
		}
	}
}

// write stores a batch: the signed scans as rows of visit_code_scans, the
// others added to their hours' counts, each in one statement.
func (r *scanRecorder) write(ctx context.Context, batch []scanEvent) error {
	if len(batch) == 0 {
		return nil
	}
	var plans, gens, seqs []int64
	var outcomes, agents []string
	var ats []time.Time
	unknown := map[time.Time]struct {
		n    int64
		last time.Time
	}{}
	for _, e := range batch {
		if !e.signed {
			h := e.at.UTC().Truncate(time.Hour)
			u := unknown[h]
			u.n++
			if e.at.After(u.last) {
				u.last = e.at
			}
			unknown[h] = u
			continue
		}
		plans, seqs, gens = append(plans, e.planID), append(seqs, int64(e.seq)), append(gens, int64(e.generation))
		outcomes, agents, ats = append(outcomes, e.outcome), append(agents, e.userAgent), append(ats, e.at)
	}
	var hours, lasts []time.Time
	var counts []int64
	for h, u := range unknown {
		hours, counts, lasts = append(hours, h), append(counts, u.n), append(lasts, u.last)
	}
	err := r.s.withPgx(ctx, func(c *pgx.Conn) error {
		b := &pgx.Batch{}
		if len(plans) > 0 {
			b.Queue(`INSERT INTO visit_code_scans (plan_id, visit_seq, generation, outcome, user_agent, scanned_at)
				SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::text[], $5::text[], $6::timestamptz[])`,
				plans, seqs, gens, outcomes, agents, ats)
		}
		if len(hours) > 0 {
			b.Queue(`INSERT INTO visit_code_unknown_scans (hour, scans, last_at)
				SELECT * FROM unnest($1::timestamptz[], $2::bigint[], $3::timestamptz[])
				ON CONFLICT (hour) DO UPDATE SET scans = visit_code_unknown_scans.scans + excluded.scans,
					last_at = greatest(visit_code_unknown_scans.last_at, excluded.last_at)`, hours, counts, lasts)
		}
		// A batch is one implicit transaction: written whole or not at all.
		return c.SendBatch(ctx, b).Close()
	})
	if err != nil {
		n := r.failed.Add(uint64(len(batch)))
		slog.Error("visit code scans lost: their batch failed to write", "scans", len(batch), "failed_total", n, "err", err)
		return fmt.Errorf("write %d visit code scans: %w", len(batch), err)
	}
	r.recorded.Add(uint64(len(batch)))
	return nil
}
