// Package csvimport loads the business and inspector registers from CSV, the
// way registers are exchanged between bureaus: UTF-8 with or without a BOM,
// headers in English or Chinese. Files are streamed, rows are upserted by
// their natural key in batches, and every refused row is recorded with its
// line and reason in an import job whose progress can be watched while a long
// file loads.
//
// Parsing and row checks are pure (parseBusinesses, parseInspectors); the
// functions here add the database: lookups before, batches and progress
// during, and the job's outcome and audit entry after.
package csvimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"inspectonce/domain"
	"inspectonce/store"
)

// DefaultBatchSize is the number of rows loaded per transaction when Options
// does not say. Larger batches gain little once a batch is one COPY and one
// statement, and smaller ones keep progress moving on long files.
const DefaultBatchSize = 5000

// Options tune an import.
type Options struct {
	// BatchSize is the number of good rows loaded per transaction
	// (DefaultBatchSize when zero or negative).
	BatchSize int
	// Progress, if set, is called after each batch with the running totals of
	// data rows read, rows loaded and rows refused.
	Progress func(read, loaded, rejected int)
}

func (o Options) batchSize() int {
	if o.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

// Businesses imports a businesses file read from r on behalf of actor.
//
// The job ends "done", even when rows were refused, or "failed" when the file
// cannot be used as a whole (no header, a missing required column: a
// *domain.ValidationError naming the column, before anything is loaded) or
// the database fails mid-way (batches committed before stay loaded, and the
// job's counters say how many). The returned job is the final record,
// refused rows included, whenever it could be read back; the error is the
// reason the job failed.
func Businesses(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
	j, err := start(ctx, st, actor, store.ImportBusinesses, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	regions, err := st.RegionIDsByCode(ctx)
	if err != nil {
		return j.finish(ctx, fmt.Errorf("load region codes: %w", err))
	}
	p, err := newBusinessParser(r, regions)
	if err != nil {
		return j.finish(ctx, err)
	}
	// Ties a risk code the file sets without a reason to the job's audit entry.
	reason := "import " + strconv.FormatInt(j.id, 10)
	batch := make([]domain.Business, 0, j.size)
	first := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.UpsertBusinesses(ctx, actor, batch); err != nil {
			return fmt.Errorf("load the batch starting on line %d: %w", first, err)
		}
		j.loaded += len(batch)
		batch = batch[:0]
		return j.progress(ctx)
	}
	err = p.run(func(line int, b domain.Business) error {
		j.read++
		if len(batch) == 0 {
			first = line
		}
		if b.RiskReason == "" {
			b.RiskReason = reason
		}
		batch = append(batch, b)
		if len(batch) >= j.size {
			return flush()
		}
		return nil
	}, j.badRows(ctx))
	if err == nil {
		err = flush()
	}
	return j.finish(ctx, err)
}

// Inspectors imports an inspectors file read from r on behalf of actor, as
// Businesses does. A row whose conflicts name a business that is not
// registered is refused; without a conflicts column, stored conflicts are
// kept.
func Inspectors(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
	j, err := start(ctx, st, actor, store.ImportInspectors, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	teams, err := st.TeamIDsByCode(ctx)
	if err != nil {
		return j.finish(ctx, fmt.Errorf("load team codes: %w", err))
	}
	p, err := newInspectorParser(r, teams)
	if err != nil {
		return j.finish(ctx, err)
	}
	batch := make([]domain.Inspector, 0, j.size)
	lines := make([]int, 0, j.size)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keep, err := j.dropUnknownConflicts(ctx, batch, lines, p.head(iConflicts))
		if err != nil {
			return err
		}
		if err := st.UpsertInspectors(ctx, keep); err != nil {
			return fmt.Errorf("load the batch starting on line %d: %w", lines[0], err)
		}
		j.loaded += len(keep)
		batch, lines = batch[:0], lines[:0]
		return j.progress(ctx)
	}
	err = p.run(func(line int, in domain.Inspector) error {
		j.read++
		batch, lines = append(batch, in), append(lines, line)
		if len(batch) >= j.size {
			return flush()
		}
		return nil
	}, j.badRows(ctx))
	if err == nil {
		err = flush()
	}
	return j.finish(ctx, err)
}

// dropUnknownConflicts refuses the rows whose conflicts name a business that
// is not registered, asking the database once for the whole batch.
func (j *job) dropUnknownConflicts(ctx context.Context, batch []domain.Inspector, lines []int, field string) ([]domain.Inspector, error) {
	var codes []string
	for _, in := range batch {
		codes = append(codes, in.Conflicts...)
	}
	if len(codes) == 0 {
		return batch, nil
	}
	missing, err := j.st.MissingBusinesses(ctx, codes)
	if err != nil {
		return nil, fmt.Errorf("check conflicts: %w", err)
	}
	if len(missing) == 0 {
		return batch, nil
	}
	unknown := make(map[string]bool, len(missing))
	for _, m := range missing {
		unknown[m] = true
	}
	keep := make([]domain.Inspector, 0, len(batch))
	for i, in := range batch {
		var bad []string
		for _, c := range in.Conflicts {
			if unknown[c] {
				bad = append(bad, c)
			}
		}
		if bad == nil {
			keep = append(keep, in)
			continue
		}
		// One error per row and column: that is all the error table keeps.
		j.refuse(RowError{Line: lines[i], Field: field,
			Reason: "not registered as a business: " + strings.Join(bad, ", ")})
	}
	return keep, nil
}

// job is one running import: its totals and the refused rows not yet written.
type job struct {
	st      *store.Store
	actor   string
	kind    string
	id      int64
	size    int
	opt     Options
	pending []RowError

	read, loaded, rejected int
}

func start(ctx context.Context, st *store.Store, actor, kind string, opt Options) (*job, error) {
	id, err := st.CreateImportJob(ctx, actor, kind)
	if err != nil {
		return nil, fmt.Errorf("start %s import: %w", kind, err)
	}
	return &job{st: st, actor: actor, kind: kind, id: id, size: opt.batchSize(), opt: opt}, nil
}

// refuse counts a refused row and keeps its errors for the next write.
func (j *job) refuse(errs ...RowError) {
	j.rejected++
	j.pending = append(j.pending, errs...)
}

// badRows is the parser's callback for refused rows. Errors are written with
// the next batch, or sooner when many pile up between batches, so that a file
// of bad rows does not grow in memory.
func (j *job) badRows(ctx context.Context) badFunc {
	return func(_ int, errs []RowError) error {
		j.read++
		j.refuse(errs...)
		if len(j.pending) >= j.size {
			return j.write(ctx)
		}
		return nil
	}
}

// progress records the totals and reports them to the caller.
func (j *job) progress(ctx context.Context) error {
	if err := j.write(ctx); err != nil {
		return err
	}
	if j.opt.Progress != nil {
		j.opt.Progress(j.read, j.loaded, j.rejected)
	}
	return nil
}

func (j *job) write(ctx context.Context) error {
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
	if cause == nil {
		cause = j.progress(fctx)
	} else if err := j.write(fctx); err != nil {
		cause = errors.Join(cause, err)
	}
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
