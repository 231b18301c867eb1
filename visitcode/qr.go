package visitcode

import (
	"fmt"

	qr "github.com/piglig/go-qr"
)

// QR image size: 6 px a module and the 4-module quiet zone the standard asks
// for, about 200 px for a typical code URL: sharp on a phone and on paper.
const (
	qrScale  = 6
	qrBorder = 4
)

// QRPNG renders text (the code's absolute URL) as a PNG QR code with medium
// error correction, which survives a crease or a smudge on a printed notice.
func QRPNG(text string) ([]byte, error) {
	q, err := qr.EncodeText(text, qr.Medium)
	if err != nil {
		return nil, fmt.Errorf("encode QR code: %w", err)
	}
	b, err := q.ToPNGBytes(qr.NewQrCodeImgConfig(qrScale, qrBorder))
	if err != nil {
		return nil, fmt.Errorf("render QR code: %w", err)
	}
	return b, nil
}

// QRSVG renders text as an SVG QR code, for pages that are printed.
func QRSVG(text string) ([]byte, error) {
	q, err := qr.EncodeText(text, qr.Medium)
	if err != nil {
		return nil, fmt.Errorf("encode QR code: %w", err)
	}
	b, err := q.ToSVGBytes(qr.NewQrCodeImgConfig(qrScale, qrBorder, qr.WithOptimalSVG()))
	if err != nil {
		return nil, fmt.Errorf("render QR code: %w", err)
	}
	return b, nil
}
