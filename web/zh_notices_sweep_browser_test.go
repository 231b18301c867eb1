package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/jobs"
	"inspectonce/store"
)

// TestZHSweep walks the demo county in Chinese, as each role sees it:
//
//   - notices: the published plan's first visits dispatched, the next day's
//     rosters and reminders written; every title and body text must be
//     free of English words and API field names (fails otherwise);
//   - pages: every page a role reaches by following links from its home
//     page (GET only, a few of each route), its visible text searched for
//     English words. This part is a report (testout/zh-sweep.txt, and the
//     test log), not a failure: pages are being added and translated by
//     several hands; the report names what is left.
//
// It needs no browser, but shares the browser tests' demo county
// (newBrowserEnv), so it runs where they do.
func TestZHSweep(t *testing.T) {
	b := newBrowserEnv(t)
	ctx := context.Background()

	// Notices, with the default configuration (zh for every recipient kind).
	d := jobs.NewDispatcher(jobs.DispatchOptions{Store: b.st, Location: b.Loc, PublicBaseURL: b.URL})
	seqs := []int{}
	for i := 1; i <= 30; i++ {
		seqs = append(seqs, i)
	}
	if _, err := d.DispatchVisits(ctx, b.Plan.ID, seqs); err != nil {
		t.Fatalf("dispatch: %v", err)
	}
	for day := range 5 {
		date := b.Today.AddDate(0, 0, day+1)
		if _, err := d.RostersFor(ctx, date); err != nil {
			t.Fatal(err)
		}
		if _, err := d.RemindFor(ctx, date); err != nil {
			t.Fatal(err)
		}
	}
	ns, err := b.st.ListNotifications(ctx, store.NotificationFilter{PlanID: 0}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, n := range ns.Items {
		kinds[n.Kind]++
		var body struct{ Text string }
		if err := json.Unmarshal(n.Body, &body); err != nil || body.Text == "" {
			t.Errorf("notice %d (%s): no text in its body: %s %v", n.ID, n.Kind, n.Body, err)
		}
		for _, s := range []string{n.Title, body.Text} {
			if w := englishWords(s); len(w) > 0 {
				t.Errorf("notice %d (%s to %s): English %q in %q", n.ID, n.Kind, n.RecipientKind, w, s)
			}
		}
	}
	if kinds[store.NoticeAssignment] == 0 || kinds[store.NoticeRoster] == 0 || kinds[store.NoticeReminder] == 0 {
		t.Fatalf("notices swept: %v, want assignments, rosters and reminders", kinds)
	}
	t.Logf("notices swept: %v", kinds)

	// Pages, as each role.
	var report strings.Builder
	fmt.Fprintf(&report, "English words on Chinese pages (TestZHSweep), by role and page\n\n")
	found := 0
	for _, role := range []domain.Role{domain.RoleAdmin, domain.RolePlanner, domain.RoleTeamLeader, domain.RoleInspector, domain.RoleBusiness} {
		c := b.zhClient(t, role)
		for _, pg := range crawl(t, c, b.URL, "/", 60) {
			words := englishWords(pg.text)
			if len(words) == 0 {
				continue
			}
			found++
			fmt.Fprintf(&report, "%s %s: %s\n", role, pg.path, strings.Join(words, ", "))
		}
	}
	// Signed out: the login page and the public pages.
	for _, start := range []string{"/login", "/results"} {
		for _, pg := range crawl(t, &http.Client{}, b.URL, start, 10) {
			if words := englishWords(pg.text); len(words) > 0 {
				found++
				fmt.Fprintf(&report, "public %s: %s\n", pg.path, strings.Join(words, ", "))
			}
		}
	}
	if found == 0 {
		report.WriteString("none\n")
	}
	if err := os.WriteFile(filepath.Join(b.outDir, "zh-sweep.txt"), []byte(report.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(report.String())
}

// zhClient signs in as role (its demo token) with a cookie jar, pages in
// Chinese.
func (b *benv) zhClient(t *testing.T, role domain.Role) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar}
	req, err := http.NewRequest(http.MethodPost, b.URL+"/login", strings.NewReader(url.Values{"token": {b.Tokens[role]}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.URL)
	req.Header.Set("Accept-Language", "zh-CN")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 400 {
		t.Fatalf("sign-in as %s: %s", role, res.Status)
	}
	return c
}

type sweptPage struct{ path, text string }

var (
	hrefRe = regexp.MustCompile(`href="(/[^"#]*)"`)
	// Scripts, styles and drawings are not read; code, kbd and pre show
	// commands and paths, which stay as they are typed.
	dropRe      = regexp.MustCompile(`(?is)<(script|style|svg|textarea|code|kbd|pre)\b.*?</(script|style|svg|textarea|code|kbd|pre)>`)
	tagRe       = regexp.MustCompile(`(?s)<[^>]*>`)
	digitsRe    = regexp.MustCompile(`\d+`)
	skipLinkRe  = regexp.MustCompile(`(?i)lang=|/logout|\.(csv|png|ics|xlsx|json|css|js)(\?|$)|/static/|/api/|/feeds/`)
	allowedRe   = regexp.MustCompile(`https?://\S+|[0-9A-Z]{18}|\b[A-Z][A-Z0-9-]*\b|\b\w*\d\w*\b`)
	englishRe   = regexp.MustCompile(`[A-Za-z][A-Za-z_']{2,}`)
	allowedWord = map[string]bool{"English": true} // the language switch names the other language in itself
)

// englishWords are the English words (three letters or more, or snake_case
// field names) in s, leaving out URLs, codes in capitals, USCCs and words
// with digits.
func englishWords(s string) []string {
	s = allowedRe.ReplaceAllString(s, " ")
	seen := map[string]bool{}
	var out []string
	for _, w := range englishRe.FindAllString(s, -1) {
		if allowedWord[w] || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// crawl follows same-site links from start breadth first, GET only, at most two
// pages of each route (digits taken for ids) and max pages in all.
func crawl(t *testing.T, c *http.Client, base, start string, max int) []sweptPage {
	t.Helper()
	queue := []string{start}
	seen := map[string]bool{start: true}
	perRoute := map[string]int{}
	var out []sweptPage
	for len(queue) > 0 && len(out) < max {
		p := queue[0]
		queue = queue[1:]
		req, err := http.NewRequest(http.MethodGet, base+p, nil)
		if err != nil {
			continue
		}
		req.Header.Set("Accept-Language", "zh-CN")
		res, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		body, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			continue
		}
		page := string(body)
		text := html.UnescapeString(tagRe.ReplaceAllString(dropRe.ReplaceAllString(page, " "), " "))
		out = append(out, sweptPage{path: p, text: strings.Join(strings.Fields(text), " ")})
		for _, m := range hrefRe.FindAllStringSubmatch(page, -1) {
			link := html.UnescapeString(m[1])
			if skipLinkRe.MatchString(link) || seen[link] {
				continue
			}
			seen[link] = true
			route := digitsRe.ReplaceAllString(strings.SplitN(link, "?", 2)[0], "N")
			if perRoute[route] >= 2 {
				continue
			}
			perRoute[route]++
			queue = append(queue, link)
		}
	}
	return out
}
