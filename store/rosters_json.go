package store

import (
	"fmt"

	"inspectonce/internal/jsonout"
)

// AppendJSON appends r's JSON fields (team, date, totals, visits: without
// the braces, for an answer that adds its own) exactly as encoding/json
// writes them, by hand: a roster is read on every leader's page load (issue
// 20). TestRosterJSON compares the two.
func (r *Roster) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	t := &r.Team
	dst = append(dst, `"team":{"id":`...)
	dst = jsonout.Int(dst, t.ID)
	dst = append(dst, `,"code":`...)
	dst = jsonout.String(dst, t.Code)
	dst = append(dst, `,"name":`...)
	dst = jsonout.String(dst, t.Name)
	dst = append(dst, `,"contact_phone":`...)
	dst = jsonout.String(dst, t.ContactPhone)
	dst = append(dst, `,"base_lat":`...)
	if dst, err = jsonout.Float64(dst, t.BaseLat); err != nil {
		return nil, fmt.Errorf("team base_lat: %w", err)
	}
	dst = append(dst, `,"base_lng":`...)
	if dst, err = jsonout.Float64(dst, t.BaseLng); err != nil {
		return nil, fmt.Errorf("team base_lng: %w", err)
	}
	dst = append(dst, `},"date":`...)
	dst = jsonout.String(dst, r.Date)
	if r.Totals != nil {
		dst = append(dst, `,"totals":{"travel_km":`...)
		if dst, err = jsonout.Float64(dst, r.Totals.TravelKm); err != nil {
			return nil, fmt.Errorf("totals travel_km: %w", err)
		}
		dst = append(dst, `,"work_minutes":`...)
		dst = jsonout.Int(dst, int64(r.Totals.WorkMinutes))
		dst = append(dst, `,"travel_minutes":`...)
		dst = jsonout.Int(dst, int64(r.Totals.TravelMinutes))
		dst = append(dst, '}')
	}
	dst = append(dst, `,"visits":`...)
	if r.Visits == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '[')
	for i := range r.Visits {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, err = r.Visits[i].appendJSON(dst); err != nil {
			return nil, err
		}
	}
	return append(dst, ']'), nil
}

func (v *RosterVisit) appendJSON(dst []byte) ([]byte, error) {
	var err error
	dst = append(dst, `{"plan_id":`...)
	dst = jsonout.Int(dst, v.PlanID)
	dst = append(dst, `,"visit_seq":`...)
	dst = jsonout.Int(dst, int64(v.VisitSeq))
	if v.OriginalDate != "" {
		dst = append(dst, `,"original_date":`...)
		dst = jsonout.String(dst, v.OriginalDate)
	}
	dst = append(dst, `,"revision":`...)
	dst = jsonout.Int(dst, int64(v.Revision))
	dst = append(dst, `,"route_order":`...)
	dst = jsonout.Int(dst, int64(v.RouteOrder))
	dst = append(dst, `,"duration_minutes":`...)
	dst = jsonout.Int(dst, int64(v.DurationMinutes))
	dst = append(dst, `,"travel_minutes":`...)
	dst = jsonout.Int(dst, int64(v.TravelMinutes))
	b := &v.Business
	dst = append(dst, `,"business":{"uscc":`...)
	dst = jsonout.String(dst, b.USCC)
	dst = append(dst, `,"name":`...)
	dst = jsonout.String(dst, b.Name)
	dst = append(dst, `,"address":`...)
	dst = jsonout.String(dst, b.Address)
	dst = append(dst, `,"lat":`...)
	if dst, err = jsonout.Float64(dst, b.Lat); err != nil {
		return nil, fmt.Errorf("visit %d/%d lat: %w", v.PlanID, v.VisitSeq, err)
	}
	dst = append(dst, `,"lng":`...)
	if dst, err = jsonout.Float64(dst, b.Lng); err != nil {
		return nil, fmt.Errorf("visit %d/%d lng: %w", v.PlanID, v.VisitSeq, err)
	}
	// Withheld contact details are null, after the rest, where
	// RosterBusiness.MarshalJSON's embedding puts them.
	if b.ContactWithheld {
		dst = append(dst, `,"contact_name":null,"contact_phone":null}`...)
	} else {
		dst = append(dst, `,"contact_name":`...)
		dst = jsonout.String(dst, b.ContactName)
		dst = append(dst, `,"contact_phone":`...)
		dst = jsonout.String(dst, b.ContactPhone)
		dst = append(dst, '}')
	}
	dst = append(dst, `,"items":`...)
	if v.Items == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range v.Items {
			it := &v.Items[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = jsonout.Int(dst, it.ID)
			dst = append(dst, `,"code":`...)
			dst = jsonout.String(dst, it.Code)
			dst = append(dst, `,"name":`...)
			dst = jsonout.String(dst, it.Name)
			dst = append(dst, `,"department_id":`...)
			dst = jsonout.Int(dst, it.DepartmentID)
			dst = append(dst, `,"department_code":`...)
			dst = jsonout.String(dst, it.DepartmentCode)
			dst = append(dst, `,"department_name":`...)
			dst = jsonout.String(dst, it.DepartmentName)
			dst = append(dst, `,"legal_basis":`...)
			dst = jsonout.String(dst, it.LegalBasis)
			dst = append(dst, `,"minutes":`...)
			dst = jsonout.Int(dst, int64(it.Minutes))
			dst = append(dst, `,"checked":`...)
			dst = jsonout.Bool(dst, it.Checked)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"inspectors":`...)
	if v.Inspectors == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range v.Inspectors {
			in := &v.Inspectors[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"id":`...)
			dst = jsonout.Int(dst, in.ID)
			dst = append(dst, `,"name":`...)
			dst = jsonout.String(dst, in.Name)
			dst = append(dst, `,"phone":`...)
			dst = jsonout.String(dst, in.Phone)
			dst = append(dst, `,"role":`...)
			dst = jsonout.String(dst, in.Role)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"code":`...)
	dst = jsonout.String(dst, v.Code)
	if v.CodeURL != "" {
		dst = append(dst, `,"code_url":`...)
		dst = jsonout.String(dst, v.CodeURL)
	}
	return append(dst, '}'), nil
}
