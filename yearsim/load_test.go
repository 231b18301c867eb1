package yearsim

import (
	"strings"
	"testing"

	"inspectonce/planner"
)

const chicagoHeader = "license,name,facility_type,risk,address,zip,latitude,longitude,canvass_inspections,failed,last_inspection\n"

func TestLoadChicago(t *testing.T) {
	in := chicagoHeader +
		"30790,SEVEN STAR,Grocery Store,Risk 3 (Low),3352 N BROADWAY,60657,41.943359,-87.644999,1,0,2013-01-31\n" +
		`1475890,"PANERA, BREAD",Restaurant,Risk 1 (High),6059 N LINCOLN AVE,60659,41.991919,-87.709631,4,1,2014-09-16` + "\n" +
		"7,X,School,Risk 2 (Medium),1 A ST,60601,41.9,-87.6,0,0,2012-02-29\n"
	got, err := LoadChicago(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d establishments, want 3", len(got))
	}
	p := got[1]
	if p.License != "1475890" || p.Name != "PANERA, BREAD" || p.Risk != planner.RiskRed || p.Zip != "60659" ||
		p.Canvass != 4 || p.Failed != 1 || p.FailRate() != 0.25 || p.LastInspection.String() != "2014-09-16" || p.Lat != 41.991919 {
		t.Errorf("second row read as %+v", p)
	}
	if got[0].Risk != planner.RiskGreen || got[2].Risk != planner.RiskYellow || got[2].FailRate() != 0 {
		t.Errorf("risk or fail rate misread: %+v", got)
	}
}

func TestLoadChicagoRejects(t *testing.T) {
	row := func(fields ...string) string { return chicagoHeader + strings.Join(fields, ",") + "\n" }
	good := []string{"1", "N", "Restaurant", "Risk 1 (High)", "A", "60601", "41.9", "-87.6", "2", "1", "2014-01-02"}
	with := func(i int, v string) string {
		f := append([]string(nil), good...)
		f[i] = v
		return row(f...)
	}
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "header"},
		{"missing column", "license,name\n1,N\n", `missing column "facility_type"`},
		{"no rows", chicagoHeader, "no establishments"},
		{"empty licence", with(0, ""), "license"},
		{"unknown risk", with(3, "Risk 4"), "risk"},
		{"latitude", with(6, "north"), "latitude"},
		{"latitude range", with(6, "123"), "latitude"},
		{"longitude", with(7, ""), "longitude"},
		{"canvass", with(8, "-1"), "canvass_inspections"},
		{"failed above canvass", with(9, "3"), "failed"},
		{"date", with(10, "02/01/2014"), "last_inspection"},
		{"licence twice", row(good...) + strings.Join(good, ",") + "\n", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadChicago(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// FuzzLoadChicago: any input is read or refused with an error, and what is
// read is usable by the simulation.
func FuzzLoadChicago(f *testing.F) {
	f.Add(chicagoHeader + "1,N,Restaurant,Risk 1 (High),A,60601,41.9,-87.6,2,1,2014-01-02\n")
	f.Add(chicagoHeader + "1,N,Restaurant,Risk 3 (Low),A,60601,NaN,-87.6,0,0,2014-01-02\n")
	f.Add("license\n\"")
	f.Fuzz(func(t *testing.T, in string) {
		ests, err := LoadChicago(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, e := range ests {
			if e.License == "" || (e.Risk != planner.RiskRed && e.Risk != planner.RiskYellow && e.Risk != planner.RiskGreen) ||
				e.Failed > e.Canvass || e.FailRate() < 0 || e.FailRate() > 1 || e.Lat != e.Lat || e.Lng != e.Lng {
				t.Fatalf("read an unusable establishment %+v", e)
			}
		}
	})
}
