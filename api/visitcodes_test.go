package api

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	qr "github.com/piglig/go-qr"
)

// getPage fetches a public page with no token, as a phone scanning a QR code.
func getPage(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// TestVisitCodeThroughAPI: staff read a visit's code, the business opens its
// public page and QR image with no token, an admin revokes it; the old page
// then says revoked (410) and the new one is valid. Answers are checked
// against the OpenAPI document.
func TestVisitCodeThroughAPI(t *testing.T) {
	f := newScheduleFixture(t)
	base := fmt.Sprintf("/api/v1/plans/%d/visits/%d/code", f.plan.ID, f.joint.Seq)
	for _, c := range []struct {
		who    string
		status int
	}{{"business", 403}, {"planner", 403}, {"", 401}} {
		expect(t, f.do(c.who, "GET", base, nil), c.status, "code as "+c.who)
	}
	expect(t, f.do("admin", "GET", fmt.Sprintf("/api/v1/plans/%d/visits/999999/code", f.plan.ID), nil), 404, "code of no visit")
	r := f.do("admin", "GET", base, nil)
	expect(t, r, 200, "code as admin")
	var code visitCodeAnswer
	r.json(t, &code)
	if code.Generation != 0 || code.Code == "" || code.URL != "http://localhost:8080/v/"+code.Code || code.QR != "/v/"+code.Code+"/qr.png" {
		t.Fatalf("code %+v", code)
	}

	status, hdr, page := getPage(t, f.srv.URL+"/v/"+code.Code)
	if status != 200 || !bytes.Contains(page, []byte(`data-outcome="valid"`)) || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("code page: %d %s\n%s", status, hdr, page)
	}
	// The page again (rendered once, then reused): the same bytes; in
	// English, its own.
	if status, _, again := getPage(t, f.srv.URL+"/v/"+code.Code); status != 200 || !bytes.Equal(again, page) {
		t.Fatalf("the code page read again differs: %d\n%s", status, again)
	}
	if status, _, en := getPage(t, f.srv.URL+"/v/"+code.Code+"?lang=en"); status != 200 || !bytes.Contains(en, []byte("Inspection check")) ||
		bytes.Contains(en, []byte("行政检查核验")) {
		t.Fatalf("the English code page: %d\n%s", status, en)
	}
	door, err := f.st.DoorVisit(context.Background(), f.plan.ID, f.joint.Seq, 0)
	if err != nil || len(door.Inspectors) < 2 {
		t.Fatalf("door visit %+v %v", door, err)
	}
	for _, in := range door.Inspectors {
		if !bytes.Contains(page, []byte(in.Name)) || !bytes.Contains(page, []byte(in.Code)) {
			t.Errorf("code page lacks inspector %q (%s)", in.Name, in.Code)
		}
	}
	status, hdr, img := getPage(t, f.srv.URL+code.QR)
	if status != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("QR image: %d %s", status, hdr)
	}
	decoded, err := png.Decode(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qr.Decode(decoded); err != nil || got != code.URL {
		t.Fatalf("QR holds %q, %v; want %q", got, err, code.URL)
	}

	expect(t, f.do("business", "POST", base+"/revoke", map[string]any{"reason": "lost"}), 403, "revoke as business")
	r = f.do("admin", "POST", base+"/revoke", map[string]any{"reason": "  "})
	expect(t, r, 422, "revoke without reason")
	if got := fieldsOf(t, r); !slices.Equal(got, []string{"reason"}) {
		t.Errorf("fields %v, want [reason]", got)
	}
	r = f.do("admin", "POST", base+"/revoke", map[string]any{"reason": "告知书遗失"})
	expect(t, r, 200, "revoke")
	var rev revokeAnswer
	r.json(t, &rev)
	if rev.Generation != 0 || rev.Current.Generation != 1 || rev.Current.Code == code.Code || rev.Reason != "告知书遗失" {
		t.Fatalf("revocation %s", r.Body)
	}
	// A planner of a department on the visit may revoke it; of a visit
	// without the department's items, not.
	r = f.do("planner", "POST", base+"/revoke", map[string]any{"reason": "二维码被翻拍"})
	expect(t, r, 200, "revoke by a planner of the visit's department")
	var rev2 revokeAnswer
	r.json(t, &rev2)
	if rev2.Generation != 1 || rev2.Current.Generation != 2 {
		t.Fatalf("planner's revocation %s", r.Body)
	}
	rev = rev2
	want := 403
	if slices.Contains(f.other.DepartmentIDs, f.deptA.ID) {
		want = 200
	}
	expect(t, f.do("planner", "POST", fmt.Sprintf("/api/v1/plans/%d/visits/%d/code/revoke", f.plan.ID, f.other.Seq),
		map[string]any{"reason": "x"}), want, "revoke by a planner of another visit")
	if status, _, page = getPage(t, f.srv.URL+"/v/"+code.Code); status != http.StatusGone || !bytes.Contains(page, []byte(`data-outcome="revoked"`)) {
		t.Fatalf("revoked code page: %d\n%s", status, page)
	}
	if status, _, _ = getPage(t, f.srv.URL+"/v/"+rev.Current.Code); status != 200 {
		t.Fatalf("new code page: %d", status)
	}
	// A forged code tells nothing about any visit.
	forged := strings.Repeat("A", len(code.Code))
	status, _, page = getPage(t, f.srv.URL+"/v/"+forged)
	if status != 404 || !bytes.Contains(page, []byte(`data-outcome="unknown"`)) {
		t.Fatalf("forged code page: %d\n%s", status, page)
	}
	for _, in := range door.Inspectors {
		if bytes.Contains(page, []byte(in.Name)) {
			t.Errorf("forged code page names inspector %q", in.Name)
		}
	}
	if status, _, _ = getPage(t, f.srv.URL+"/v/"+forged+"/qr.png"); status != 404 {
		t.Errorf("QR of a forged code: %d, want 404", status)
	}
}
