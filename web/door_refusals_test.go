package web

import (
	"errors"
	"regexp"
	"testing"

	"inspectonce/domain"
	"inspectonce/store"
)

// TestDoorRefusalsInTheReadersLanguage: every refusal the store gives a
// phone-page result is shown with the form's label and a reason in the
// page's language — in Chinese, no API field name and no English word.
func TestDoorRefusalsInTheReadersLanguage(t *testing.T) {
	long := make([]rune, 600)
	for i := range long {
		long[i] = '条'
	}
	uuid := "5f0c6a57-3b8e-4a53-9a52-2f1f7f4c9d10"
	cases := []struct {
		in    store.ResultInput
		field string
		want  string
	}{
		{store.ResultInput{ClientID: uuid, Outcome: "minor"}, "rule_cited", "door.refusal.required"},
		{store.ResultInput{ClientID: uuid, Outcome: "compliant", RuleCited: "x"}, "rule_cited", "door.refusal.only_for"},
		{store.ResultInput{ClientID: uuid, Outcome: "minor", RuleCited: string(long)}, "rule_cited", "door.refusal.too_long"},
		{store.ResultInput{ClientID: uuid, Outcome: "violation", RuleCited: "x", RectifyBy: "2026-13-40"}, "rectify_by", "door.refusal.date"},
		{store.ResultInput{ClientID: uuid, Outcome: "maybe"}, "outcome", "door.refusal.choose"},
		{store.ResultInput{ClientID: uuid, Outcome: "not_done", NotDoneReason: "bored"}, "not_done_reason", "door.refusal.choose"},
		{store.ResultInput{Outcome: "compliant"}, "client_id", "door.refusal.other"},
	}
	english := regexp.MustCompile(`[A-Za-z]{3,}`)
	for _, c := range cases {
		var ve *domain.ValidationError
		if err := store.ValidateResult(c.in); !errors.As(err, &ve) {
			t.Fatalf("%+v: %v, want a validation error", c.in, err)
		}
		var got *doorFieldError
		for _, f := range localFieldErrors(LangZH, ve.Fields) {
			if f.Field == c.field {
				got = &f
			}
		}
		if got == nil {
			t.Errorf("%+v: no refusal of %s in %+v", c.in, c.field, ve.Fields)
			continue
		}
		if got.Message != LangZH.T(c.want) {
			t.Errorf("%+v: %s says %q, want %q (store: %q)", c.in, c.field, got.Message, LangZH.T(c.want), got.Reason)
		}
		if english.MatchString(got.Label + got.Message) {
			t.Errorf("%+v: zh refusal %q / %q has English", c.in, got.Label, got.Message)
		}
		if en := localFieldErrors(LangEN, ve.Fields); en[0].Message == "" || en[0].Label == "" {
			t.Errorf("%+v: no English refusal", c.in)
		}
	}
}
