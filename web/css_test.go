package web

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// classAttr finds class attributes in a template; template actions inside
// them ({{if ...}} warn{{end}}) are dropped before the names are read.
var (
	classAttr = regexp.MustCompile(`class="([^"]*)"`)
	action    = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

// TestTemplateClassesStyled: every class a page's template uses has a rule
// in app.css, so no block of the page is left unstyled (the publication
// dashboard's headline cards once were).
func TestTemplateClassesStyled(t *testing.T) {
	css, err := os.ReadFile("static/app.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range []string{"publication.html", "results.html"} {
		t.Run(page, func(t *testing.T) {
			b, err := os.ReadFile("templates/" + page)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for _, m := range classAttr.FindAllStringSubmatch(string(b), -1) {
				for _, c := range strings.Fields(action.ReplaceAllString(m[1], " ")) {
					if seen[c] {
						continue
					}
					seen[c] = true
					if !regexp.MustCompile(`\.` + regexp.QuoteMeta(c) + `([^-\w]|$)`).Match(css) {
						t.Errorf("class %q is used in %s and has no rule in app.css", c, page)
					}
				}
			}
			if len(seen) == 0 {
				t.Fatal("no classes found: the test reads nothing")
			}
		})
	}
}
