package pdf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kaowu/kaowu/internal/pdf"
	"github.com/kaowu/kaowu/internal/pdf/pdftest"
	"github.com/kaowu/kaowu/internal/testenv"
)

func photo(t testing.TB, w, h int, format string) []byte {
	t.Helper()
	return testenv.Encode(t, testenv.Gradient(w, h, 160), format, 0)
}

func sample(t *testing.T) []byte {
	t.Helper()
	d, err := pdf.New(pdf.Options{Title: "测试文档", Footer: "kaowu 测试页脚"})
	if err != nil {
		t.Fatal(err)
	}
	d.Title("准考证测试 ABC-123")
	d.Heading("一、基本信息")
	d.Table(d.Left(), 360, 90, []pdf.Row{
		{Key: "姓名", Value: "李堃 王喆 赵珺 钱赟"},
		{Key: "ASCII", Value: "Ticket No. KW2026-000123 (ok)"},
		{Key: "地址", Value: strings.Repeat("深圳市南山区科技园南区高新南一道", 4)},
		{Key: "空", Value: ""},
	})
	if err := d.Image(photo(t, 300, 400, "jpeg"), 420, 80, 100, 130); err != nil {
		t.Fatal(err)
	}
	if err := d.Image(photo(t, 400, 100, "png"), 420, 220, 100, 60); err != nil {
		t.Fatal(err)
	}
	if err := d.Image([]byte("not an image"), 0, 0, 10, 10); !errors.Is(err, pdf.ErrUnsupportedImage) {
		t.Fatalf("garbage image: %v", err)
	}
	d.Placeholder(420, 300, 100, 130, "照片")
	if err := d.QRCode("KW2026-000123", 420, 450, 100); err != nil {
		t.Fatal(err)
	}
	d.Paragraph(strings.Repeat("alpha beta-gamma 2026 ", 40), 11)
	d.Heading("二、考生须知")
	// Long enough to flow onto a second page.
	d.Paragraph(strings.Repeat("考生须持准考证和有效身份证件原件参加考试，提前三十分钟到达考场。", 60), 11)
	b, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDocumentText(t *testing.T) {
	b := sample(t)
	if !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	// The font is subset: a document carries tens of KB, not the 10 MB font.
	if len(b) > 400_000 {
		t.Fatalf("PDF is %d bytes: font not subset?", len(b))
	}
	text := pdftest.Text(t, b)
	for _, want := range []string{"准考证测试 ABC-123", "李堃 王喆 赵珺 钱赟", "Ticket No. KW2026-000123 (ok)", "一、基本信息", "kaowu 测试页脚", "第 2 页"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	// Wrapped Chinese keeps every character: join the lines and look for the full address.
	if joined := strings.Join(strings.Fields(text), ""); !strings.Contains(joined, strings.Repeat("深圳市南山区科技园南区高新南一道", 4)) {
		t.Errorf("wrapped address lost characters:\n%s", text)
	}
	// Line breaking: no line starts with closing punctuation; Latin words stay whole.
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "，") || strings.HasPrefix(line, "。") {
			t.Errorf("line starts with punctuation: %q", line)
		}
		if strings.Contains(line, "alpha") {
			for _, w := range strings.Fields(line) {
				if w != "alpha" && w != "beta-gamma" && w != "2026" {
					t.Errorf("word split across lines: %q in %q", w, line)
				}
			}
		}
	}
	if os.Getenv("KAOWU_KEEP_PDF") != "" { // for looking at the layout by hand
		_ = os.WriteFile(filepath.Join(os.Getenv("KAOWU_KEEP_PDF"), "sample.pdf"), b, 0o644)
	}
}

func TestQRCodeDecodes(t *testing.T) {
	for _, content := range []string{"KW2026-000123", "https://kaowu.example/verify?no=证书-001"} {
		data, err := pdf.QRCodePNG(content, 240)
		if err != nil {
			t.Fatal(err)
		}
		if got := decodeQR(t, data); got != content {
			t.Fatalf("decoded %q, want %q", got, content)
		}
	}
}

// The QR code survives embedding: render the page and find it again.
func TestQRCodeInRenderedPage(t *testing.T) {
	pdftest.RequireTool(t, "pdftoppm")
	d, err := pdf.New(pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.QRCode("KW2026-000777", 200, 200, 120); err != nil {
		t.Fatal(err)
	}
	b, err := d.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	pngData := pdftest.RenderPNG(t, b, 1, 150)
	if got := decodeQR(t, pngData); got != "KW2026-000777" {
		t.Fatalf("decoded %q from the rendered page", got)
	}
}

func decodeQR(t *testing.T, pngData []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(pngData))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

// The parsed font is shared; documents built at the same time must not race.
func TestConcurrentDocuments(t *testing.T) {
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := pdf.New(pdf.Options{Footer: "并发"})
			if err != nil {
				t.Error(err)
				return
			}
			d.Title("并发测试 堃喆珺赟")
			d.Paragraph(strings.Repeat("考试", 50+i), 11)
			if _, err := d.Bytes(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestLargeImageRefused(t *testing.T) {
	// A small PNG whose header claims 6000×6000 pixels (CRC fixed up) is
	// refused from its header, before anything is decoded.
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	ihdr := b[12:29] // "IHDR" + 13 bytes of data
	binary.BigEndian.PutUint32(ihdr[4:8], 6000)
	binary.BigEndian.PutUint32(ihdr[8:12], 6000)
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(ihdr))
	d, err := pdf.New(pdf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Image(b, 0, 0, 10, 10); !errors.Is(err, pdf.ErrUnsupportedImage) || !strings.Contains(err.Error(), "6000×6000") {
		t.Fatalf("36 MP image: %v", err)
	}
	if _, err := d.Bytes(); err != nil {
		t.Fatalf("document unusable after a refused image: %v", err)
	}
}

// BenchmarkDocument builds a one-page document like an admission ticket:
// table, photo, QR code, wrapped paragraph.
func BenchmarkDocument(b *testing.B) {
	jpg := photo(b, 300, 400, "jpeg")
	rows := []pdf.Row{{Key: "姓名", Value: "李堃喆"}, {Key: "准考证号", Value: "KW2026000123"}, {Key: "考点地址", Value: "深圳市南山区珺赟路88号"}}
	for b.Loop() {
		d, err := pdf.New(pdf.Options{Footer: "kaowu"})
		if err != nil {
			b.Fatal(err)
		}
		d.Title("安全生产考试准考证")
		d.Table(d.Left(), 400, 80, rows)
		if err := d.Image(jpg, 460, 80, 96, 128); err != nil {
			b.Fatal(err)
		}
		if err := d.QRCode("KW2026000123", 460, 220, 96); err != nil {
			b.Fatal(err)
		}
		d.Paragraph(strings.Repeat("考生须持准考证和有效身份证件原件参加考试。", 12), 10.5)
		if _, err := d.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}
