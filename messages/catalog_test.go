package messages

import (
	"slices"
	"strings"
	"testing"
)

// TestCatalog: every key of the shared catalog has a text in both languages,
// and both use the same placeholders.
func TestCatalog(t *testing.T) {
	if len(Keys()) == 0 {
		t.Fatal("empty catalog")
	}
	for _, err := range Check() {
		t.Error(err)
	}
}

func TestPlaceholders(t *testing.T) {
	cases := []struct {
		format string
		want   []string
	}{
		{"plain", nil},
		{"100%% sure", nil},
		{"%s on %s", []string{"1:s", "2:s"}},
		{"%[2]s 检查 %[1]s（%[3]d）", []string{"1:s", "2:s", "3:d"}},
		{"%v and %q", []string{"1:s", "2:s"}},
		{"%.1f %%, %[1]d", []string{"1:d", "1:f"}},
		{"%[2]s then %s", []string{"2:s", "3:s"}},
	}
	for _, c := range cases {
		if got := Placeholders(c.format); !slices.Equal(got, c.want) {
			t.Errorf("Placeholders(%q) = %v, want %v", c.format, got, c.want)
		}
	}
}

// TestCheckFindsFaults: Check names a key missing a language and one whose
// languages use different placeholders (so TestCatalog can fail).
func TestCheckFindsFaults(t *testing.T) {
	Add(map[string][2]string{
		"test.fault.empty":  {"有", ""},
		"test.fault.places": {"%[1]s 和 %[2]d", "%s"},
	})
	defer func() {
		mu.Lock()
		delete(catalog, "test.fault.empty")
		delete(catalog, "test.fault.places")
		mu.Unlock()
	}()
	var got []string
	for _, err := range Check() {
		got = append(got, err.Error())
	}
	all := strings.Join(got, "\n")
	if !strings.Contains(all, "test.fault.empty") || !strings.Contains(all, "test.fault.places") {
		t.Fatalf("Check missed the faults: %s", all)
	}
}

func TestLang(t *testing.T) {
	if got := ZH.T("risk.code.red"); got != "红码" {
		t.Errorf("zh red = %q", got)
	}
	if got := EN.T("risk.visit", 3, 12, "2026-03-05"); got != "plan 3 visit 12 (2026-03-05)" {
		t.Errorf("en visit = %q", got)
	}
	if got := ZH.T("no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q", got)
	}
	if got := ZH.Date("2026-12-10"); got != "2026年12月10日" {
		t.Errorf("zh date = %q", got)
	}
	if got := EN.List([]string{"a", "b"}); got != "a, b" {
		t.Errorf("en list = %q", got)
	}
	if got := ZH.List(nil); got != "无" {
		t.Errorf("zh empty list = %q", got)
	}
	if l := Lang("").OrDefault(); l != ZH {
		t.Errorf("default = %q", l)
	}
}
