package api

import (
	"encoding/json"
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

// TestRosterResponseJSON checks that a roster answer written by hand is byte
// for byte what c.JSON wrote: stops shown and withheld, a moved one, a
// checklist and people empty or missing, with and without totals, days away
// and closures present, empty or missing, text that needs escaping.
func TestRosterResponseJSON(t *testing.T) {
	at := time.Date(2026, 12, 8, 7, 0, 40, 452633000, time.FixedZone("CST", 8*3600))
	repair := int64(7)
	shown := store.RosterVisit{PlanID: 2, VisitSeq: 33, Revision: 0, RouteOrder: 1, DurationMinutes: 30, TravelMinutes: 2,
		Business: store.RosterBusiness{USCC: "913309224A7RU0NM9U", Name: "嵊泗<碧海>酒家 & co", Address: "菜园镇\n南长涂路", Lat: 30.727231,
			Lng: 122.448946, ContactName: "胡秀燕", ContactPhone: "15585113813"},
		Items: []store.RosterItem{{ID: 6, Code: "SCJG-06", Name: "网络经营主体信息公示", DepartmentID: 1, DepartmentCode: "SCJG",
			DepartmentName: "市场监督管理局", LegalBasis: "《电子商务法》第十五条", Minutes: 15}},
		Inspectors: []store.RosterInspector{{ID: 116, Name: "傅伟明", Phone: "13205207232", Role: "lead"}, {ID: 32, Name: "黄峰帆", Role: "member"}},
		Code:       "abc_DEF-123", CodeURL: "http://127.0.0.1:8080/v/abc_DEF-123?x=1&y=<2>"}
	moved := shown
	moved.OriginalDate, moved.Revision, moved.Items, moved.Inspectors, moved.CodeURL = "2026-12-09", 2, []store.RosterItem{}, nil, ""
	moved.Business.ContactWithheld, moved.Business.ContactName, moved.Business.ContactPhone = true, "", ""
	team := store.RosterTeam{ID: 11, Code: "CYZ", Name: "菜园镇中队", ContactPhone: "0580-1234", BaseLat: 30.7, BaseLng: 122.45}
	for name, r := range map[string]rosterResponse{
		"full": {Roster: store.Roster{Team: team, Date: "2026-12-08", Totals: &store.RosterTotals{TravelKm: 7.25, WorkMinutes: 90, TravelMinutes: 17},
			Visits: []store.RosterVisit{shown, moved}},
			Away: []store.Away{{Unavailability: store.Unavailability{ID: 1, InspectorID: 116, TeamID: 11, From: "2026-12-08", To: "2026-12-09",
				Reason: "病假 <急>", CreatedBy: "admin", CreatedAt: at, RepairID: &repair}, InspectorCode: "I1", InspectorName: "傅伟明"}},
			Closures: []store.ClosureNote{{Closure: store.Closure{ID: 3, RegionID: &repair, From: "2026-12-08", To: "2026-12-08", Reason: "台风",
				CreatedAt: at}, Code: "CYZ", Name: "菜园镇"}}},
		"empty day": {Roster: store.Roster{Team: team, Date: "2026-12-10", Visits: []store.RosterVisit{}}, Away: []store.Away{},
			Closures: []store.ClosureNote{}},
		"nils": {Roster: store.Roster{Team: team, Date: "2026-12-10"}},
	} {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.appendJSON(nil)
		if err != nil || string(got) != string(want)+"\n" {
			t.Errorf("%s: %s, %v\nwant %s", name, got, err, want)
		}
	}
}
