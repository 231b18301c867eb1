// Package web serves InspectOnce's HTML pages: a business's consolidated
// schedule, a team's printable roster, the plan dashboard and the admin queue
// view. Pages are rendered on the server from templates embedded in the
// binary; CSS (and any script) is served by the service itself, so the pages
// work with no internet and no outside assets. Like api/, it decodes,
// authorises, calls the store and renders; it holds no SQL.
package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure Register.
type Options struct {
	Store    *store.Store
	Config   *configs.Config
	Calendar *calendar.Calendar
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Queues inspects the job queues for the admin queue page; nil shows the
	// page with a note that the queue is not reachable from this process.
	Queues QueueInspector
	// QueueNames are the configured queues, listed even before they hold a task.
	QueueNames []string
	// Planning places urgent demands now from the plans page; nil hides the
	// button.
	Planning *planning.Service
	// StartPlan starts a plan run and queues it, as POST /api/v1/plans does;
	// nil hides the plans page's form.
	StartPlan func(ctx context.Context, actor string, req planning.Request) (store.Plan, error)
	// EnterRandomness records a committed plan's value and queues its run,
	// as POST /api/v1/plans/{id}/randomness does; nil hides the witness form.
	EnterRandomness func(ctx context.Context, p domain.Principal, planID int64, in planning.RandomnessInput) (store.PlanCommitment, error)
}

// Pages holds what the page handlers need.
type Pages struct {
	store      *store.Store
	cfg        *configs.Config
	cal        *calendar.Calendar
	log        *slog.Logger
	now        func() time.Time
	loc        *time.Location
	queues     QueueInspector
	queueNames []string
	// codePages memoizes the public /v/ pages (visitcode.go).
	codePages pageMemo
	// refusalPages holds the made pages of refusals (overload.go).
	refusalPages sync.Map

	planning  *planning.Service
	intake    DemandIntake
	startPlan func(ctx context.Context, actor string, req planning.Request) (store.Plan, error)
	enterRand func(ctx context.Context, p domain.Principal, planID int64, in planning.RandomnessInput) (store.PlanCommitment, error)

	once  sync.Once
	tmpls map[string]*template.Template
	err   error
}

// Register adds every page route to e. Pages live outside /api/v1; they
// authenticate by the session cookie that /login sets (or a bearer token).
func Register(e *echo.Echo, o Options) *Pages {
	p := &Pages{store: o.Store, cfg: o.Config, cal: o.Calendar, log: o.Logger, now: o.Now,
		queues: o.Queues, queueNames: o.QueueNames, planning: o.Planning, startPlan: o.StartPlan,
		enterRand: o.EnterRandomness}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.loc = time.UTC
	if o.Config != nil && o.Config.Location() != nil {
		p.loc = o.Config.Location()
	}

	static, _ := fs.Sub(staticFS, "static")
	e.GET("/static/*", echo.WrapHandler(http.StripPrefix("/static/", staticHandler(static))))
	e.GET("/login", p.loginForm)
	e.POST("/login", p.login)
	e.POST("/logout", p.logout)
	// Published results (一公开) are public: no login.
	p.publicationPublicRoutes(e)
	// Visit codes (行政行为码) are public too: the code is the proof.
	p.visitCodePublicRoutes(e)

	g := e.Group("", p.requireLogin)
	g.GET("/", p.home)
	p.routes(g)
	g.POST("/demands/:id/place-now", p.page(p.placeNow))
	return p
}

// staticHandler serves the embedded assets with a short cache lifetime: they
// change only with the binary.
func staticHandler(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	})
}

// templates parses every page once: each page template is cloned from the
// layout so pages can define their own "content" block.
func (p *Pages) templates() (map[string]*template.Template, error) {
	p.once.Do(func() {
		layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
		if err != nil {
			p.err = fmt.Errorf("parse layout: %w", err)
			return
		}
		names, err := fs.Glob(templateFS, "templates/*.html")
		if err != nil {
			p.err = err
			return
		}
		p.tmpls = map[string]*template.Template{}
		for _, n := range names {
			base := strings.TrimPrefix(n, "templates/")
			if base == "layout.html" {
				continue
			}
			t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
			if err != nil {
				p.err = fmt.Errorf("parse %s: %w", n, err)
				return
			}
			p.tmpls[strings.TrimSuffix(base, ".html")] = t
		}
	})
	return p.tmpls, p.err
}

// Page is what every template receives: the page's own data in Data, plus
// language, viewer and the title.
type Page struct {
	Lang   Lang
	Title  string
	Viewer *domain.Principal
	// Path is the request path, for the language switch and login redirects.
	Path string
	// Refresh, when > 0, reloads the page after that many seconds (a running
	// plan's progress).
	Refresh int
	Data    any
	loc     *time.Location
}

// render writes page name with data, in the request's language.
func (p *Pages) render(c echo.Context, status int, name, title string, data any) error {
	return p.renderMemo(c, status, name, title, data, nil)
}

// renderMemo is render that, for a viewer not signed in, reuses the bytes
// memo holds for the same page, language, address and data (compared as
// JSON): a template costs far more than the JSON of a small page's data.
func (p *Pages) renderMemo(c echo.Context, status int, name, title string, data any, memo *pageMemo) error {
	tmpls, err := p.templates()
	if err != nil {
		return err
	}
	t, ok := tmpls[name]
	if !ok {
		return fmt.Errorf("no template %q", name)
	}
	lang := negotiate(c.Request())
	pg := Page{Lang: lang, Title: lang.T(title), Path: c.Request().URL.RequestURI(), Data: data, loc: p.loc}
	if v, ok := c.Get(viewerKey).(domain.Principal); ok {
		pg.Viewer = &v
	}
	if r, ok := c.Get(refreshKey).(int); ok {
		pg.Refresh = r
	}
	var key string
	if memo != nil && pg.Viewer == nil && pg.Refresh == 0 {
		if js, err := json.Marshal(data); err == nil {
			key = strings.Join([]string{name, string(lang), pg.Title, pg.Path, string(js)}, "\x00")
		}
	}
	body, ok := memo.get(key)
	if !ok {
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, "layout.html", &pg); err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		body = buf.Bytes()
		memo.put(key, body)
	}
	// A choice made with the language switch (?lang=) holds for the pages
	// that follow, whose links do not carry it: negotiate reads it back.
	if l, ok := parseLang(c.QueryParam("lang")); ok {
		c.SetCookie(&http.Cookie{Name: langCookie, Value: string(l), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	}
	c.Response().Header().Set("Content-Language", string(lang))
	c.Response().Header().Set("Vary", "Accept-Language, Cookie")
	// No outside assets, ever: the policy makes a stray CDN link fail loudly.
	c.Response().Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	return c.HTMLBlob(status, body)
}

// pageMemo holds rendered pages by key, at most maxMemoPages (then it
// starts over). A nil *pageMemo holds nothing.
type pageMemo struct {
	mu sync.Mutex
	m  map[string][]byte
}

const maxMemoPages = 4096

func (m *pageMemo) get(key string) ([]byte, bool) {
	if m == nil || key == "" {
		return nil, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.m[key]
	return b, ok
}

func (m *pageMemo) put(key string, body []byte) {
	if m == nil || key == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= maxMemoPages {
		m.m = map[string][]byte{}
	}
	m.m[key] = body
}

const refreshKey = "web.refresh"

// autoRefresh makes the page reload itself every seconds (used while a plan
// runs).
func autoRefresh(c echo.Context, seconds int) { c.Set(refreshKey, seconds) }
