package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"inspectonce/domain"
)

func init() {
	browserScenarios["publication"] = browserPublicationCards
}

// browserPublicationCards: the five headline cards of /publication are
// styled: laid out side by side in a grid, each a bordered white card with
// a large figure.
func browserPublicationCards(t *testing.T, b *benv) {
	ctx := b.Browser(t)
	b.Login(t, ctx, domain.RoleAdmin)
	b.Open(t, ctx, "/publication")
	if s := b.Status(t, ctx); s != 0 {
		t.Fatalf("/publication answered error page %d", s)
	}
	var got struct {
		Cards     int     `json:"cards"`
		Display   string  `json:"display"`
		Border    string  `json:"border"`
		Bg        string  `json:"bg"`
		NumSize   float64 `json:"numSize"`
		BodySize  float64 `json:"bodySize"`
		SameRow   bool    `json:"sameRow"`
		WarnEdge  string  `json:"warnEdge"`
		PlainEdge string  `json:"plainEdge"`
	}
	js := `(() => {
		const cards = Array.from(document.querySelectorAll('.publication .cards > .card'));
		const cs = e => getComputedStyle(e);
		return {
			cards: cards.length,
			display: cs(document.querySelector('.publication .cards')).display,
			border: cs(cards[0]).borderTopStyle,
			bg: cs(cards[0]).backgroundColor,
			numSize: parseFloat(cs(cards[0].querySelector('.num')).fontSize),
			bodySize: parseFloat(cs(document.body).fontSize),
			sameRow: cards[0].getBoundingClientRect().top === cards[1].getBoundingClientRect().top,
			warnEdge: cs(document.getElementById('pub-overdue-unpublished')).borderLeftWidth,
			plainEdge: cs(cards[0]).borderLeftWidth,
		};
	})()`
	if err := chromedp.Run(ctx, chromedp.Evaluate(js, &got)); err != nil {
		t.Fatal(err)
	}
	b.Screenshot(t, ctx, "publication")
	if got.Cards != 5 || got.Display != "grid" || got.Border != "solid" || got.Bg != "rgb(255, 255, 255)" ||
		got.NumSize < 1.3*got.BodySize || !got.SameRow || got.WarnEdge == got.PlainEdge {
		t.Fatalf("headline cards not styled: %+v", got)
	}
}
