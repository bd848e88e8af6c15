package media

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/kaowu/kaowu/internal/apperr"
)

// ---------------------------------------------------------------- generators

// flatImage is w×h of one colour: compresses to almost nothing.
func flatImage(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, c)
		}
	}
	return img
}

// noiseImage is w×h of opaque random pixels: incompressible, so the PNG is
// about 3 bytes per pixel.
func noiseImage(w, h int, seed uint64) *image.NRGBA {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		v := r.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(v), byte(v>>8), byte(v>>16), 0xFF
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withEXIF inserts an APP1 EXIF segment holding orientation o after SOI.
func withEXIF(jpg []byte, o uint16, bigEndian bool) []byte {
	var tiff bytes.Buffer
	var bo binary.ByteOrder = binary.LittleEndian
	tiff.WriteString("II*\x00")
	if bigEndian {
		bo = binary.BigEndian
		tiff.Reset()
		tiff.WriteString("MM\x00*")
	}
	w := func(v any) { _ = binary.Write(&tiff, bo, v) }
	w(uint32(8))      // IFD0 offset
	w(uint16(2))      // two entries: a decoy tag, then orientation
	w(uint16(0x010F)) // Make, ASCII, count 4, inline "Cam\0"
	w(uint16(2))
	w(uint32(4))
	tiff.WriteString("Cam\x00")
	w(uint16(0x0112)) // Orientation, SHORT, count 1
	w(uint16(3))
	w(uint32(1))
	w(o)
	w(uint16(0))
	w(uint32(0)) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngHeader is a PNG signature and a valid IHDR claiming w×h pixels,
// followed by no image data: enough for DecodeConfig, never decodable.
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	_ = binary.Write(&ihdr, binary.BigEndian, w)
	_ = binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 2, 0, 0, 0}) // 8-bit RGB
	out := append([]byte{}, pngMagic...)
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, ihdr.Bytes()...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr.Bytes()))
}

// tinyPDF is a minimal, valid one-page PDF.
const tinyPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
	"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

// bigPDF is a PDF padded to n bytes (a comment block before the trailer).
func bigPDF(n int) []byte {
	head := "%PDF-1.4\n"
	tail := "\ntrailer<</Root 1 0 R>>\n%%EOF\n"
	pad := strings.Repeat("%0123456789abcdef0123456789abcdef\n", n/34+1)
	return []byte(head + pad[:n-len(head)-len(tail)] + tail)
}

var (
	bigPNGOnce sync.Once
	bigPNG     []byte
)

// sixMBPNG is a ≈6 MB PNG (1500×1400 noise), generated once.
func sixMBPNG(t testing.TB) []byte {
	bigPNGOnce.Do(func() { bigPNG = encodePNG(t, noiseImage(1500, 1400, 7)) })
	if len(bigPNG) < 6_000_000 {
		t.Fatalf("test PNG is only %d bytes", len(bigPNG))
	}
	return bigPNG
}

func wantInput(t *testing.T, err error, msgPart string) {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want BAD_USER_INPUT, got %T: %v", err, err)
	}
	if ae.Code != apperr.BadInput {
		t.Fatalf("want BAD_USER_INPUT, got %s: %s", ae.Code, ae.Message)
	}
	field := ae.Field
	if field == "" {
		field, _ = ae.Extra["field"].(string)
	}
	if field != "file" {
		t.Fatalf("field = %q, want file", field)
	}
	if !strings.Contains(ae.Message, msgPart) {
		t.Fatalf("message %q does not contain %q", ae.Message, msgPart)
	}
}

// ---------------------------------------------------------------- Inspect

func TestInspect(t *testing.T) {
	small := encodeJPEG(t, flatImage(40, 30, color.RGBA{200, 10, 10, 255}), 90)
	smallPNG := encodePNG(t, flatImage(30, 20, color.RGBA{1, 2, 3, 255}))
	lim := Limits{MaxUploadBytes: 64 << 10, MaxPixels: 1_000_000}
	tests := []struct {
		name    string
		data    []byte
		kind    Kind
		w, h    int
		errPart string // non-empty: must fail with this in the message
	}{
		{"jpeg", small, JPEG, 40, 30, ""},
		{"png", smallPNG, PNG, 30, 20, ""},
		{"pdf", []byte(tinyPDF), PDF, 0, 0, ""},
		{"pdf with trailing blank lines", []byte(tinyPDF + "\r\n\r\n"), PDF, 0, 0, ""},
		{"text named .jpg", []byte("这不是图片，只是一段文字。\n"), "", 0, 0, MsgUnsupported},
		{"html", []byte("<html><script>alert(1)</script></html>"), "", 0, 0, MsgUnsupported},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "", 0, 0, MsgUnsupported},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), "", 0, 0, MsgUnsupported},
		{"empty", nil, "", 0, 0, "文件为空"},
		{"jpeg magic then garbage", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, "garbage garbage garbage"...), "", 0, 0, "图片文件已损坏"},
		{"png magic then garbage", append(append([]byte{}, pngMagic...), "garbage"...), "", 0, 0, "图片文件已损坏"},
		{"png header too many pixels", pngHeader(1001, 1000), "", 0, 0, "图片像素过多"},
		{"png header zero width", pngHeader(0, 10), "", 0, 0, "图片文件已损坏"},
		{"pdf without %%EOF", []byte("%PDF-1.4\n1 0 obj<<>>endobj\n"), "", 0, 0, "PDF 文件不完整"},
		{"pdf with %%EOF far from the end", append([]byte(tinyPDF), bytes.Repeat([]byte("x"), 2000)...), "", 0, 0, "PDF 文件不完整"},
		{"over the upload cap", append([]byte(tinyPDF), make([]byte, 64<<10)...), "", 0, 0, "文件过大，不能超过 64 KB"},
	}
	for _, tt := range tests {
		for _, sized := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/sized=%v", tt.name, sized), func(t *testing.T) {
				f, err := Inspect(bytes.NewReader(tt.data), lim)
				if sized { // told the size, as an upload is
					f, err = InspectSized(bytes.NewReader(tt.data), int64(len(tt.data)), lim)
				}
				if tt.errPart != "" {
					if f != nil {
						t.Fatalf("accepted as %s", f.Kind)
					}
					wantInput(t, err, tt.errPart)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if f.Kind != tt.kind || f.Width != tt.w || f.Height != tt.h || !bytes.Equal(f.Data, tt.data) {
					t.Fatalf("got %s %d×%d (%d bytes)", f.Kind, f.Width, f.Height, len(f.Data))
				}
			})
		}
	}
}

// A body that is not the size it was declared to be is refused.
func TestInspectSizedMismatch(t *testing.T) {
	data := encodeJPEG(t, flatImage(40, 30, color.RGBA{200, 10, 10, 255}), 90)
	lim := Limits{MaxUploadBytes: 64 << 10}
	n := int64(len(data))
	for name, r := range map[string]struct {
		body []byte
		told int64
	}{
		"shorter than told":            {data[:n-10], n},
		"longer than told":             {append(append([]byte{}, data...), 0xD9), n},
		"told nothing, sent something": {data, 0},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := InspectSized(bytes.NewReader(r.body), r.told, lim)
			wantInput(t, err, "文件上传不完整")
		})
	}
	_, err := InspectSized(bytes.NewReader(data), 65<<10, lim)
	wantInput(t, err, "文件过大")
	_, err = InspectSized(failingReader{}, 100, lim)
	wantInput(t, err, "文件上传不完整")
}

// Bytes already in memory at exactly the declared size (the upload
// transport's files, a bytes.Buffer) are inspected where they lie; any other
// size is read and refused as before.
func TestInspectSizedInMemory(t *testing.T) {
	data := encodeJPEG(t, flatImage(40, 30, color.RGBA{200, 10, 10, 255}), 90)
	lim := Limits{MaxUploadBytes: 64 << 10}
	f, err := InspectSized(bytes.NewBuffer(data), int64(len(data)), lim)
	if err != nil || f.Kind != JPEG {
		t.Fatalf("%v %v", f, err)
	}
	if &f.Data[0] != &data[0] {
		t.Fatal("in-memory bytes were copied")
	}
	_, err = InspectSized(bytes.NewBuffer(data), int64(len(data))+1, lim)
	wantInput(t, err, "文件上传不完整")
	_, err = InspectSized(bytes.NewBuffer(data), int64(len(data))-1, lim)
	wantInput(t, err, "文件上传不完整")
}

// The cap is exact: a file of exactly MaxUploadBytes passes.
func TestInspectCapBoundary(t *testing.T) {
	data := bigPDF(10_000)
	if _, err := Inspect(bytes.NewReader(data), Limits{MaxUploadBytes: 10_000}); err != nil {
		t.Fatalf("file at the cap: %v", err)
	}
	_, err := Inspect(bytes.NewReader(append(data, '\n')), Limits{MaxUploadBytes: 10_000})
	wantInput(t, err, "文件过大")
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errBoom }

var errBoom = errors.New("connection reset")

func TestInspectReadError(t *testing.T) {
	_, err := Inspect(failingReader{}, Limits{})
	wantInput(t, err, "文件上传不完整")
}

func TestKind(t *testing.T) {
	for k, want := range map[Kind][2]string{
		JPEG: {"image/jpeg", "jpg"}, PNG: {"image/png", "png"}, PDF: {"application/pdf", "pdf"},
	} {
		if k.ContentType() != want[0] || k.Ext() != want[1] {
			t.Errorf("%s: %s %s", k, k.ContentType(), k.Ext())
		}
	}
	if !JPEG.IsImage() || !PNG.IsImage() || PDF.IsImage() {
		t.Error("IsImage")
	}
}

func TestSizeLabel(t *testing.T) {
	for n, want := range map[int64]string{
		1 << 20: "1 MB", 5 << 20: "5 MB", 3 << 19: "1.5 MB", 1<<20 + 1: "1 MB", 100 << 10: "100 KB", 999: "999 字节",
	} {
		if got := SizeLabel(n); got != want {
			t.Errorf("SizeLabel(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLimitsValidate(t *testing.T) {
	if err := (Limits{}).Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, l := range map[string]Limits{
		"tiny image limit":   {MaxImageBytes: 1000},
		"upload below image": {MaxUploadBytes: 2 << 20, MaxImageBytes: 3 << 20},
		"upload below pdf":   {MaxUploadBytes: 2 << 20, MaxPDFBytes: 3 << 20, MaxImageBytes: 1 << 20},
		"tiny dimension":     {MaxDimension: 100},
	} {
		if err := l.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// ---------------------------------------------------------------- Normalize

func prepare(t *testing.T, data []byte, l Limits) (*File, error) {
	t.Helper()
	return Prepare(context.Background(), bytes.NewReader(data), l)
}

func TestNormalizeSixMBPNG(t *testing.T) {
	data := sixMBPNG(t)
	f, err := prepare(t, data, Limits{MaxImageBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if f.Kind != JPEG || int64(len(f.Data)) > 1<<20 {
		t.Fatalf("got %s of %d bytes, want JPEG ≤ 1 MB", f.Kind, len(f.Data))
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(f.Data))
	if err != nil || format != "jpeg" || cfg.Width != f.Width || cfg.Height != f.Height {
		t.Fatalf("output: %v %s %d×%d, File says %d×%d", err, format, cfg.Width, cfg.Height, f.Width, f.Height)
	}
	t.Logf("%d-byte PNG → %d×%d JPEG of %d bytes", len(data), f.Width, f.Height, len(f.Data))
	// Downscaled, aspect ratio kept (1500:1400).
	if f.Width > 1500 || f.Width < 300 {
		t.Fatalf("width %d", f.Width)
	}
	if got, want := float64(f.Height)/float64(f.Width), 1400.0/1500; got < want-0.01 || got > want+0.01 {
		t.Fatalf("aspect %f, want %f", got, want)
	}
}

func TestNormalize(t *testing.T) {
	red, blue := color.RGBA{220, 20, 20, 255}, color.RGBA{20, 20, 220, 255}
	smallJPEG := encodeJPEG(t, flatImage(64, 48, red), 90)
	smallPNG := encodePNG(t, flatImage(64, 48, blue))
	wideJPEG := encodeJPEG(t, flatImage(2400, 600, red), 80)
	tallPNG := encodePNG(t, flatImage(500, 2600, blue))

	t.Run("small JPEG without metadata is kept byte for byte", func(t *testing.T) {
		f, err := prepare(t, smallJPEG, Limits{})
		if err != nil || !bytes.Equal(f.Data, smallJPEG) || f.Kind != JPEG {
			t.Fatalf("err %v, changed=%v", err, f == nil || !bytes.Equal(f.Data, smallJPEG))
		}
	})
	t.Run("small PNG is kept as PNG", func(t *testing.T) {
		f, err := prepare(t, smallPNG, Limits{})
		if err != nil || !bytes.Equal(f.Data, smallPNG) || f.Kind != PNG {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("wide JPEG is downscaled to the max dimension", func(t *testing.T) {
		f, err := prepare(t, wideJPEG, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != 2000 || f.Height != 500 || f.Kind != JPEG {
			t.Fatalf("got %s %d×%d", f.Kind, f.Width, f.Height)
		}
	})
	t.Run("tall PNG is downscaled with a configured dimension and becomes JPEG", func(t *testing.T) {
		f, err := prepare(t, tallPNG, Limits{MaxDimension: 1300})
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != 250 || f.Height != 1300 || f.Kind != JPEG {
			t.Fatalf("got %s %d×%d", f.Kind, f.Width, f.Height)
		}
		img, err := jpeg.Decode(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		if !near(img.At(100, 600), blue) {
			t.Fatalf("colour changed: %v", img.At(100, 600))
		}
	})
	t.Run("transparent PNG is flattened onto white", func(t *testing.T) {
		img := flatImage(2100, 100, color.NRGBA{0, 0, 0, 0})
		f, err := prepare(t, encodePNG(t, img), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		out, err := jpeg.Decode(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		if !near(out.At(10, 10), color.White) {
			t.Fatalf("transparent pixel became %v, want white", out.At(10, 10))
		}
	})
	t.Run("PDF within the limit is kept", func(t *testing.T) {
		f, err := prepare(t, []byte(tinyPDF), Limits{})
		if err != nil || f.Kind != PDF || string(f.Data) != tinyPDF {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("PDF over the limit is refused", func(t *testing.T) {
		_, err := prepare(t, bigPDF(2<<20+1), Limits{MaxPDFBytes: 2 << 20})
		wantInput(t, err, "文件过大，PDF 不能超过 2 MB")
	})
	t.Run("PDF exactly at the limit passes", func(t *testing.T) {
		if _, err := prepare(t, bigPDF(2<<20), Limits{MaxPDFBytes: 2 << 20}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("truncated JPEG is refused", func(t *testing.T) {
		noisy := encodeJPEG(t, noiseImage(200, 200, 3), 90)
		_, err := prepare(t, noisy[:len(noisy)/2], Limits{})
		wantInput(t, err, "图片文件已损坏")
	})
	t.Run("truncated PNG is refused", func(t *testing.T) {
		noisy := encodePNG(t, noiseImage(200, 200, 4))
		_, err := prepare(t, noisy[:len(noisy)/2], Limits{})
		wantInput(t, err, "图片文件已损坏")
	})
	t.Run("image that cannot shrink enough is refused", func(t *testing.T) {
		noisy := encodePNG(t, noiseImage(400, 400, 5))
		// A limit no readable JPEG of noise meets (Validate would refuse
		// this configuration; Normalize must still terminate cleanly).
		_, err := prepare(t, noisy, Limits{MaxImageBytes: 2 << 10})
		wantInput(t, err, "图片无法压缩到 2 KB 以内")
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		f, err := Inspect(bytes.NewReader(wideJPEG), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Normalize(ctx, f, Limits{}); err == nil {
			t.Fatal("normalized with a cancelled context")
		}
	})
}

// A JPEG carrying EXIF is re-encoded: the metadata is gone and the picture
// is turned upright by its orientation.
func TestNormalizeEXIF(t *testing.T) {
	// 64×32, red left half, blue right half: orientation 6 (rotate 90°
	// clockwise) must give 32×64 with red on top.
	img := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	red, blue := color.RGBA{220, 20, 20, 255}, color.RGBA{20, 20, 220, 255}
	for y := range 32 {
		for x := range 64 {
			if x < 32 {
				img.Set(x, y, red)
			} else {
				img.Set(x, y, blue)
			}
		}
	}
	plain := encodeJPEG(t, img, 95)
	cases := []struct {
		orient     uint16
		bigEndian  bool
		w, h       int
		top, botom color.RGBA // sampled at the centre of the top and bottom quarter
		left       color.RGBA // sampled at the centre of the left quarter (unrotated cases)
	}{
		{1, false, 64, 32, red, red, red},
		{6, false, 32, 64, red, blue, red},
		{6, true, 32, 64, red, blue, red},
		{8, false, 32, 64, blue, red, blue},
		{3, true, 64, 32, blue, blue, blue},
	}
	for _, c := range cases {
		data := withEXIF(plain, c.orient, c.bigEndian)
		if o, meta := jpegMetadata(data); int(c.orient) != o || !meta {
			t.Fatalf("jpegMetadata = %d %v, want %d true", o, meta, c.orient)
		}
		f, err := prepare(t, data, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if f.Width != c.w || f.Height != c.h {
			t.Fatalf("orientation %d: %d×%d, want %d×%d", c.orient, f.Width, f.Height, c.w, c.h)
		}
		if _, meta := jpegMetadata(f.Data); meta {
			t.Fatalf("orientation %d: metadata survived", c.orient)
		}
		out, err := jpeg.Decode(bytes.NewReader(f.Data))
		if err != nil {
			t.Fatal(err)
		}
		if c.w > c.h { // landscape: left/right halves
			if !near(out.At(c.w/4, c.h/2), c.left) {
				t.Errorf("orientation %d: left is %v, want %v", c.orient, out.At(c.w/4, c.h/2), c.left)
			}
			continue
		}
		if !near(out.At(c.w/2, c.h/4), c.top) || !near(out.At(c.w/2, 3*c.h/4), c.botom) {
			t.Errorf("orientation %d: top %v bottom %v", c.orient, out.At(c.w/2, c.h/4), out.At(c.w/2, 3*c.h/4))
		}
	}
}

func TestOrientateAll(t *testing.T) {
	// 3×2 with distinct pixels; each orientation maps the corners where the
	// EXIF specification says.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[i*4] = byte(i + 1)
	}
	at := func(img *image.RGBA, x, y int) byte { return img.Pix[img.PixOffset(x, y)] }
	// Value 1 is top-left of the stored image, 3 top-right, 4 bottom-left.
	want := map[int][3]byte{ // displayed top-left, top-right, bottom-left
		2: {3, 1, 6}, 3: {6, 4, 3}, 4: {4, 6, 1}, 5: {1, 4, 3}, 6: {4, 1, 6}, 7: {6, 3, 4}, 8: {3, 6, 1},
	}
	for o, w := range want {
		d := orientate(src, o)
		dw, dh := d.Bounds().Dx(), d.Bounds().Dy()
		got := [3]byte{at(d, 0, 0), at(d, dw-1, 0), at(d, 0, dh-1)}
		if got != w {
			t.Errorf("orientation %d: corners %v, want %v", o, got, w)
		}
	}
}

func TestJPEGMetadataMalformed(t *testing.T) {
	plain := encodeJPEG(t, flatImage(8, 8, color.White), 90)
	withE := withEXIF(plain, 6, false)
	for name, data := range map[string][]byte{
		"nil":            nil,
		"not a jpeg":     []byte("hello"),
		"soi only":       {0xFF, 0xD8},
		"cut in segment": withE[:12],
		"bad length":     {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01},
		"huge length":    {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'},
		"exif bad order": append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, "Exif\x00\x00XX\x00*\x00\x00\x00\x08"...),
		"exif ifd out":   append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, "Exif\x00\x00II*\x00\xff\x00\x00\x00"...),
	} {
		o, _ := jpegMetadata(data)
		if o < 1 || o > 8 {
			t.Errorf("%s: orientation %d", name, o)
		}
	}
	if o, meta := jpegMetadata(plain); o != 1 || meta {
		t.Errorf("plain JPEG: %d %v", o, meta)
	}
	// An orientation value outside 1–8 is ignored.
	if o, meta := jpegMetadata(withEXIF(plain, 9, false)); o != 1 || !meta {
		t.Errorf("orientation 9: %d %v", o, meta)
	}
}

func near(c color.Color, want color.Color) bool {
	r, g, b, _ := c.RGBA()
	wr, wg, wb, _ := want.RGBA()
	d := func(a, b uint32) bool { return absDiff(a>>8, b>>8) <= 40 }
	return d(r, wr) && d(g, wg) && d(b, wb)
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// ---------------------------------------------------------------- fuzz

func FuzzInspect(f *testing.F) {
	f.Add([]byte(tinyPDF))
	f.Add(encodeJPEG(f, flatImage(8, 8, color.White), 80))
	f.Add(withEXIF(encodeJPEG(f, flatImage(8, 4, color.Black), 80), 6, true))
	f.Add(encodePNG(f, flatImage(5, 3, color.NRGBA{1, 2, 3, 4})))
	f.Add(pngHeader(10, 10))
	f.Add([]byte("not a file"))
	f.Add([]byte{0xFF, 0xD8, 0xFF})
	lim := Limits{MaxUploadBytes: 1 << 20, MaxImageBytes: 32 << 10, MaxPDFBytes: 64 << 10, MaxDimension: 64, MaxPixels: 1 << 16}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Inspect(bytes.NewReader(data), lim)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("non-apperr error: %v", err)
			}
			return
		}
		out, err := Normalize(context.Background(), file, lim)
		if err != nil {
			if _, ok := apperr.As(err); !ok {
				t.Fatalf("Normalize: non-apperr error: %v", err)
			}
			return
		}
		if out.Kind.IsImage() && (max(out.Width, out.Height) > lim.MaxDimension || int64(len(out.Data)) > lim.MaxImageBytes) {
			t.Fatalf("output %d×%d %d bytes exceeds the limits", out.Width, out.Height, len(out.Data))
		}
		jpegMetadata(data)
	})
}
