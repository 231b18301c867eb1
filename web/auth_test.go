package web

import (
	"net/url"
	"strings"
	"testing"
)

// TestSafeNext: after sign-in the browser goes to a path on this site. Every
// spelling that a browser (which drops tabs and newlines and reads "\" as
// "/") or a decoding proxy could turn into another site is refused.
func TestSafeNext(t *testing.T) {
	for _, tc := range []struct {
		next, want string
	}{
		{"", "/"},
		{"/", "/"},
		{"/plans", "/plans"},
		{"/plans?status=draft&page=2", "/plans?status=draft&page=2"},
		{"/teams/3/rosters/2026-11-23", "/teams/3/rosters/2026-11-23"},
		{"/inspect?date=2026-11-23#v1", "/inspect?date=2026-11-23#v1"},
		{"/businesses/91330922000000001H/schedule?lang=en", "/businesses/91330922000000001H/schedule?lang=en"},
		{"/search?q=%E9%A4%90", "/search?q=%E9%A4%90"},
		{"/.//plans", "/.//plans"},
		// Off-site, however spelt.
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"\t//evil.example", "/"},
		{" //evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/\\/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%0a/evil.example", "/"},
		{"/%0D%0A/evil.example", "/"},
		{"/%5C/evil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"%2F%2Fevil.example", "/"},
		{"/%252F/evil.example", "/"},
		{"/%25252F/evil.example", "/"},
		{"/%zz", "/"},
		{"https:evil.example", "/"},
		{"https://evil.example/", "/"},
		{"http:/evil.example", "/"},
		{"HTTPS://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"evil.example", "/"},
		{"plans", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/" + strings.Repeat("a", 5000), "/"},
	} {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// FuzzSafeNext: whatever safeNext passes stays on this site once a browser
// has cleaned it and a proxy has decoded it.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/plans", "//evil", "/\t/evil", "/%09/evil", "/\\evil", "https:evil", "/%2F%2F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "/" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		for form := next; ; {
			if !localPath(form) {
				t.Fatalf("safeNext passed %q, whose form %q leaves the site", next, form)
			}
			u, err := url.Parse(form)
			if err == nil && (u.Scheme != "" || u.Host != "") {
				t.Fatalf("safeNext passed %q, whose form %q has a scheme or host", next, form)
			}
			dec, err := url.PathUnescape(form)
			if err != nil || dec == form {
				break
			}
			form = dec
		}
	})
}
