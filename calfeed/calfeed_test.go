package calfeed_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"inspectonce/calfeed"
	"inspectonce/store"
)

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var stamp = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)

func schedule() store.BusinessSchedule {
	published := time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)
	moved := time.Date(2026, 11, 22, 3, 4, 5, 0, time.UTC)
	return store.BusinessSchedule{
		// Characters RFC 5545 escapes in text: comma, semicolon, backslash, newline.
		Business: store.ScheduleBusiness{USCC: "91330922000000001X", Name: "海鲜大排档, 嵊泗; 分店\\一号",
			Address: "菜园镇东海路 88 号\n（近码头）"},
		Visits: []store.ScheduleVisit{
			{PlanID: 3, VisitSeq: 7, UID: store.VisitUID(3, 7), Date: "2026-12-01", StartTime: "09:00", EndTime: "17:00",
				Announced: true, Status: store.VisitPlanned, Revision: 0, UpdatedAt: published,
				LeadTeam: store.ScheduleTeam{ID: 1, Name: "综合行政执法队", ContactPhone: "0580-5081234"}, LeadInspector: "王芳",
				Departments: []store.ScheduleDepartment{
					{ID: 1, Code: "SCJG", Name: "市场监管", Items: []store.ScheduleItem{
						{ID: 1, Code: "SCJG-01", Name: "食品贮存", LegalBasis: "《食品安全法》第五十四条"},
						{ID: 2, Code: "SCJG-02", Name: "从业人员健康证明"}}},
					{ID: 2, Code: "XFJY", Name: "消防", Items: []store.ScheduleItem{{ID: 3, Code: "XFJY-01", Name: "消防设施"}}},
				}},
			{PlanID: 4, VisitSeq: 2, UID: store.VisitUID(4, 2), Date: "2026-12-08", OriginalDate: "2026-12-03", Revision: 2,
				StartTime: "09:00", EndTime: "17:00", Announced: true, Status: store.VisitPlanned, UpdatedAt: moved,
				LeadTeam: store.ScheduleTeam{ID: 1, Name: "综合行政执法队"},
				Departments: []store.ScheduleDepartment{
					{ID: 2, Code: "XFJY", Name: "消防", Items: []store.ScheduleItem{{ID: 3, Code: "XFJY-01", Name: "消防设施"}}},
				}},
		},
	}
}

// parse reads a feed with an independent parser, checks what RFC 5545 asks of
// the text itself, and re-encodes it with the same library, whose encoder
// refuses a calendar or event that lacks a required property or repeats one
// that may appear once.
func parse(t *testing.T, b []byte) *ical.Calendar {
	t.Helper()
	for i, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
		if len(line) > 75 {
			t.Errorf("line %d has %d octets (more than 75): %q", i+1, len(line), line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
	}
	if !bytes.HasSuffix(b, []byte("END:VCALENDAR\r\n")) {
		t.Errorf("feed does not end with END:VCALENDAR CRLF: %q", b[max(0, len(b)-40):])
	}
	cal, err := ical.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b)
	}
	var out bytes.Buffer
	if err := ical.NewEncoder(&out).Encode(cal); err != nil {
		t.Fatalf("the parsed feed is not a valid calendar: %v\n%s", err, b)
	}
	return cal
}

func text(t *testing.T, props ical.Props, name string) string {
	t.Helper()
	s, err := props.Text(name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestBusinessFeed(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	s := schedule()
	c, err := calfeed.Business(s, sh, stamp)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := calfeed.Encode(&b, c); err != nil {
		t.Fatal(err)
	}
	cal := parse(t, b.Bytes())
	for name, want := range map[string]string{
		ical.PropVersion: "2.0", ical.PropProductID: calfeed.ProductID, ical.PropMethod: "PUBLISH",
		"X-WR-CALNAME": s.Business.Name + " 检查日程", "X-WR-TIMEZONE": "Asia/Shanghai",
	} {
		if got := text(t, cal.Props, name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	events := cal.Events()
	if len(events) != 2 {
		t.Fatalf("%d events, want 2", len(events))
	}
	for i, c := range []struct {
		uid         string
		seq         int
		start, end  time.Time
		summary     string
		modified    time.Time
		description []string
	}{
		{"visit-3-7@inspectonce", 0, time.Date(2026, 12, 1, 9, 0, 0, 0, sh), time.Date(2026, 12, 1, 17, 0, 0, 0, sh),
			"联合检查：市场监管、消防", s.Visits[0].UpdatedAt,
			[]string{"- 市场监管：食品贮存（依据：《食品安全法》第五十四条）", "- 市场监管：从业人员健康证明", "- 消防：消防设施",
				"牵头执法队：综合行政执法队，联系电话 0580-5081234", "带队检查人员：王芳"}},
		{"visit-4-2@inspectonce", 2, time.Date(2026, 12, 8, 9, 0, 0, 0, sh), time.Date(2026, 12, 8, 17, 0, 0, 0, sh),
			"检查：消防", s.Visits[1].UpdatedAt, []string{"已改期（原定 2026-12-03）", "- 消防：消防设施"}},
	} {
		e := events[i]
		if got := text(t, e.Props, ical.PropUID); got != c.uid {
			t.Errorf("event %d: UID %q, want %q", i, got, c.uid)
		}
		if seq, err := e.Props.Get(ical.PropSequence).Int(); err != nil || seq != c.seq {
			t.Errorf("event %d: SEQUENCE %d (%v), want %d", i, seq, err, c.seq)
		}
		if p := e.Props.Get(ical.PropDateTimeStart); p.Params.Get(ical.ParamTimezoneID) != "Asia/Shanghai" {
			t.Errorf("event %d: DTSTART without TZID: %+v", i, p)
		}
		start, err := e.DateTimeStart(nil)
		if err != nil || !start.Equal(c.start) {
			t.Errorf("event %d: DTSTART %v (%v), want %v", i, start, err, c.start)
		}
		end, err := e.DateTimeEnd(nil)
		if err != nil || !end.Equal(c.end) {
			t.Errorf("event %d: DTEND %v (%v), want %v", i, end, err, c.end)
		}
		if ts, err := e.Props.DateTime(ical.PropDateTimeStamp, nil); err != nil || !ts.Equal(stamp) {
			t.Errorf("event %d: DTSTAMP %v (%v), want %v", i, ts, err, stamp)
		}
		if lm, err := e.Props.DateTime(ical.PropLastModified, nil); err != nil || !lm.Equal(c.modified) {
			t.Errorf("event %d: LAST-MODIFIED %v (%v), want %v", i, lm, err, c.modified)
		}
		if got := text(t, e.Props, ical.PropSummary); got != c.summary {
			t.Errorf("event %d: SUMMARY %q, want %q", i, got, c.summary)
		}
		if got := text(t, e.Props, ical.PropLocation); got != s.Business.Address {
			t.Errorf("event %d: LOCATION %q, want %q", i, got, s.Business.Address)
		}
		desc := text(t, e.Props, ical.PropDescription)
		for _, want := range c.description {
			if !strings.Contains(desc, want+"\n") && !strings.HasSuffix(desc, want) {
				t.Errorf("event %d: DESCRIPTION lacks line %q:\n%s", i, want, desc)
			}
		}
		if st, err := e.Status(); err != nil || st != ical.EventConfirmed {
			t.Errorf("event %d: STATUS %q (%v)", i, st, err)
		}
	}
}

// TestTimezone checks the VTIMEZONE that the TZID of every event needs: one
// observance per offset over the events, transitions where Go's zone data
// puts them.
func TestTimezone(t *testing.T) {
	for _, c := range []struct {
		zone  string
		dates []string // of the visits
		// observances: kind, DTSTART (the local time before the transition,
		// as tzdata's rules write it), TZOFFSETFROM, TZOFFSETTO, TZNAME
		want []string
	}{
		{"Asia/Shanghai", []string{"2026-12-01"},
			[]string{"STANDARD 19910915T020000 +0900 +0800 CST"}},
		{"Europe/London", []string{"2026-12-01"},
			[]string{"STANDARD 20261025T020000 +0100 +0000 GMT"}},
		// A summer visit and a winter one: the zone's offsets between them.
		{"Europe/London", []string{"2026-12-01", "2027-06-01"},
			[]string{"STANDARD 20261025T020000 +0100 +0000 GMT", "DAYLIGHT 20270328T010000 +0000 +0100 BST"}},
		{"Asia/Kolkata", []string{"2026-12-01"}, []string{"STANDARD 19451015T000000 +0630 +0530 IST"}},
	} {
		t.Run(c.zone+" "+strings.Join(c.dates, ","), func(t *testing.T) {
			loc := zone(t, c.zone)
			s := schedule()
			s.Visits = s.Visits[:1]
			for i, d := range c.dates[1:] {
				v := s.Visits[0]
				v.Date, v.VisitSeq, v.UID = d, 100+i, store.VisitUID(3, 100+i)
				s.Visits = append(s.Visits, v)
			}
			s.Visits[0].Date = c.dates[0]
			cf, err := calfeed.Business(s, loc, time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := calfeed.Encode(&b, cf); err != nil {
				t.Fatal(err)
			}
			cal := parse(t, b.Bytes())
			var got []string
			for _, tz := range cal.Children {
				if tz.Name != ical.CompTimezone {
					continue
				}
				if id := text(t, tz.Props, ical.PropTimezoneID); id != c.zone {
					t.Errorf("TZID %q", id)
				}
				for _, o := range tz.Children {
					got = append(got, strings.Join([]string{o.Name, tz0(o, ical.PropDateTimeStart), tz0(o, ical.PropTimezoneOffsetFrom),
						tz0(o, ical.PropTimezoneOffsetTo), tz0(o, ical.PropTimezoneName)}, " "))
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("observances\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			// Every local time reads back as the instant meant.
			for i, e := range cal.Events() {
				start, err := e.DateTimeStart(nil)
				if want := time.Date(0, 1, 1, 9, 0, 0, 0, loc); err != nil || start.In(loc).Hour() != want.Hour() ||
					start.In(loc).Format(time.DateOnly) != c.dates[i] {
					t.Errorf("event %d starts %v (%v)", i, start, err)
				}
			}
		})
	}
}

func tz0(c *ical.Component, name string) string {
	if p := c.Props.Get(name); p != nil {
		return p.Value
	}
	return "-"
}

func TestUTCFeedHasNoTimezone(t *testing.T) {
	c, err := calfeed.Business(schedule(), time.UTC, stamp)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := calfeed.Encode(&b, c); err != nil {
		t.Fatal(err)
	}
	cal := parse(t, b.Bytes())
	for _, ch := range cal.Children {
		if ch.Name == ical.CompTimezone {
			t.Error("a UTC feed has a VTIMEZONE")
		}
	}
	if p := cal.Events()[0].Props.Get(ical.PropDateTimeStart); p.Value != "20261201T090000Z" || p.Params.Get(ical.ParamTimezoneID) != "" {
		t.Errorf("DTSTART %+v", p)
	}
}

func TestEmptyFeedIsStillACalendar(t *testing.T) {
	s := schedule()
	s.Visits = nil
	c, err := calfeed.Business(s, zone(t, "Asia/Shanghai"), stamp)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := calfeed.Encode(&b, c); err != nil {
		t.Fatal(err)
	}
	// RFC 5545 wants at least one component: the VTIMEZONE is one.
	if cal := parse(t, b.Bytes()); len(cal.Events()) != 0 {
		t.Fatalf("events in an empty feed: %d", len(cal.Events()))
	}
}

func TestStaffFeed(t *testing.T) {
	sh := zone(t, "Asia/Shanghai")
	visit := func(seq int, date, start, end, role string, announced bool) store.CalendarVisit {
		return store.CalendarVisit{
			ScheduleVisit: store.ScheduleVisit{PlanID: 5, VisitSeq: seq, UID: store.VisitUID(5, seq), Date: date,
				StartTime: start, EndTime: end, Announced: announced,
				LeadTeam: store.ScheduleTeam{ID: 2, Name: "嵊山中队", ContactPhone: "0580-5090000"},
				Departments: []store.ScheduleDepartment{{ID: 1, Name: "市场监管", Items: []store.ScheduleItem{
					{ID: 1, Name: "食品贮存", LegalBasis: "不在员工日历上显示"}}}}},
			Role: role, RouteOrder: seq, DurationMinutes: 45, ItemCount: 1,
			Business: store.RosterBusiness{USCC: "91330922000000001X", Name: "渔家乐民宿", Address: "花鸟乡灯塔路 1 号",
				Lat: 30.8271, Lng: 122.6689, ContactName: "陈老板", ContactPhone: "13800000000"},
			Inspectors: []store.RosterInspector{{ID: 1, Name: "王芳", Role: "lead"}, {ID: 2, Name: "李强", Role: "member", Phone: "139"}},
		}
	}
	for _, c := range []struct {
		name     string
		cal      store.StaffCalendar
		calname  string
		contains []string
		absent   []string
	}{
		{"team", store.StaffCalendar{Kind: store.FeedTeam, ID: 2, Name: "嵊山中队",
			Visits: []store.CalendarVisit{visit(1, "2026-12-01", "09:12", "09:57", store.RoleLeadTeam, false)}},
			"嵊山中队 检查排班",
			[]string{"不预先通知：不得提前告知企业", "路线第 1 站，预计 45 分钟", "企业：渔家乐民宿（91330922000000001X）",
				"企业联系人：陈老板 13800000000", "检查事项（1 项）：", "- 市场监管：食品贮存", "执法人员：王芳（带队）、李强（组员） 139"},
			[]string{"本人", "不在员工日历上显示"}},
		{"inspector", store.StaffCalendar{Kind: store.FeedInspector, ID: 2, Name: "李强",
			Visits: []store.CalendarVisit{visit(1, "2026-12-01", "09:12", "09:57", "member", true)}},
			"李强 检查任务", []string{"本人：组员"}, []string{"不预先通知"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := calfeed.Staff(c.cal, sh, stamp)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := calfeed.Encode(&b, f); err != nil {
				t.Fatal(err)
			}
			cal := parse(t, b.Bytes())
			if got := text(t, cal.Props, "X-WR-CALNAME"); got != c.calname {
				t.Errorf("X-WR-CALNAME %q, want %q", got, c.calname)
			}
			e := cal.Events()[0]
			if got := text(t, e.Props, ical.PropSummary); got != "渔家乐民宿" {
				t.Errorf("SUMMARY %q", got)
			}
			if got := text(t, e.Props, ical.PropLocation); got != "花鸟乡灯塔路 1 号" {
				t.Errorf("LOCATION %q", got)
			}
			if g := e.Props.Get(ical.PropGeo); g == nil || g.Value != "30.827100;122.668900" {
				t.Errorf("GEO %+v", g)
			}
			start, err := e.DateTimeStart(nil)
			if want := time.Date(2026, 12, 1, 9, 12, 0, 0, sh); err != nil || !start.Equal(want) {
				t.Errorf("DTSTART %v (%v), want %v", start, err, want)
			}
			end, err := e.DateTimeEnd(nil)
			if want := time.Date(2026, 12, 1, 9, 57, 0, 0, sh); err != nil || !end.Equal(want) {
				t.Errorf("DTEND %v (%v), want %v", end, err, want)
			}
			desc := text(t, e.Props, ical.PropDescription)
			for _, want := range c.contains {
				if !strings.Contains(desc, want) {
					t.Errorf("DESCRIPTION lacks %q:\n%s", want, desc)
				}
			}
			for _, bad := range c.absent {
				if strings.Contains(desc, bad) {
					t.Errorf("DESCRIPTION has %q:\n%s", bad, desc)
				}
			}
		})
	}
}

func TestBadTimesAreRefused(t *testing.T) {
	s := schedule()
	s.Visits[0].StartTime = "9am"
	if _, err := calfeed.Business(s, time.UTC, stamp); err == nil {
		t.Fatal("a visit starting at 9am was accepted")
	}
}
