package csvimport

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"inspectonce/domain"
	"inspectonce/messages"
)

// An .xlsx register is read from its first sheet. A ZIP archive must be read
// whole before its parts can be found, and the sheet is parsed in memory
// (excelize keeps a parsed worksheet to answer which cells hold formulas), so
// a workbook has bounds of its own, well under the CSV import's: about
// 100 000 rows of a register. Larger registers go as CSV, which is streamed.
const (
	// MaxXLSXBytes bounds an .xlsx file as uploaded.
	MaxXLSXBytes = 16 << 20
	// maxXLSXUnzipped bounds the parts of a workbook once unzipped, so that a
	// small archive cannot expand into gigabytes (a "zip bomb").
	maxXLSXUnzipped = 48 << 20
)

// ContentTypeXLSX is the media type of an .xlsx workbook.
const ContentTypeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// xlsxSource hands out the rows of the first sheet of a workbook, numbered
// as the spreadsheet shows them. The first row that is not empty is the
// header; empty rows are skipped, as a CSV reader skips empty lines. A cell
// holding a formula refuses its row: an import takes values, and a formula's
// value is whatever the last program to save the file computed, if anything.
// Date cells come out as YYYY-MM-DD whatever their number format; every
// other cell as its stored value (a number unrounded by its format).
type xlsxSource struct {
	f      *excelize.File
	sheet  string
	rows   [][]string
	i      int // index of the next row in rows (row number i+1)
	width  int // cells in the header, 0 before it is read
	header []string
	dates  map[int]bool // style index → whether its number format is a date
}

// openXLSX reads a workbook from r, within MaxXLSXBytes and its unzipped
// bound, and loads its first sheet.
func openXLSX(r io.Reader) (*xlsxSource, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxXLSXBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read workbook: %w", err)
	}
	if len(b) > MaxXLSXBytes {
		return nil, domain.Invalid("file", "%s", messages.ImportText("imp.reject.xlsx_size", MaxXLSXBytes>>20))
	}
	f, err := excelize.OpenReader(bytes.NewReader(b), excelize.Options{
		UnzipSizeLimit: maxXLSXUnzipped, UnzipXMLSizeLimit: maxXLSXUnzipped})
	if err != nil {
		return nil, domain.Invalid("file", "%s", messages.ImportText("imp.reject.xlsx_unreadable", err.Error()))
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, domain.Invalid("file", "%s", messages.ImportText("imp.reject.xlsx_no_sheet"))
	}
	rows, err := f.GetRows(sheets[0], excelize.Options{RawCellValue: true})
	if err != nil {
		_ = f.Close()
		return nil, domain.Invalid("file", "%s", messages.ImportText("imp.reject.xlsx_sheet_unreadable", sheets[0], err.Error()))
	}
	return &xlsxSource{f: f, sheet: sheets[0], rows: rows, dates: map[int]bool{}}, nil
}

func (x *xlsxSource) next() (int, []string, *RowError, error) {
	for x.i < len(x.rows) {
		n := x.i + 1 // the row number Excel shows
		raw := x.rows[x.i]
		x.i++
		rec, rowErr, err := x.row(n, raw)
		if err != nil {
			return 0, nil, nil, err
		}
		if rowErr == nil && rec == nil {
			continue // an empty row
		}
		if x.width == 0 && rowErr == nil {
			x.width, x.header = len(rec), rec
		}
		return n, rec, rowErr, nil
	}
	_ = x.f.Close()
	return 0, nil, nil, io.EOF
}

// row reads row n's cells: nil for an empty row, or a refusal naming the
// first cell that holds a formula or a value outside the header's columns.
func (x *xlsxSource) row(n int, raw []string) ([]string, *RowError, error) {
	last := -1
	for c := range raw {
		ref, err := excelize.CoordinatesToCellName(c+1, n)
		if err != nil {
			return nil, nil, fmt.Errorf("cell at column %d, row %d: %w", c+1, n, err)
		}
		formula, err := x.f.GetCellFormula(x.sheet, ref)
		if err != nil {
			return nil, nil, fmt.Errorf("read cell %s: %w", ref, err)
		}
		if formula != "" {
			return nil, &RowError{Line: n, Field: x.column(c, ref),
				Reason: messages.ImportText("imp.reject.xlsx_formula", ref, clipRunes(formula, 30))}, nil
		}
		if raw[c] == "" {
			continue
		}
		last = c
		v, err := x.value(ref, raw[c])
		if err != nil {
			return nil, nil, err
		}
		raw[c] = v
	}
	if last < 0 {
		return nil, nil, nil
	}
	if x.width == 0 {
		return raw[:last+1], nil, nil
	}
	if last >= x.width {
		ref, _ := excelize.CoordinatesToCellName(last+1, n)
		return nil, &RowError{Line: n, Field: ref,
			Reason: messages.ImportText("imp.reject.xlsx_no_header", ref, x.width)}, nil
	}
	rec := make([]string, x.width)
	copy(rec, raw)
	return rec, nil, nil
}

// column names column index c for an error: its header, or the cell's
// reference before the header is read.
func (x *xlsxSource) column(c int, ref string) string {
	if c < len(x.header) && strings.TrimSpace(x.header[c]) != "" {
		return strings.TrimSpace(x.header[c])
	}
	return ref
}

// value turns a date cell into YYYY-MM-DD and leaves any other as stored.
func (x *xlsxSource) value(ref, raw string) (string, error) {
	// Only a number (a date serial) or an ISO 8601 date stored as such can
	// be a date: text cells skip the lookups.
	if _, err := strconv.ParseFloat(raw, 64); err != nil && !(len(raw) >= 10 && raw[4] == '-' && raw[7] == '-') {
		return raw, nil
	}
	typ, err := x.f.GetCellType(x.sheet, ref)
	if err != nil {
		return "", fmt.Errorf("read cell %s: %w", ref, err)
	}
	switch typ {
	case excelize.CellTypeDate: // an ISO 8601 date stored as such (t="d")
		if t, err := time.Parse(time.RFC3339Nano, raw); err == nil {
			return t.Format(time.DateOnly), nil
		}
		if len(raw) >= 10 {
			return raw[:10], nil
		}
		return raw, nil
	case excelize.CellTypeNumber, excelize.CellTypeUnset:
	default:
		return raw, nil
	}
	style, err := x.f.GetCellStyle(x.sheet, ref)
	if err != nil {
		return "", fmt.Errorf("read the style of cell %s: %w", ref, err)
	}
	isDate, seen := x.dates[style]
	if !seen {
		st, err := x.f.GetStyle(style)
		isDate = err == nil && dateFormat(st)
		x.dates[style] = isDate
	}
	if !isDate {
		return raw, nil
	}
	serial, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return raw, nil
	}
	t, err := excelize.ExcelDateToTime(serial, false)
	if err != nil {
		return raw, nil
	}
	return t.Format(time.DateOnly), nil
}

// dateFormat reports whether a style's number format shows a date: one of
// the built-in date formats (those of Chinese, Japanese and Korean locales
// included), or a custom format with a year or day part.
func dateFormat(st *excelize.Style) bool {
	switch id := st.NumFmt; {
	case id >= 14 && id <= 17, id == 22, id >= 27 && id <= 31, id >= 34 && id <= 36, id >= 50 && id <= 58:
		return true
	}
	if st.CustomNumFmt == nil {
		return false
	}
	return customDate(*st.CustomNumFmt)
}

// customDate reads a custom number format, skipping quoted text, escaped
// characters and bracketed parts ([Red], [$-804], [h]), and looks for the
// year or day codes (y, d, 年, 日). Months alone are
// ambiguous with minutes and never make a date without a year or a day.
func customDate(format string) bool {
	var quoted bool
	depth := 0
	rs := []rune(strings.ToLower(format))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quoted:
			quoted = r != '"'
		case r == '"':
			quoted = true
		case r == '\\':
			i++
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth > 0:
		case r == 'y', r == 'd', r == '年', r == '日':
			return true
		}
	}
	return false
}

// LooksLikeXLSX reports whether a file starting with prefix (at least its
// first 4 bytes) is a ZIP archive, as every .xlsx workbook is; openSheet
// reads such a file as a workbook and any other as CSV.
func LooksLikeXLSX(prefix []byte) bool { return bytes.HasPrefix(prefix, zipMagic) }
