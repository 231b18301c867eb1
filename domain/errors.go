// Package domain holds InspectOnce's shared vocabulary: the registry and demand
// types, roles and principals, and the errors every layer speaks.
package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Errors the API maps to HTTP statuses. Wrap them with %w to add context.
var (
	// ErrNotFound: the object does not exist or lies outside the caller's scope.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object already exists or is referenced by others.
	ErrConflict = errors.New("conflict")
	// ErrForbidden: the caller's role may not use this operation at all.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no valid token.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnavailable: a dependency (PostgreSQL, Redis) cannot be reached now;
	// the same request may succeed later (503 with Retry-After).
	ErrUnavailable = errors.New("temporarily unavailable")
)

// FieldError names one field of a request and why its value is refused.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
	// Format and Args are what Reason was made from: pages translate a
	// reason by its format (the planner's demand form, issue 18).
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

// ValidationError lists every field a request got wrong.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Reason
	}
	return "validation failed: " + strings.Join(parts, "; ")
}

// Add records a field error.
func (e *ValidationError) Add(field, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Reason: fmt.Sprintf(format, args...), Format: format, Args: args})
}

// Err returns e if any field was recorded, else nil.
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Invalid is a one-field ValidationError.
func Invalid(field, format string, args ...any) error {
	v := &ValidationError{}
	v.Add(field, format, args...)
	return v
}
