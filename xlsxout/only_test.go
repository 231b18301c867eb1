package xlsxout

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyWriter: no package but this one makes a workbook, so every .xlsx
// the service writes has its headers, date cells and string cells. (Reading
// workbooks, as imports do, is fine.) A new download must use xlsxout.New.
func TestOnlyWriter(t *testing.T) {
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "xlsxout" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, call := range []string{"excelize.NewFile(", ".NewStreamWriter(", ".SetCellValue(", ".SetSheetRow("} {
			if strings.Contains(string(b), call) {
				t.Errorf("%s calls %s: write workbooks with xlsxout.New", path, call)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
