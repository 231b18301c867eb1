package domain

import "time"

// Demand sources.
const (
	SourceRoutine   = "routine"
	SourceComplaint = "complaint"
	SourceCampaign  = "campaign"
	SourceScenario  = "scenario"
)

// Demand target kinds.
const (
	TargetList   = "list"
	TargetSample = "sample"
)

// Demand statuses.
const (
	DemandOpen      = "open"
	DemandCancelled = "cancelled"
)

// SampleRule resolves a demand's targets by a draw over a filtered population.
// Empty filters do not restrict; exactly one of Count and Ratio is set.
type SampleRule struct {
	RegionIDs     []int64  `json:"region_ids"`
	IndustryCodes []string `json:"industry_codes"`
	ScenarioID    *int64   `json:"scenario_id"`
	RiskCodes     []string `json:"risk_codes"`
	Count         *int     `json:"count"`
	Ratio         *float64 `json:"ratio"`
}

// Demand is a department's request for inspections.
type Demand struct {
	ID           int64       `json:"id"`
	DepartmentID int64       `json:"department_id"`
	Title        string      `json:"title"`
	ItemIDs      []int64     `json:"item_ids"`
	TargetKind   string      `json:"target_kind"`
	Businesses   []string    `json:"businesses,omitempty"`
	Sample       *SampleRule `json:"sample,omitempty"`
	WindowFrom   time.Time   `json:"-"`
	WindowTo     time.Time   `json:"-"`
	Priority     int         `json:"priority"`
	Source       string      `json:"source"`
	ScenarioID   *int64      `json:"scenario_id"`
	AnnounceDays int         `json:"announce_days"`
	Status       string      `json:"status"`
	CancelReason string      `json:"cancel_reason,omitempty"`
	CreatedBy    string      `json:"created_by"`
	CreatedAt    time.Time   `json:"created_at"`
	CancelledAt  *time.Time  `json:"cancelled_at,omitempty"`
}
