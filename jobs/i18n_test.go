package jobs

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
	"time"

	"inspectonce/messages"
	"inspectonce/store"
)

// zhFixture is a visit as a Chinese county's data would have it: every name
// Chinese, so English in a notice can only come from the notice's own words.
func zhFixture() store.DispatchVisit {
	day := time.Date(2026, 12, 10, 0, 0, 0, 0, time.UTC)
	return store.DispatchVisit{PlanID: 7, Seq: 3, Date: day, OriginalDate: day.AddDate(0, 0, -1), Revision: 1,
		EarliestDate: day.AddDate(0, 0, -1), USCC: "91330922MA2A0000X1", BusinessName: "岱山县海鲜大排档",
		Address: "岱山县高亭镇渔港路8号", TeamID: 2, TeamName: "高亭执法中队", TeamPhone: "0580-4470001",
		RouteOrder: 2, DurationMinutes: 60,
		Inspectors: []store.VisitPerson{{ID: 11, Name: "王伟", Role: "lead"}, {ID: 12, Name: "李娜", Role: "member"}},
		Leaders:    []store.VisitPerson{{ID: 30, Name: "陈队长"}},
		Items: []store.VisitItem{{ItemID: 1, Name: "食品经营许可检查", Department: "市场监管局", DemandID: 1, AnnounceDays: 3},
			{ItemID: 2, Name: "消防安全检查", Department: "消防救援大队", DemandID: 2, AnnounceDays: 5}},
		CodeURL: "https://inspect.example.gov.cn/v/AbCdEf123"}
}

// allNoticesZH builds a notice of every kind for the fixture visit, in
// langs.
func allNotices(langs NoticeLanguages) []store.NewNotification {
	v := zhFixture()
	var ns []store.NewNotification
	ns = append(ns, VisitNotices(&v, shanghai, langs)...)
	ns = append(ns, ReminderNotices(&v, langs)...)
	rd := store.RosterDay{Day: v.Date, Visits: []store.DispatchVisit{v}}
	ns = append(ns, rosterNotices(rd, true, langs)...)
	// An updated roster (sent before with other visits) and an emptied one.
	rd.Latest = map[int64]store.RosterNotice{
		v.TeamID: {TeamID: v.TeamID, Body: json.RawMessage(`{"team":"高亭执法中队","visits":[]}`), Sent: 1},
		5:        {TeamID: 5, Body: json.RawMessage(`{"team":"东沙执法中队","visits":[{"plan_id":1,"visit_seq":1}]}`), Sent: 1},
	}
	ns = append(ns, rosterNotices(rd, false, langs)...)
	ns = append(ns, MoveNotices(&v, []store.VisitMove{{PlanID: v.PlanID, VisitSeq: v.Seq, Revision: 1,
		OriginalDate: "2026-12-09", FromDate: "2026-12-09", ToDate: "2026-12-10", Reason: "企业停业装修",
		MovedAt: time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)}}, shanghai, langs)...)
	ns = append(ns, CodeNotices(&v, codeInfo{Code: "AbCdEf123", Generation: 1, Reason: "通知书遗失",
		RevokedAt: time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)}, shanghai, langs)...)
	ns = append(ns, AmendNotices(&v, []store.VisitAmendment{{ByPlanID: 9, AddedMinutes: 20, AddedInspectorIDs: []int64{12},
		Items: []store.VisitItem{{ItemID: 3, Name: "特种设备安全检查", Department: "市场监管局", DemandID: 3, AnnounceDays: 2}}}},
		shanghai, langs)...)
	ns = append(ns, RestaffNotices(&v, []store.VisitSubstitution{{PlanID: v.PlanID, VisitSeq: v.Seq, Seq: 1, Ord: 1,
		OutID: 12, OutName: "李娜", InID: 13, InName: "张敏", Date: "2026-12-10", Reason: "年休假"}}, langs)...)
	return ns
}

var (
	// What a Chinese text may carry in Latin letters: URLs, USCCs, and
	// nothing else of the fixture.
	allowedLatin = regexp.MustCompile(`https?://\S+|[0-9A-Z]{18}`)
	// An English word, or an API field name (snake_case): three Latin
	// letters or underscores in a row.
	latinWord = regexp.MustCompile(`[A-Za-z_]{3,}`)
)

// bodyText is the "text" field of a notice's body.
func bodyText(t *testing.T, n store.NewNotification) string {
	t.Helper()
	b, err := json.Marshal(n.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m["text"].(string)
	return s
}

// TestNoticesInChinese: every notice kind, to every recipient kind, rendered
// with the default languages has a Chinese title and body text with no
// English word or API field name in them.
func TestNoticesInChinese(t *testing.T) {
	ns := allNotices(NoticeLanguages{})
	var kinds []string
	recipients := map[string]bool{}
	for _, n := range ns {
		if !slices.Contains(kinds, n.Kind) {
			kinds = append(kinds, n.Kind)
		}
		recipients[n.RecipientKind] = true
		text := bodyText(t, n)
		if n.Title == "" || text == "" {
			t.Errorf("%s to %s %s: title %q, text %q", n.Kind, n.RecipientKind, n.RecipientID, n.Title, text)
		}
		for _, s := range []string{n.Title, text} {
			if w := latinWord.FindString(allowedLatin.ReplaceAllString(s, "")); w != "" {
				t.Errorf("%s to %s: %q in %q", n.Kind, n.RecipientKind, w, s)
			}
		}
	}
	slices.Sort(kinds)
	want := slices.Clone(store.NoticeKinds)
	slices.Sort(want)
	if !slices.Equal(kinds, want) {
		t.Errorf("notice kinds rendered %v, want every kind %v", kinds, want)
	}
	if len(recipients) != 3 {
		t.Errorf("recipient kinds %v, want inspector, team and business", recipients)
	}
}

// TestNoticesOnRequestInEnglish: a recipient kind configured in English gets
// English titles and texts; the others keep Chinese; bodies' data fields do
// not change.
func TestNoticesOnRequestInEnglish(t *testing.T) {
	zh := allNotices(NoticeLanguages{})
	en := allNotices(NoticeLanguages{Team: messages.EN})
	if len(zh) != len(en) {
		t.Fatalf("%d notices in zh, %d with the team in en", len(zh), len(en))
	}
	han := regexp.MustCompile(`\p{Han}`)
	for i := range zh {
		z, e := zh[i], en[i]
		if e.RecipientKind != store.RecipientTeam {
			if z.Title != e.Title {
				t.Errorf("%s to %s changed: %q / %q", z.Kind, z.RecipientKind, z.Title, e.Title)
			}
			continue
		}
		// The team's notices: only data (names, addresses) is Chinese.
		title := e.Title
		for _, data := range []string{"高亭执法中队", "东沙执法中队", "岱山县海鲜大排档", "张敏", "李娜", "年休假", "企业停业装修", "通知书遗失"} {
			title = regexp.MustCompile(data).ReplaceAllString(title, "")
		}
		if han.MatchString(title) || z.Title == e.Title {
			t.Errorf("%s to the team in English: %q", e.Kind, e.Title)
		}
		zb, _ := json.Marshal(z.Body)
		eb, _ := json.Marshal(e.Body)
		var zm, em map[string]any
		_ = json.Unmarshal(zb, &zm)
		_ = json.Unmarshal(eb, &em)
		delete(zm, "text")
		delete(em, "text")
		if a, b := mustJSON(t, zm), mustJSON(t, em); a != b {
			t.Errorf("%s: data fields differ by language:\n%s\n%s", e.Kind, a, b)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
