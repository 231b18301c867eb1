package api

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"inspectonce/configs"
)

// loadOpenAPI parses and validates the embedded document.
func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIYAML)
	if err != nil {
		t.Fatalf("load api/openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("api/openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if got := OpenAPIDocument(); string(got) != string(openAPIYAML) {
		t.Error("OpenAPIDocument does not return the embedded document")
	}
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// echoRoutes lists "METHOD /path" for every route the application registers,
// with :param written {param} as in the document, leaving out echo's own
// not-found catch-alls.
func echoRoutes(t *testing.T) []string {
	t.Helper()
	cfg, err := configs.Load("", []string{"INSPECTONCE_PLANNING_APPROVAL_STEPS="})
	if err != nil {
		t.Fatalf("load default config: %v", err)
	}
	e := New(Options{Config: cfg})
	seen := map[string]bool{}
	for _, r := range e.Routes() {
		if r.Method == echo.RouteNotFound || r.Method == "echo_route_any" || strings.HasSuffix(r.Path, "/*") {
			continue
		}
		if !documented(r.Path) {
			continue
		}
		seen[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// documented reports whether path belongs to what the OpenAPI document
// describes: the JSON API, the probes and the calendar feeds. The HTML pages
// (package web) are not an API and are not in it.
func documented(path string) bool {
	switch path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/v1/") || strings.HasPrefix(path, "/feeds/")
}

// docOperations lists "METHOD /path" for every operation in the document.
func docOperations(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

// TestOpenAPIMatchesRoutes fails when a route is registered but not documented,
// or documented but not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	routes := echoRoutes(t)
	ops := docOperations(doc)
	if len(routes) == 0 {
		t.Fatal("the echo application registers no routes")
	}
	var undocumented, unregistered []string
	for _, r := range routes {
		if !slices.Contains(ops, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, o := range ops {
		if !slices.Contains(routes, o) {
			unregistered = append(unregistered, o)
		}
	}
	if len(undocumented) > 0 {
		t.Errorf("routes registered in api.New but missing from api/openapi.yaml:\n  %s", strings.Join(undocumented, "\n  "))
	}
	if len(unregistered) > 0 {
		t.Errorf("operations in api/openapi.yaml that api.New does not register:\n  %s", strings.Join(unregistered, "\n  "))
	}
}

// TestOpenAPIOperationConventions checks what every operation must say: the
// token requirement, and the problems any authenticated route can answer.
func TestOpenAPIOperationConventions(t *testing.T) {
	doc := loadOpenAPI(t)
	public := map[string]bool{
		"GET /healthz": true, "GET /readyz": true, "GET /api/v1/openapi.yaml": true,
		// the secret in the URL is the credential: calendar apps send no token
		"GET /feeds/{file}": true,
		// published results (一公开) are open data
		"GET /api/v1/open-data/results.json": true, "GET /api/v1/open-data/results.csv": true,
		"GET /api/v1/open-data/plans": true, "GET /api/v1/open-data/plans/{id}": true, "GET /api/v1/open-data/plans/{id}/draws/{seq}": true,
		"GET /api/v1/open-data/commitments": true, "GET /api/v1/open-data/plans/{id}/commitment": true,
		"GET /api/v1/open-data/plans/{id}/inspector-draws": true, "GET /api/v1/open-data/plans/{id}/tasks": true,
		"GET /api/v1/open-data/results.xlsx": true,
	}
	ids := map[string]string{}
	for _, key := range docOperations(doc) {
		method, path, _ := strings.Cut(key, " ")
		op := doc.Paths.Value(path).GetOperation(method)
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", key)
		} else if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("%s: operationId %q also used by %s", key, op.OperationID, prev)
		} else {
			ids[op.OperationID] = key
		}
		if op.Description == "" {
			t.Errorf("%s: no description (say which roles may call it)", key)
		}
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		// Rate limits (http.rate_limits): every write, and every public route
		// but the probes and this document, may answer 429.
		limited := method != "GET" || (public[key] && key != "GET /healthz" && key != "GET /readyz" && key != "GET /api/v1/openapi.yaml")
		if limited && op.Responses.Status(http.StatusTooManyRequests) == nil {
			t.Errorf("%s: rate limited but response 429 is not documented", key)
		}
		if public[key] {
			if len(security) != 0 {
				t.Errorf("%s: public route must have security: []", key)
			}
			continue
		}
		if len(security) == 0 {
			t.Errorf("%s: no bearer security requirement", key)
		}
		for _, status := range []int{http.StatusUnauthorized, http.StatusInternalServerError} {
			if op.Responses.Status(status) == nil {
				t.Errorf("%s: response %d not documented", key, status)
			}
		}
		if op.RequestBody != nil {
			for _, status := range []int{http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s: has a body but response %d is not documented", key, status)
				}
			}
			for mt, content := range op.RequestBody.Value.Content {
				s := content.Schema.Value
				if mt == "application/json" && (s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has) {
					t.Errorf("%s: request body schema must say additionalProperties: false", key)
				}
			}
		}
		for _, p := range doc.Paths.Value(path).Parameters {
			if p.Value.In == openapi3.ParameterInPath && op.Responses.Status(http.StatusNotFound) == nil {
				t.Errorf("%s: has path parameter %s but 404 is not documented", key, p.Value.Name)
			}
		}
	}
}
