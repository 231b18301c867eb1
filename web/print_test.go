package web_test

import "github.com/chromedp/cdproto/page"

// pagePrintA4 prints on A4 (inches) with the page's own @page margins and
// backgrounds, as a user's "print" would.
func pagePrintA4() *page.PrintToPDFParams {
	return page.PrintToPDF().WithPaperWidth(8.27).WithPaperHeight(11.69).WithPrintBackground(true).WithPreferCSSPageSize(true)
}
