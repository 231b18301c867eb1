package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
)

func init() {
	browserScenarios["login"] = browserLogin
}

// browserLogin: a bad token is refused on the login page with a message; a
// good one lands on the role's page; signing out forgets the session.
func browserLogin(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Open(t, ctx, "/")
	loc := b.Location(t, ctx)
	if !strings.Contains(loc, "/login?next=") {
		t.Fatalf("signed-out visit to / went to %s, want the login page", loc)
	}
	b.Screenshot(t, ctx, "login")
	b.LoginTokenExpectError(t, ctx, "io_not-a-token")
	if got := b.Texts(t, ctx, "p.error"); len(got) != 1 || got[0] == "" {
		t.Fatalf("bad token: error texts %q, want one message", got)
	}
	b.Login(t, ctx, domain.RoleAdmin)
	loc = b.Location(t, ctx)
	if !strings.HasSuffix(loc, "/plans") {
		t.Fatalf("admin landed on %s, want /plans", loc)
	}
	who := b.Attrs(t, ctx, ".who", "data-role")
	if len(who) != 1 || who[0] != "admin" {
		t.Fatalf("header shows role %q, want admin", who)
	}
	if err := chromedp.Run(ctx, chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#token`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	b.Open(t, ctx, "/plans")
	loc = b.Location(t, ctx)
	if !strings.Contains(loc, "/login") {
		t.Fatalf("after sign-out /plans went to %s, want the login page", loc)
	}
}
