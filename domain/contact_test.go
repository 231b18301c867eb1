package domain

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// reflectBusinessJSON is how Business was written through encoding/json's
// reflection before AppendJSON: the reference AppendJSON must match byte for
// byte.
func reflectBusinessJSON(b Business) ([]byte, error) {
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

// TestBusinessJSON checks that the hand-written JSON of a business is the
// one encoding/json wrote, contact details shown or withheld, with text that
// needs escaping, and that values JSON cannot hold are refused as before.
func TestBusinessJSON(t *testing.T) {
	sh := time.FixedZone("CST", 8*3600)
	at := time.Date(2026, 12, 8, 7, 0, 40, 452633000, sh)
	base := Business{USCC: "9133092200DLE7WNCC", Name: "俞家海鲜面馆", Address: "菜园镇李柱山路27号", RegionID: 13,
		IndustryCode: "H6291", Lat: 30.73545, Lng: 122.444972, RiskCode: RiskGreen, RiskSetAt: at, RiskReason: "上次检查合规",
		ListKind: ListRandom, ContactName: "方浩强", ContactPhone: "13351583649", CreatedAt: at, UpdatedAt: at.Add(time.Second)}
	odd := base
	odd.Name, odd.Address, odd.ContactName = `<b>"A&B"</b>`+"\n\t\u2028", "bad \xff", "x\\y"
	odd.Lat, odd.Lng, odd.RiskSetAt = 1e-7, -0.0, time.Time{}
	withheld := base
	withheld.ContactWithheld, withheld.ContactName, withheld.ContactPhone = true, "", ""
	oddWithheld := odd
	oddWithheld.ContactWithheld = true
	for name, b := range map[string]Business{"shown": base, "odd": odd, "withheld": withheld, "odd withheld": oddWithheld, "zero": {}} {
		want, err := reflectBusinessJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := json.Marshal(b)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: json.Marshal = %s, %v\nwant %s", name, got, err, want)
		}
		app, err := b.AppendJSON([]byte("["))
		if err != nil || string(app) != "["+string(want) {
			t.Errorf("%s: AppendJSON = %s, %v\nwant [%s", name, app, err, want)
		}
	}
	for name, b := range map[string]Business{"NaN lat": {Lat: math.NaN()}, "Inf lng": {Lng: math.Inf(1)},
		"year 10000": {CreatedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := reflectBusinessJSON(b); err == nil {
			t.Fatalf("%s: encoding/json took it", name)
		}
		if _, err := json.Marshal(b); err == nil {
			t.Errorf("%s: json.Marshal took it", name)
		}
	}
}
