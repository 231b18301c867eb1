package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/store"
)

// getByID answers a registry read by numeric id for any staff role.
func getByID[T any](c echo.Context, what string, get func(context.Context, int64) (T, error)) error {
	if _, err := allow(c, what, staffRoles...); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// listOf answers a registry list: role check, filters read by filter (which
// records bad values on q), a page, and the store call.
func listOf[F, T any](c echo.Context, what string, filter func(q *query) F,
	fetch func(context.Context, F, store.Page) (store.Paged[T], error)) error {
	f, p, err := listQuery(c, what, filter)
	if err != nil {
		return err
	}
	out, err := fetch(c.Request().Context(), f, p)
	if err != nil {
		return err
	}
	return list(c, out)
}

// listQuery checks that the caller is staff and reads a list's filter and
// page from the query, refusing bad parameters (422).
func listQuery[F any](c echo.Context, what string, filter func(q *query) F) (F, store.Page, error) {
	var f F
	if _, err := allow(c, what, staffRoles...); err != nil {
		return f, store.Page{}, err
	}
	q := query{c: c}
	f = filter(&q)
	p := q.page()
	if err := q.errs.Err(); err != nil {
		return f, store.Page{}, err
	}
	return f, p, nil
}

// noFilter is the filter of registries listed whole.
type noFilter struct{}

func unfiltered[T any](fetch func(context.Context, store.Page) (store.Paged[T], error)) func(context.Context, noFilter, store.Page) (store.Paged[T], error) {
	return func(ctx context.Context, _ noFilter, p store.Page) (store.Paged[T], error) { return fetch(ctx, p) }
}
