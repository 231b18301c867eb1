package csvout

import (
	"bytes"
	"encoding/csv"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNeutralise(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", ""},
		{"plain text", "plain text"},
		{"食品安全法第一条", "食品安全法第一条"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+SUM(1+1)", "'+SUM(1+1)"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"'=1", "''=1"},       // already marked by hand: marked again, so Restore is exact
		{"'plain", "''plain"}, // any leading quote, for the same reason
		// Plain numbers stay numbers.
		{"-12.5", "-12.5"},
		{"+3", "+3"},
		{"-0", "-0"},
		{"120.25", "120.25"},
		// Not plain numbers.
		{"-1e5", "'-1e5"},
		{"--1", "'--1"},
		{"- 3", "'- 3"},
		{"-", "'-"},
		{"-.5", "'-.5"},
		{"-5.", "'-5."},
		{"+", "'+"},
		// A dangerous character after a separator.
		{"a;=cmd|' /C calc'!A0", "'a;=cmd|' /C calc'!A0"},
		{`x",=1+2`, `'x",=1+2`},
		{"a,-1", "'a,-1"},
		{"a\n@x", "'a\n@x"},
		{"a|+1", "'a|+1"},
		{"王芳; =1+2", "'王芳; =1+2"},
		{"a,  @x", "'a,  @x"},
		{"a\t-1", "'a\t-1"},
		// A dangerous character elsewhere is harmless.
		{"a=b", "a=b"},
		{"2026-12-31", "2026-12-31"},
		{"a; b", "a; b"},
		{"plan 1 draw 2 (SCJG): frame 5, n 3, shift 0.25", "plan 1 draw 2 (SCJG): frame 5, n 3, shift 0.25"},
	} {
		if got := Neutralise(tc.in); got != tc.want {
			t.Errorf("Neutralise(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Restore(Neutralise(tc.in)); got != tc.in {
			t.Errorf("Restore(Neutralise(%q)) = %q", tc.in, got)
		}
	}
}

// TestWriter: the file starts with the BOM, every field is quoted, cells
// are neutralised, and encoding/csv reads it back to the neutralised cells.
func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	rows := [][]string{{"name", "rule", "lng"}, {`=HYPERLINK("http://x","y")`, "+SUM(1+1)", "-12.5"}, {"a,b", "line\nbreak", ""}}
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	want := "\uFEFF\"name\",\"rule\",\"lng\"\r\n" +
		"\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\"'+SUM(1+1)\",\"-12.5\"\r\n" +
		"\"a,b\",\"line\nbreak\",\"\"\r\n"
	if out != want {
		t.Fatalf("written:\n%q\nwant\n%q", out, want)
	}
	got, err := csv.NewReader(StripBOM(strings.NewReader(out))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1][0] != `'=HYPERLINK("http://x","y")` || got[1][1] != "'+SUM(1+1)" || got[1][2] != "-12.5" ||
		got[2][0] != "a,b" || got[2][1] != "line\nbreak" {
		t.Fatalf("read back %q", got)
	}
}

// TestEmptyFileHasBOM: a file with no record (Flush only) is the BOM.
func TestEmptyFileHasBOM(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if buf.Len() != 0 {
		t.Fatal("bytes written before the first record")
	}
	w.Flush()
	if err := w.Error(); err != nil || buf.String() != BOM {
		t.Fatalf("%q %v", buf.String(), err)
	}
}

type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }

func TestWriterError(t *testing.T) {
	w := NewWriter(failing{})
	if err := w.WriteAll([][]string{{"a"}}); err == nil {
		t.Fatal("no error from a failing writer")
	}
}

func TestStripBOM(t *testing.T) {
	for _, in := range []string{"", "a", BOM, BOM + "a,b", "\uFEFF\uFEFFa"} {
		b, _ := io.ReadAll(StripBOM(strings.NewReader(in)))
		if want := strings.TrimPrefix(in, BOM); string(b) != want {
			t.Errorf("StripBOM(%q) = %q, want %q", in, b, want)
		}
	}
}

// FuzzNeutralise: whatever the cell, the written cell never starts with a
// dangerous character unless it is a plain number, no dangerous character
// follows a separator in an unmarked cell, Restore undoes it, safe text is
// unchanged, and the file reads back to the neutralised cells.
func FuzzNeutralise(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+SUM(1+1)", "-12.5", "@x", "\t=1", "\r=1", "'=1", "a;=b", "plain", "商户", `"=1"`, "a\r\n-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Neutralise(s)
		if n != "" && dangerous(n[0]) && !plainNumber(n) {
			t.Fatalf("Neutralise(%q) = %q starts with a dangerous character", s, n)
		}
		if n == s {
			if formulaAfterSeparator(n) {
				t.Fatalf("Neutralise(%q) left a dangerous character after a separator", s)
			}
			if strings.HasPrefix(n, "'") {
				t.Fatalf("Neutralise(%q) left a leading quote unmarked", s)
			}
		} else if n != "'"+s {
			t.Fatalf("Neutralise(%q) = %q: not the cell with one quote in front", s, n)
		}
		if Restore(n) != s {
			t.Fatalf("Restore(Neutralise(%q)) = %q", s, Restore(n))
		}
		safe := (s == "" || (!dangerous(s[0]) && s[0] != '\'')) && !formulaAfterSeparator(s)
		if safe && n != s {
			t.Fatalf("safe text %q changed to %q", s, n)
		}
		if !utf8.ValidString(s) {
			return // encoding/csv reads bytes as they are; nothing more to check
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		if err := w.WriteAll([][]string{{s, "x"}}); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(buf.String(), BOM) {
			t.Fatal("no BOM")
		}
		r := csv.NewReader(StripBOM(&buf))
		got, err := r.Read()
		if err != nil {
			t.Fatalf("read back %q: %v", buf.String(), err)
		}
		// encoding/csv turns \r\n inside a quoted field into \n.
		if want := strings.ReplaceAll(n, "\r\n", "\n"); len(got) != 2 || got[0] != want || got[1] != "x" {
			t.Fatalf("read back %q, want [%q x]", got, want)
		}
	})
}

// formulaAfterSeparator is the fuzz target's own statement of the rule: some
// dangerous character has, before it and past any spaces, a separator.
func formulaAfterSeparator(s string) bool {
	for i := 1; i < len(s); i++ {
		if !dangerous(s[i]) {
			continue
		}
		before := strings.TrimRight(s[:i], " ")
		if before != "" && strings.ContainsRune(",;|\t\r\n\"'", rune(before[len(before)-1])) {
			return true
		}
	}
	return false
}
