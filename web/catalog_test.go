package web

import (
	"testing"

	"inspectonce/messages"
)

// TestCatalogComplete: the whole catalog as the web process registers it
// (every page's texts and the shared notice, risk and demand texts) has both
// languages for every key and the same placeholders in both.
func TestCatalogComplete(t *testing.T) {
	if !messages.Has("app.name") || !messages.Has("notice.assignment.title") {
		t.Fatal("pages' or shared texts are not in the catalog")
	}
	for _, err := range messages.Check() {
		t.Error(err)
	}
}
