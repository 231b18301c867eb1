package api

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestListAppendedMatchesJSON checks that a list of businesses written by
// hand (listAppended) is byte for byte what c.JSON wrote for it: items shown
// and withheld, with and without a next cursor, and an empty page; and that
// ?pretty still indents it as c.JSON does.
func TestListAppendedMatchesJSON(t *testing.T) {
	at := time.Date(2026, 12, 8, 7, 0, 40, 452633000, time.FixedZone("CST", 8*3600))
	shown := domain.Business{USCC: "9133092200DLE7WNCC", Name: "俞家<海鲜>面馆 & co", Address: "菜园镇", RegionID: 13,
		IndustryCode: "H6291", Lat: 30.73545, Lng: 122.444972, RiskCode: domain.RiskGreen, RiskSetAt: at, RiskReason: "上次检查合规",
		ListKind: domain.ListRandom, ContactName: "方浩强", ContactPhone: "13351583649", CreatedAt: at, UpdatedAt: at}
	withheld := shown
	withheld.USCC, withheld.ContactWithheld, withheld.ContactName, withheld.ContactPhone = "913309220G5CXD962B", true, "", ""
	e := echo.New()
	for name, p := range map[string]store.Paged[domain.Business]{
		"empty": {}, "one": {Items: []domain.Business{shown}},
		"page": {Items: []domain.Business{shown, withheld}, Next: "913309220G5CXD962B"},
	} {
		for _, query := range []string{"", "?pretty"} {
			rec := httptest.NewRecorder()
			if err := list(e.NewContext(httptest.NewRequest(http.MethodGet, "/x"+query, nil), rec), p); err != nil {
				t.Fatal(err)
			}
			items := p.Items
			if items == nil {
				items = []domain.Business{}
			}
			want := httptest.NewRecorder()
			if err := e.NewContext(httptest.NewRequest(http.MethodGet, "/x"+query, nil), want).
				JSON(http.StatusOK, listResponse[domain.Business]{Items: items, NextCursor: p.Next}); err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != want.Body.String() || rec.Code != want.Code ||
				rec.Header().Get(echo.HeaderContentType) != want.Header().Get(echo.HeaderContentType) {
				t.Errorf("%s%s: %d %s %s\nwant %d %s %s", name, query, rec.Code, rec.Header().Get(echo.HeaderContentType), rec.Body,
					want.Code, want.Header().Get(echo.HeaderContentType), want.Body)
			}
			if n := rec.Header().Get(echo.HeaderContentLength); query == "" && n != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("%s: Content-Length %q for %d bytes", name, n, rec.Body.Len())
			}
		}
	}
}
