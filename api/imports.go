package api

import (
	"bufio"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/store"
	"inspectonce/xlsxout"
)

func (s *Server) importBusinesses(c echo.Context) error {
	return s.importCSV(c, store.ImportBusinesses)
}

func (s *Server) importInspectors(c echo.Context) error {
	return s.importCSV(c, store.ImportInspectors)
}

// importUnavailability is POST /api/v1/imports/unavailability: an admin may
// load anyone's days away, a team leader only its own members', as with
// POST /inspectors/{id}/unavailability (csvimport.For).
func (s *Server) importUnavailability(c echo.Context) error {
	return s.importCSV(c, store.ImportUnavailability)
}

// importClosures is POST /api/v1/imports/closures (admins, as POST /closures).
func (s *Server) importClosures(c echo.Context) error { return s.importCSV(c, store.ImportClosures) }

// importOptions reads the query of an import: empty=keep|clear,
// risk_override=true with reason, and dry_run=true with limit and after_line.
func importOptions(c echo.Context, batch int) (csvimport.Options, bool, error) {
	q := &query{c: c}
	opt := csvimport.Options{BatchSize: batch}
	opt.Import.EmptyCells = q.oneOf("empty", store.EmptyKeep, store.EmptyClear)
	opt.Import.RiskOverride = q.boolean("risk_override")
	opt.Import.Reason = c.QueryParam("reason")
	dry := q.boolean("dry_run")
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > csvimport.MaxReportLimit {
			q.errs.Add("limit", "must be between 1 and %d", csvimport.MaxReportLimit)
		}
		opt.ReportLimit = n
	}
	if v := c.QueryParam("after_line"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			q.errs.Add("after_line", "must be a line number (0 or more)")
		}
		opt.ReportAfterLine = n
	}
	if !dry && (c.QueryParam("limit") != "" || c.QueryParam("after_line") != "") {
		q.errs.Add("dry_run", "limit and after_line page a dry run's report: add dry_run=true")
	}
	if err := q.errs.Err(); err != nil {
		return opt, false, err
	}
	return opt, dry, opt.Import.Validate()
}

// importCSV streams the body (CSV, or an .xlsx workbook read whole within
// csvimport.MaxXLSXBytes) into the importer. The job's progress is written as
// batches commit, so GET /imports/{id} shows a long file moving; the answer is
// the finished job with every refused row and its line number.
//
// With dry_run=true nothing is written, not even a job: the answer is the
// report of what the import would do.
//
// Who may import what is csvimport.For's, which the imports page uses too.
func (s *Server) importCSV(c echo.Context, kind string) error {
	p, err := allow(c, "import registries", csvimport.Roles(kind)...)
	if err != nil {
		return err
	}
	run, err := csvimport.For(kind, p)
	if err != nil {
		return err
	}
	fn, dryFn := run.Import, run.DryRun
	// A CSV file or an .xlsx workbook (its first sheet); the importer tells
	// them apart by the file's first bytes, so a workbook declared as such
	// must be one.
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if mt != "text/csv" && mt != csvimport.ContentTypeXLSX {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the file as text/csv or as "+csvimport.ContentTypeXLSX)
	}
	body := bufio.NewReaderSize(c.Request().Body, 64<<10)
	if mt == csvimport.ContentTypeXLSX {
		if head, _ := body.Peek(4); !csvimport.LooksLikeXLSX(head) {
			return domain.Invalid("file", "the body is not an .xlsx workbook (a ZIP archive): send a CSV file as text/csv")
		}
	}
	opt, dry, err := importOptions(c, s.cfg.Import.BatchSize)
	if err != nil {
		return err
	}
	var mbe *http.MaxBytesError
	if dry {
		rep, err := dryFn(c.Request().Context(), s.store, p.Actor(), body, opt)
		if errors.As(err, &mbe) {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		if err != nil {
			return fmt.Errorf("%s dry run: %w", kind, err)
		}
		localizeImportErrors(c, kind, rep.Errors)
		return c.JSON(http.StatusOK, rep)
	}
	job, err := fn(c.Request().Context(), s.store, p.Actor(), body, opt)
	switch {
	case errors.As(err, &mbe):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	case job.ID == 0 && err != nil:
		return err
	case err != nil:
		// The file as a whole was refused or the load broke off: say why, and
		// point at the job, which keeps what was loaded before.
		c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/imports/%d", job.ID))
		var ve *domain.ValidationError
		if errors.As(err, &ve) {
			return err
		}
		return fmt.Errorf("%s import %d failed: %w", kind, job.ID, err)
	}
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/imports/%d", job.ID))
	localizeImportErrors(c, kind, job.Errors)
	return c.JSON(http.StatusOK, job)
}

// localizeImportErrors adds to each refused row its reason's code and the
// reason in the request's language (Chinese unless ?lang=en or
// Accept-Language asks for English); reason itself stays English.
func localizeImportErrors(c echo.Context, kind string, errs []store.ImportRowError) {
	lang := messages.ZH
	if xlsxout.Lang(c.Request()) == xlsxout.EN {
		lang = messages.EN
	}
	for i := range errs {
		errs[i].Code = messages.ImportCode(errs[i].Reason)
		errs[i].Message = lang.Import(kind, errs[i].Reason)
	}
}

func (s *Server) getImport(c echo.Context) error {
	p, err := allow(c, "read imports", unavailabilityWriteRoles...)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	job, err := s.store.GetImportJob(c.Request().Context(), id)
	if err != nil {
		return err
	}
	// A team leader may import its members' days away, and so read back the
	// jobs it started; any other is not found for it.
	if p.Role != domain.RoleAdmin && job.StartedBy != p.Actor() {
		return fmt.Errorf("import %d: %w", id, domain.ErrNotFound)
	}
	localizeImportErrors(c, job.Kind, job.Errors)
	return c.JSON(http.StatusOK, job)
}
