// Package migrations holds the numbered SQL migrations, embedded so the binary
// carries its own schema.
package migrations

import "embed"

// FS holds every *.sql migration in version order.
//
//go:embed *.sql
var FS embed.FS
