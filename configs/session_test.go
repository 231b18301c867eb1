package configs

import (
	"strings"
	"testing"
	"time"
)

// TestSessionAndCookieKeys: session lifetimes, secure_cookies and
// webhooks.allow_private have defaults, take environment overrides and
// refuse bad values naming the key.
func TestSessionAndCookieKeys(t *testing.T) {
	cfg, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Session.Idle != 2*time.Hour || cfg.HTTP.Session.Absolute != 12*time.Hour ||
		cfg.HTTP.SecureCookies != "auto" || cfg.Webhooks.AllowPrivate {
		t.Fatalf("defaults: session %+v, secure_cookies %q, allow_private %v", cfg.HTTP.Session, cfg.HTTP.SecureCookies, cfg.Webhooks.AllowPrivate)
	}
	cfg, err = Load("", []string{"INSPECTONCE_HTTP_SESSION_IDLE=30m", "INSPECTONCE_HTTP_SESSION_ABSOLUTE=8h",
		"INSPECTONCE_HTTP_SECURE_COOKIES=always", "INSPECTONCE_WEBHOOKS_ALLOW_PRIVATE=true"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Session.Idle != 30*time.Minute || cfg.HTTP.Session.Absolute != 8*time.Hour ||
		cfg.HTTP.SecureCookies != "always" || !cfg.Webhooks.AllowPrivate {
		t.Fatalf("overrides: %+v %q %v", cfg.HTTP.Session, cfg.HTTP.SecureCookies, cfg.Webhooks.AllowPrivate)
	}
	for _, tc := range []struct{ env, key string }{
		{"INSPECTONCE_HTTP_SECURE_COOKIES=sometimes", "http.secure_cookies"},
		{"INSPECTONCE_HTTP_SESSION_IDLE=0s", "http.session.idle"},
		{"INSPECTONCE_HTTP_SESSION_ABSOLUTE=1h", "http.session.absolute"}, // shorter than idle (2h)
		{"INSPECTONCE_HTTP_SESSION_IDLE=soon", "INSPECTONCE_HTTP_SESSION_IDLE"},
	} {
		if _, err := Load("", []string{tc.env}); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("%s: error %v, want one naming %s", tc.env, err, tc.key)
		}
	}
}

func TestCookieSecure(t *testing.T) {
	for _, tc := range []struct {
		mode, base string
		tls, want  bool
	}{
		{"auto", "http://localhost:8080", false, false},
		{"auto", "http://localhost:8080", true, true},
		{"auto", "https://inspect.example.gov.cn", false, true},
		{"always", "http://localhost:8080", false, true},
		{"never", "https://inspect.example.gov.cn", true, false},
	} {
		h := HTTP{SecureCookies: tc.mode, PublicBaseURL: tc.base}
		if got := h.CookieSecure(tc.tls); got != tc.want {
			t.Errorf("%s, %s, tls %v: Secure %v, want %v", tc.mode, tc.base, tc.tls, got, tc.want)
		}
	}
}
