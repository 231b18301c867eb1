package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"inspectonce/domain"
	"inspectonce/internal/jsonin"
	"inspectonce/internal/jsonout"
	"inspectonce/store"
)

// strictBinder decodes JSON bodies and refuses unknown fields, trailing data and
// wrong types with a field-level problem, so a typo never passes silently.
type strictBinder struct{}

func (strictBinder) Bind(i any, c echo.Context) error {
	req := c.Request()
	if mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); mt != echo.MIMEApplicationJSON {
		return echo.NewHTTPError(http.StatusUnsupportedMediaType, "send the body as application/json")
	}
	raw, err := io.ReadAll(req.Body)
	if err != nil {
		return decodeError(err)
	}
	return decodeStrict(raw, i)
}

// decodeStrict decodes one JSON object from raw as strictBinder does: unknown
// fields, trailing data and wrong types are field-level problems.
func decodeStrict(raw []byte, i any) error {
	// encoding/json would turn invalid UTF-8 into U+FFFD and \u0000 into a
	// NUL that PostgreSQL refuses: refuse both here, for every route at once.
	if err := jsonin.Check(raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(i); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return domain.Invalid("body", "must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	case errors.As(err, &syn):
		return domain.Invalid("body", "is not valid JSON (at byte %d)", syn.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return domain.Invalid(field, "must be a %s", jsonKind(typ.Type.Kind().String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return domain.Invalid("body", "is empty or cut short")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return domain.Invalid(name, "is not a field of this request")
	}
	if strings.Contains(err.Error(), "request body too large") {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
	}
	return domain.Invalid("body", "%v", err)
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"), strings.HasPrefix(k, "float"):
		return "number"
	case k == "slice":
		return "list"
	case k == "struct", k == "map":
		return "object"
	case k == "bool":
		return "boolean"
	}
	return k
}

// pathID parses an integer id from the path; a malformed id is simply not found.
func pathID(c echo.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s %q: %w", name, c.Param(name), domain.ErrNotFound)
	}
	return id, nil
}

// query reads the optional filters and page of a list request.
type query struct {
	c    echo.Context
	errs domain.ValidationError
}

func (q *query) int64(name string) int64 {
	v := q.c.QueryParam(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		q.errs.Add(name, "must be a positive integer")
	}
	return n
}

func (q *query) oneOf(name string, allowed ...string) string {
	v := q.c.QueryParam(name)
	if v == "" {
		return ""
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	q.errs.Add(name, "must be one of %s", strings.Join(allowed, ", "))
	return ""
}

// boolean reads an optional true/false query parameter (absent = false).
func (q *query) boolean(name string) bool {
	switch q.c.QueryParam(name) {
	case "", "false":
		return false
	case "true":
		return true
	}
	q.errs.Add(name, "must be true or false")
	return false
}

func (q *query) page() store.Page {
	p := store.Page{After: q.c.QueryParam("after")}
	if v := q.c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			q.errs.Add("limit", "must be between 1 and %d", store.MaxLimit)
		}
		p.Limit = n
	}
	return p
}

// listResponse is the shape of every paginated list.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func list[T any](c echo.Context, p store.Paged[T]) error {
	items := p.Items
	if items == nil {
		items = []T{}
	}
	if _, ok := any(new(T)).(jsonAppender); ok && !prettyJSON(c) {
		return listAppended(c, items, p.Next)
	}
	return c.JSON(http.StatusOK, listResponse[T]{Items: items, NextCursor: p.Next})
}

// jsonAppender is an item that writes its own JSON without reflection
// (domain.Business): lists of them are written by hand (issue 20).
type jsonAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

// prettyJSON is whether echo's c.JSON would indent the answer (?pretty, or
// debug mode); listAppended writes compact JSON only.
func prettyJSON(c echo.Context) bool {
	_, pretty := c.QueryParams()["pretty"]
	return pretty || c.Echo().Debug
}

// listBuffers recycles the buffers of hand-written lists.
var listBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 32<<10); return &b }}

// listAppended writes the listResponse of items whose T is a jsonAppender,
// byte for byte as c.JSON writes it (TestListAppendedMatchesJSON), with its
// length, so that net/http writes it at once rather than in chunks.
func listAppended[T any](c echo.Context, items []T, next string) error {
	bp := listBuffers.Get().(*[]byte)
	b, err := appendList((*bp)[:0], items, next)
	if err != nil {
		return err
	}
	err = listBlob(c, b)
	if cap(b) <= 1<<20 { // a page of MaxLimit businesses is about 500 KiB
		*bp = b
		listBuffers.Put(bp)
	}
	return err
}

// appendList appends the listResponse of items whose T is a jsonAppender to
// b, byte for byte as c.JSON writes it, newline included.
func appendList[T any](b []byte, items []T, next string) ([]byte, error) {
	b = append(b, `{"items":[`...)
	var err error
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		// Through a pointer: boxing the item itself would copy it to the heap.
		if b, err = any(&items[i]).(jsonAppender).AppendJSON(b); err != nil {
			return b, fmt.Errorf("list item %d: %w", i, err)
		}
	}
	b = append(b, ']')
	if next != "" {
		b = append(b, `,"next_cursor":`...)
		b = jsonout.String(b, next)
	}
	return append(b, "}\n"...), nil
}

// listBlob writes a list's JSON with its length, so that net/http writes it
// at once rather than in chunks.
func listBlob(c echo.Context, b []byte) error {
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(b)))
	return c.JSONBlob(http.StatusOK, b)
}

// cleanParams refuses a path, query or form value holding a NUL character or
// invalid UTF-8 before any handler sees it: PostgreSQL refuses both in text,
// which would otherwise be a 500. A bad path value names nothing that exists
// (404, as a malformed id); a bad query or form value is a 422 naming it.
func cleanParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if i < len(c.ParamValues()) {
				if reason := jsonin.TextReason(c.ParamValues()[i]); reason != "" {
					return fmt.Errorf("path parameter %s %s: %w", name, reason, domain.ErrNotFound)
				}
			}
		}
		var v checker
		checkValues(&v, c.QueryParams())
		req := c.Request()
		if mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType)); mt == echo.MIMEApplicationForm {
			form, err := c.FormParams()
			if err != nil {
				return domain.Invalid("body", "is not a form: %v", err)
			}
			checkValues(&v, form)
		}
		if err := v.Err(); err != nil {
			return err
		}
		return next(c)
	}
}

func checkValues(v *checker, values map[string][]string) {
	for _, name := range slices.Sorted(maps.Keys(values)) {
		vals, field := values[name], name
		if reason := jsonin.TextReason(name); reason != "" {
			field = strconv.QuoteToASCII(name)
			v.Add(field, "names a parameter that %s", reason)
			continue
		}
		for _, s := range vals {
			if reason := jsonin.TextReason(s); reason != "" {
				v.Add(field, "%s", reason)
				break
			}
		}
	}
}
