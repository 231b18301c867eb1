package web_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"inspectonce/api"
	"inspectonce/calendar"
	"inspectonce/configs"
	"inspectonce/domain"
	"inspectonce/planning"
	"inspectonce/seed"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// benv is the service on loopback with the demo county, its demands, two
// extra demands for the demo business (one announced, one an unannounced
// complaint, in windows far enough apart to be two visits) and a published
// 28-day plan; the browser tests drive it with chromium.
type benv struct {
	st  *store.Store
	srv *httptest.Server
	// cfg and cal are the service's configuration and working days.
	cfg *configs.Config
	cal *calendar.Calendar
	// URL is the service's base URL, http://127.0.0.1:port.
	URL string
	// Tokens by role: admin, planner (SCJG), team_leader (SS-ZD-CY), inspector,
	// business (the demo restaurant); Scopes likewise.
	Tokens map[domain.Role]string
	Scopes map[domain.Role]string
	// Plan is the published plan.
	Plan store.Plan
	// Today is the service's civil date when the tests start (Asia/Shanghai).
	Today time.Time
	Loc   *time.Location
	// clock is what the service believes now is; tests move it with SetNow.
	clock  atomic.Pointer[time.Time]
	start  time.Time
	outDir string
	chrome string
}

// browserScenarios are the browser tests; each page file adds its own in init,
// and TestBrowser runs them all against one service (the county, its plan and
// chromium start once).
var browserScenarios = map[string]func(t *testing.T, b *benv){}

// TestBrowser drives Debian's chromium with chromedp against the pages.
func TestBrowser(t *testing.T) {
	b := newBrowserEnv(t)
	names := make([]string, 0, len(browserScenarios))
	for n := range browserScenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Run(n, func(t *testing.T) {
			b.SetNow(b.start)
			browserScenarios[n](t, b)
		})
	}
}

// testStart is the service clock at the start of every scenario: a Monday
// morning, so the plan's horizon begins on a working day.
var testStart = time.Date(2026, 11, 23, 8, 30, 0, 0, mustLoc("Asia/Shanghai"))

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// chromiumPath finds Debian's chromium; scripts/test.sh installs it.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{os.Getenv("INSPECTONCE_TEST_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("INSPECTONCE_TEST_REQUIRE") == "1" {
		t.Fatal("chromium not found (scripts/test.sh installs Debian's chromium package)")
	}
	t.Skip("browser test: chromium not installed; run make test")
	return ""
}

func newBrowserEnv(t *testing.T) *benv {
	t.Helper()
	chrome := chromiumPath(t)
	st, _ := storetest.New(t)
	ctx := context.Background()
	// The scenarios move the service's clock across days and weeks within
	// one sign-in (SetNow), and sessions expire by that clock: sessions here
	// last a year, so that a jump is not taken for idleness.
	cfg, err := configs.Load("", []string{"INSPECTONCE_HTTP_SESSION_IDLE=8760h", "INSPECTONCE_HTTP_SESSION_ABSOLUTE=8760h"})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(cfg.Calendar.Holidays, cfg.Calendar.WorkingWeekends)
	if err != nil {
		t.Fatal(err)
	}
	b := &benv{st: st, cfg: cfg, cal: cal, Tokens: map[domain.Role]string{}, Scopes: map[domain.Role]string{}, Loc: cfg.Location(),
		start: testStart, chrome: chrome}
	b.SetNow(testStart)
	now := func() time.Time { return *b.clock.Load() }
	y, m, d := testStart.Date()
	b.Today = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)

	res, err := seed.LoadAt(ctx, st, testStart)
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
	for _, tk := range res.Tokens {
		b.Tokens[tk.Role], b.Scopes[tk.Role] = tk.Token, tk.Scope
	}
	b.addBusinessDemands(t, cal)

	plans, err := planning.New(planning.Options{Store: st, Config: cfg, Calendar: cal, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	run, err := plans.Run(ctx, "test", planning.Request{From: b.Today.AddDate(0, 0, 1), To: b.Today.AddDate(0, 0, 28)})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	// The plan every scenario reads passed the configured approval steps
	// (planning.approval_steps) like any draft.
	for _, step := range plans.ApprovalSteps() {
		if _, _, err := plans.Approve(ctx, "test", run.PlanID, store.ApprovalInput{Step: step, Decision: store.DecisionApprove, Opinion: "同意发布"}); err != nil {
			t.Fatalf("approve %s: %v", step, err)
		}
	}
	if b.Plan, err = plans.Publish(ctx, "test", run.PlanID); err != nil {
		t.Fatalf("publish: %v", err)
	}

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := api.New(api.Options{Store: st, Config: cfg, Calendar: cal, Logger: log, Now: now, Planning: plans})
	b.srv = httptest.NewServer(e)
	t.Cleanup(b.srv.Close)
	b.URL = b.srv.URL

	b.outDir = os.Getenv("INSPECTONCE_TESTOUT")
	if b.outDir == "" {
		b.outDir = filepath.Join("..", "testout")
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	return b
}

// addBusinessDemands gives the demo business one announced visit early in the
// horizon (SCJG, 3 days' notice) and one unannounced complaint visit in the
// last weeks, so its schedule has something to show and something to hide.
func (b *benv) addBusinessDemands(t *testing.T, cal *calendar.Calendar) {
	t.Helper()
	ctx := context.Background()
	uscc := b.Scopes[domain.RoleBusiness]
	depts, err := b.st.ListDepartments(ctx, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]domain.Department{}
	for _, d := range depts.Items {
		byCode[d.Code] = d
	}
	items, err := b.st.ListItems(ctx, store.ItemFilter{}, store.Page{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	itemOf := func(dept string) int64 {
		for _, it := range items.Items {
			if it.DepartmentID == byCode[dept].ID {
				return it.ID
			}
		}
		t.Fatalf("no item of department %s", dept)
		return 0
	}
	workday := func(from int) time.Time {
		d := b.Today.AddDate(0, 0, from)
		for !cal.IsWorkingDay(d) {
			d = d.AddDate(0, 0, 1)
		}
		return d
	}
	for _, d := range []domain.Demand{
		{DepartmentID: byCode["SCJG"].ID, Title: "浏览器测试：公告检查", ItemIDs: []int64{itemOf("SCJG")},
			TargetKind: domain.TargetList, Businesses: []string{uscc}, WindowFrom: workday(2), WindowTo: workday(6),
			Priority: 2, Source: domain.SourceRoutine, AnnounceDays: 3},
		{DepartmentID: byCode["XFJY"].ID, Title: "浏览器测试：举报核查", ItemIDs: []int64{itemOf("XFJY")},
			TargetKind: domain.TargetList, Businesses: []string{uscc}, WindowFrom: workday(15), WindowTo: workday(20),
			Priority: 1, Source: domain.SourceComplaint, AnnounceDays: 0},
	} {
		d := d
		if _, err := b.st.CreateDemand(ctx, "test", nil, &d); err != nil {
			t.Fatalf("demand %q: %v", d.Title, err)
		}
	}
}

// SetNow moves the service's clock.
func (b *benv) SetNow(t time.Time) { b.clock.Store(&t) }

// Browser starts a fresh chromium (its own profile, so no cookies are shared
// between roles) and returns a tab context, closed when the test ends.
func (b *benv) Browser(t *testing.T) context.Context {
	t.Helper()
	// Not t.TempDir: chromium's helper processes may still write to the
	// profile for a moment after the browser is closed, and TempDir's
	// cleanup fails the test when the directory is not empty. This cleanup
	// is registered first, so it runs after the browser's.
	profile, err := os.MkdirTemp("", "inspectonce-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove chromium profile %s", profile)
	})
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(b.chrome),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// Without these, chromium keeps trying to reach Google's hosts, which
		// this closed network refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// A browser in the county asks for Chinese; headless chromium would
		// send en-US and every page would come out in English. Lang
		// overrides this per test.
		chromedp.Flag("lang", "zh-CN"),
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Lang sets the browser's Accept-Language for every later request.
func (b *benv) Lang(t *testing.T, ctx context.Context, acceptLanguage string) {
	t.Helper()
	if err := chromedp.Run(ctx, network.Enable(), network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": acceptLanguage})); err != nil {
		t.Fatal(err)
	}
}

// Login signs in through the login page with role's token and waits for the
// page the service sends that role to.
func (b *benv) Login(t *testing.T, ctx context.Context, role domain.Role) {
	t.Helper()
	b.LoginToken(t, ctx, b.Tokens[role])
}

// LoginToken signs in with any token.
func (b *benv) LoginToken(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(b.URL+"/login"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, token, chromedp.ByID),
		chromedp.Click(`#login-submit`, chromedp.ByID),
		chromedp.WaitVisible(`main`, chromedp.ByQuery),
		chromedp.WaitNotPresent(`#token`, chromedp.ByID),
	); err != nil {
		t.Fatalf("login: %v", err)
	}
}

// Open navigates to path and waits for the page's main element.
func (b *benv) Open(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	if err := chromedp.Run(ctx, chromedp.Navigate(b.URL+path), chromedp.WaitReady(`main`, chromedp.ByQuery)); err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
}

// Screenshot writes a full-page PNG of the current page to the test output
// folder (testout/ at the repository root, or $INSPECTONCE_TESTOUT).
func (b *benv) Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.outDir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// Location is the URL the tab shows.
func (b *benv) Location(t *testing.T, ctx context.Context) string {
	t.Helper()
	var loc string
	if err := chromedp.Run(ctx, chromedp.Location(&loc)); err != nil {
		t.Fatal(err)
	}
	return loc
}

// Texts returns the text content of every element matching sel.
func (b *benv) Texts(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	var out []string
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => e.textContent.trim())`, sel)
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out)); err != nil {
		t.Fatalf("texts %s: %v", sel, err)
	}
	return out
}

// Attrs returns attribute attr of every element matching sel.
func (b *benv) Attrs(t *testing.T, ctx context.Context, sel, attr string) []string {
	t.Helper()
	var out []string
	js := fmt.Sprintf(`Array.from(document.querySelectorAll(%q)).map(e => e.getAttribute(%q) || "")`, sel, attr)
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &out)); err != nil {
		t.Fatalf("attrs %s: %v", sel, err)
	}
	return out
}

// Status is the status the error page reports (data-status), 0 on a normal page.
func (b *benv) Status(t *testing.T, ctx context.Context) int {
	t.Helper()
	s := b.Attrs(t, ctx, ".error-page", "data-status")
	if len(s) == 0 {
		return 0
	}
	var n int
	if _, err := fmt.Sscan(s[0], &n); err != nil {
		t.Fatalf("status %q: %v", s[0], err)
	}
	return n
}

// PDFText prints the current page to PDF (A4), writes it to the test output
// folder and returns its text as pdftotext (poppler-utils, installed by
// scripts/test.sh) extracts it: pages end with a form feed.
func (b *benv) PDFText(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	var pdf []byte
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		pdf, _, err = pagePrintA4().Do(ctx)
		return err
	})); err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	path := filepath.Join(b.outDir, name+".pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pdftotext: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("pdftotext (scripts/test.sh installs poppler-utils): %v", err)
	}
	return string(out)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// LoginTokenExpectError submits a token the service must refuse and waits for
// the login page to come back with its message.
func (b *benv) LoginTokenExpectError(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	if err := chromedp.Run(ctx,
		chromedp.Navigate(b.URL+"/login"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, token, chromedp.ByID),
		chromedp.Click(`#login-submit`, chromedp.ByID),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery),
	); err != nil {
		t.Fatalf("login with a bad token: %v", err)
	}
}
