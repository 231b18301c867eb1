package csvimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"inspectonce/domain"
	"inspectonce/messages"
	"inspectonce/store"
)

// RowError is one refused row: its physical line, the column as the file
// names it (empty when the row as a whole is at fault) and the reason.
type RowError = store.ImportRowError

// column is one column a file may carry.
type column struct {
	key   string   // canonical English name
	names []string // accepted headers, lower case, key included
	// id marks the column that names the row (USCC, certificate code): every
	// file must carry it.
	id bool
	// required marks what a new row must give; a file that only updates
	// registered rows may leave the column out.
	required bool
}

// sheet reads a file row by row after resolving its header against a set of
// columns. A CSV file is streamed and holds at most one record in memory; an
// .xlsx file (xlsx.go) is read whole, within its own bounds.
type sheet struct {
	clear bool // an empty cell clears an optional column instead of keeping it
	src   source
	xlsx  bool // the file is an .xlsx workbook: its messages speak of rows and cells
	defs  []column
	pos   []int    // per column: index in the record, or -1 when absent
	heads []string // per column: the header as the file spells it
	width int      // fields in the header, which every CSV row must match
}

// source hands out the records of a file, header first. A record that cannot
// be read comes back as rowErr with its line; err is io.EOF at the end and
// otherwise means the file cannot be read further.
type source interface {
	next() (line int, rec []string, rowErr *RowError, err error)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// zipMagic starts every .xlsx file (a ZIP archive's local file header); no
// CSV starts with it.
var zipMagic = []byte("PK\x03\x04")

// openSheet reads the header of a CSV or .xlsx file, told apart by the
// file's first bytes. A header the import cannot work with comes back as a
// *domain.ValidationError naming the column; a failing reader as itself.
func openSheet(r io.Reader, defs []column) (*sheet, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(len(zipMagic)); err == nil && bytes.Equal(b, zipMagic) {
		src, err := openXLSX(br)
		if err != nil {
			return nil, err
		}
		return newSheet(src, defs, true)
	}
	if b, err := br.Peek(len(utf8BOM)); err == nil && bytes.Equal(b, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // a short or long row is a bad row, not a failed file
	cr.ReuseRecord = true
	return newSheet(&csvSource{cr: cr}, defs, false)
}

func newSheet(src source, defs []column, xlsx bool) (*sheet, error) {
	_, header, rowErr, err := src.next()
	switch {
	case errors.Is(err, io.EOF):
		if xlsx {
			return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.sheet_empty"))
		}
		return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.file_empty"))
	case err != nil:
		return nil, fmt.Errorf("read header: %w", err)
	case rowErr != nil:
		return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.header_unusable", rowErr.Reason))
	}
	s := &sheet{src: src, xlsx: xlsx, defs: defs, pos: make([]int, len(defs)), heads: make([]string, len(defs)), width: len(header)}
	for i := range s.pos {
		s.pos[i] = -1
	}
	v := &domain.ValidationError{}
	for i, h := range header {
		if !utf8.ValidString(h) {
			return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.header_utf8"))
		}
		h = strings.TrimSpace(h)
		// Chinese templates often star the required columns.
		norm := strings.ToLower(strings.TrimSpace(strings.Trim(h, "*＊")))
		c := findColumn(defs, norm)
		if c < 0 {
			continue // extra columns are common in exchange files and harmless
		}
		if s.pos[c] >= 0 {
			v.Add(defs[c].key, "%s", messages.ImportText("imp.reject.header_twice", s.pos[c]+1, s.heads[c], i+1, h, defs[c].key))
			continue
		}
		s.pos[c], s.heads[c] = i, h
	}
	if !slices.ContainsFunc(s.pos, func(p int) bool { return p >= 0 }) {
		// Nothing matched at all: more likely the wrong format than a few
		// misnamed columns, so say that instead of listing every column.
		if xlsx {
			return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.header_unknown_xlsx",
				quote(strings.Join(header, ",")), columnNames(defs)))
		}
		return nil, domain.Invalid("header", "%s", messages.ImportText("imp.reject.header_unknown",
			quote(strings.Join(header, ",")), columnNames(defs)))
	}
	for c, d := range defs {
		if d.id && s.pos[c] < 0 {
			v.Add(d.key, "%s", messages.ImportText("imp.reject.header_missing", strings.Join(d.names, " or ")))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// csvSource reads CSV records with their first physical line.
type csvSource struct{ cr *csv.Reader }

func (c *csvSource) next() (int, []string, *RowError, error) {
	rec, err := c.cr.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return 0, nil, nil, io.EOF
	case errors.As(err, &pe):
		// The reader resumes after the broken record, so later rows still count.
		return pe.StartLine, nil, &RowError{Line: pe.StartLine,
			Reason: messages.ImportText("imp.reject.csv", pe.Line, pe.Column, pe.Err)}, nil
	case err != nil:
		return 0, nil, nil, fmt.Errorf("read CSV: %w", err)
	}
	// FieldPos, not a line counter: a quoted field may span several lines.
	line, _ := c.cr.FieldPos(0)
	return line, rec, nil, nil
}

func columnNames(defs []column) string {
	var keys []string
	for _, d := range defs {
		if d.id || d.required {
			keys = append(keys, d.key)
		}
	}
	return strings.Join(keys, ",")
}

func findColumn(defs []column, norm string) int {
	for c, d := range defs {
		for _, n := range d.names {
			if n == norm {
				return c
			}
		}
	}
	return -1
}

// nameFields turns the canonical column names of the store's errors into the
// file's headers.
func (s *sheet) nameFields(errs []RowError) {
	for i := range errs {
		if errs[i].Field != "" {
			errs[i].Field = s.field(errs[i].Field)
		}
	}
}

// has reports whether the file carries column c.
func (s *sheet) has(c int) bool { return s.pos[c] >= 0 }

// field is the column with canonical name key as the file spells it, or key
// when the file lacks it.
func (s *sheet) field(key string) string {
	for c, d := range s.defs {
		if d.key == key && s.pos[c] >= 0 {
			return s.heads[c]
		}
	}
	return key
}

// next returns the next data row and its first line (an .xlsx row number as
// the spreadsheet shows it). A row that cannot be read or has the wrong
// number of fields comes back as rowErr; err is io.EOF at the end and
// otherwise means the file cannot be read further.
func (s *sheet) next() (line int, rec []string, rowErr *RowError, err error) {
	line, rec, rowErr, err = s.src.next()
	if err != nil || rowErr != nil {
		return line, nil, rowErr, err
	}
	if len(rec) != s.width {
		return line, nil, &RowError{Line: line,
			Reason: messages.ImportText("imp.reject.width", len(rec), s.width)}, nil
	}
	return line, rec, nil, nil
}

// row checks the cells of one record and collects what is wrong with them.
type row struct {
	s    *sheet
	rec  []string
	line int
	errs []RowError
}

// cell is column c's value without surrounding white space (full-width
// spaces included), or "" when the file lacks the column.
func (r *row) cell(c int) string {
	if r.s.pos[c] < 0 {
		return ""
	}
	return strings.TrimSpace(r.rec[r.s.pos[c]])
}

// bad refuses column c of the row for the reason the catalog's code
// (messages, "imp.reject.…") gives with args: English for the API, and read
// back into any language by messages.Lang.Import.
func (r *row) bad(c int, code string, args ...any) {
	r.errs = append(r.errs, RowError{Line: r.line, Field: r.s.heads[c], Reason: messages.ImportText(code, args...)})
}

// badText refuses column c with an English reason made elsewhere whose
// words the catalog knows (package uscc's refusals).
func (r *row) badText(c int, reason string) {
	r.errs = append(r.errs, RowError{Line: r.line, Field: r.s.heads[c], Reason: reason})
}

// given returns column c's cell and whether the row sets the column: not
// when the file lacks the column, nor when the cell is empty, unless empty
// cells clear. A clearing empty cell in a column that cannot be empty
// (required for every row) is refused here.
func (r *row) given(c int) (string, bool) {
	if !r.s.has(c) {
		return "", false
	}
	v := r.cell(c)
	if v != "" {
		return v, true
	}
	if !r.s.clear {
		return "", false
	}
	if r.s.defs[c].required {
		r.bad(c, "imp.reject.cannot_clear", r.s.defs[c].key)
		return "", false
	}
	return "", true
}

// text returns a free-text cell as a patch field: nil when the row does not
// set it. It refuses what PostgreSQL would refuse (bad UTF-8, NUL), what no
// register needs (overlong values), so that one bad cell cannot fail a whole
// batch, and what a spreadsheet would run as a formula.
func (r *row) text(c int, maxRunes int) *string {
	v, ok := r.given(c)
	if !ok {
		return nil
	}
	switch {
	case !utf8.ValidString(v):
		r.bad(c, "imp.reject.not_utf8")
	case strings.IndexByte(v, 0) >= 0:
		r.bad(c, "imp.reject.nul")
	case utf8.RuneCountInString(v) > maxRunes:
		r.bad(c, "imp.reject.too_long", maxRunes)
	case formulaLike(r.rec[r.s.pos[c]]):
		r.bad(c, "imp.reject.formula", quote(clipRunes(v, 12)))
	default:
		return &v
	}
	return nil
}

// formulaLike reports whether a spreadsheet would take the raw cell for a
// formula (OWASP, CSV injection): it starts with a tab or a carriage return,
// or, white space aside, with =, @, or + or - not followed by a digit, so that
// phone numbers such as +86 138 0000 0000 and -5 pass.
func formulaLike(raw string) bool {
	if raw == "" {
		return false
	}
	if raw[0] == '\t' || raw[0] == '\r' {
		return true
	}
	v := strings.TrimSpace(raw)
	if v == "" {
		return false
	}
	switch v[0] {
	case '=', '@':
		return true
	case '+', '-':
		return len(v) == 1 || v[1] < '0' || v[1] > '9'
	}
	return false
}

func clipRunes(v string, n int) string {
	if utf8.RuneCountInString(v) <= n {
		return v
	}
	return string([]rune(v)[:n]) + "…"
}

// quote shows a user's value in a reason, cut short and escaped so that the
// reason itself is always storable text.
func quote(v string) string {
	const max = 40
	if utf8.RuneCountInString(v) > max {
		rs := []rune(v)
		v = string(rs[:max]) + "…"
	}
	return fmt.Sprintf("%q", v)
}

// splitList splits a multi-valued cell on the separators people use in
// Chinese and English spreadsheets, dropping empty parts.
func splitList(v string) []string {
	parts := strings.FieldsFunc(v, func(r rune) bool {
		switch r {
		case ';', '；', '|', ',', '，', '、':
			return true
		}
		return false
	})
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
