package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"inspectonce/configs"
	"inspectonce/csvout"
)

// responseChecker validates real responses against api/openapi.yaml, so that
// the integration tests prove the document tells the truth. The document's
// paths are full paths (/api/v1/..., /healthz) under the single server "/",
// so a request to any host and port matches by its path alone.
//
// Use:
//
//	rc := newResponseChecker(t)
//	... do the request, read the response ...
//	rc.check(t, req, reqBody, resp.StatusCode, resp.Header, respBody)
//
// check reports (t.Errorf) a request that matches no documented operation, a
// status the operation does not document, and a body or header that does not
// match the documented schema. Only the response is validated; the request is
// used to find the operation.
type responseChecker struct {
	router routers.Router
}

var (
	checkerOnce   sync.Once
	checkerRouter routers.Router
	checkerErr    error
)

func buildCheckerRouter() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load api/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml is not valid: %w", err)
	}
	// Match any scheme, host and port: the document's paths carry the full path.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	// kin-openapi already decodes application/json, application/yaml, text/plain
	// and text/csv; problem details are JSON (registered here explicitly, the
	// same decoder kin-openapi uses for it by default).
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/csv", csvWithBOMDecoder)
	openapi3filter.RegisterBodyDecoder("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", openapi3filter.FileBodyDecoder)
	return gorillamux.NewRouter(doc)
}

// csvWithBOMDecoder is kin-openapi's CSV decoder for the files csvout
// writes: the byte order mark is taken off before encoding/csv reads the
// body and put back in front of the text the schema checks, so a pattern
// can require it.
func csvWithBOMDecoder(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	br := bufio.NewReader(body)
	bom, _ := br.Peek(len(csvout.BOM))
	had := string(bom) == csvout.BOM
	v, err := openapi3filter.CsvBodyDecoder(csvout.StripBOM(br), h, schema, enc)
	if s, ok := v.(string); ok && had {
		v = csvout.BOM + s
	}
	return v, err
}

// newResponseChecker returns a checker for api/openapi.yaml. The document is
// parsed once per test binary.
func newResponseChecker(t testing.TB) *responseChecker {
	t.Helper()
	checkerOnce.Do(func() { checkerRouter, checkerErr = buildCheckerRouter() })
	if checkerErr != nil {
		t.Fatalf("openapi checker: %v", checkerErr)
	}
	return &responseChecker{router: checkerRouter}
}

var checkerOptions = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	ExcludeRequestBody:    true,
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
}

// check validates one response to req. reqBody is the body that was sent (only
// quoted in failures); status, header and body are the response as received.
func (rc *responseChecker) check(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, body []byte) {
	t.Helper()
	what := req.Method + " " + req.URL.Path
	route, params, err := rc.router.FindRoute(req)
	if err != nil {
		t.Errorf("openapi: %s answered %d but matches no operation in api/openapi.yaml: %v", what, status, err)
		return
	}
	op := route.Method + " " + route.Path
	if route.Operation.Responses.Status(status) == nil && route.Operation.Responses.Default() == nil {
		t.Errorf("openapi: %s (operation %s) answered status %d, which the document does not list for it%s",
			what, op, status, quoteBodies(reqBody, body))
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route, Options: checkerOptions,
		},
		Status:  status,
		Header:  header,
		Options: checkerOptions,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("openapi: %s (operation %s) answered %d, which does not match api/openapi.yaml: %v%s",
			what, op, status, err, quoteBodies(reqBody, body))
	}
}

// checkRecorder checks a response captured by an httptest.ResponseRecorder.
func (rc *responseChecker) checkRecorder(t testing.TB, req *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) {
	t.Helper()
	rc.check(t, req, reqBody, rec.Code, rec.Header(), rec.Body.Bytes())
}

func quoteBodies(reqBody, body []byte) string {
	var b strings.Builder
	if len(reqBody) > 0 {
		fmt.Fprintf(&b, "\n  request body:  %s", clip(reqBody))
	}
	if len(body) > 0 {
		fmt.Fprintf(&b, "\n  response body: %s", clip(body))
	}
	return b.String()
}

func clip(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// ---- tests of the checker itself

// recordingTB captures failures instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) {
	r.TB.Fatalf("checker called Fatalf: "+format, args...)
}

func jsonHeader(ct string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", ct)
	return h
}

func TestResponseCheckerReportsMismatches(t *testing.T) {
	rc := newResponseChecker(t)
	const dept = `{"id":1,"code":"SCJG","name":"市场监管局","created_at":"2026-03-01T08:00:00.123456+08:00","updated_at":"2026-03-01T00:00:00Z"}`
	problem401 := `{"type":"https://inspectonce.example/problems/unauthenticated","title":"Authentication required","status":401,` +
		`"detail":"send a valid token","instance":"/api/v1/me","request_id":"abc"}`
	auth401 := jsonHeader("application/problem+json")
	auth401.Set("WWW-Authenticate", `Bearer realm="inspectonce"`)

	cases := []struct {
		name    string
		method  string
		url     string
		status  int
		header  http.Header
		body    string
		wantErr string // "" means the response conforms
	}{
		{"conforming department", "GET", "http://127.0.0.1:43210/api/v1/departments/1", 200,
			jsonHeader("application/json; charset=UTF-8"), dept, ""},
		{"department without code", "GET", "http://127.0.0.1:43210/api/v1/departments/1", 200,
			jsonHeader("application/json"), `{"id":1,"name":"x","created_at":"2026-03-01T00:00:00Z","updated_at":"2026-03-01T00:00:00Z"}`, "code"},
		{"department with an undocumented field", "GET", "http://localhost/api/v1/departments/7", 200,
			jsonHeader("application/json"), strings.Replace(dept, `"id":1`, `"id":1,"extra":true`, 1), "extra"},
		{"status not documented", "GET", "http://localhost/api/v1/me", 404,
			jsonHeader("application/problem+json"), `{"type":"about:blank","title":"Not Found","status":404}`, "404"},
		{"no such operation", "GET", "http://localhost/api/v1/nothing-here", 200,
			jsonHeader("application/json"), `{}`, "matches no operation"},
		{"method not documented", "PATCH", "http://localhost/api/v1/departments/1", 200,
			jsonHeader("application/json"), dept, "matches no operation"},
		{"conforming 401 problem", "GET", "http://localhost/api/v1/me", 401, auth401, problem401, ""},
		{"401 without WWW-Authenticate", "GET", "http://localhost/api/v1/me", 401,
			jsonHeader("application/problem+json"), problem401, "WWW-Authenticate"},
		{"problem with the wrong status", "GET", "http://localhost/api/v1/me", 401, auth401,
			strings.Replace(problem401, `"status":401`, `"status":403`, 1), "status"},
		{"422 without errors", "POST", "http://localhost/api/v1/departments", 422, jsonHeader("application/problem+json"),
			`{"type":"https://inspectonce.example/problems/validation","title":"Request is not valid","status":422}`, "errors"},
		{"conforming 422", "POST", "http://localhost/api/v1/departments", 422, jsonHeader("application/problem+json"),
			`{"type":"https://inspectonce.example/problems/validation","title":"Request is not valid","status":422,` +
				`"errors":[{"field":"code","reason":"is required"}]}`, ""},
		{"conforming 204", "DELETE", "http://localhost/api/v1/tokens/3", 204, http.Header{}, "", ""},
		{"conforming list demand", "GET", "http://localhost/api/v1/demands", 200, jsonHeader("application/json"),
			`{"items":[{"id":1,"department_id":2,"title":"","item_ids":[3],"target_kind":"sample",` +
				`"sample":{"region_ids":[],"industry_codes":[],"scenario_id":null,"risk_codes":["red"],"count":null,"ratio":0.05},` +
				`"window":{"from":"2026-03-02","to":"2026-03-31"},"priority":3,"source":"routine","scenario_id":null,` +
				`"announce_days":0,"status":"open","created_by":"planner(SCJG)#2:p","created_at":"2026-03-01T00:00:00Z"}],"next_cursor":"1"}`, ""},
		{"demand with a null item list", "GET", "http://localhost/api/v1/demands/1", 200, jsonHeader("application/json"),
			`{"id":1,"department_id":2,"title":"","item_ids":null,"target_kind":"list","businesses":["91330000MA2XXXXX0X"],` +
				`"window":{"from":"2026-03-02","to":"2026-03-31"},"priority":3,"source":"routine","scenario_id":null,` +
				`"announce_days":0,"status":"open","created_by":"a","created_at":"2026-03-01T00:00:00Z"}`, "item_ids"},
		{"business path", "GET", "http://localhost/api/v1/businesses/91330000MA2XXXXX0X/risk-history", 200, jsonHeader("application/json"),
			`{"uscc":"91330000MA2XXXXX0X","history":[{"risk_code":"green","set_at":"2026-03-01T00:00:00Z","reason":"","set_by":"admin#1:a"}]}`, ""},
		{"import job", "GET", "http://localhost/api/v1/imports/5", 200, jsonHeader("application/json"),
			`{"id":5,"kind":"businesses","status":"done","started_by":"admin#1:a","rows_read":3,"rows_loaded":2,"rows_rejected":1,` +
				`"empty_cells":"keep","risk_override":false,"override_reason":"",` +
				`"failure":"","started_at":"2026-03-01T00:00:00Z","finished_at":null,"errors":[{"line":3,"field":"uscc","reason":"bad","row_applied":false}]}`, ""},
		{"metrics", "GET", "http://localhost/metrics", 200,
			jsonHeader("text/plain; version=0.0.4; charset=utf-8; escaping=underscores"), "# HELP x\nx 1\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, tc.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recordingTB{TB: t}
			rc.check(rec, req, nil, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && len(rec.errs) > 0:
				t.Errorf("conforming response reported: %s", strings.Join(rec.errs, "\n"))
			case tc.wantErr != "" && len(rec.errs) == 0:
				t.Errorf("non-conforming response (want an error about %q) was not reported", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(strings.Join(rec.errs, "\n"), tc.wantErr):
				t.Errorf("error does not mention %q: %s", tc.wantErr, strings.Join(rec.errs, "\n"))
			}
		})
	}
}

// TestOpenAPIResponsesWithoutDatabase runs the real application for the
// responses that need no database, and checks them against the document.
func TestOpenAPIResponsesWithoutDatabase(t *testing.T) {
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatal(err)
	}
	e := New(Options{Config: cfg})
	rc := newResponseChecker(t)

	do := func(method, path, contentType string, body []byte, header http.Header) *httptest.ResponseRecorder {
		t.Helper()
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req := httptest.NewRequest(method, path, r)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		rc.checkRecorder(t, req, body, rec)
		return rec
	}

	if rec := do("GET", "/healthz", "", nil, nil); rec.Code != http.StatusOK {
		t.Errorf("GET /healthz = %d", rec.Code)
	}
	if rec := do("GET", "/metrics", "", nil, nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token = %d, want 401", rec.Code)
	}
	rec := do("GET", "/api/v1/openapi.yaml", "", nil, nil)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" {
		t.Errorf("GET /api/v1/openapi.yaml = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIYAML) {
		t.Error("GET /api/v1/openapi.yaml does not serve the embedded document")
	}

	// Without a token every route but the document answers 401.
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/me"}, {"GET", "/api/v1/departments"}, {"POST", "/api/v1/departments"},
		{"PUT", "/api/v1/businesses/91330000MA2XXXXX0X"}, {"GET", "/api/v1/businesses/91330000MA2XXXXX0X/risk-history"},
		{"POST", "/api/v1/demands/3/cancel"}, {"DELETE", "/api/v1/tokens/3"}, {"GET", "/api/v1/audit/verify"},
		{"GET", "/api/v1/imports/1"}, {"POST", "/api/v1/imports/businesses"},
	} {
		if rec := do(r.method, r.path, "", nil, http.Header{"Authorization": {"Basic eDp5"}}); rec.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token = %d, want 401", r.method, r.path, rec.Code)
		}
	}

	// A body over the limit is refused before anything else.
	big := bytes.Repeat([]byte("x"), int(cfg.HTTP.BodyLimitBytes)+1)
	if rec := do("POST", "/api/v1/demands", "application/json", big, nil); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("POST /api/v1/demands with a large body = %d, want 413", rec.Code)
	}
}
