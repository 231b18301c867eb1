// Package csvimport loads the business and inspector registers from CSV, the
// way registers are exchanged between bureaus: UTF-8 with or without a BOM,
// headers in English or Chinese. Files are streamed, rows are applied by
// their natural key in batches, and every refused row is recorded with its
// line and reason in an import job whose progress can be watched while a long
// file loads.
//
// A row changes only what it carries: a column the file lacks, and (unless
// empty cells clear) an empty cell, keep the stored value; a new row must give
// every required field. A risk code a visit result set is not lowered without
// an audited override (store.ApplyBusinessPatches). Free-text cells that a
// spreadsheet would run as a formula refuse their row. A dry run reports what
// an import would do and writes nothing.
//
// Parsing and row checks are pure and need no database (parser, in
// parse.go, fuzzed); the functions here add the database: code lookups
// before, batches and progress during, the job's outcome and audit entry
// after.
package csvimport

import (
	"context"
	"fmt"
	"io"
	"strings"

	"inspectonce/messages"
	"inspectonce/store"
)

// DefaultBatchSize is the number of rows loaded per transaction when Options
// does not say. Once a batch is one COPY and one statement, larger batches
// gain little, while smaller ones keep progress moving on long files.
const DefaultBatchSize = 5000

// DefaultWorkers is the number of batches loaded at once when Options does
// not say. The database, not parsing, is the bottleneck, and a second
// connection keeps it busy while the first commits.
const DefaultWorkers = 2

// Options tune an import.
type Options struct {
	// BatchSize is the number of good rows loaded per transaction
	// (DefaultBatchSize when zero or negative).
	BatchSize int
	// Workers is the number of batches loaded concurrently, each on its own
	// connection (DefaultWorkers when zero or negative).
	Workers int
	// Started, if set, is called with the job's id once the job exists and
	// before the file is read, so a caller can hand the id out (GET the job
	// to watch it) while a long file loads.
	Started func(jobID int64)
	// Progress, if set, is called after each batch with the running totals of
	// data rows read, rows loaded and rows refused. Calls never overlap, but
	// they come from the goroutines that load batches.
	Progress func(read, loaded, rejected int)
	// Import says how empty cells count and whether the file may lower risk
	// codes set by visit results (store.ImportOptions). Its DryRun is set by
	// DryRunBusinesses and DryRunInspectors, not by the caller.
	Import store.ImportOptions
	// ReportLimit bounds the lines a dry run reports (DefaultReportLimit when
	// zero or negative, at most MaxReportLimit); ReportAfterLine skips the
	// lines up to it, to page through a long file.
	ReportLimit     int
	ReportAfterLine int
}

func (o Options) batchSize() int {
	if o.BatchSize <= 0 {
		return DefaultBatchSize
	}
	return o.BatchSize
}

func (o Options) workers() int {
	if o.Workers <= 0 {
		return DefaultWorkers
	}
	return o.Workers
}

// Businesses imports a businesses file read from r on behalf of actor, as
// opt.Import says (empty cells, risk override).
//
// The job ends "done", even when rows were refused, or "failed" when the file
// cannot be used as a whole (no header, a missing required column: a
// *domain.ValidationError naming the column, before anything is loaded) or
// the database fails mid-way. Batches committed before a failure stay
// loaded and the job counts them; since batches load concurrently they need
// not be the first lines of the file, but loading is an upsert, so running
// the file again completes it. The returned job is the final record, refused
// rows included, whenever it could be read back; the error is the reason the
// job failed.
func Businesses(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
	opt.Import.DryRun = false
	if err := opt.Import.Validate(); err != nil {
		return store.ImportJob{}, err
	}
	j, err := start(ctx, st, actor, store.ImportBusinesses, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	return j.finish(ctx, businesses(ctx, j, r, opt))
}

// DryRunBusinesses reads a businesses file as Businesses would import it and
// reports, without writing anything (not even a job), which rows would be
// new, changed (field by field) or unchanged, with the same line-numbered
// errors. The report lists at most opt.ReportLimit lines and counts them all.
func DryRunBusinesses(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (Report, error) {
	opt.Import.DryRun = true
	if err := opt.Import.Validate(); err != nil {
		return Report{}, err
	}
	j := dryJob(st, actor, store.ImportBusinesses, opt)
	err := businesses(ctx, j, r, opt)
	return j.report.finish(j), err
}

func businesses(ctx context.Context, j *job, r io.Reader, opt Options) error {
	regions, err := j.st.RegionIDsByCode(ctx)
	if err != nil {
		return fmt.Errorf("load region codes: %w", err)
	}
	p, err := newBusinessParser(r, regions, opt.Import.Clear())
	if err != nil {
		return err
	}
	l := loader[store.BusinessPatch]{j: j, load: func(ctx context.Context, b *batch[store.BusinessPatch]) (store.PatchResult, error) {
		res, err := j.st.ApplyBusinessPatches(ctx, j.actor, j.id, b.rows, opt.Import)
		p.s.nameFields(res.Errors)
		return res, err
	}}
	return l.run(ctx, p)
}

// Inspectors imports an inspectors file read from r on behalf of actor, as
// Businesses does. A row whose conflicts name a business that is not
// registered is refused; without a conflicts column, stored conflicts are
// kept.
func Inspectors(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (store.ImportJob, error) {
	opt.Import.DryRun = false
	if err := opt.Import.Validate(); err != nil {
		return store.ImportJob{}, err
	}
	j, err := start(ctx, st, actor, store.ImportInspectors, opt)
	if err != nil {
		return store.ImportJob{}, err
	}
	return j.finish(ctx, inspectors(ctx, j, r, opt))
}

// DryRunInspectors is DryRunBusinesses for an inspectors file.
func DryRunInspectors(ctx context.Context, st *store.Store, actor string, r io.Reader, opt Options) (Report, error) {
	opt.Import.DryRun = true
	if err := opt.Import.Validate(); err != nil {
		return Report{}, err
	}
	j := dryJob(st, actor, store.ImportInspectors, opt)
	err := inspectors(ctx, j, r, opt)
	return j.report.finish(j), err
}

func inspectors(ctx context.Context, j *job, r io.Reader, opt Options) error {
	teams, err := j.st.TeamIDsByCode(ctx)
	if err != nil {
		return fmt.Errorf("load team codes: %w", err)
	}
	p, err := newInspectorParser(r, teams, opt.Import.Clear())
	if err != nil {
		return err
	}
	field := p.head(iConflicts)
	l := loader[store.InspectorPatch]{j: j, load: func(ctx context.Context, b *batch[store.InspectorPatch]) (store.PatchResult, error) {
		keep, refused, err := dropUnknownConflicts(ctx, j.st, b, field)
		if err != nil {
			return store.PatchResult{}, err
		}
		res, err := j.st.ApplyInspectorPatches(ctx, keep, opt.Import)
		p.s.nameFields(res.Errors)
		res.Errors = append(res.Errors, refused...)
		return res, err
	}}
	return l.run(ctx, p)
}

// dropUnknownConflicts refuses the rows whose conflicts name a business that
// is not registered, asking the database once for the whole batch.
func dropUnknownConflicts(ctx context.Context, st *store.Store, b *batch[store.InspectorPatch], field string) ([]store.InspectorPatch, []RowError, error) {
	var codes []string
	for _, in := range b.rows {
		if in.Conflicts != nil {
			codes = append(codes, *in.Conflicts...)
		}
	}
	if len(codes) == 0 {
		return b.rows, nil, nil
	}
	missing, err := st.MissingBusinesses(ctx, codes)
	if err != nil {
		return nil, nil, fmt.Errorf("check conflicts: %w", err)
	}
	if len(missing) == 0 {
		return b.rows, nil, nil
	}
	unknown := make(map[string]bool, len(missing))
	for _, m := range missing {
		unknown[m] = true
	}
	keep := make([]store.InspectorPatch, 0, len(b.rows))
	var refused []RowError
	for i, in := range b.rows {
		var bad []string
		if in.Conflicts != nil {
			for _, c := range *in.Conflicts {
				if unknown[c] {
					bad = append(bad, c)
				}
			}
		}
		if bad == nil {
			keep = append(keep, in)
			continue
		}
		// One error per row and column: that is all the error table keeps.
		refused = append(refused, RowError{Line: b.lines[i], Field: field,
			Reason: messages.ImportText("imp.reject.conflict_unknown", strings.Join(bad, ", "))})
	}
	return keep, refused, nil
}
