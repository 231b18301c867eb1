package configs

import (
	"strings"
	"testing"

	"inspectonce/messages"
)

// TestLanguages: Chinese by default for notices of every recipient kind and
// for the service's own texts; English on request through the environment;
// anything else refused naming the key.
func TestLanguages(t *testing.T) {
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Notifications.Language
	for _, l := range []string{c.Language, n.Inspector, n.Team, n.Business} {
		if Lang(l) != messages.ZH {
			t.Fatalf("default language %q, want zh: %+v", l, n)
		}
	}
	c, err = Load("", []string{"INSPECTONCE_NOTIFICATIONS_LANGUAGE_BUSINESS=en", "INSPECTONCE_LANGUAGE=en"})
	if err != nil {
		t.Fatal(err)
	}
	if Lang(c.Notifications.Language.Business) != messages.EN || Lang(c.Notifications.Language.Team) != messages.ZH ||
		Lang(c.Language) != messages.EN {
		t.Fatalf("env override: %q, %+v", c.Language, c.Notifications.Language)
	}
	_, err = Load("", []string{"INSPECTONCE_NOTIFICATIONS_LANGUAGE_TEAM=fr"})
	if err == nil || !strings.Contains(err.Error(), "notifications.language.team") || !strings.Contains(err.Error(), "zh or en") {
		t.Fatalf("a bad language: %v", err)
	}
}
