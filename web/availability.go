package web

import (
	"context"
	"fmt"
	"time"

	"inspectonce/store"
)

// Who is away and what is closed (issue 17), as the roster, the phone page
// and the plan dashboard show it: so that a day with little or nothing on it
// says why.

// doorAheadDays is how far ahead the phone page shows the inspector's own
// leave and the closures affecting its team.
const doorAheadDays = 14

// availabilityView is the days away and the closures a page shows.
type availabilityView struct {
	Away     []store.Away
	Closures []store.ClosureNote
	// AwayIDs marks the inspectors away, for a badge by their names.
	AwayIDs map[int64]bool
}

// Any reports whether there is anything to show.
func (a availabilityView) Any() bool { return len(a.Away) > 0 || len(a.Closures) > 0 }

// availability reads what touches team teamID (every team when zero) or, with
// inspectorID, that inspector's own days away, over [from, to].
func (p *Pages) availability(ctx context.Context, teamID, inspectorID int64, from, to time.Time) (availabilityView, error) {
	var a availabilityView
	var err error
	f := store.AwayFilter{TeamID: teamID, InspectorID: inspectorID, From: from, To: to}
	if inspectorID != 0 {
		f.TeamID = 0
	}
	if a.Away, err = p.store.ListAway(ctx, f); err != nil {
		return a, fmt.Errorf("days away: %w", err)
	}
	if a.Closures, err = p.store.ClosuresAffecting(ctx, teamID, from, to); err != nil {
		return a, fmt.Errorf("closures: %w", err)
	}
	a.AwayIDs = make(map[int64]bool, len(a.Away))
	for _, u := range a.Away {
		a.AwayIDs[u.InspectorID] = true
	}
	return a, nil
}

func init() {
	addMessages(map[string][2]string{
		"avail.closed":        {"停工", "Closed"},
		"avail.away":          {"不在岗人员", "Away"},
		"avail.away_badge":    {"不在岗", "away"},
		"avail.span":          {"%s 至 %s", "%s to %s"},
		"avail.kind.region":   {"区域", "region"},
		"avail.kind.team":     {"队伍", "team"},
		"avail.roster_help":   {"新计划不会在停工日安排检查，也不会安排不在岗人员；已发布的检查会自动修复（换人或改期），见“日程修复”页。", "Plans place no visit on a closed day and no inspector who is away; published visits are repaired at once (another inspector, or another day): see the Repairs page."},
		"avail.door_heading":  {"近期请假与停工", "Leave and closures ahead"},
		"avail.door_leave":    {"我的请假（今后 %d 天）", "My leave (next %d days)"},
		"avail.door_closures": {"本队停工（今后 %d 天）", "Closures affecting my team (next %d days)"},
		"avail.plan_heading":  {"计划期内的请假与停工", "Leave and closures in the plan's horizon"},
		"avail.plan_help":     {"这些日期不安排相应人员或区域的检查，日历上因此会有空白。", "Nothing is planned for these people or places on these days, which is why some days are empty."},
		"avail.col_who":       {"人员", "Inspector"},
		"avail.col_what":      {"停工范围", "Closed"},
		"avail.col_dates":     {"日期", "Dates"},
		"avail.col_reason":    {"原因", "Reason"},
		"avail.none":          {"计划期内无人请假，也无停工。", "Nobody is away and nothing is closed in the plan's horizon."},
	})
}
