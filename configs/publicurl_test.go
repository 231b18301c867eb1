package configs

import (
	"strings"
	"testing"
)

func TestPublicBaseURL(t *testing.T) {
	for _, tc := range []struct {
		env, want string
		ok        bool
	}{
		{"", "http://localhost:8080", true},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://inspect.example.gov.cn/", "https://inspect.example.gov.cn", true},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://example.gov.cn/inspect", "https://example.gov.cn/inspect", true},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=ftp://example.gov.cn", "", false},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=example.gov.cn", "", false},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=https://example.gov.cn/?a=1", "", false},
		{"INSPECTONCE_HTTP_PUBLIC_BASE_URL=", "", false},
	} {
		var env []string
		if tc.env != "" {
			env = []string{tc.env}
		}
		cfg, err := Load("", env)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.env, err)
		case tc.ok && cfg.HTTP.PublicBaseURL != tc.want:
			t.Errorf("%s: public base URL %q, want %q", tc.env, cfg.HTTP.PublicBaseURL, tc.want)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "http.public_base_url")):
			t.Errorf("%s: error %v, want one naming http.public_base_url", tc.env, err)
		}
	}
}
