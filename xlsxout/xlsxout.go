// Package xlsxout is the one way the service writes .xlsx workbooks, for the
// lists people keep in spreadsheets (a plan's visits, a roster, demands,
// results). It writes with excelize's stream writer, one sheet after another,
// and gives every sheet the same shape:
//
//   - the header row in Chinese, or English when the reader asked for it;
//   - the header row frozen, so it stays in view while scrolling;
//   - column widths fitted to the header and the column's kind;
//   - dates as date cells (serial numbers with a yyyy-mm-dd format), not
//     text, so that a spreadsheet sorts and filters them as dates;
//   - numbers as numbers;
//   - every text cell written as an explicit string cell (an inline string),
//     never a formula: a cell that starts with = + - @ opens as that text, as
//     csvout's apostrophe makes a CSV cell text (CWE-1236). The text itself
//     is kept as it is: an .xlsx cell has a type, so no mark is needed, and
//     a reader sees what was stored. Characters that XML 1.0 cannot carry
//     (control characters other than tab and line breaks) are dropped, so
//     the file always opens.
package xlsxout

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/language"
)

// ContentType is the media type of an .xlsx workbook.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// The languages a workbook's headers are written in.
const (
	ZH = "zh"
	EN = "en"
)

// Kind is what a column holds, which decides how its cells are written.
type Kind int

// Column kinds.
const (
	// Text cells are explicit strings.
	Text Kind = iota
	// Date cells are dates (a time.Time, or a "YYYY-MM-DD" string; "" leaves
	// the cell empty) shown as yyyy-mm-dd.
	Date
	// DateTime cells are instants shown as yyyy-mm-dd hh:mm in the zone the
	// caller gives the time.Time in.
	DateTime
	// Int cells are whole numbers.
	Int
	// Number cells are decimal numbers.
	Number
)

// Column is one column of a sheet: its header in both languages, its kind
// and, optionally, its width in characters (fitted to the header when 0).
type Column struct {
	ZH, EN string
	Kind   Kind
	Width  float64
}

// Sheet names a sheet in both languages and lists its columns.
type Sheet struct {
	ZH, EN  string
	Columns []Column
}

// Writer writes a workbook sheet by sheet. Start a sheet with Sheet, add its
// rows with Row, and end with WriteTo. A Writer is not safe for concurrent
// use.
type Writer struct {
	f         *excelize.File
	lang      string
	sheets    int
	sw        *excelize.StreamWriter
	cols      []Column
	row       int
	dateStyle int
	timeStyle int
	headStyle int
}

// New returns a Writer whose headers and sheet names are in lang (ZH unless
// EN).
func New(lang string) (*Writer, error) {
	if lang != EN {
		lang = ZH
	}
	f := excelize.NewFile()
	w := &Writer{f: f, lang: lang}
	date, dt := "yyyy-mm-dd", "yyyy-mm-dd hh:mm"
	var err error
	if w.dateStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &date}); err != nil {
		return nil, fmt.Errorf("xlsx: date style: %w", err)
	}
	if w.timeStyle, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dt}); err != nil {
		return nil, fmt.Errorf("xlsx: date-time style: %w", err)
	}
	if w.headStyle, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8EEF4"}}}); err != nil {
		return nil, fmt.Errorf("xlsx: header style: %w", err)
	}
	return w, nil
}

// Lang is the language a request asks a workbook in: ?lang=en or zh first,
// then Accept-Language; Chinese when nothing matches.
func Lang(r *http.Request) string {
	switch strings.ToLower(r.URL.Query().Get("lang")) {
	case EN:
		return EN
	case ZH:
		return ZH
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return ZH
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No || i == 0 {
		return ZH
	}
	return EN
}

var matcher = language.NewMatcher([]language.Tag{language.SimplifiedChinese, language.English})

// text picks the language's half of a pair.
func (w *Writer) text(zh, en string) string {
	if w.lang == EN && en != "" {
		return en
	}
	return zh
}

// Sheet ends the current sheet and starts the next one with its header row.
func (w *Writer) Sheet(s Sheet) error {
	if err := w.flush(); err != nil {
		return err
	}
	name := sheetName(w.text(s.ZH, s.EN))
	if w.sheets == 0 {
		if err := w.f.SetSheetName("Sheet1", name); err != nil {
			return fmt.Errorf("xlsx: name sheet %q: %w", name, err)
		}
	} else if _, err := w.f.NewSheet(name); err != nil {
		return fmt.Errorf("xlsx: add sheet %q: %w", name, err)
	}
	w.sheets++
	sw, err := w.f.NewStreamWriter(name)
	if err != nil {
		return fmt.Errorf("xlsx: sheet %q: %w", name, err)
	}
	w.sw, w.cols, w.row = sw, s.Columns, 1
	for i, c := range s.Columns {
		if err := sw.SetColWidth(i+1, i+1, w.width(c)); err != nil {
			return fmt.Errorf("xlsx: width of column %d: %w", i+1, err)
		}
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return fmt.Errorf("xlsx: freeze the header: %w", err)
	}
	head := make([]any, len(s.Columns))
	for i, c := range s.Columns {
		head[i] = excelize.Cell{StyleID: w.headStyle, Value: clean(w.text(c.ZH, c.EN))}
	}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 20}); err != nil {
		return fmt.Errorf("xlsx: header row: %w", err)
	}
	return nil
}

// width is a column's width in characters: the caller's, or the header's
// display width (a Chinese character counts two) with room for the filter
// button, at least what its kind needs.
func (w *Writer) width(c Column) float64 {
	if c.Width > 0 {
		return c.Width
	}
	n := float64(displayWidth(w.text(c.ZH, c.EN))) + 4
	min := 8.0
	switch c.Kind {
	case Date:
		min = 12
	case DateTime:
		min = 17
	case Text:
		min = 12
	}
	return max(n, min)
}

func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// errNoSheet is returned by Row before any Sheet.
var errNoSheet = errors.New("xlsx: a row before any sheet")

// Row adds one row to the current sheet, one value per column: a string
// for Text; a time.Time or "YYYY-MM-DD" for Date (an unparsable string is
// written as text rather than lost); a time.Time for DateTime; any integer
// for Int; a float or integer for Number. A nil value leaves the cell empty.
func (w *Writer) Row(values ...any) error {
	if w.sw == nil {
		return errNoSheet
	}
	if len(values) != len(w.cols) {
		return fmt.Errorf("xlsx: row %d has %d values for %d columns", w.row+1, len(values), len(w.cols))
	}
	cells := make([]any, len(values))
	for i, v := range values {
		cells[i] = w.cell(w.cols[i].Kind, v)
	}
	w.row++
	if err := w.sw.SetRow("A"+strconv.Itoa(w.row), cells); err != nil {
		return fmt.Errorf("xlsx: row %d: %w", w.row, err)
	}
	return nil
}

// cell is the stream writer's value for v in a column of kind k.
func (w *Writer) cell(k Kind, v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if k == Date {
			if v == "" {
				return nil
			}
			if t, err := time.Parse(time.DateOnly, v); err == nil {
				return excelize.Cell{StyleID: w.dateStyle, Value: t}
			}
		}
		return excelize.Cell{Value: clean(v)}
	case time.Time:
		if v.IsZero() {
			return nil
		}
		if k == DateTime {
			// The stream writer takes the wall clock of the time's own zone.
			return excelize.Cell{StyleID: w.timeStyle, Value: v}
		}
		d := time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
		return excelize.Cell{StyleID: w.dateStyle, Value: d}
	case *time.Time:
		if v == nil {
			return nil
		}
		return w.cell(k, *v)
	case int, int32, int64, float64:
		return v
	default:
		return excelize.Cell{Value: clean(fmt.Sprint(v))}
	}
}

// clean drops what XML 1.0 cannot carry, so the file always opens: control
// characters other than tab, CR and LF, and invalid UTF-8.
func clean(s string) string {
	ok := utf8.ValidString(s)
	for i := 0; ok && i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			ok = false
		}
	}
	if ok && !strings.ContainsAny(s, "\uFFFE\uFFFF") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, r == 0xFFFE, r == 0xFFFF:
			return -1
		case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

// sheetName makes a valid sheet name: at most 31 characters, none of : \ / ? * [ ].
func sheetName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:\/?*[]`, r) {
			return '_'
		}
		return r
	}, s)
	if rs := []rune(s); len(rs) > 31 {
		s = string(rs[:31])
	}
	if s == "" {
		s = "Sheet"
	}
	return s
}

func (w *Writer) flush() error {
	if w.sw == nil {
		return nil
	}
	err := w.sw.Flush()
	w.sw = nil
	if err != nil {
		return fmt.Errorf("xlsx: flush sheet: %w", err)
	}
	return nil
}

// WriteTo ends the last sheet, writes the workbook to out and releases it.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	defer w.f.Close()
	if err := w.flush(); err != nil {
		return 0, err
	}
	if w.sheets > 0 {
		w.f.SetActiveSheet(0)
	}
	n, err := w.f.WriteTo(out)
	if err != nil {
		return n, fmt.Errorf("xlsx: write: %w", err)
	}
	return n, nil
}

// Close releases a workbook that will not be written.
func (w *Writer) Close() error { return w.f.Close() }

// Disposition is the Content-Disposition of a download named name, which
// may be Chinese (sent as filename*, RFC 6266 and RFC 5987), with fallback,
// an ASCII name, for clients that do not read filename*.
func Disposition(name, fallback string) string {
	fallback = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' || r == '/' || r == ';' || r == '%' {
			return '_'
		}
		return r
	}, fallback)
	return `attachment; filename="` + fallback + `"; filename*=UTF-8''` + pathEscape(name)
}

// pathEscape percent-encodes every byte but RFC 5987's attr-char.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Serve answers a download with the workbook as an attachment named name
// (fallback in ASCII). The workbook is written to memory first (excelize
// holds it there anyway), so a failure is still an error answer and not a
// cut-off file.
func Serve(rw http.ResponseWriter, name, fallback string, w *Writer) error {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		return err
	}
	h := rw.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Disposition", Disposition(name, fallback))
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	rw.WriteHeader(http.StatusOK)
	_, err := buf.WriteTo(rw)
	return err
}

// Respond builds a workbook in lang with build and serves it named zh (en
// for English, and as the ASCII fallback). A build error closes the
// workbook and is returned; nothing is written then.
func Respond(rw http.ResponseWriter, lang, zh, en string, build func(*Writer) error) error {
	w, err := New(lang)
	if err != nil {
		return err
	}
	if err := build(w); err != nil {
		_ = w.Close()
		return err
	}
	name := zh
	if lang == EN {
		name = en
	}
	return Serve(rw, name, en, w)
}
