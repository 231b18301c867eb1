package seed

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"inspectonce/domain"
)

// These tests check the demo demands as plain values; seed_test.go checks
// that they are stored.

func TestDemandsFollowTheRules(t *testing.T) {
	c := Demo()
	cal, err := defaultCalendar()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC) // a Friday
	ds := c.Demands(now, cal)
	if !reflect.DeepEqual(ds, c.Demands(now, cal)) {
		t.Fatal("two calls of Demands differ")
	}

	itemDept := map[string]string{}
	for _, it := range c.Items {
		itemDept[it.Code] = it.Department
	}
	scenarioItems := map[string][]string{}
	scenarioInd := map[string][]string{}
	for _, sc := range c.Scenarios {
		scenarioItems[sc.Code], scenarioInd[sc.Code] = sc.Items, sc.IndustryCodes
	}
	biz := map[string]Business{}
	for _, b := range c.Businesses {
		biz[b.USCC] = b
	}
	today := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC)
	sources := map[string]int{}
	depts := map[string]bool{}
	for _, d := range ds {
		sources[d.Source]++
		depts[d.Department] = true
		switch {
		case !cal.IsWorkingDay(d.WindowFrom) || !cal.IsWorkingDay(d.WindowTo):
			t.Errorf("%s: window %s..%s does not start and end on working days", d.Title, d.WindowFrom, d.WindowTo)
		case d.WindowTo.Before(d.WindowFrom) || !d.WindowFrom.After(today) || d.WindowTo.After(today.AddDate(0, 0, 56)):
			t.Errorf("%s: window %s..%s is not within the next eight weeks", d.Title, d.WindowFrom, d.WindowTo)
		}
		if len(d.Items) == 0 || d.Priority < 1 || d.Priority > 5 {
			t.Errorf("%s: items %v, priority %d", d.Title, d.Items, d.Priority)
		}
		for _, it := range d.Items {
			if itemDept[it] != d.Department {
				t.Errorf("%s: item %s is not %s's", d.Title, it, d.Department)
			}
			if d.Scenario != "" && !slices.Contains(scenarioItems[d.Scenario], it) {
				t.Errorf("%s: item %s is not part of scenario %s", d.Title, it, d.Scenario)
			}
		}
		if (d.Source == domain.SourceScenario) != (d.Scenario != "") {
			t.Errorf("%s: source %s, scenario %q", d.Title, d.Source, d.Scenario)
		}
		if (d.Sample != nil) == (len(d.Businesses) > 0) || (d.Sample != nil) != (d.TargetKind == domain.TargetSample) {
			t.Errorf("%s: target kind %s, sample %v, %d businesses", d.Title, d.TargetKind, d.Sample != nil, len(d.Businesses))
		}
		if d.Source == domain.SourceComplaint && (d.Sample != nil || d.Priority != 1 || d.AnnounceDays != 0) {
			t.Errorf("%s: a complaint names its businesses, has priority 1 and is unannounced", d.Title)
		}
		for _, code := range d.Businesses {
			if _, ok := biz[code]; !ok {
				t.Errorf("%s: names unknown business %s", d.Title, code)
			}
		}
		if d.Sample != nil {
			if n := len(population(&c, d)); n == 0 {
				t.Errorf("%s: the sampling rule matches no business", d.Title)
			} else if d.Sample.Count != nil && *d.Sample.Count > n {
				t.Errorf("%s: draws %d of %d", d.Title, *d.Sample.Count, n)
			}
		}
	}
	if sources[domain.SourceRoutine] < 15 || sources[domain.SourceScenario] < 6 || sources[domain.SourceComplaint] < 3 || sources[domain.SourceCampaign] < 1 {
		t.Errorf("demands by source: %v", sources)
	}
	if len(depts) < 9 {
		t.Errorf("%d departments submit demands, want at least 9", len(depts))
	}

	// Populations overlap: many restaurants are in four departments' frames.
	inFrames := map[string]map[string]bool{}
	for _, d := range ds {
		if d.Sample == nil {
			continue
		}
		for _, code := range population(&c, d) {
			if inFrames[code] == nil {
				inFrames[code] = map[string]bool{}
			}
			inFrames[code][d.Department] = true
		}
	}
	shared := 0
	for _, m := range inFrames {
		if len(m) >= 3 {
			shared++
		}
	}
	if shared < 300 {
		t.Errorf("%d businesses are in the frames of three or more departments, want at least 300", shared)
	}

	// The same businesses are named whatever the date; only windows move.
	later := c.Demands(now.AddDate(0, 1, 0), cal)
	for i := range ds {
		if !reflect.DeepEqual(ds[i].Businesses, later[i].Businesses) || ds[i].WindowFrom.Equal(later[i].WindowFrom) {
			t.Errorf("%s: targets or windows do not follow the date", ds[i].Title)
		}
	}
}

// population is the businesses a demand's sampling rule may draw.
func population(c *County, d Demand) []string {
	inds := d.Sample.IndustryCodes
	for _, sc := range c.Scenarios {
		if sc.Code == d.SampleScenario {
			inds = sc.IndustryCodes
		}
	}
	var out []string
	for _, b := range c.Businesses {
		if len(inds) > 0 && !slices.Contains(inds, b.IndustryCode) {
			continue
		}
		if len(d.SampleRegions) > 0 && !slices.ContainsFunc(d.SampleRegions, func(r string) bool { return strings.HasPrefix(b.Grid, r+"-") }) {
			continue
		}
		out = append(out, b.USCC)
	}
	return out
}
