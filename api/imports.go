package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/store"
)

type importFunc func(context.Context, *store.Store, string, io.Reader, csvimport.Options) (store.ImportJob, error)

func (s *Server) importBusinesses(c echo.Context) error {
	return s.importCSV(c, "businesses", csvimport.Businesses)
}

func (s *Server) importInspectors(c echo.Context) error {
	return s.importCSV(c, "inspectors", csvimport.Inspectors)
}

// importCSV streams the body into the importer. The job's progress is written as
// batches commit, so GET /imports/{id} shows a long file moving; the answer is
// the finished job with every refused row and its line number.
func (s *Server) importCSV(c echo.Context, kind string, fn importFunc) error {
	p, err := allow(c, "import registries", adminOnly...)
	if err != nil {
		return err
	}
	if mt, _, _ := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType)); mt != "text/csv" {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the file as text/csv")
	}
	job, err := fn(c.Request().Context(), s.store, p.Actor(), c.Request().Body, csvimport.Options{BatchSize: s.cfg.Import.BatchSize})
	var mbe *http.MaxBytesError
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
	return c.JSON(http.StatusOK, job)
}

func (s *Server) getImport(c echo.Context) error {
	if _, err := allow(c, "read imports", adminOnly...); err != nil {
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
	return c.JSON(http.StatusOK, job)
}
