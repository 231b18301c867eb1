package api

import (
	"bytes"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// fuzzBody has the shapes request bodies have: strings at the top, in lists,
// in nested objects and in lists of objects, and a map.
type fuzzBody struct {
	Title  string            `json:"title"`
	Codes  []string          `json:"codes"`
	Sample *sampleRequest    `json:"sample"`
	Window *windowJSON       `json:"window"`
	Rows   []windowJSON      `json:"rows"`
	Tags   map[string]string `json:"tags"`
	N      *int              `json:"n"`
}

// FuzzBind feeds the JSON body reader (strictBinder) arbitrary bodies, NUL
// bytes and invalid UTF-8 among them. It must never panic, and whatever it
// accepts must hold no NUL, no invalid UTF-8 and no U+FFFD that the body did
// not spell out (the decoder's silent replacement of bad bytes).
//
//	go test ./api -run '^$' -fuzz FuzzBind -fuzztime 30s
func FuzzBind(f *testing.F) {
	for _, seed := range []string{
		`{"title":"冬季检查","codes":["H621"],"sample":{"industry_codes":["H6"],"count":1},"window":{"from":"2026-12-01","to":"2026-12-31"}}`,
		`{"title":"a\u0000b"}`,
		`{"codes":["ok","\u0000"]}`,
		"{\"title\":\"\xff\"}",
		"{\"tags\":{\"k\xc0\":\"v\"}}",
		`{"rows":[{"from":"x"},{"to":"\ud800"}]}`,
		`{"title":"\ufffd �"}`,
		`{"tags":{"a\u0000":"b"}}`,
		`{"n":1}{"n":2}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c := e.NewContext(req, httptest.NewRecorder())
		var got fuzzBody
		if err := (strictBinder{}).Bind(&got, c); err != nil {
			return
		}
		spelled := bytes.Count(body, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(body), []byte(`\ufffd`))
		replacements := 0
		walkStrings(reflect.ValueOf(got), func(s string) {
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("a NUL got through: %q from %q", s, body)
			}
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 got through: %q from %q", s, body)
			}
			replacements += strings.Count(s, "\uFFFD")
		})
		if replacements > spelled {
			t.Fatalf("the decoder replaced bad text with U+FFFD (%d, body spells %d): %q", replacements, spelled, body)
		}
	})
}

// walkStrings calls fn on every string in v: fields, elements, map keys and values.
func walkStrings(v reflect.Value, fn func(string)) {
	switch v.Kind() {
	case reflect.String:
		fn(v.String())
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), fn)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			walkStrings(v.Field(i), fn)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkStrings(v.Index(i), fn)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			walkStrings(it.Key(), fn)
			walkStrings(it.Value(), fn)
		}
	}
}
