package api

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
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
