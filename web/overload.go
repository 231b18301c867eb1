package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"

	"github.com/labstack/echo/v4"

	"inspectonce/messages"
)

func init() {
	addMessages(map[string][2]string{
		"overload.title": {"服务器繁忙", "Server busy"},
		"overload.busy":  {"服务器繁忙，暂时无法处理此请求，未做任何更改。", "The server is busy and cannot take this request right now; nothing was changed. "},
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

// Overloaded answers a request refused because its class of routes is at
// its concurrency limit (503) with a short page in the reader's language;
// the caller has set Retry-After to retryAfter seconds.
func (p *Pages) Overloaded(c echo.Context, retryAfter int) error {
	return p.refusal(c, http.StatusServiceUnavailable, "overload.title", "overload.busy", retryAfter)
}

// refusal answers a refused request (overloaded, rate-limited) with a
// short page: title, message and when to retry, in the reader's language.
// The page is made once per status, language and wait, not rendered
// through the layout: refusals come by the thousand a second past the knee
// or from a flooding address, and a refusal that costs as much as an answer
// would take the CPU the answers need.
func (p *Pages) refusal(c echo.Context, status int, title, msg string, retryAfter int) error {
	lang := negotiate(c.Request())
	key := refusalKey{status: status, lang: lang, secs: retryAfter}
	body, ok := p.refusalPages.Load(key)
	if !ok {
		var buf bytes.Buffer
		if err := refusalPage.Execute(&buf, map[string]string{"Lang": lang.HTMLLang(), "App": lang.T("app.name"), "Title": lang.T(title),
			"Message": lang.T(msg), "Retry": lang.T("error.retry_after", retryAfter)}); err != nil {
			return fmt.Errorf("render refusal page: %w", err)
		}
		body, _ = p.refusalPages.LoadOrStore(key, buf.Bytes())
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", string(lang))
	h.Set("Vary", "Accept-Language, Cookie")
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; frame-ancestors 'none'")
	return c.HTMLBlob(status, body.([]byte))
}

// refusalKey names a made refusal page.
type refusalKey struct {
	status int
	lang   Lang
	secs   int
}

var refusalPage = template.Must(template.New("refusal").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · {{.App}}</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Message}}{{.Retry}}</p>
<p><a href="/">{{.App}}</a></p>
</main>
</body>
</html>
`))
