package domain

import (
	"fmt"

	"inspectonce/internal/jsonout"
)

// MarshalJSON writes a business with contact_name and contact_phone null
// when they are withheld from the reader (ContactWithheld), so that a
// withheld contact cannot be taken for an empty one.
func (b Business) MarshalJSON() ([]byte, error) {
	return b.AppendJSON(make([]byte, 0, 512))
}

// AppendJSON appends b's JSON, as MarshalJSON gives it, to dst: written by
// hand, without reflection, for the business list (issue 20). Withheld
// contact details are null and come last, where encoding/json put them when
// they were the fields of a struct embedding the business.
func (b Business) AppendJSON(dst []byte) ([]byte, error) {
	var err error
	dst = append(dst, `{"uscc":`...)
	dst = jsonout.String(dst, b.USCC)
	dst = append(dst, `,"name":`...)
	dst = jsonout.String(dst, b.Name)
	dst = append(dst, `,"address":`...)
	dst = jsonout.String(dst, b.Address)
	dst = append(dst, `,"region_id":`...)
	dst = jsonout.Int(dst, b.RegionID)
	dst = append(dst, `,"industry_code":`...)
	dst = jsonout.String(dst, b.IndustryCode)
	dst = append(dst, `,"lat":`...)
	if dst, err = jsonout.Float64(dst, b.Lat); err != nil {
		return nil, fmt.Errorf("business %s lat: %w", b.USCC, err)
	}
	dst = append(dst, `,"lng":`...)
	if dst, err = jsonout.Float64(dst, b.Lng); err != nil {
		return nil, fmt.Errorf("business %s lng: %w", b.USCC, err)
	}
	dst = append(dst, `,"risk_code":`...)
	dst = jsonout.String(dst, b.RiskCode)
	dst = append(dst, `,"risk_set_at":`...)
	if dst, err = jsonout.Time(dst, b.RiskSetAt); err != nil {
		return nil, fmt.Errorf("business %s risk_set_at: %w", b.USCC, err)
	}
	dst = append(dst, `,"risk_reason":`...)
	dst = jsonout.String(dst, b.RiskReason)
	dst = append(dst, `,"list_kind":`...)
	dst = jsonout.String(dst, b.ListKind)
	if !b.ContactWithheld {
		dst = append(dst, `,"contact_name":`...)
		dst = jsonout.String(dst, b.ContactName)
		dst = append(dst, `,"contact_phone":`...)
		dst = jsonout.String(dst, b.ContactPhone)
	}
	dst = append(dst, `,"created_at":`...)
	if dst, err = jsonout.Time(dst, b.CreatedAt); err != nil {
		return nil, fmt.Errorf("business %s created_at: %w", b.USCC, err)
	}
	dst = append(dst, `,"updated_at":`...)
	if dst, err = jsonout.Time(dst, b.UpdatedAt); err != nil {
		return nil, fmt.Errorf("business %s updated_at: %w", b.USCC, err)
	}
	if b.ContactWithheld {
		dst = append(dst, `,"contact_name":null,"contact_phone":null`...)
	}
	return append(dst, '}'), nil
}
