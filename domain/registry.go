package domain

import (
	"encoding/json"
	"time"
)

// Department is an authority that owns inspection items (code like SCJG).
type Department struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Item is one checkable matter owned by a department.
type Item struct {
	ID           int64     `json:"id"`
	Code         string    `json:"code"`
	DepartmentID int64     `json:"department_id"`
	Name         string    `json:"name"`
	Domain       string    `json:"domain"`
	Minutes      int       `json:"minutes"`
	LegalBasis   string    `json:"legal_basis"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Scenario bundles items across departments for one kind of business.
type Scenario struct {
	ID            int64     `json:"id"`
	Code          string    `json:"code"`
	Name          string    `json:"name"`
	IndustryCodes []string  `json:"industry_codes"`
	ItemIDs       []int64   `json:"item_ids"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Region levels.
const (
	LevelCounty   = "county"
	LevelTownship = "township"
	LevelGrid     = "grid"
)

// Region is a node of the county → township → grid tree.
type Region struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Level     string    `json:"level"`
	ParentID  *int64    `json:"parent_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Team kinds.
const (
	TeamComprehensive = "comprehensive"
	TeamProfessional  = "professional"
	TeamTownship      = "township"
)

// Team is an enforcement team or squad covering a set of regions.
type Team struct {
	ID                   int64     `json:"id"`
	Code                 string    `json:"code"`
	Name                 string    `json:"name"`
	Kind                 string    `json:"kind"`
	DepartmentID         *int64    `json:"department_id"`
	BaseLat              float64   `json:"base_lat"`
	BaseLng              float64   `json:"base_lng"`
	DailyCapacityMinutes int       `json:"daily_capacity_minutes"`
	ContactPhone         string    `json:"contact_phone"`
	RegionIDs            []int64   `json:"region_ids"`
	CreatedAt            time.Time `json:"created_at"`
	UpdatedAt            time.Time `json:"updated_at"`
}

// Inspector is an enforcement officer certified in qualification domains.
type Inspector struct {
	ID        int64     `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	TeamID    int64     `json:"team_id"`
	Domains   []string  `json:"domains"`
	Phone     string    `json:"phone"`
	IsLeader  bool      `json:"is_leader"`
	Conflicts []string  `json:"conflicts"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Risk codes.
const (
	RiskRed    = "red"
	RiskYellow = "yellow"
	RiskGreen  = "green"
)

// List kinds: the three lists of DESIGN.md §2a.
const (
	ListRandom     = "random"
	ListKey        = "key"
	ListLeaveAlone = "leave_alone"
)

// Business is a market entity identified by its USCC.
type Business struct {
	USCC         string    `json:"uscc"`
	Name         string    `json:"name"`
	Address      string    `json:"address"`
	RegionID     int64     `json:"region_id"`
	IndustryCode string    `json:"industry_code"`
	Lat          float64   `json:"lat"`
	Lng          float64   `json:"lng"`
	RiskCode     string    `json:"risk_code"`
	RiskSetAt    time.Time `json:"risk_set_at"`
	RiskReason   string    `json:"risk_reason"`
	ListKind     string    `json:"list_kind"`
	ContactName  string    `json:"contact_name"`
	ContactPhone string    `json:"contact_phone"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
	// ContactWithheld says the reader may not see the contact details: they
	// are blank here and null in JSON (MarshalJSON). Read-only: set by
	// the store's contact scope, never written.
	ContactWithheld bool `json:"-" gorm:"->;column:contact_withheld"`
}

// RiskChange is one entry of a business's risk-code history.
type RiskChange struct {
	RiskCode string    `json:"risk_code"`
	SetAt    time.Time `json:"set_at"`
	// Reason is why, in words: for a change the rule made (ReasonCode
	// set), rendered from ReasonCode and ReasonParams in the reader's
	// language; else as it was written (by hand, by an import).
	Reason string `json:"reason"`
	SetBy  string `json:"set_by"`
	// ResultID is the visit result that caused the change; nil for changes
	// made by hand or by an import.
	ResultID *int64 `json:"result_id"`
	// ReasonCode (risk.Reason*: violation, minor, step_down) and
	// ReasonParams say why for machines; empty for a change made by hand or
	// by an import.
	ReasonCode   string          `json:"reason_code,omitempty"`
	ReasonParams json.RawMessage `json:"reason_params,omitempty"`
}
