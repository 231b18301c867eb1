package api

import (
	"context"
	"strings"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// The import's query: a dry run answers the documented report and writes
// nothing, a real import answers the job with its options, and options that
// make no sense are 422s naming the parameter. Every answer is checked
// against api/openapi.yaml by the harness.
func TestImportQuery(t *testing.T) {
	v := newEnv(t)
	ctx := context.Background()
	const path = "/api/v1/imports/businesses"
	csv := "uscc,name,contact_phone\n" + v.bizA.USCC + ",海鲜大排档（新）,+86 138 0000 0000\n" +
		v.bizB.USCC + ",渔家乐民宿,\n" +
		mustUSCC(t, 77) + ",新店,\n" + // new without region and so on
		mustUSCC(t, 78) + ",\"=HYPERLINK(\"\"http://evil.example\"\")\",\n"
	post := func(query string) resp {
		return v.do("admin", "POST", path+query, []byte(csv), "Content-Type", "text/csv")
	}

	r := post("?dry_run=true&limit=2")
	expect(t, r, 200, "dry run")
	if r.Header.Get("Location") != "" {
		t.Errorf("a dry run has a Location: %s", r.Header.Get("Location"))
	}
	var rep struct {
		DryRun        bool                   `json:"dry_run"`
		RowsRead      int                    `json:"rows_read"`
		RowsChanged   int                    `json:"rows_changed"`
		RowsUnchanged int                    `json:"rows_unchanged"`
		RowsRejected  int                    `json:"rows_rejected"`
		NextAfterLine *int                   `json:"next_after_line"`
		Rows          []store.RowOutcome     `json:"rows"`
		Errors        []store.ImportRowError `json:"errors"`
	}
	r.json(t, &rep)
	if !rep.DryRun || rep.RowsRead != 4 || rep.RowsChanged != 1 || rep.RowsUnchanged != 1 || rep.RowsRejected != 2 ||
		rep.NextAfterLine == nil || *rep.NextAfterLine != 4 {
		t.Fatalf("report %s", r.Body)
	}
	if len(rep.Rows) != 1 || rep.Rows[0].Line != 2 || len(rep.Rows[0].Changes) != 2 {
		t.Errorf("rows %+v, want line 2 changing name and contact_phone", rep.Rows)
	}
	if b, _ := v.st.GetBusiness(ctx, v.bizA.USCC); b.Name != v.bizA.Name || b.ContactPhone != "" {
		t.Errorf("the dry run changed %+v", b)
	}
	r = post("?dry_run=true&after_line=4")
	expect(t, r, 200, "dry run page 2")
	r.json(t, &rep)
	if rep.NextAfterLine != nil || len(rep.Errors) != 1 || rep.Errors[0].Line != 5 || rep.Errors[0].Field != "name" {
		t.Errorf("page 2: %s", r.Body)
	}

	r = v.do("admin", "POST", path+"?dry_run=true", []byte("a;b\n1;2\n"), "Content-Type", "text/csv")
	expect(t, r, 422, "dry run of a file with no known column")
	if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != "header" {
		t.Errorf("dry run header: %s", r.Body)
	}

	for _, tc := range []struct{ query, field string }{
		{"?empty=blank", "empty"},
		{"?risk_override=true", "reason"},
		{"?risk_override=yes&reason=x", "risk_override"},
		{"?reason=x", "reason"},
		{"?dry_run=1", "dry_run"},
		{"?limit=5", "dry_run"},
		{"?dry_run=true&limit=0", "limit"},
		{"?dry_run=true&after_line=-1", "after_line"},
	} {
		r := post(tc.query)
		expect(t, r, 422, tc.query)
		if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
			t.Errorf("%s: %s, want the field %s", tc.query, r.Body, tc.field)
		}
	}

	r = post("?empty=clear")
	expect(t, r, 200, "import")
	var job store.ImportJob
	r.json(t, &job)
	if job.EmptyCells != store.EmptyClear || job.RowsLoaded != 2 || job.RowsRejected != 2 {
		t.Errorf("job %s", r.Body)
	}
	b, _ := v.st.GetBusiness(ctx, v.bizA.USCC)
	if b.Name != "海鲜大排档（新）" || b.ContactPhone != "+86 138 0000 0000" || b.RegionID != v.grid.ID || b.RiskCode != domain.RiskYellow {
		t.Errorf("after the import %+v", b)
	}
}

// The override is taken from the query and reaches the job.
func TestImportOverrideQuery(t *testing.T) {
	v := newEnv(t)
	r := v.do("admin", "POST", "/api/v1/imports/businesses?risk_override=true&reason="+strings.ReplaceAll("复核 撤销", " ", "%20"),
		[]byte("uscc,risk_code\n"+v.bizA.USCC+",green\n"), "Content-Type", "text/csv")
	expect(t, r, 200, "override import")
	var job store.ImportJob
	r.json(t, &job)
	if !job.RiskOverride || job.OverrideReason != "复核 撤销" || job.RowsLoaded != 1 {
		t.Errorf("job %s", r.Body)
	}
}
