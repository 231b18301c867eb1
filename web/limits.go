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

// TooManyRequests answers a request refused by a rate limit (429) with a
// short page (refusal); the caller has set Retry-After to retryAfter
// seconds.
func (p *Pages) TooManyRequests(c echo.Context, retryAfter int) error {
	return p.refusal(c, http.StatusTooManyRequests, "error.title", "error.too_many", retryAfter)
}
