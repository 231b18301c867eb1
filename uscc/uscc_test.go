package uscc

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, code, wantErr string
	}{
		// Published codes of real organisations.
		{"Huawei", "914403001922038216", ""},
		{"Tencent", "9144030071526726XG", ""},
		{"Alibaba", "91330100799655058B", ""},
		{"wrong check character", "914403001922038217", "check character"},
		{"too short", "91440300192203821", "18 characters"},
		{"lower case", "9144030071526726xg", "character 17"},
		{"letter I not allowed", "91440300192203821I", "character 18"},
		{"letters in division code", "91A403001922038216", "division code"},
		{"non-ASCII", "9144030019220382１", "18 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.code)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tt.code, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Check(%q) = %v, want an ErrInvalid mentioning %q", tt.code, err, tt.wantErr)
			}
		})
	}
}

func TestCompleteRoundTrip(t *testing.T) {
	code, err := Complete("91330100799655058")
	if err != nil || code != "91330100799655058B" {
		t.Fatalf("Complete = %q, %v", code, err)
	}
	if _, err := Complete("9133010079965505"); err == nil {
		t.Fatal("short input accepted")
	}
}

// Any single-character change of a valid code must be caught: the checksum is
// a weighted sum modulo a prime with weights coprime to it.
func TestCheckCatchesEverySingleSubstitution(t *testing.T) {
	valid := "91330100799655058B"
	for i := range 18 {
		for j := range len(alphabet) {
			c := alphabet[j]
			if c == valid[i] || (i >= 2 && i <= 7 && c > '9') {
				continue
			}
			mutated := valid[:i] + string(c) + valid[i+1:]
			if Check(mutated) == nil {
				t.Errorf("substitution at %d to %q not caught", i+1, c)
			}
		}
	}
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{"914403001922038216", "9144030071526726XG", "", "91440300192203821", "ＡＢＣ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Check(s)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		}
		if err == nil {
			// A valid code is its own completion and has only allowed characters.
			if again, cerr := Complete(s[:17]); cerr != nil || again != s {
				t.Fatalf("valid %q does not complete to itself: %q %v", s, again, cerr)
			}
		}
		if len(s) >= 17 {
			if code, cerr := Complete(s[:17]); cerr == nil && Check(code) != nil {
				t.Fatalf("Complete(%q) = %q fails Check", s[:17], code)
			}
		}
	})
}
