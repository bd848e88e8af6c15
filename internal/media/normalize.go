package media

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"runtime"

	"golang.org/x/image/draw"

	"github.com/kaowu/kaowu/internal/apperr"
)

// Re-encoding parameters.
const (
	// minSide is the smallest longer side we shrink to before giving up:
	// below it an ID card or certificate is unreadable.
	minSide = 320
	// maxAttempts bounds the encode loop whatever the limits.
	maxAttempts = 12
)

// qualities are tried in turn at each size: the first keeps photos crisp,
// the last still reads small print.
var qualities = []int{85, 72, 60}

// decodeSlots bounds how many images are decoded at once: a 20-megapixel
// image needs ~80 MB as RGBA, and a burst of uploads must not exhaust memory.
var decodeSlots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))

// Normalize makes an inspected file fit l. PDFs over l.MaxPDFBytes are
// refused, others returned unchanged. Images are decoded in full (a broken
// one is refused); one that is over l.MaxImageBytes, has a side over
// l.MaxDimension, or is a JPEG carrying metadata (EXIF: camera, GPS position)
// is turned upright by its EXIF orientation, flattened onto white,
// downscaled and re-encoded as JPEG, stepping quality and then size down
// until it fits. Others are returned unchanged.
func Normalize(ctx context.Context, f *File, l Limits) (*File, error) {
	l = l.WithDefaults()
	if f.Kind == PDF {
		if int64(len(f.Data)) > l.MaxPDFBytes {
			return nil, apperr.Input(ErrField, "文件过大，PDF 不能超过 "+SizeLabel(l.MaxPDFBytes))
		}
		return f, nil
	}
	if !f.Kind.IsImage() {
		return nil, apperr.Input(ErrField, MsgUnsupported)
	}
	select {
	case decodeSlots <- struct{}{}:
		defer func() { <-decodeSlots }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	img, format, err := image.Decode(bytes.NewReader(f.Data))
	if err != nil || Kind(format) != f.Kind {
		return nil, apperr.Input(ErrField, msgCorrupt)
	}
	b := img.Bounds()
	if b.Dx() != f.Width || b.Dy() != f.Height {
		return nil, apperr.Input(ErrField, msgCorrupt)
	}
	orient := 1
	meta := false
	if f.Kind == JPEG {
		orient, meta = jpegMetadata(f.Data)
	}
	if int64(len(f.Data)) <= l.MaxImageBytes && max(f.Width, f.Height) <= l.MaxDimension && !meta {
		return f, nil
	}

	// Target size of the upright picture, within MaxDimension.
	w, h := f.Width, f.Height
	if orient >= 5 {
		w, h = h, w
	}
	scale := math.Min(1, float64(l.MaxDimension)/float64(max(w, h)))
	var out []byte
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tw, th := max(1, int(math.Round(float64(w)*scale))), max(1, int(math.Round(float64(h)*scale)))
		canvas := render(img, orient, tw, th)
		for _, q := range qualities {
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, canvas, &jpeg.Options{Quality: q}); err != nil {
				return nil, fmt.Errorf("media: encode: %w", err)
			}
			out = buf.Bytes()
			if int64(len(out)) <= l.MaxImageBytes {
				return &File{Kind: JPEG, Data: out, Width: tw, Height: th}, nil
			}
			// Far over the limit: lower quality alone will not do; shrink
			// now rather than spend encodes on it.
			if len(out) > 2*int(l.MaxImageBytes) {
				break
			}
		}
		// JPEG size grows roughly with the pixel count: aim a little below
		// the limit rather than creeping down in small steps.
		shrink := math.Sqrt(float64(l.MaxImageBytes)/float64(len(out))) * 0.9
		scale *= math.Min(shrink, 0.85)
		if float64(max(w, h))*scale < minSide {
			break
		}
	}
	return nil, apperr.Input(ErrField, "图片无法压缩到 "+SizeLabel(l.MaxImageBytes)+" 以内，请换一张图片")
}

// render draws img upright (per the EXIF orientation) and scaled to tw×th
// onto an opaque white canvas: JPEG has no transparency, and transparent
// pixels of a PNG would otherwise turn black.
func render(img image.Image, orient, tw, th int) *image.RGBA {
	// Scale first, in the stored orientation, so the rotation copies the
	// small picture rather than the large one.
	sw, sh := tw, th
	if orient >= 5 {
		sw, sh = th, tw
	}
	scaled := image.NewRGBA(image.Rect(0, 0, sw, sh))
	op := draw.Src
	if o, ok := img.(interface{ Opaque() bool }); !ok || !o.Opaque() {
		draw.Draw(scaled, scaled.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		op = draw.Over
	}
	b := img.Bounds()
	if b.Dx() == sw && b.Dy() == sh {
		draw.Draw(scaled, scaled.Bounds(), img, b.Min, op)
	} else {
		draw.CatmullRom.Scale(scaled, scaled.Bounds(), img, b, op, nil)
	}
	if orient <= 1 || orient > 8 {
		return scaled
	}
	return orientate(scaled, orient)
}

// orientate applies EXIF orientation o (2–8) to src: the stored picture is
// transformed so that it displays upright without metadata.
func orientate(src *image.RGBA, o int) *image.RGBA {
	w, h := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2: // mirrored horizontally
				dx, dy = w-1-x, y
			case 3: // rotated 180°
				dx, dy = w-1-x, h-1-y
			case 4: // mirrored vertically
				dx, dy = x, h-1-y
			case 5: // transposed
				dx, dy = y, x
			case 6: // needs 90° clockwise
				dx, dy = h-1-y, x
			case 7: // transversed
				dx, dy = h-1-y, w-1-x
			case 8: // needs 90° counter-clockwise
				dx, dy = y, w-1-x
			}
			si := src.PixOffset(x, y)
			di := dst.PixOffset(dx, dy)
			copy(dst.Pix[di:di+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// jpegMetadata walks the JPEG segments before the image data and reports
// the EXIF orientation (1 when absent or invalid) and whether the file
// carries metadata worth stripping: APP1 (EXIF, XMP) or APP13 (IPTC).
// Malformed input never panics; it yields whatever was found so far.
func jpegMetadata(data []byte) (orientation int, meta bool) {
	orientation = 1
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return orientation, false
	}
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return orientation, meta
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			i += 2 // standalone markers
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return orientation, meta
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if n < 2 || i+2+n > len(data) {
			return orientation, meta
		}
		seg := data[i+4 : i+2+n]
		switch marker {
		case 0xE1:
			meta = true
			if o := exifOrientation(seg); o != 0 {
				orientation = o
			}
		case 0xED:
			meta = true
		}
		i += 2 + n
	}
	return orientation, meta
}

// exifOrientation reads tag 0x0112 from IFD0 of an APP1 payload, returning 0
// when the payload is not EXIF or the value is out of range.
func exifOrientation(seg []byte) int {
	const hdr = "Exif\x00\x00"
	if len(seg) < len(hdr)+8 || string(seg[:len(hdr)]) != hdr {
		return 0
	}
	t := seg[len(hdr):]
	var u16 func([]byte) int
	var u32 func([]byte) int
	switch string(t[:4]) {
	case "II*\x00":
		u16 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 }
		u32 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24 }
	case "MM\x00*":
		u16 = func(b []byte) int { return int(b[0])<<8 | int(b[1]) }
		u32 = func(b []byte) int { return int(b[0])<<24 | int(b[1])<<16 | int(b[2])<<8 | int(b[3]) }
	default:
		return 0
	}
	ifd := u32(t[4:8])
	if ifd < 8 || ifd > len(t)-2 {
		return 0
	}
	count := u16(t[ifd : ifd+2])
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if u16(t[e:e+2]) != 0x0112 {
			continue
		}
		// Type SHORT (3), count 1: the value sits in the first two bytes of
		// the value field.
		if u16(t[e+2:e+4]) != 3 {
			return 0
		}
		if o := u16(t[e+8 : e+10]); o >= 1 && o <= 8 {
			return o
		}
		return 0
	}
	return 0
}

// Prepare is Inspect followed by Normalize.
func Prepare(ctx context.Context, r io.Reader, l Limits) (*File, error) {
	f, err := Inspect(r, l)
	if err != nil {
		return nil, err
	}
	return Normalize(ctx, f, l)
}
