package domain

import "encoding/json"

// MarshalJSON writes a business with contact_name and contact_phone null
// when they are withheld from the reader (ContactWithheld), so that a
// withheld contact cannot be taken for an empty one.
func (b Business) MarshalJSON() ([]byte, error) {
	type plain Business
	if !b.ContactWithheld {
		return json.Marshal(plain(b))
	}
	return json.Marshal(struct {
		plain
		ContactName  *string `json:"contact_name"`
		ContactPhone *string `json:"contact_phone"`
	}{plain: plain(b)})
}
