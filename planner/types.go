// Package planner turns departments' inspection demands into as few shared
// visits as the rules allow (DESIGN.md §4). It is pure: it takes registries,
// demands, history, policy and secrets as plain Go values and returns a plan as
// plain Go values, with every draw recorded and every task it could not place
// listed with the reason. It never touches a database, a queue or the network.
package planner

import (
	"time"

	"inspectonce/calendar"
)

// Day is a civil date counted in days since 1970-01-01. Plans are made of
// whole days; a Day has no time zone.
type Day int32

// DayOf returns the civil date of t in t's location.
func DayOf(t time.Time) Day {
	y, m, d := t.Date()
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// Time returns midnight UTC of the day, for formatting and calendars.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the day as YYYY-MM-DD.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// Risk codes as the planner sees them.
const (
	RiskRed    = "red"
	RiskYellow = "yellow"
	RiskGreen  = "green"
)

// List kinds (the three lists).
const (
	ListRandom     = "random"
	ListKey        = "key"
	ListLeaveAlone = "leave_alone"
)

// Demand sources.
const (
	SourceRoutine   = "routine"
	SourceComplaint = "complaint"
	SourceCampaign  = "campaign"
	SourceScenario  = "scenario"
)

// Region is a node of the region tree; ParentID 0 is the root.
type Region struct {
	ID       int64
	ParentID int64
	Name     string
}

// Business is a market entity.
type Business struct {
	USCC     string
	RegionID int64 // the smallest region holding it (usually a grid)
	Industry string
	Lat, Lng float64
	Risk     string // red, yellow, green
	List     string // random, key, leave_alone
}

// Item is a checkable matter of one department.
type Item struct {
	ID           int64
	DepartmentID int64
	Domain       string // qualification domain an inspector must hold
	Minutes      int
}

// Scenario bundles items for businesses of some industries.
type Scenario struct {
	ID         int64
	Industries []string
	ItemIDs    []int64
}

// Team kinds.
const (
	TeamComprehensive = "comprehensive"
	TeamProfessional  = "professional"
	TeamTownship      = "township"
)

// Team is an enforcement team covering regions (and everything below them).
type Team struct {
	ID                   int64
	Kind                 string
	DepartmentID         int64 // professional teams only
	BaseLat, BaseLng     float64
	DailyCapacityMinutes int
	RegionIDs            []int64
}

// Inspector is an enforcement officer.
type Inspector struct {
	ID        int64
	TeamID    int64
	Domains   []string
	Conflicts []string // USCCs the inspector declared a conflict of interest with
}

// SampleRule is a demand's draw: a population filter plus a count or a ratio.
// Empty filters do not restrict. Exactly one of Count and Ratio is set.
type SampleRule struct {
	RegionIDs  []int64 // regions including their sub-regions
	Industries []string
	ScenarioID int64
	RiskCodes  []string
	Count      int
	Ratio      float64
}

// Demand is a department's request for inspections.
type Demand struct {
	ID           int64
	DepartmentID int64
	ItemIDs      []int64
	Businesses   []string    // a list target, or
	Sample       *SampleRule // a sampling rule
	From, To     Day         // window, both included
	Priority     int         // 1 (highest) to 5
	Source       string
	ScenarioID   int64
	// AnnounceDays is the notice the business gets: a visit of an announced
	// demand (AnnounceDays > 0) is never earlier than Input.PublishDay plus
	// this many days.
	AnnounceDays int
	// FollowUp marks a demand a confirmed visit made (a re-inspection after a
	// violation, or a task not done going back to the pool): like a complaint
	// it is exempt from the 无事不扰 list, cool-downs and yearly caps, which
	// would otherwise refuse the very follow-up the first visit asked for.
	FollowUp bool
}

// PastVisit is a visit from earlier cycles, for cool-downs, yearly caps and
// recusal.
type PastVisit struct {
	USCC          string
	Date          Day
	DepartmentIDs []int64
	ItemIDs       []int64
	InspectorIDs  []int64
}

// BookedVisit is a visit already on the calendar: published by an earlier
// plan, not yet happened, at its effective date after moves. A plan counts
// the capacity it holds; the join step builds on the same value (tasks joined
// to it refer to it by PlanID and Seq).
type BookedVisit struct {
	// PlanID and Seq name the visit in the plan that published it.
	PlanID int64
	Seq    int
	// USCC is the business visited.
	USCC string
	// Date is the effective date, after moves.
	Date Day
	// TeamID is the lead team, whose team-day holds the visit's minutes.
	TeamID int64
	// InspectorIDs are the visit's inspectors, lead first; each one's day
	// holds DurationMinutes + TravelMinutes.
	InspectorIDs []int64
	// ItemIDs are the items the visit checks, sorted.
	ItemIDs []int64
	// DepartmentIDs are the departments whose tasks the visit carries, sorted.
	DepartmentIDs []int64
	// DurationMinutes is the time on site.
	DurationMinutes int
	// TravelMinutes is the travel reserved for the visit when it was placed.
	TravelMinutes int
}

// Policy holds the rules a plan follows. DefaultPolicy gives the defaults.
type Policy struct {
	// RiskWeights weigh businesses in draws (λ_b ∝ weight).
	RiskWeights map[string]float64
	// CooldownDays: a business inspected for an item within this many days is
	// not drawn for that item again (complaints excepted).
	CooldownDays int
	// YearlyCap: most on-site visits by one department to one business in a
	// calendar year (complaints excepted). 0 = no cap.
	YearlyCap int
	// RecusalLastN: an inspector who was on one of the business's last N visits
	// is not drawn for it.
	RecusalLastN int
	// MinInspectors per visit (at least 2 by law).
	MinInspectors int
	// SetupMinutes per visit: introductions, paperwork.
	SetupMinutes int
	// InspectorDayMinutes: what one inspector can work in a day, travel included.
	InspectorDayMinutes int
	// SpeedKmh converts haversine distance to travel minutes.
	SpeedKmh float64
	// Independent makes each demand draw on its own (for measuring the gain of
	// coordination) instead of sharing permanent random numbers.
	Independent bool
	// Uncapacitated ignores team and inspector capacity (for the lower-bound
	// invariant and comparisons).
	Uncapacitated bool
	// MinSampleDays: a sampled demand whose window goes on after the horizon
	// but leaves fewer working days than this inside it (after the notice
	// period) is not drawn now but left for the next plan, instead of piling
	// its whole sample onto those few days. 0 = never defer.
	MinSampleDays int
	// Earliest puts every visit on the earliest feasible team-day, as
	// complaints always are, instead of levelling the days: an urgent
	// placement ("place now") of a priority-1 demand wants it done soon.
	Earliest bool
	// Join lets new tasks join visits already on the calendar (Input.Booked)
	// instead of knocking again (DESIGN.md §4a, join.go): a task joins a
	// booked visit at its business dated in its window, not before the
	// publish day, within its notice, when capacity allows and the visit's
	// inspectors hold the item's domain (or one inspector can be added by a
	// recorded draw). The joins are in Plan.Joins, and the lower bound
	// becomes the calendar's. It is false in DefaultPolicy so that the pure
	// planner's callers opt in: a joined task is in no new visit, so whoever
	// turns it on must persist the joins and amend the booked visits on
	// publication (store and jobs do; planning turns it on from the config
	// key planning.join).
	Join bool
}

// DefaultPolicy is the rule set of DESIGN.md §2a.
func DefaultPolicy() Policy {
	return Policy{
		RiskWeights:         map[string]float64{RiskRed: 4, RiskYellow: 2, RiskGreen: 1},
		CooldownDays:        90,
		YearlyCap:           2,
		RecusalLastN:        2,
		MinInspectors:       2,
		SetupMinutes:        15,
		InspectorDayMinutes: 480,
		SpeedKmh:            30,
		MinSampleDays:       5,
	}
}

// Input is everything one planning cycle reads.
type Input struct {
	From, To   Day // horizon, both included
	Calendar   *calendar.Calendar
	Regions    []Region
	Businesses []Business
	Items      []Item
	Scenarios  []Scenario
	Teams      []Team
	Inspectors []Inspector
	Demands    []Demand
	History    []PastVisit
	// Booked are the visits already on the calendar (published by earlier
	// plans, not yet happened) that this plan must live with: the team-day
	// and inspector-day minutes they hold are taken before any new visit is
	// placed, so no plan double-books anyone (DESIGN.md §4a). Booked visits
	// outside the horizon, off working days, or whose team or inspectors
	// are not in the input hold nothing here.
	Booked []BookedVisit
	// Unavailable are inspectors' days away (leave, training, secondment):
	// an inspector is never drawn for a visit, nor added to a booked one,
	// on a day of its unavailability (availability.go).
	Unavailable []Unavailability
	// Closures close a region's or a team's days (typhoon, ferries stopped,
	// holiday duty): no visit is placed on, and nothing joins a booked visit
	// on, a day closed for its business's region (or any region above it)
	// or for its lead team, and a closed team's members are not drawn that
	// day (availability.go).
	Closures []Closure
	Policy   Policy
	// YearKey makes each business's permanent random number; revealed when
	// the year closes.
	YearKey []byte
	// Shift is this cycle's public rotation s_c in [0, 1).
	Shift float64
	// Seed drives inspector draws and tie-breaks; revealed on publication.
	Seed [32]byte
	// Frozen are target frames committed before this run's randomness was
	// fixed (witness.go), by demand id: a sample demand found here draws
	// from its frozen frame, not from the registry as it is now, and a
	// sample demand not found here is left for a later plan (Frozen non-nil).
	Frozen map[int64]FrozenDraw
	// PublishDay is the earliest day the plan can be published (usually the
	// day it is made): the notice period of announced demands counts from it.
	// 0 = the horizon's first day.
	PublishDay Day
}

// Task is one (business, item) to inspect within a window, from one demand.
type Task struct {
	DemandID     int64
	DepartmentID int64
	USCC         string
	ItemID       int64
	From, To     Day
	Priority     int
	Complaint    bool
}

// Visit is one door-knock: a business, a day, a lead team, inspectors and the
// tasks it covers.
type Visit struct {
	USCC            string
	Date            Day
	TeamID          int64
	InspectorIDs    []int64 // the first is the lead inspector
	Tasks           []Task
	DepartmentIDs   []int64 // sorted, distinct
	DurationMinutes int
	TravelMinutes   int // travel reserved for this visit when it was placed
	RouteOrder      int // 1-based position in its team-day route
}

// Draw kinds.
const (
	DrawTargets    = "targets"
	DrawInspectors = "inspectors"
)

// Candidate is one member of a draw's frame.
type Candidate struct {
	Key    string  // USCC for target draws, inspector id for inspector draws
	Weight float64 // relative weight
}

// Draw records one random selection with everything needed to recompute it:
// the frame, its hash, the parameters and the result.
type Draw struct {
	Kind      string
	DemandID  int64  // target draws
	VisitKey  string // inspector draws: USCC/date/sequence of the visit
	Frame     []Candidate
	FrameHash string // hex SHA-256 of the canonical frame
	N         int    // how many to draw
	Shift     float64
	// Salt is mixed into each business's permanent random number: empty when
	// demands draw coordinated, the demand id when they draw independently.
	Salt     string
	Required []string // inspector draws: domains that had to be covered
	Excluded []Exclusion
	// Steps are an inspector draw's picks, one weighted choice each, replayable
	// with the revealed seed.
	Steps  []DrawStep
	Result []string // keys drawn, in draw order
	// Certain are a target draw's key-list (重点) members: in scope by the
	// rule, taken outside the random draw as their own recorded selection,
	// sorted by key. They are not in Frame and do not use up N; Result is
	// Certain followed by the N (at most) businesses drawn from Frame.
	Certain []string
}

// DrawStep is one weighted pick of an inspector draw: what it had to cover
// (a qualification domain, or "" for any member), the candidates in order with
// their weights, and the key picked.
type DrawStep struct {
	Need       string
	Candidates []Candidate
	Pick       string
}

// Exclusion is a business (or inspector) removed from a frame before a draw.
type Exclusion struct {
	Key    string
	Reason string
}

// Reasons a task is not placed, or a candidate is excluded.
const (
	ReasonLeaveAlone      = "leave_alone"      // on the 无事不扰 list
	ReasonCooldown        = "cooldown"         // inspected for the item recently
	ReasonYearlyCap       = "yearly_cap"       // department's yearly visits used up
	ReasonNoWorkingDay    = "no_working_day"   // window holds no working day in the horizon
	ReasonNoTeam          = "no_team"          // no team covers the business's region
	ReasonCapacity        = "capacity"         // no team-day in the window had room
	ReasonNoInspectors    = "no_inspectors"    // two certified, unrecused inspectors could not be found
	ReasonUnknownItem     = "unknown_item"     // demand names an item not in the registry
	ReasonUnknownTarget   = "unknown_business" // demand names a business not in the registry
	ReasonTooLong         = "too_long"         // one item alone exceeds an inspector's day
	ReasonEmptyPopulation = "empty_population" // sample rule matched no business
	ReasonNoticePeriod    = "notice_period"    // the window ends before the business's notice runs out
	ReasonDeferred        = "deferred"         // sample left for the next plan: too few of its days fall in this horizon
	ReasonClosed          = "closed"           // every day of the window is closed for the business or its teams
)

// Unplaced is a task (or a whole demand, with USCC empty) the plan could not
// place, with why.
type Unplaced struct {
	DemandID int64
	USCC     string
	ItemID   int64
	Reason   string
}

// TeamDay is one team's route for one day.
type TeamDay struct {
	TeamID        int64
	Date          Day
	Visits        []int // indexes into Plan.Visits, in route order
	TravelKm      float64
	WorkMinutes   int // visit durations
	TravelMinutes int
}

// Stats are the figures a plan reports (DESIGN.md §4 step 7).
type Stats struct {
	Tasks            int
	NaiveVisits      int // one visit per business × department
	LowerBound       int
	Visits           int
	JointVisits      int     // visits covering two or more departments
	JointVisitRate   float64 // JointVisits / Visits
	Unplaced         int
	UnplacedByReason map[string]int
	TravelKm         float64
	// Utilisation per team: minutes used / minutes available over the horizon.
	Utilisation map[int64]float64
	// BusiestDay is the working day holding the most of this plan's visits
	// (the earliest of equals; 0 when the plan has no visit), and
	// BusiestDayShare its share of them: how evenly the work is spread.
	BusiestDay      Day
	BusiestDayShare float64
	// TeamLoad per team id: its busiest and mean working-day minutes in
	// this plan (teams with no visit are left out).
	TeamLoad map[int64]TeamLoad
	// Joins (Policy.Join): LowerBound becomes the calendar's, the fewest
	// new visits given the visits already there (the stabbing rule with the
	// dates of the booked visits the tasks may join as existing stabs, see
	// calendarLowerBound), and NaiveVisits counts the tasks left for new
	// visits. TasksJoined tasks went to VisitsAmended visits
	// already on the calendar, and DoorKnocksSaved is how many fewer new
	// visits the plan needs for it, by the lower-bound rule: the lower
	// bound of all the plan's tasks without joining minus that of the tasks
	// left after joining.
	TasksJoined     int
	VisitsAmended   int
	DoorKnocksSaved int
}

// TeamLoad is how one team's minutes of a plan fall on its working days. The
// minutes are team-day minutes as capacity counts them: (duration + travel)
// times the visit's inspectors, summed over the day's visits of this plan.
type TeamLoad struct {
	PeakMinutes int
	PeakDay     Day
	// MeanMinutes averages over every working day of the horizon, idle ones
	// included, so PeakMinutes / MeanMinutes says how uneven the team's
	// month is.
	MeanMinutes float64
}

// Plan is the result of one cycle.
type Plan struct {
	Visits   []Visit
	TeamDays []TeamDay
	Draws    []Draw
	Unplaced []Unplaced
	Stats    Stats
	// Joins are the tasks added to visits already on the calendar (only
	// with Policy.Join), one per amended visit, by (PlanID, Seq).
	Joins []Join
}
