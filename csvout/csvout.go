// Package csvout is the one way the service writes CSV: every file starts
// with a UTF-8 byte order mark, every field is quoted, and every cell is
// neutralised against spreadsheet formula injection (CWE-1236) as OWASP's
// "CSV Injection" page describes.
//
// The rules, in full:
//
//   - A cell that starts with '=', '+', '-', '@', tab (0x09) or carriage
//     return (0x0D) gets a single quote (') in front, so a spreadsheet reads
//     it as text.
//   - Exception: a cell that is a plain decimal number (an optional sign,
//     ASCII digits, an optional fraction: "-12.5", "+3", "-0.25") is written
//     as is. A spreadsheet reads it as that number and nothing else, and a
//     coordinate or a difference stays a number for the person reading it.
//     "-1+2", "-1e5", "- 3" and "--1" are not plain numbers and get the mark.
//   - A cell in which a dangerous character follows a separator a
//     spreadsheet might split on (',', ';', '|', tab, CR, LF) or a double
//     or single quote, with nothing or only spaces between them, gets
//     the single quote too: a reader that splits such a cell would otherwise
//     start a new cell with a formula.
//   - A cell that already starts with a single quote gets another, so the
//     marking is exactly reversible: Restore strips one leading quote.
//   - Every field is enclosed in double quotes (doubling any inside, RFC 4180
//     §2.7). encoding/csv quotes only fields that carry a comma, quote or line
//     break, so a cell such as `a;=cmd` would be written bare and a
//     spreadsheet whose list separator is ';' would split it and run the
//     second half; OWASP asks for every field to be quoted, so this writer
//     quotes them itself. Its output reads back with encoding/csv (tested).
package csvout

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// BOM is the UTF-8 byte order mark every file starts with: without it Excel
// and WPS on Chinese Windows read UTF-8 as GBK and show mojibake. Readers
// that do not expect it should strip it (StripBOM).
const BOM = "\uFEFF"

// Writer writes neutralised, quoted CSV records. It buffers; call Flush (and
// check Error) when done or when the caller wants the bytes on the wire.
type Writer struct {
	w     *bufio.Writer
	begun bool
	err   error
}

// NewWriter returns a Writer on w. The BOM is written with the first record
// (or by Flush on an empty file), so nothing reaches w before the caller
// writes.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriter(w)}
}

// Write writes one record: each field neutralised and quoted, separated by
// commas, ended by CRLF (RFC 4180 §2.1; Excel expects it).
func (w *Writer) Write(record []string) error {
	if w.err != nil {
		return w.err
	}
	w.start()
	for i, field := range record {
		if i > 0 {
			w.w.WriteByte(',')
		}
		w.w.WriteByte('"')
		w.w.WriteString(strings.ReplaceAll(Neutralise(field), `"`, `""`))
		w.w.WriteByte('"')
	}
	if _, err := w.w.WriteString("\r\n"); err != nil {
		w.err = fmt.Errorf("csv: write record: %w", err)
	}
	return w.err
}

// WriteAll writes the records and flushes.
func (w *Writer) WriteAll(records [][]string) error {
	for _, r := range records {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// Flush writes any buffered data to the underlying writer (the BOM
// included, so even a file with no record starts with it).
func (w *Writer) Flush() {
	if w.err != nil {
		return
	}
	w.start()
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("csv: flush: %w", err)
	}
}

// Error reports the first error of a Write or Flush.
func (w *Writer) Error() error { return w.err }

func (w *Writer) start() {
	if !w.begun {
		w.begun = true
		w.w.WriteString(BOM)
	}
}

// dangerous reports whether a cell starting with c could be read as a
// formula (OWASP's list).
func dangerous(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

// separator reports whether c could end a cell for some reader: the usual
// list separators, line breaks and quote characters.
func separator(c byte) bool {
	switch c {
	case ',', ';', '|', '\t', '\r', '\n', '"', '\'':
		return true
	}
	return false
}

// plainNumber reports whether s is an optional sign, ASCII digits and an
// optional fraction, nothing else.
func plainNumber(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	return digits(whole) && (!dot || digits(frac))
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Neutralise returns the cell as it is written (before quoting): with a
// single quote in front when a spreadsheet could read it, or a part of it,
// as a formula, or when it already starts with a single quote. Any other
// cell is returned unchanged.
func Neutralise(cell string) string {
	if needsMark(cell) {
		return "'" + cell
	}
	return cell
}

func needsMark(cell string) bool {
	if cell == "" {
		return false
	}
	if cell[0] == '\'' {
		return true
	}
	if dangerous(cell[0]) {
		return !plainNumber(cell)
	}
	return splitFormula(cell)
}

// splitFormula reports whether a dangerous character follows a separator,
// with only spaces between them, anywhere in the cell.
func splitFormula(cell string) bool {
	for i := 0; i < len(cell); i++ {
		if !separator(cell[i]) {
			continue
		}
		j := i + 1
		for j < len(cell) && cell[j] == ' ' {
			j++
		}
		if j < len(cell) && dangerous(cell[j]) {
			return true
		}
	}
	return false
}

// Restore undoes Neutralise: a cell read from a file this package wrote,
// with its leading single quote (if any) removed. Restore(Neutralise(s)) == s
// for every s.
func Restore(cell string) string {
	return strings.TrimPrefix(cell, "'")
}

// StripBOM returns r without a leading UTF-8 byte order mark, for readers
// (such as encoding/csv) that would take it as part of the first field.
func StripBOM(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(BOM)); err == nil && string(b) == BOM {
		_, _ = br.Discard(len(BOM))
	}
	return br
}
