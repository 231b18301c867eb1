package yearsim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"inspectonce/planner"
)

// Establishment is one business of the simulated county: the register entry
// the planner sees, plus its inspection record before the year starts.
type Establishment struct {
	// License stands in for the business identifier (the planner's USCC).
	License  string
	Name     string
	Facility string
	Zip      string
	Lat, Lng float64
	// Risk is the class at the start of the year: red, yellow or green.
	Risk string
	// Canvass and Failed are the routine inspections before the year and how
	// many failed: Failed/Canvass is the chance a visit this year fails.
	Canvass, Failed int
	// LastInspection is the date of the latest one; the next is due from it.
	LastInspection planner.Day
}

// FailRate is the establishment's historical share of failed routine
// inspections, 0 when it has none on record.
func (e Establishment) FailRate() float64 {
	if e.Canvass <= 0 {
		return 0
	}
	return math.Min(1, float64(e.Failed)/float64(e.Canvass))
}

// chicagoRisk maps the city's risk classes to the planner's codes.
var chicagoRisk = map[string]string{
	"Risk 1 (High)":   planner.RiskRed,
	"Risk 2 (Medium)": planner.RiskYellow,
	"Risk 3 (Low)":    planner.RiskGreen,
}

// chicagoColumns are the columns LoadChicago needs (others are ignored).
var chicagoColumns = []string{"license", "name", "facility_type", "risk", "zip", "latitude", "longitude",
	"canvass_inspections", "failed", "last_inspection"}

// LoadChicago reads the City of Chicago establishments file
// (chicago-food-establishments.csv, see ../shared/realdata/README.md). A row
// that cannot be used is an error naming its line and column: a benchmark
// on silently thinned data would report the wrong figures.
func LoadChicago(r io.Reader) ([]Establishment, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("chicago csv: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	for _, c := range chicagoColumns {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("chicago csv: header: missing column %q", c)
		}
	}
	var out []Establishment
	seen := map[string]bool{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("chicago csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		get := func(c string) string {
			if i := col[c]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		bad := func(c string, why error) error {
			return fmt.Errorf("chicago csv: line %d: %s %q: %w", line, c, get(c), why)
		}
		e := Establishment{License: get("license"), Name: get("name"), Facility: get("facility_type"), Zip: get("zip")}
		if e.License == "" {
			return nil, bad("license", errors.New("empty"))
		}
		if seen[e.License] {
			return nil, bad("license", errors.New("listed twice"))
		}
		seen[e.License] = true
		var ok bool
		if e.Risk, ok = chicagoRisk[get("risk")]; !ok {
			return nil, bad("risk", errors.New("want Risk 1 (High), Risk 2 (Medium) or Risk 3 (Low)"))
		}
		if e.Lat, err = strconv.ParseFloat(get("latitude"), 64); err != nil || e.Lat < -90 || e.Lat > 90 || math.IsNaN(e.Lat) {
			return nil, bad("latitude", errors.New("want a number in [-90, 90]"))
		}
		if e.Lng, err = strconv.ParseFloat(get("longitude"), 64); err != nil || e.Lng < -180 || e.Lng > 180 || math.IsNaN(e.Lng) {
			return nil, bad("longitude", errors.New("want a number in [-180, 180]"))
		}
		if e.Canvass, err = strconv.Atoi(get("canvass_inspections")); err != nil || e.Canvass < 0 {
			return nil, bad("canvass_inspections", errors.New("want a whole number ≥ 0"))
		}
		if e.Failed, err = strconv.Atoi(get("failed")); err != nil || e.Failed < 0 || e.Failed > e.Canvass {
			return nil, bad("failed", errors.New("want a whole number between 0 and canvass_inspections"))
		}
		t, err := time.Parse(time.DateOnly, get("last_inspection"))
		if err != nil {
			return nil, bad("last_inspection", errors.New("want YYYY-MM-DD"))
		}
		e.LastInspection = planner.DayOf(t)
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("chicago csv: no establishments")
	}
	return out, nil
}
