package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func init() {
	addMessages(map[string][2]string{
		"error.too_many":    {"请求过于频繁。", "Too many requests. "},
		"error.retry_after": {"请在 %d 秒后重试。", "Please try again in %d seconds."},
	})
}

// TooManyRequests renders the page of a request refused by a rate limit
// (429); the caller has set Retry-After to retryAfter seconds.
func (p *Pages) TooManyRequests(c echo.Context, retryAfter int) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	lang := negotiate(c.Request())
	return p.render(c, http.StatusTooManyRequests, "error", "error.title",
		errorData{Key: "error.too_many", Detail: lang.T("error.retry_after", retryAfter), Status: http.StatusTooManyRequests})
}
