package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/messages"
)

func init() {
	addMessages(map[string][2]string{
		"overload.busy": {"服务器繁忙，暂时无法处理此请求，未做任何更改。", "The server is busy and cannot take this request right now; nothing was changed. "},
		"overload.detail": {"服务器当前的%s请求已达上限，未做任何更改；请在 %d 秒后重试（Retry-After）。",
			"the server is serving as many %s requests as it can; nothing was changed, retry after %d seconds (Retry-After)"},
		"overload.class.public": {"公开", "public"},
		"overload.class.reads":  {"读取", "read"},
		"overload.class.writes": {"写入", "write"},
		"overload.class.bulk":   {"批量", "bulk"},
	})
}

// RequestLang is the catalog language of the request's reader, chosen as the
// pages choose it (?lang=, the language cookie, Accept-Language; Chinese by
// default), for answers outside the pages (the API's problem details).
func RequestLang(r *http.Request) messages.Lang { return negotiate(r).Msg() }

// Overloaded renders the page of a request refused because its class of
// routes is at its concurrency limit (503); the caller has set Retry-After
// to retryAfter seconds.
func (p *Pages) Overloaded(c echo.Context, retryAfter int) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	lang := negotiate(c.Request())
	return p.render(c, http.StatusServiceUnavailable, "error", "error.title",
		errorData{Key: "overload.busy", Detail: lang.T("error.retry_after", retryAfter), Status: http.StatusServiceUnavailable})
}
