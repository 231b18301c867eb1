package csvimport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"inspectonce/store"
)

// job is one running import: its totals and the refused rows not yet written.
// The parser and the loading goroutines share it, hence mu.
type job struct {
	st      *store.Store
	actor   string
	kind    string
	id      int64
	size    int
	workers int
	onStep  func(read, loaded, rejected int)

	// report, in a dry run, collects what the rows would do instead of the
	// job's table: nothing is written.
	report *collector

	mu                     sync.Mutex
	read, loaded, rejected int
	pending                []RowError
}

// dryJob is a job that writes nothing and reports into a collector.
func dryJob(st *store.Store, actor, kind string, opt Options) *job {
	return &job{st: st, actor: actor, kind: kind, size: opt.batchSize(), workers: opt.workers(), onStep: opt.Progress,
		report: newCollector(kind, opt)}
}

func start(ctx context.Context, st *store.Store, actor, kind string, opt Options) (*job, error) {
	id, err := st.CreateImportJob(ctx, actor, kind, opt.Import)
	if err != nil {
		return nil, fmt.Errorf("start %s import: %w", kind, err)
	}
	if opt.Started != nil {
		opt.Started(id)
	}
	return &job{st: st, actor: actor, kind: kind, id: id, size: opt.batchSize(), workers: opt.workers(),
		onStep: opt.Progress}, nil
}

// badRows is the parser's callback for refused rows. Errors are written with
// the next batch, or sooner when many pile up between batches, so that a file
// of bad rows does not grow in memory.
func (j *job) badRows(ctx context.Context) badFunc {
	return func(_ int, errs []RowError) error {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.read++
		j.rejected++
		j.pending = append(j.pending, errs...)
		if len(j.pending) >= j.size {
			return j.write(ctx)
		}
		return nil
	}
}

// progress records the totals and reports them to the caller; j.mu is held.
func (j *job) progress(ctx context.Context) error {
	if err := j.write(ctx); err != nil {
		return err
	}
	if j.onStep != nil {
		j.onStep(j.read, j.loaded, j.rejected)
	}
	return nil
}

// write records the totals and the pending errors; j.mu is held.
func (j *job) write(ctx context.Context) error {
	if j.report != nil {
		j.report.addErrors(j.pending)
		j.pending = j.pending[:0]
		return nil
	}
	if err := j.st.UpdateImportProgress(ctx, j.id, j.read, j.loaded, j.rejected, j.pending); err != nil {
		return fmt.Errorf("record import progress: %w", err)
	}
	j.pending = j.pending[:0]
	return nil
}

// finishTimeout bounds the writes that close a job. They run even when ctx is
// cancelled, because a job left "running" would misreport what was loaded.
const finishTimeout = 10 * time.Second

// finish closes the job as done (cause nil) or failed, and reads it back.
func (j *job) finish(ctx context.Context, cause error) (store.ImportJob, error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	j.mu.Lock()
	if cause == nil {
		cause = j.progress(fctx)
	} else if err := j.write(fctx); err != nil {
		cause = errors.Join(cause, err)
	}
	j.mu.Unlock()
	status, failure := store.ImportDone, ""
	if cause != nil {
		status, failure = store.ImportFailed, cause.Error()
	}
	if err := j.st.FinishImportJob(fctx, j.actor, j.id, status, failure); err != nil {
		cause = errors.Join(cause, fmt.Errorf("finish import %d: %w", j.id, err))
	}
	out, err := j.st.GetImportJob(fctx, j.id)
	if err != nil {
		cause = errors.Join(cause, fmt.Errorf("read import %d: %w", j.id, err))
	}
	if cause != nil {
		return out, fmt.Errorf("%s import %d: %w", j.kind, j.id, cause)
	}
	return out, nil
}

// refusedRows counts the rows errs refuse as a whole: a row whose other
// columns were applied counts as loaded, and a row may have several errors.
func refusedRows(errs []RowError) int {
	lines := map[int]bool{}
	for _, e := range errs {
		if !e.RowApplied {
			lines[e.Line] = true
		}
	}
	return len(lines)
}

// batch is a run of good rows with their lines.
type batch[T any] struct {
	rows  []T
	lines []int
}

// loadFunc loads one batch (or, in a dry run, reads what loading it would do)
// and returns the rows it applied and the rows and cells it refused on
// grounds only the database could judge, fields named as in the file.
type loadFunc[T any] func(ctx context.Context, b *batch[T]) (store.PatchResult, error)

// loader feeds the parser's good rows to j.workers goroutines a batch at a
// time, so the file is read while earlier batches load.
type loader[T any] struct {
	j    *job
	load loadFunc[T]
}

// run reads the whole file and returns the first failure: the file's, a
// batch's or the context's. It returns once no batch is loading.
func (l *loader[T]) run(ctx context.Context, p *parser[T]) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *batch[T])
	var wg sync.WaitGroup
	for range l.j.workers {
		wg.Go(func() {
			for b := range work {
				l.loadOne(ctx, cancel, b)
			}
		})
	}
	size := l.j.size
	cur := &batch[T]{rows: make([]T, 0, size), lines: make([]int, 0, size)}
	submit := func() error {
		if len(cur.rows) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx) // a select would pick at random, and parsing on is wasted
		}
		select {
		case work <- cur:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		cur = &batch[T]{rows: make([]T, 0, size), lines: make([]int, 0, size)}
		return nil
	}
	err := p.run(func(line int, v T) error {
		l.j.mu.Lock()
		l.j.read++
		l.j.mu.Unlock()
		cur.rows, cur.lines = append(cur.rows, v), append(cur.lines, line)
		if len(cur.rows) >= size {
			return submit()
		}
		return nil
	}, l.j.badRows(ctx))
	if err == nil {
		err = submit()
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	return context.Cause(ctx)
}

// loadOne loads b and records the new totals; a failure stops the import.
func (l *loader[T]) loadOne(ctx context.Context, cancel context.CancelCauseFunc, b *batch[T]) {
	if ctx.Err() != nil {
		return // another batch failed: loading more would only blur what the job reports
	}
	res, err := l.load(ctx, b)
	if err != nil {
		cancel(fmt.Errorf("load the batch starting on line %d: %w", b.lines[0], err))
		return
	}
	j := l.j
	j.mu.Lock()
	defer j.mu.Unlock()
	j.loaded += len(res.Rows)
	j.rejected += refusedRows(res.Errors)
	j.pending = append(j.pending, res.Errors...)
	if j.report != nil {
		j.report.addRows(res.Rows)
	}
	if err := j.progress(ctx); err != nil {
		cancel(err)
	}
}
