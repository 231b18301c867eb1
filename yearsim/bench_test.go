package yearsim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// chicagoFile is where the shared real data lives, relative to this
// package's directory (../shared/realdata of the project, read in place,
// never copied); INSPECTONCE_REALDATA overrides the directory.
const chicagoFile = "chicago-food-establishments.csv"

func chicagoPath() string {
	if dir := os.Getenv("INSPECTONCE_REALDATA"); dir != "" {
		return filepath.Join(dir, chicagoFile)
	}
	return filepath.Join("..", "..", "shared", "realdata", chicagoFile)
}

// loadChicago reads the establishments, or skips when the file is absent.
func loadChicago(tb testing.TB) []Establishment {
	tb.Helper()
	p := chicagoPath()
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("the Chicago establishments are not at %s (set INSPECTONCE_REALDATA to the realdata directory)", p)
	}
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	ests, err := LoadChicago(f)
	if err != nil {
		tb.Fatal(err)
	}
	return ests
}

// BenchmarkChicagoYear runs 52 weekly cycles over the City of Chicago's
// 12,327 food establishments with 36 inspectors, joins on, then the same
// year with joins off as the baseline in the same run, and with 15 % of each
// team-day kept for complaints and re-inspections; it checks each year
// against the calendar's rules (as TestYearInvariants does) and reports the
// three side by side.
//
//	go test ./yearsim -run '^$' -bench BenchmarkChicagoYear -benchtime 1x
func BenchmarkChicagoYear(b *testing.B) {
	ests := loadChicago(b)
	cfg := DefaultConfig()
	base := cfg
	base.Policy.Join = false
	reserve := cfg
	reserve.UrgentReserve = 0.15
	var sj, sb, sr Summary
	for b.Loop() {
		for _, run := range []struct {
			cfg Config
			sum *Summary
		}{{cfg, &sj}, {base, &sb}, {reserve, &sr}} {
			r, err := Run(ests, run.cfg)
			if err != nil {
				b.Fatal(err)
			}
			// The real year keeps the calendar's rules too.
			checkCalendar(b, r)
			checkCoverage(b, r, ests)
			*run.sum = r.Summarize()
		}
	}
	b.StopTimer()
	for _, c := range sj.Coverage {
		b.ReportMetric(c.OfTarget, "cov_"+c.Class+"/target")
	}
	b.ReportMetric(sj.Utilisation, "utilisation")
	b.ReportMetric(sj.KnocksPerEst, "knocks/est")
	b.ReportMetric(sj.KnocksOverBound, "knocks/bound")
	b.ReportMetric(sb.KnocksOverBound, "base_knocks/bound")
	b.ReportMetric(float64(sj.TasksJoined), "joins")
	b.ReportMetric(sj.BusiestDayMean, "busiest_day_share")
	missed := func(s Summary) float64 { return float64(s.ComplaintsMissed) / float64(max(s.ComplaintsIn, 1)) }
	b.ReportMetric(missed(sj), "complaints_missed")
	b.ReportMetric(missed(sr), "reserve_complaints_missed")
	b.ReportMetric(sj.BuildMean.Seconds()*1000, "build_ms/cycle")
	b.ReportMetric(sj.CycleMax.Seconds()*1000, "max_cycle_ms")
	fmt.Printf("Chicago year: %d establishments, %d inspectors in %d teams, %d weekly cycles of %d-day plans\n%s",
		len(ests), cfg.Teams*cfg.InspectorsPerTeam, cfg.Teams, cfg.Weeks, cfg.HorizonDays,
		Table([]string{"join on", "baseline: join off", "join on, 15% kept for urgent"}, []Summary{sj, sb, sr}))
	fmt.Println()
}
