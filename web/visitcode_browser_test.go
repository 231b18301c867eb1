package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"inspectonce/domain"
)

func init() {
	browserScenarios["visit_code"] = browserVisitCode
}

// pageStatus refetches the tab's URL and returns the HTTP status (the
// DevTools navigation does not report it). The refetch is a scan too.
func pageStatus(t *testing.T, tab context.Context) int {
	t.Helper()
	var n int
	if err := chromedp.Run(tab, chromedp.Evaluate(`fetch(location.href).then(r => r.status)`, &n,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		t.Fatal(err)
	}
	return n
}

// browserVisitCode: the demo business opens its schedule and sees a QR code
// on its announced visit; on a phone-sized screen, with no login, the code's
// page shows the visit's date, departments, items with their legal basis and
// the inspectors' names and certificate numbers, as the store has them.
// After the code is revoked the same page says so (410), and the new code's
// page is valid. Every page view is recorded as a scan.
func browserVisitCode(t *testing.T, b *benv) {
	ctx := context.Background()
	tab := b.Browser(t)
	b.Login(t, tab, domain.RoleBusiness)
	uscc := b.Scopes[domain.RoleBusiness]
	b.Open(t, tab, "/businesses/"+uscc+"/schedule")
	codes := b.Attrs(t, tab, ".sched-visit .visit-qr", "data-code")
	plans := b.Attrs(t, tab, ".sched-visit:has(.visit-qr)", "data-plan")
	seqs := b.Attrs(t, tab, ".sched-visit:has(.visit-qr)", "data-seq")
	if len(codes) == 0 || len(plans) != len(codes) || len(seqs) != len(codes) {
		t.Fatalf("schedule shows codes %v for plans %v seqs %v", codes, plans, seqs)
	}
	var loaded bool
	if err := chromedp.Run(tab, chromedp.Evaluate(`(async () => {
		const img = document.querySelector(".sched-visit .visit-qr img");
		if (!img.complete) await new Promise(r => img.addEventListener("load", r, {once: true}));
		return img.naturalWidth > 100 && img.naturalWidth === img.naturalHeight;
	})()`, &loaded, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
		t.Fatal(err)
	}
	if !loaded {
		t.Error("the schedule's QR image did not load as a square image")
	}
	planID, err := strconv.ParseInt(plans[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	seq, err := strconv.Atoi(seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	cur, err := b.st.VisitCode(ctx, planID, seq)
	if err != nil || cur.Code != codes[0] {
		t.Fatalf("store's code %q (%v), schedule shows %q", cur.Code, err, codes[0])
	}
	door, err := b.st.DoorVisit(ctx, planID, seq, 0)
	if err != nil {
		t.Fatal(err)
	}

	// The business's phone, not signed in.
	phone := b.Browser(t)
	if err := chromedp.Run(phone, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
	before, err := b.st.VisitCodeScans(ctx, planID, seq)
	if err != nil {
		t.Fatal(err)
	}
	b.Open(t, phone, "/v/"+cur.Code)
	if got := b.Attrs(t, phone, "#visit-code", "data-outcome"); len(got) != 1 || got[0] != "valid" {
		t.Fatalf("code page outcome %v", got)
	}
	if got := b.Attrs(t, phone, "#vcode-date", "data-date"); len(got) != 1 || got[0] != door.Date {
		t.Errorf("code page date %v, want %s", got, door.Date)
	}
	depts := b.Texts(t, phone, "#vcode-departments .dept")
	legal := strings.Join(b.Texts(t, phone, "#vcode-items .legal"), "\n")
	for _, tk := range door.Tasks {
		if !strings.Contains(strings.Join(depts, ","), tk.Department) {
			t.Errorf("departments %v lack %s", depts, tk.Department)
		}
		if tk.LegalBasis != "" && !strings.Contains(legal, tk.LegalBasis) {
			t.Errorf("legal basis %q of item %s not shown in %q", tk.LegalBasis, tk.ItemCode, legal)
		}
	}
	if legal == "" {
		t.Error("no item shows a legal basis")
	}
	names := b.Texts(t, phone, "#vcode-inspectors .name")
	certs := b.Texts(t, phone, "#vcode-inspectors .cert")
	if len(names) != len(door.Inspectors) || len(certs) != len(door.Inspectors) || len(names) < 2 {
		t.Fatalf("inspectors %v %v, want %d", names, certs, len(door.Inspectors))
	}
	for i, in := range door.Inspectors {
		if names[i] != in.Name || certs[i] != in.Code {
			t.Errorf("inspector %d shown as %s %s, want %s %s", i, names[i], certs[i], in.Name, in.Code)
		}
	}
	var overflow bool
	if err := chromedp.Run(phone, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow)); err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the code page is wider than the phone")
	}
	if st := pageStatus(t, phone); st != 200 {
		t.Errorf("valid code page answered %d", st)
	}
	b.Screenshot(t, phone, "visit_code_valid")

	// Revoked: the same page says so plainly, and tells nothing of the visit.
	rev, err := b.st.RevokeVisitCode(ctx, "admin", planID, seq, "告知书遗失")
	if err != nil {
		t.Fatal(err)
	}
	b.Open(t, phone, "/v/"+cur.Code)
	if got := b.Attrs(t, phone, "#visit-code", "data-outcome"); len(got) != 1 || got[0] != "revoked" {
		t.Fatalf("revoked code page outcome %v", got)
	}
	if s := strings.Join(b.Texts(t, phone, "#vcode-statement"), ""); !strings.Contains(s, "作废") {
		t.Errorf("revoked page says %q, want it to say the code is revoked (作废)", s)
	}
	if n := len(b.Texts(t, phone, "#vcode-inspectors .name")); n != 0 {
		t.Errorf("revoked page names %d inspectors", n)
	}
	if st := pageStatus(t, phone); st != 410 {
		t.Errorf("revoked code page answered %d, want 410", st)
	}
	b.Screenshot(t, phone, "visit_code_revoked")
	b.Open(t, phone, "/v/"+rev.Current.Code)
	if got := b.Attrs(t, phone, "#visit-code", "data-outcome"); len(got) != 1 || got[0] != "valid" {
		t.Errorf("new code page outcome %v", got)
	}

	after, err := b.st.VisitCodeScans(ctx, planID, seq)
	if err != nil {
		t.Fatal(err)
	}
	// Five page loads: valid, its refetch, revoked, its refetch, the new code.
	if got := len(after) - len(before); got != 5 {
		t.Errorf("%d scans recorded, want 5", got)
	}
	want := []string{"valid", "valid", "revoked", "revoked", "valid"}
	for i, s := range after[len(before):] {
		if i < len(want) && (s.Outcome != want[i] || !strings.Contains(s.UserAgent, "Chrome")) {
			t.Errorf("scan %d: %s by %q, want %s by chromium", i, s.Outcome, s.UserAgent, want[i])
		}
	}
}
