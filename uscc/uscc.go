// Package uscc checks unified social credit codes (统一社会信用代码, GB 32100-2015),
// the 18-character identity of every business.
package uscc

import (
	"errors"
	"fmt"
)

// alphabet is the code's character set: digits and upper-case letters without
// I, O, Z, S and V. A character's index is its value in the checksum.
const alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// weights are 3^i mod 31 for the first 17 positions.
var weights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

var values = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := range len(alphabet) {
		v[alphabet[i]] = int8(i)
	}
	return v
}()

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid unified social credit code")

// Check returns nil if code is a well-formed USCC with a correct check character,
// and otherwise an error saying what is wrong.
func Check(code string) error {
	if len(code) != 18 {
		return fmt.Errorf("%w: must be 18 characters, got %d", ErrInvalid, len([]rune(code)))
	}
	sum := 0
	for i := range 18 {
		v := values[code[i]]
		if v < 0 {
			return fmt.Errorf("%w: character %d (%q) is not a digit or an allowed upper-case letter", ErrInvalid, i+1, rune(code[i]))
		}
		if i >= 2 && i <= 7 && v > 9 {
			return fmt.Errorf("%w: characters 3 to 8 are the administrative division code and must be digits", ErrInvalid)
		}
		if i < 17 {
			sum += int(v) * weights[i]
		}
	}
	if want := checkChar(sum); code[17] != want {
		return fmt.Errorf("%w: check character is %q, expected %q", ErrInvalid, rune(code[17]), rune(want))
	}
	return nil
}

func checkChar(sum int) byte {
	return alphabet[(31-sum%31)%31]
}

// Complete appends the check character to the first 17 characters of a code.
func Complete(first17 string) (string, error) {
	if len(first17) != 17 {
		return "", fmt.Errorf("%w: need 17 characters to complete, got %d", ErrInvalid, len(first17))
	}
	sum := 0
	for i := range 17 {
		v := values[first17[i]]
		if v < 0 {
			return "", fmt.Errorf("%w: character %d (%q) is not allowed", ErrInvalid, i+1, rune(first17[i]))
		}
		sum += int(v) * weights[i]
	}
	code := first17 + string(checkChar(sum))
	return code, Check(code)
}
