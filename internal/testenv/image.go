package testenv

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// Gradient is a w×h opaque picture whose red and green follow x and y, with
// a fixed blue: it has detail, unlike a flat colour, yet is reproducible.
func Gradient(w, h int, blue uint8) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), blue, 255})
		}
	}
	return img
}

// Solid is a w×h picture of one colour.
func Solid(w, h int, c color.Color) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

// Encode returns img as "png" or, for any other format, as JPEG of the given
// quality (0 means the encoder's default).
func Encode(t testing.TB, img image.Image, format string, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch {
	case format == "png":
		err = png.Encode(&buf, img)
	case quality == 0:
		err = jpeg.Encode(&buf, img, nil)
	default:
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// JPEG is a solid-colour w×h JPEG at quality 95.
func JPEG(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	return Encode(t, Solid(w, h, c), "jpeg", 95)
}
