package api

import (
	"bytes"
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIYAML is the OpenAPI 3.0 document of the HTTP API. openapi_test.go
// checks that it names exactly the routes New registers, and the integration
// tests validate every response they see against it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// serveOpenAPI answers GET /api/v1/openapi.yaml; it needs no token.
func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPIYAML)
}

// OpenAPIDocument returns the OpenAPI document (YAML) that describes the API,
// as a copy the caller may keep or change.
func OpenAPIDocument() []byte {
	return bytes.Clone(openAPIYAML)
}
