package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"inspectonce/csvimport"
	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/risk"
	"inspectonce/store"
	"inspectonce/store/storetest"
)

// redByResult publishes the hand plan and has visit 1 (f.biz[0]) confirmed
// with a violation, so that the business is red by a result. It returns the
// result's id.
func redByResult(t *testing.T, st *store.Store) (planFixture, int64) {
	t.Helper()
	ctx := context.Background()
	p, f := publishedHandPlan(t, st)
	rules, _ := resultRules(t)
	a, b := f.inspectors[1], f.inspectors[0]
	_, tasks := doorTasks(t, st, p.ID, 1, a)
	viol, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptA], a, store.ResultInput{ClientID: newUUID(),
		Outcome: store.ResultViolation, RuleCited: "《食品安全法》第五十五条", RectifyBy: "2026-03-13"}, rules)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.RecordResult(ctx, p.ID, 1, tasks[f.deptB], b, store.ResultInput{ClientID: newUUID(),
		Outcome: store.ResultCompliant}, rules); err != nil {
		t.Fatal(err)
	}
	for _, in := range []int64{a, b} {
		if _, _, err := st.ConfirmVisit(ctx, "inspector", p.ID, 1, in, newUUID(), rules); err != nil {
			t.Fatal(err)
		}
	}
	bz, err := st.GetBusiness(ctx, f.biz[0])
	if err != nil || bz.RiskCode != domain.RiskRed {
		t.Fatalf("after the violation: %+v %v, want red", bz, err)
	}
	return f, viol.ID
}

// importCSV is the header of the hand fixture's businesses with a risk code.
const importHead = "uscc,name,region,industry_code,lat,lng,risk_code\n"

func lastHistory(t *testing.T, st *store.Store, uscc string) domain.RiskChange {
	t.Helper()
	h, err := st.RiskHistory(context.Background(), uscc)
	if err != nil || len(h) == 0 {
		t.Fatalf("history of %s: %+v %v", uscc, h, err)
	}
	return h[len(h)-1]
}

// A red code set by a confirmed violation survives an import saying green
// (the issue: "import 2" reset it two minutes later); the row's other columns
// still apply and the refused cell is reported on its line. Raising a code by
// import is fine.
func TestImportKeepsRiskCodeSetByResult(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f, resultID := redByResult(t, st)
	csv := importHead +
		f.biz[0] + ",店0（新招牌）,C-T-G,H6210,30.7,122.4,green\n" +
		f.biz[1] + ",店1,C-T-G,H6210,30.71,122.4,red\n"
	for round := 1; round <= 2; round++ { // the second import
		job, err := csvimport.Businesses(ctx, st, "admin:test", strings.NewReader(csv), csvimport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if job.RowsLoaded != 2 || job.RowsRejected != 0 || len(job.Errors) != 1 {
			t.Fatalf("round %d: job %+v, want both rows loaded and one refused cell", round, job)
		}
		e := job.Errors[0]
		if e.Line != 2 || e.Field != "risk_code" || !e.RowApplied || !strings.Contains(e.Reason, "kept red") ||
			!strings.Contains(e.Reason, "risk_override") {
			t.Errorf("round %d: error %+v, want line 2 risk_code kept red, row applied", round, e)
		}
		bz, err := st.GetBusiness(ctx, f.biz[0])
		if err != nil || bz.RiskCode != domain.RiskRed || bz.Name != "店0（新招牌）" {
			t.Fatalf("round %d: business %+v %v, want red and renamed", round, bz, err)
		}
		if h := lastHistory(t, st, f.biz[0]); h.RiskCode != domain.RiskRed || h.ResultID == nil || *h.ResultID != resultID {
			t.Errorf("round %d: last history %+v, want the result's red", round, h)
		}
		if bz, _ := st.GetBusiness(ctx, f.biz[1]); bz.RiskCode != domain.RiskRed {
			t.Errorf("round %d: raising by import: %s, want red", round, bz.RiskCode)
		}
	}
	// Raised by an import that gave no reason: the import is the reason, by
	// its code, in Chinese by default and in English on request.
	h := lastHistory(t, st, f.biz[1])
	en := risk.ReasonText(messages.EN, h.ReasonCode, h.ReasonParams, "")
	if h.ReasonCode != risk.ReasonImport || !strings.HasPrefix(h.Reason, "批量导入（第") || !strings.HasPrefix(en, "import ") ||
		risk.ReasonText(messages.ZH, h.ReasonCode, h.ReasonParams, "") != h.Reason {
		t.Errorf("import's reason %+v (en %q)", h, en)
	}
}

// With risk_override and a reason the import lowers the code; the history
// carries the reason and the audit log names business, codes and reason.
func TestImportRiskOverride(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f, resultID := redByResult(t, st)
	csv := importHead + f.biz[0] + ",店0,C-T-G,H6210,30.7,122.4,绿\n"

	// An override needs a reason: refused before anything is read or written.
	jobsBefore := countRows(t, st, "import_jobs")
	_, err := csvimport.Businesses(ctx, st, "admin:test", strings.NewReader(csv),
		csvimport.Options{Import: store.ImportOptions{RiskOverride: true, Reason: "  "}})
	if fieldErr(err) != "reason" {
		t.Fatalf("override without a reason: %v, want a validation error naming reason", err)
	}
	if n := countRows(t, st, "import_jobs"); n != jobsBefore {
		t.Errorf("a refused override made a job")
	}

	const why = "行政复议撤销处罚决定（嵊政复〔2026〕3号）"
	job, err := csvimport.Businesses(ctx, st, "admin:test", strings.NewReader(csv),
		csvimport.Options{Import: store.ImportOptions{RiskOverride: true, Reason: why}})
	if err != nil || job.RowsLoaded != 1 || len(job.Errors) != 0 || !job.RiskOverride || job.OverrideReason != why {
		t.Fatalf("override: %+v %v", job, err)
	}
	bz, err := st.GetBusiness(ctx, f.biz[0])
	if err != nil || bz.RiskCode != domain.RiskGreen || bz.RiskReason != why {
		t.Fatalf("business %+v %v, want green for the override's reason", bz, err)
	}
	if h := lastHistory(t, st, f.biz[0]); h.RiskCode != domain.RiskGreen || h.Reason != why || h.SetBy != "admin:test" || h.ResultID != nil {
		t.Errorf("last history %+v", h)
	}
	audit, err := st.ListAudit(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var found int
	for _, e := range audit {
		if e.Action != "business.risk_override" {
			continue
		}
		found++
		var d map[string]any
		if err := json.Unmarshal([]byte(e.Detail), &d); err != nil {
			t.Fatal(err)
		}
		if e.Object != "business/"+f.biz[0] || e.Actor != "admin:test" || d["from"] != "red" || d["to"] != "green" ||
			d["reason"] != why || d["overrode_result_id"] != float64(resultID) || d["line"] != float64(2) {
			t.Errorf("override audit entry %+v", e)
		}
	}
	if found != 1 {
		t.Errorf("%d override audit entries, want 1", found)
	}
	if n, brk, err := st.VerifyAudit(ctx); err != nil || brk != nil || n == 0 {
		t.Fatalf("audit chain: %d %+v %v", n, brk, err)
	}
	// The job's own entry records that it ran with the override.
	last := audit[len(audit)-1]
	if last.Action != "import.businesses" || !strings.Contains(last.Detail, `"risk_override":true`) || !strings.Contains(last.Detail, why) {
		t.Errorf("job audit entry %+v", last)
	}
}

// A dry run reports per row what an import would do, with the same
// line-numbered errors, and changes nothing: no business, history, job, error
// row or audit entry.
func TestImportDryRun(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	f, _ := redByResult(t, st)
	newUSCC, newUSCC2 := code(51), code(52)
	csv := importHead +
		f.biz[0] + ",新名字,C-T-G,H6210,30.7,122.4,green\n" + // 2: name changes, risk cell refused
		f.biz[1] + ",店1,C-T-G,H6210,30.71,122.4,\n" + // 3: unchanged
		newUSCC + ",新店,C-T-G,H6210,30.75,122.41,yellow\n" + // 4: new
		newUSCC2 + ",缺纬度,C-T-G,H6210,,122.41,\n" + // 5: new without lat
		f.biz[2] + ",\"=HYPERLINK(\"\"http://evil.example\"\")\",,,,,\n" // 6: a formula
	tables := []string{"businesses", "risk_code_history", "import_jobs", "import_errors", "audit_log"}
	before := map[string]int{}
	for _, tb := range tables {
		before[tb] = countRows(t, st, tb)
	}
	biz0, _ := st.GetBusiness(ctx, f.biz[0])

	rep, err := csvimport.DryRunBusinesses(ctx, st, "admin:test", strings.NewReader(csv), csvimport.Options{BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.DryRun || rep.RowsRead != 5 || rep.RowsNew != 1 || rep.RowsChanged != 1 || rep.RowsUnchanged != 1 || rep.RowsRejected != 2 ||
		rep.NextAfterLine != nil {
		t.Fatalf("report counts %+v", rep)
	}
	if len(rep.Rows) != 2 {
		t.Fatalf("rows %+v, want lines 2 and 4", rep.Rows)
	}
	changed, added := rep.Rows[0], rep.Rows[1]
	if changed.Line != 2 || changed.Status != store.RowChanged || changed.Key != f.biz[0] || len(changed.Changes) != 1 ||
		changed.Changes[0] != (store.FieldChange{Field: "name", Old: "店0", New: "新名字"}) {
		t.Errorf("line 2: %+v, want the name 店0 → 新名字 only", changed)
	}
	if added.Line != 4 || added.Status != store.RowNew || added.Key != newUSCC {
		t.Errorf("line 4: %+v, want new", added)
	}
	want := map[string]bool{"region=C-T-G": false, "risk_code=yellow": false, "list_kind=random": false, "lat=30.75": false}
	for _, c := range added.Changes {
		if _, ok := want[c.Field+"="+c.New]; ok && c.Old == "" {
			want[c.Field+"="+c.New] = true
		}
	}
	for k, ok := range want {
		if !ok {
			t.Errorf("line 4 changes %+v lack %s", added.Changes, k)
		}
	}
	type key struct {
		line    int
		field   string
		applied bool
	}
	var gotErrs []key
	for _, e := range rep.Errors {
		gotErrs = append(gotErrs, key{e.Line, e.Field, e.RowApplied})
	}
	if wantErrs := []key{{2, "risk_code", true}, {5, "lat", false}, {6, "name", false}}; !equalKeys(gotErrs, wantErrs) {
		t.Errorf("errors %+v, want %+v", rep.Errors, wantErrs)
	}
	for _, tb := range tables {
		if n := countRows(t, st, tb); n != before[tb] {
			t.Errorf("%s: %d rows after the dry run, %d before", tb, n, before[tb])
		}
	}
	if after, _ := st.GetBusiness(ctx, f.biz[0]); after != biz0 {
		t.Errorf("business changed by a dry run: %+v → %+v", biz0, after)
	}

	// Pages: two lines at a time.
	var lines []int
	after := 0
	for page := 0; page < 5; page++ {
		rep, err := csvimport.DryRunBusinesses(ctx, st, "admin:test", strings.NewReader(csv),
			csvimport.Options{BatchSize: 1, ReportLimit: 2, ReportAfterLine: after})
		if err != nil {
			t.Fatal(err)
		}
		if rep.RowsRead != 5 || rep.RowsNew != 1 || rep.RowsRejected != 2 {
			t.Fatalf("page %d counts %+v: the counts cover the whole file", page, rep)
		}
		seen := map[int]bool{}
		for _, r := range rep.Rows {
			seen[r.Line] = true
		}
		for _, e := range rep.Errors {
			seen[e.Line] = true
		}
		if len(seen) > 2 {
			t.Fatalf("page %d reports %d lines, limit 2", page, len(seen))
		}
		for l := range seen {
			lines = append(lines, l)
		}
		if rep.NextAfterLine == nil {
			break
		}
		after = *rep.NextAfterLine
	}
	if len(lines) != 4 {
		t.Errorf("pages reported lines %v, want 2, 4, 5 and 6", lines)
	}
}

func equalKeys[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Options that make no sense are refused naming the option.
func TestImportOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt   store.ImportOptions
		field string
	}{
		{store.ImportOptions{}, ""},
		{store.ImportOptions{EmptyCells: "clear"}, ""},
		{store.ImportOptions{EmptyCells: "blank"}, "empty"},
		{store.ImportOptions{RiskOverride: true}, "reason"},
		{store.ImportOptions{Reason: "x"}, "reason"},
		{store.ImportOptions{RiskOverride: true, Reason: "x\x00"}, "reason"},
		{store.ImportOptions{RiskOverride: true, Reason: strings.Repeat("长", 501)}, "reason"},
		{store.ImportOptions{RiskOverride: true, Reason: "复核"}, ""},
	} {
		err := tc.opt.Validate()
		if got := fieldErr(err); got != tc.field || (tc.field == "" && err != nil) {
			t.Errorf("%+v: %v, want field %q", tc.opt, err, tc.field)
		}
		var ve *domain.ValidationError
		if tc.field != "" && !errors.As(err, &ve) {
			t.Errorf("%+v: %T is not a validation error", tc.opt, err)
		}
	}
}
