// Package calfeed writes schedules and staff calendars as iCalendar feeds
// (RFC 5545) for calendar apps to subscribe to. It is pure: it turns the
// store's values into text and touches no database.
//
// Every visit is one VEVENT whose UID names the visit (store.VisitUID), so an
// app that fetches the feed again updates the same event: when the visit
// moves, DTSTART changes, and when it moves or a later plan joins items to it
// SEQUENCE (moves + amendments) goes up. Times are
// local times of the configured zone (DTSTART;TZID=Asia/Shanghai:…), and the
// feed carries the VTIMEZONE that RFC 5545 requires for each TZID, made from
// Go's zone data over the span of the events; X-WR-TIMEZONE names the zone
// too. In UTC, times are written as UTC (…Z) with no VTIMEZONE.
package calfeed

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"

	"inspectonce/store"
)

// ProductID is the feed's PRODID.
const ProductID = "-//InspectOnce//Inspection Schedule//ZH"

// refresh is how often apps are asked to fetch the feed again: moves and new
// plans reach subscribers within the hour.
const refresh = "PT1H"

// Calendar is a feed: its name, zone, the moment it was made and its events.
type Calendar struct {
	// Name is the X-WR-CALNAME apps show for the subscription.
	Name string
	// Zone is the configured time zone: X-WR-TIMEZONE, and the zone the
	// events' civil dates and times are read in.
	Zone *time.Location
	// Stamp is the DTSTAMP of every event: when this feed was made (with
	// METHOD:PUBLISH, RFC 5545 §3.8.7.2).
	Stamp  time.Time
	Events []Event
}

// Event is one visit.
type Event struct {
	UID      string
	Sequence int
	// Start and End are instants (written in UTC).
	Start, End  time.Time
	Summary     string
	Location    string
	Description string
	// HasGeo adds GEO:Lat;Lng.
	HasGeo   bool
	Lat, Lng float64
	// Modified is LAST-MODIFIED; zero leaves it out.
	Modified time.Time
}

// Encode writes c as an iCalendar object (CRLF line ends, lines folded at 75
// octets, text escaped).
func Encode(w io.Writer, c Calendar) error {
	zone := c.Zone
	if zone == nil {
		zone = time.UTC
	}
	cal := ics.NewCalendarFor("InspectOnce")
	cal.SetProductId(ProductID)
	cal.SetMethod(ics.MethodPublish)
	cal.SetCalscale("GREGORIAN")
	cal.SetXWRCalName(c.Name)
	cal.SetXWRTimezone(zone.String())
	cal.SetXPublishedTTL(refresh)
	cal.SetRefreshInterval(refresh)
	local := zone != time.UTC && zone.String() != "UTC"
	if local {
		from, to := c.Stamp, c.Stamp
		for _, e := range c.Events {
			if from.IsZero() || e.Start.Before(from) {
				from = e.Start
			}
			if e.End.After(to) {
				to = e.End
			}
		}
		addTimezone(cal, zone, from, to)
	}
	at := func(t time.Time) (string, []ics.PropertyParameter) {
		if !local {
			return t.UTC().Format(utcFormat), nil
		}
		return t.In(zone).Format(localFormat), []ics.PropertyParameter{ics.WithTZID(zone.String())}
	}
	for _, e := range c.Events {
		ev := cal.AddEvent(e.UID)
		ev.SetDtStampTime(c.Stamp)
		ev.SetSequence(e.Sequence)
		v, params := at(e.Start)
		ev.SetProperty(ics.ComponentPropertyDtStart, v, params...)
		v, params = at(e.End)
		ev.SetProperty(ics.ComponentPropertyDtEnd, v, params...)
		ev.SetSummary(e.Summary)
		if e.Location != "" {
			ev.SetLocation(e.Location)
		}
		if e.Description != "" {
			ev.SetDescription(e.Description)
		}
		if e.HasGeo {
			ics.SetGeo(ev, strconv.FormatFloat(e.Lat, 'f', 6, 64), strconv.FormatFloat(e.Lng, 'f', 6, 64))
		}
		if !e.Modified.IsZero() {
			ev.SetModifiedAt(e.Modified)
		}
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	// RFC 5545 §3.1 ends every line with CRLF; the library's default is the
	// platform's newline.
	if err := cal.SerializeTo(w, ics.WithNewLine("\r\n")); err != nil {
		return fmt.Errorf("write calendar %q: %w", c.Name, err)
	}
	return nil
}

const (
	utcFormat   = "20060102T150405Z"
	localFormat = "20060102T150405"
)

// addTimezone adds the VTIMEZONE of zone for the instants from to to: one
// observance (STANDARD, or DAYLIGHT while daylight saving is on) per period of
// one UTC offset that overlaps them, each starting at its transition (written
// in the local time before it, RFC 5545 §3.6.5). A zone that never changed
// offset gets one observance from 1970.
func addTimezone(cal *ics.Calendar, zone *time.Location, from, to time.Time) {
	tz := cal.AddTimezone(zone.String())
	for t := from; ; {
		name, offset := t.In(zone).Zone()
		start, end := t.In(zone).ZoneBounds()
		var base ics.ComponentBase
		before, dtstart := offset, "19700101T000000"
		if !start.IsZero() {
			_, before = start.Add(-time.Second).In(zone).Zone()
			dtstart = start.UTC().Add(time.Duration(before) * time.Second).Format(localFormat)
		}
		base.SetProperty(ics.ComponentPropertyDtStart, dtstart)
		base.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), utcOffset(before))
		base.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), utcOffset(offset))
		base.AddProperty(ics.ComponentProperty(ics.PropertyTzname), name)
		if t.In(zone).IsDST() {
			tz.Components = append(tz.Components, &ics.Daylight{ComponentBase: base})
		} else {
			tz.Components = append(tz.Components, &ics.Standard{ComponentBase: base})
		}
		if end.IsZero() || end.After(to) {
			return
		}
		t = end
	}
}

// utcOffset writes an offset east of UTC in seconds as RFC 5545 does:
// +0800, -0330, +014530.
func utcOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "-", -seconds
	}
	out := fmt.Sprintf("%s%02d%02d", sign, seconds/3600, seconds/60%60)
	if s := seconds % 60; s != 0 {
		out += fmt.Sprintf("%02d", s)
	}
	return out
}

// span is the instants of a visit's day from its "HH:MM" start to end in loc.
func span(date, start, end string, loc *time.Location) (time.Time, time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	s, err := time.ParseInLocation("2006-01-02 15:04", date+" "+start, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("visit start %s %s: %w", date, start, err)
	}
	e, err := time.ParseInLocation("2006-01-02 15:04", date+" "+end, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("visit end %s %s: %w", date, end, err)
	}
	if !e.After(s) {
		// An event must not end before it starts (RFC 5545 §3.6.1); a
		// zero-length visit still takes its minute.
		e = s.Add(time.Minute)
	}
	return s, e, nil
}

// departmentNames joins the names of a visit's departments.
func departmentNames(ds []store.ScheduleDepartment) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = d.Name
	}
	return strings.Join(names, "、")
}

// summary of a visit on a business's calendar: "联合检查：市场监管、消防" when
// several departments come at once, else "检查：市场监管".
func summary(ds []store.ScheduleDepartment) string {
	if len(ds) > 1 {
		return "联合检查：" + departmentNames(ds)
	}
	return "检查：" + departmentNames(ds)
}

// itemLines lists a visit's items, one line each, by department.
func itemLines(b *strings.Builder, ds []store.ScheduleDepartment, withBasis bool) {
	for _, d := range ds {
		for _, it := range d.Items {
			fmt.Fprintf(b, "- %s：%s", d.Name, it.Name)
			if withBasis && it.LegalBasis != "" {
				fmt.Fprintf(b, "（依据：%s）", it.LegalBasis)
			}
			b.WriteString("\n")
		}
	}
}

// Business is the feed of a business's schedule (store.BusinessSchedule, with
// its rule on unannounced visits already applied), stamped at stamp.
func Business(s store.BusinessSchedule, loc *time.Location, stamp time.Time) (Calendar, error) {
	c := Calendar{Name: s.Business.Name + " 检查日程", Zone: loc, Stamp: stamp, Events: make([]Event, 0, len(s.Visits))}
	for _, v := range s.Visits {
		start, end, err := span(v.Date, v.StartTime, v.EndTime, loc)
		if err != nil {
			return Calendar{}, fmt.Errorf("%s: %w", v.UID, err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "日期：%s，%s–%s 之间上门\n", v.Date, v.StartTime, v.EndTime)
		if v.OriginalDate != "" {
			fmt.Fprintf(&b, "已改期（原定 %s）\n", v.OriginalDate)
		}
		b.WriteString("检查事项：\n")
		itemLines(&b, v.Departments, true)
		fmt.Fprintf(&b, "牵头执法队：%s", v.LeadTeam.Name)
		if v.LeadTeam.ContactPhone != "" {
			fmt.Fprintf(&b, "，联系电话 %s", v.LeadTeam.ContactPhone)
		}
		b.WriteString("\n")
		if v.LeadInspector != "" {
			fmt.Fprintf(&b, "带队检查人员：%s\n", v.LeadInspector)
		}
		c.Events = append(c.Events, Event{UID: v.UID, Sequence: v.Revision + v.Amendments, Start: start, End: end,
			Summary: summary(v.Departments), Location: s.Business.Address,
			Description: strings.TrimSuffix(b.String(), "\n"), Modified: v.UpdatedAt})
	}
	return c, nil
}

// roleNames are the Chinese names of a staff member's part in a visit.
var roleNames = map[string]string{store.RoleLeadTeam: "牵头执法队", "lead": "带队", "member": "组员"}

// Staff is the feed of a team's or an inspector's calendar
// (store.TeamCalendar, store.InspectorCalendar), stamped at stamp.
func Staff(sc store.StaffCalendar, loc *time.Location, stamp time.Time) (Calendar, error) {
	name := sc.Name + " 检查任务"
	if sc.Kind == store.FeedTeam {
		name = sc.Name + " 检查排班"
	}
	c := Calendar{Name: name, Zone: loc, Stamp: stamp, Events: make([]Event, 0, len(sc.Visits))}
	for _, v := range sc.Visits {
		start, end, err := span(v.Date, v.StartTime, v.EndTime, loc)
		if err != nil {
			return Calendar{}, fmt.Errorf("%s: %w", v.UID, err)
		}
		var b strings.Builder
		if !v.Announced {
			// Staff must know: telling the business would defeat the visit.
			b.WriteString("不预先通知：不得提前告知企业\n")
		}
		if v.OriginalDate != "" {
			fmt.Fprintf(&b, "已改期（原定 %s）\n", v.OriginalDate)
		} else {
			fmt.Fprintf(&b, "路线第 %d 站，预计 %d 分钟\n", v.RouteOrder, v.DurationMinutes)
		}
		if role, ok := roleNames[v.Role]; ok && sc.Kind == store.FeedInspector {
			fmt.Fprintf(&b, "本人：%s\n", role)
		}
		fmt.Fprintf(&b, "企业：%s（%s）\n", v.Business.Name, v.Business.USCC)
		if v.Business.ContactName != "" || v.Business.ContactPhone != "" {
			fmt.Fprintf(&b, "企业联系人：%s %s\n", v.Business.ContactName, v.Business.ContactPhone)
		}
		fmt.Fprintf(&b, "检查事项（%d 项）：\n", v.ItemCount)
		itemLines(&b, v.Departments, false)
		fmt.Fprintf(&b, "牵头执法队：%s", v.LeadTeam.Name)
		if v.LeadTeam.ContactPhone != "" {
			fmt.Fprintf(&b, "，电话 %s", v.LeadTeam.ContactPhone)
		}
		b.WriteString("\n")
		if len(v.Inspectors) > 0 {
			people := make([]string, len(v.Inspectors))
			for i, in := range v.Inspectors {
				people[i] = in.Name
				if r, ok := roleNames[in.Role]; ok {
					people[i] += "（" + r + "）"
				}
				if in.Phone != "" {
					people[i] += " " + in.Phone
				}
			}
			fmt.Fprintf(&b, "执法人员：%s\n", strings.Join(people, "、"))
		}
		e := Event{UID: v.UID, Sequence: v.Revision + v.Amendments + v.Restaffs, Start: start, End: end, Summary: v.Business.Name,
			Location: v.Business.Address, Description: strings.TrimSuffix(b.String(), "\n"), Modified: v.UpdatedAt}
		if v.Business.Lat != 0 || v.Business.Lng != 0 {
			e.HasGeo, e.Lat, e.Lng = true, v.Business.Lat, v.Business.Lng
		}
		c.Events = append(c.Events, e)
	}
	return c, nil
}
