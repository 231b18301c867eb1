package configs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRateLimitDefaults: every class is on by default, with the figures the
// README states.
func TestRateLimitDefaults(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	rl := c.HTTP.RateLimits
	for name, want := range map[string]struct {
		got   RateLimit
		rate  float64
		burst int
	}{
		"code_page": {rl.CodePage, 2, 60}, "open_data": {rl.OpenData, 5, 120},
		"login": {rl.Login, 0.1667, 10}, "writes": {rl.Writes, 20, 200},
	} {
		if want.got.Rate != want.rate || want.got.Burst != want.burst || !want.got.Enabled() {
			t.Errorf("%s: %+v, want rate %v burst %d", name, want.got, want.rate, want.burst)
		}
	}
	if rl.MaxClients != 50000 || c.HTTP.MetricsAddr != "" || len(c.HTTP.TrustedProxies) != 0 {
		t.Errorf("max_clients %d, metrics_addr %q, trusted_proxies %v", rl.MaxClients, c.HTTP.MetricsAddr, c.HTTP.TrustedProxies)
	}
}

// TestRateLimitOverrides: rates are numbers with a fraction, 0 turns a limit
// off, and a file sets them too.
func TestRateLimitOverrides(t *testing.T) {
	c, err := Load("", []string{"INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=0.5", "INSPECTONCE_HTTP_RATE_LIMITS_CODE_PAGE_RATE=0",
		"INSPECTONCE_HTTP_TRUSTED_PROXIES=10.0.0.5, 10.1.0.0/16,::1", "INSPECTONCE_HTTP_METRICS_ADDR=127.0.0.1:9090"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.RateLimits.Login.Rate != 0.5 || c.HTTP.RateLimits.CodePage.Enabled() || len(c.HTTP.TrustedProxies) != 3 ||
		c.HTTP.MetricsAddr != "127.0.0.1:9090" {
		t.Errorf("overrides: %+v", c.HTTP)
	}
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("http:\n  rate_limits:\n    writes: {rate: 0, burst: 0}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Load(f, nil); err != nil || c.HTTP.RateLimits.Writes.Enabled() || !c.HTTP.RateLimits.CodePage.Enabled() {
		t.Errorf("file: %v %+v", err, c.HTTP.RateLimits)
	}
}

func TestRateLimitBadValuesNameTheKey(t *testing.T) {
	tests := []struct{ env, want string }{
		{"INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=fast", "INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE"},
		{"INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=-1", "http.rate_limits.login.rate"},
		{"INSPECTONCE_HTTP_RATE_LIMITS_LOGIN_RATE=NaN", "http.rate_limits.login.rate"},
		{"INSPECTONCE_HTTP_RATE_LIMITS_WRITES_BURST=-5", "http.rate_limits.writes.burst"},
		{"INSPECTONCE_HTTP_RATE_LIMITS_MAX_CLIENTS=0", "http.rate_limits.max_clients"},
		{"INSPECTONCE_HTTP_TRUSTED_PROXIES=10.0.0.0/8,proxy.local", "http.trusted_proxies[1]"},
		{"INSPECTONCE_HTTP_METRICS_ADDR=9090", "http.metrics_addr"},
	}
	for _, tt := range tests {
		_, err := Load("", []string{tt.env})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to name %s", tt.env, err, tt.want)
		}
	}
}
