package jsonin

import (
	"errors"
	"testing"

	"inspectonce/domain"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name, body, field string // field "" = accepted
	}{
		{"plain", `{"title":"冬季检查","n":1,"a":[1,"x"],"o":{"k":null}}`, ""},
		{"escaped replacement char is fine", `{"t":"\ufffd and \uFFFD and �"}`, ""},
		{"surrogate pair is fine", `{"t":"\ud83d\ude00"}`, ""},
		{"NUL escape", `{"title":"a\u0000b"}`, "title"},
		{"NUL nested", `{"sample":{"region":"x\u0000"}}`, "sample.region"},
		{"NUL in a list", `{"businesses":["ok","\u0000"]}`, "businesses[1]"},
		{"NUL in a list of objects", `{"a":[{"b":1},{"c":["x","y\u0000"]}]}`, "a[1].c[1]"},
		{"after a nested object", `{"w":{"from":"x"},"title":"\u0000"}`, "title"},
		{"invalid UTF-8", "{\"title\":\"a\xffb\"}", "title"},
		{"overlong encoding", "{\"name\":\"\xc0\xaf\"}", "name"},
		{"lone surrogate", `{"name":"\ud800"}`, "name"},
		{"NUL in a key", `{"sample":{"a\u0000":1}}`, "sample"},
		{"invalid UTF-8 in a top-level key", "{\"a\xff\":1}", "body"},
		{"top-level string", `"\u0000"`, "body"},
		{"syntax error is the decoder's", `{"title":`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check([]byte(c.body))
			var ve *domain.ValidationError
			switch {
			case c.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.field != "" && !errors.As(err, &ve):
				t.Fatalf("err = %v, want a validation error on %s", err, c.field)
			case c.field != "" && ve.Fields[0].Field != c.field:
				t.Fatalf("field %q, want %q (%v)", ve.Fields[0].Field, c.field, err)
			}
		})
	}
}
