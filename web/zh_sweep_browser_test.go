package web_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"inspectonce/domain"
	"inspectonce/visitcode"
)

func init() {
	browserScenarios["zh_sweep"] = browserZHSweep
}

// browserZHSweep walks every page a signed-in role (and the public) can open
// on the demo county in Chinese and fails on visible English: a run of
// Latin letters that is not a code, a name the data holds, or a unit. It
// reads the pages as served (no script runs: the pages work without it).
func browserZHSweep(t *testing.T, b *benv) {
	team := b.Scopes[domain.RoleTeamLeader]
	uscc := b.Scopes[domain.RoleBusiness]
	day := sqlRows(t, b, `SELECT min(v.date)::text FROM published_visits v WHERE v.plan_id = $1 AND v.team_id::text = $2`, b.Plan.ID, team)
	pages := []struct {
		role domain.Role
		path string
	}{
		{domain.RoleAdmin, "/plans"},
		{domain.RoleAdmin, fmt.Sprintf("/plans/%d", b.Plan.ID)},
		{domain.RoleAdmin, "/publication"},
		{domain.RoleAdmin, "/admin/queues"},
		{domain.RoleAdmin, "/repairs"},
		{domain.RolePlanner, "/plans"},
		{domain.RolePlanner, fmt.Sprintf("/plans/%d", b.Plan.ID)},
		{domain.RoleTeamLeader, "/teams/" + team + "/rosters/" + day[0][0]},
		{domain.RoleInspector, "/inspect"},
		{domain.RoleBusiness, "/businesses/" + uscc + "/schedule"},
		{domain.RolePlanner, "/demands"},
		{domain.RolePlanner, "/demands/new"},
		{domain.RoleAdmin, "/demands"},
		{domain.RoleAdmin, "/registry/businesses"},
		{domain.RoleAdmin, "/registry/businesses/" + uscc},
		{domain.RoleAdmin, "/registry/teams"},
		{domain.RoleAdmin, "/registry/teams/" + team},
		{domain.RoleAdmin, "/registry/inspectors"},
		{domain.RoleAdmin, "/registry/regions"},
		{domain.RoleAdmin, "/registry/items"},
		{domain.RoleAdmin, "/registry/scenarios"},
		{domain.RoleAdmin, "/imports"},
		{domain.RoleTeamLeader, "/registry/businesses"},
		{"", "/results"},
		{"", "/login"},
	}
	// Words the data or the trade use as they are.
	allowed := map[string]bool{"km": true, "English": true, "iCalendar": true, "Excel": true, "xlsx": true, "Redis": true,
		"Ctrl": true}
	latin := regexp.MustCompile(`[A-Za-z][A-Za-z']{2,}`)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	found := map[string][]string{}
	for _, pg := range pages {
		req, err := http.NewRequest(http.MethodGet, b.URL+pg.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", "zh-CN")
		if pg.role != "" {
			req.Header.Set("Authorization", "Bearer "+b.Tokens[pg.role])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s as %s: status %d", pg.path, pg.role, resp.StatusCode)
			continue
		}
		for _, text := range visibleText(t, string(body)) {
			for _, w := range latin.FindAllString(text, -1) {
				if allowed[w] || isCode(text, w) {
					continue
				}
				key := fmt.Sprintf("%s (%s)", pg.path, pg.role)
				found[key] = append(found[key], strings.TrimSpace(text))
				break
			}
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		seen := map[string]bool{}
		var texts []string
		for _, s := range found[k] {
			if !seen[s] && len(texts) < 8 {
				seen[s] = true
				texts = append(texts, fmt.Sprintf("%q", s))
			}
		}
		t.Errorf("%s shows English on a Chinese page: %s", k, strings.Join(texts, ", "))
	}
}

// isCode reports whether word w of text is part of a code: a USCC, a
// certificate or item code (letters with digits or dashes), a visit code,
// or a URL.
func isCode(text, w string) bool {
	for _, tok := range strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '，' || r == '、' || r == '（' || r == '）' || r == '(' || r == ')' || r == '：' || r == '·'
	}) {
		if !strings.Contains(tok, w) {
			continue
		}
		if strings.ContainsAny(tok, "0123456789-_/.:@+") {
			return true
		}
		// A visit code: base32, and now and then without a digit.
		if tok == w {
			if _, err := visitcode.Decode(w); err == nil {
				return true
			}
		}
	}
	// SCJG, XFJY, KTV: department codes and the capitals business names use.
	if strings.ToUpper(w) == w && len(w) <= 5 {
		return true
	}
	return false
}

// visibleText returns the text nodes a reader sees: not scripts, styles,
// or attribute values, except the title, placeholder and aria-label/alt
// texts a reader also meets.
func visibleText(t *testing.T, page string) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "script", "style", "noscript":
				return
			}
			// translate="no" marks what is data or a command as written
			// (a token's name, an actor, a command line): not the page's text.
			for _, a := range n.Attr {
				if a.Key == "translate" && a.Val == "no" {
					return
				}
			}
			for _, a := range n.Attr {
				switch a.Key {
				case "title", "placeholder", "aria-label", "alt":
					if strings.TrimSpace(a.Val) != "" {
						out = append(out, a.Val)
					}
				}
			}
		}
		if n.Type == html.TextNode && strings.TrimSpace(n.Data) != "" {
			out = append(out, n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}
