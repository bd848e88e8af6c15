// Package pdf renders the printable documents of kaowu (admission tickets,
// registration forms, certificates) as A4 PDFs with Chinese text.
//
// It is a thin layer over github.com/signintech/gopdf with one embedded font,
// Noto Sans SC Regular (SIL OFL 1.1, see fonts/OFL.txt; reproduce it with
// scripts/fetch-font.sh). The 10 MB font is parsed once per process; each
// document embeds only the glyphs it uses (a few tens of KB).
//
// A Doc keeps a vertical cursor: Title, Heading, Table and Paragraph draw at
// the cursor and move it down, starting a new page when the next block would
// not fit. Image, Placeholder and QRCode draw at absolute positions. Errors are
// sticky: the first one is returned by Bytes, so callers can lay out a page
// without checking every call.
package pdf

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"time"

	"github.com/signintech/gopdf"
	"github.com/skip2/go-qrcode"
	xdraw "golang.org/x/image/draw"
)

//go:embed fonts/NotoSansSC-Regular.ttf
var fontTTF []byte

// FontFamily is the name documents use for the embedded font.
const FontFamily = "NotoSansSC"

// Page geometry in points (1/72 inch). A4 is 210 × 297 mm.
const (
	PageWidth  = 595.28
	PageHeight = 841.89
	Margin     = 42.0 // ≈ 15 mm
	footerGap  = 28.0 // space kept free at the bottom for the footer
)

// Limits on images handed to Image: larger ones are refused before decoding.
const (
	MaxImagePixels = 20_000_000
	maxImageSide   = 1200 // photos are scaled down to this before embedding
)

// ErrUnsupportedImage is returned (wrapped) by Image for data that is not a
// JPEG or PNG picture within MaxImagePixels.
var ErrUnsupportedImage = errors.New("pdf: unsupported image")

var (
	fontOnce  sync.Once
	fontCache *gopdf.FontContainer
	fontErr   error
)

// font parses the embedded font once. gopdf copies the parsed font into each
// document with a fresh glyph map, so documents can be built concurrently.
func font() (*gopdf.FontContainer, error) {
	fontOnce.Do(func() {
		fc := &gopdf.FontContainer{}
		if err := fc.AddTTFFontData(FontFamily, fontTTF); err != nil {
			fontErr = fmt.Errorf("pdf: parse embedded font: %w", err)
			return
		}
		fontCache = fc
	})
	return fontCache, fontErr
}

// Options describe a new document.
type Options struct {
	Title   string    // document information: title
	Subject string    // document information: subject
	Footer  string    // printed at the bottom of every page, followed by the page number
	Created time.Time // document information: creation date (zero: none)
}

// Doc is an A4 document being built. It is not safe for concurrent use.
type Doc struct {
	gp     *gopdf.GoPdf
	y      float64
	err    error
	footer string
}

// Row is one row of a Table: a key and its value, optionally followed by a
// second pair (Key2 non-empty) sharing the row.
type Row struct {
	Key, Value   string
	Key2, Value2 string
}

// New starts an A4 document with the embedded font and one empty page.
func New(opt Options) (*Doc, error) {
	fc, err := font()
	if err != nil {
		return nil, err
	}
	gp := &gopdf.GoPdf{}
	gp.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	gp.SetInfo(gopdf.PdfInfo{
		Title: opt.Title, Subject: opt.Subject, Creator: "kaowu", Producer: "kaowu (gopdf)",
		CreationDate: opt.Created,
	})
	if err := gp.AddTTFFontFromFontContainer(FontFamily, fc); err != nil {
		return nil, fmt.Errorf("pdf: add font: %w", err)
	}
	d := &Doc{gp: gp, footer: opt.Footer}
	if err := gp.SetFont(FontFamily, "", 11); err != nil {
		return nil, err
	}
	gp.AddFooter(d.drawFooter)
	d.newPage()
	return d, d.err
}

func (d *Doc) fail(err error) {
	if err != nil && d.err == nil {
		d.err = err
	}
}

// Err returns the first error met so far.
func (d *Doc) Err() error { return d.err }

func (d *Doc) newPage() {
	d.gp.AddPage()
	d.y = Margin
}

// drawFooter runs for every page as gopdf adds it.
func (d *Doc) drawFooter() {
	n := d.gp.GetNumberOfPages()
	text := fmt.Sprintf("第 %d 页", n)
	if d.footer != "" {
		text = d.footer + "    " + text
	}
	d.gp.SetStrokeColor(160, 160, 160)
	d.gp.SetLineWidth(0.5)
	d.gp.Line(Margin, PageHeight-Margin+4, PageWidth-Margin, PageHeight-Margin+4)
	d.gp.SetStrokeColor(0, 0, 0)
	d.gp.SetTextColor(90, 90, 90)
	d.textCentered(PageHeight-Margin+9, text, 8)
	d.gp.SetTextColor(0, 0, 0)
}

// Left is the x of the left margin; ContentWidth the width between margins.
func (d *Doc) Left() float64 { return Margin }

// ContentWidth is the usable width of a page.
func (d *Doc) ContentWidth() float64 { return PageWidth - 2*Margin }

// Y returns the cursor.
func (d *Doc) Y() float64 { return d.y }

// SetY moves the cursor.
func (d *Doc) SetY(y float64) { d.y = y }

// Space moves the cursor down by h.
func (d *Doc) Space(h float64) { d.y += h }

// bottom is the lowest y content may reach on a page.
func bottom() float64 { return PageHeight - Margin - footerGap }

// ensure starts a new page when h more points do not fit below the cursor.
func (d *Doc) ensure(h float64) {
	if d.y+h > bottom() && d.y > Margin {
		d.newPage()
	}
}

func lineHeight(size float64) float64 { return size * 1.45 }

func (d *Doc) setSize(size float64) {
	d.fail(d.gp.SetFont(FontFamily, "", size))
}

// text draws one line with its box's top at y.
func (d *Doc) text(x, y float64, s string, size float64) {
	if s == "" {
		return
	}
	d.setSize(size)
	d.gp.SetXY(x, y)
	d.fail(d.gp.Cell(nil, s))
}

func (d *Doc) width(s string, size float64) float64 {
	d.setSize(size)
	w, err := d.gp.MeasureTextWidth(s)
	d.fail(err)
	return w
}

func (d *Doc) textCentered(y float64, s string, size float64) {
	w := d.width(s, size)
	d.text((PageWidth-w)/2, y, s, size)
}

// Text draws one unwrapped line at an absolute position (top of the line at y).
func (d *Doc) Text(x, y float64, s string, size float64) { d.text(x, y, s, size) }

// TextWidth is the width of s at the font size.
func (d *Doc) TextWidth(s string, size float64) float64 { return d.width(s, size) }

// Title draws a centred title and moves the cursor below it.
func (d *Doc) Title(s string) {
	const size = 20
	d.ensure(lineHeight(size))
	d.textCentered(d.y, s, size)
	d.y += lineHeight(size) + 6
}

// Subtitle draws a smaller centred line.
func (d *Doc) Subtitle(s string) {
	const size = 11
	d.ensure(lineHeight(size))
	d.gp.SetTextColor(80, 80, 80)
	d.textCentered(d.y, s, size)
	d.gp.SetTextColor(0, 0, 0)
	d.y += lineHeight(size) + 4
}

// Heading draws a section heading at the left margin.
func (d *Doc) Heading(s string) {
	const size = 13
	d.ensure(lineHeight(size) + 20) // keep a heading with at least a line of its section
	d.y += 4
	d.text(Margin, d.y, s, size)
	d.y += lineHeight(size) + 2
}

// wrap splits s into lines no wider than w, honouring explicit newlines.
func (d *Doc) wrap(s string, w, size float64) []string {
	d.setSize(size)
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, d.wrapLine([]rune(strings.TrimRight(para, " \t\r")), w)...)
	}
	return out
}

// wrapLine breaks between any two characters, as Chinese allows, with two
// refinements: a line never starts with closing punctuation (the character
// before it moves down too), and a Latin word or number is kept whole when a
// space earlier on the line allows it.
func (d *Doc) wrapLine(r []rune, w float64) []string {
	if len(r) == 0 {
		return []string{""}
	}
	widths := make([]float64, len(r))
	for i, c := range r {
		cw, err := d.gp.MeasureTextWidth(string(c))
		d.fail(err)
		widths[i] = cw
	}
	var lines []string
	start, lineW := 0, 0.0
	for i := 0; i < len(r); i++ {
		if lineW+widths[i] > w && i > start {
			brk := i
			switch {
			case noLineStart(r[i]) && brk-1 > start:
				brk--
			case isWordChar(r[i]) && isWordChar(r[i-1]):
				for j := i - 1; j > start; j-- {
					if r[j] == ' ' {
						brk = j + 1
						break
					}
				}
			}
			lines = append(lines, strings.TrimRight(string(r[start:brk]), " "))
			for brk < len(r) && r[brk] == ' ' { // no leading spaces on the new line
				brk++
			}
			start, lineW = brk, 0
			for j := start; j < i; j++ {
				lineW += widths[j]
			}
			if start > i { // skipped spaces past i
				i = start - 1
				continue
			}
		}
		lineW += widths[i]
	}
	if start < len(r) {
		lines = append(lines, string(r[start:]))
	}
	return lines
}

func noLineStart(c rune) bool {
	return strings.ContainsRune("，。、；：？！）》」』】〕”’…—,.;:?!)]}%", c)
}

func isWordChar(c rune) bool {
	return c < 0x80 && (c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune("-_./@:", c))
}

// Paragraph draws wrapped text across the content width.
func (d *Doc) Paragraph(s string, size float64) { d.ParagraphAt(Margin, d.ContentWidth(), s, size) }

// ParagraphAt draws wrapped text in a column of width w starting at x, line
// by line, continuing on a new page when needed.
func (d *Doc) ParagraphAt(x, w float64, s string, size float64) {
	lh := lineHeight(size)
	for _, line := range d.wrap(s, w, size) {
		d.ensure(lh)
		d.text(x, d.y, line, size)
		d.y += lh
	}
}

// TableStyle sets the font size and padding of a table.
type TableStyle struct {
	Size    float64 // font size (default 10.5)
	Padding float64 // inner padding (default 5)
}

// Table draws bordered key-value rows in a column of width w at x, key
// columns keyW wide (shaded). Rows with a second pair split the value area in
// two. Long values wrap; rows never split across pages.
func (d *Doc) Table(x, w, keyW float64, rows []Row) { d.TableWith(x, w, keyW, rows, TableStyle{}) }

// TableWith is Table with an explicit style.
func (d *Doc) TableWith(x, w, keyW float64, rows []Row, st TableStyle) {
	if st.Size == 0 {
		st.Size = 10.5
	}
	if st.Padding == 0 {
		st.Padding = 5
	}
	lh := lineHeight(st.Size)
	type cell struct {
		x, w  float64
		key   bool
		lines []string
	}
	d.gp.SetLineWidth(0.6)
	for _, r := range rows {
		var cells []cell
		add := func(cx, cw float64, key bool, text string) {
			if !key && text == "" {
				text = "—"
			}
			cells = append(cells, cell{cx, cw, key, d.wrap(text, cw-2*st.Padding, st.Size)})
		}
		if r.Key2 == "" {
			add(x, keyW, true, r.Key)
			add(x+keyW, w-keyW, false, r.Value)
		} else {
			vw := (w - 2*keyW) / 2
			add(x, keyW, true, r.Key)
			add(x+keyW, vw, false, r.Value)
			add(x+keyW+vw, keyW, true, r.Key2)
			add(x+2*keyW+vw, w-2*keyW-vw, false, r.Value2)
		}
		n := 1
		for _, c := range cells {
			n = max(n, len(c.lines))
		}
		h := float64(n)*lh + 2*st.Padding - (lh - st.Size) // no leading below the last line
		d.ensure(h)
		for _, c := range cells {
			if c.key {
				d.gp.SetFillColor(242, 242, 242)
				d.gp.RectFromUpperLeftWithStyle(c.x, d.y, c.w, h, "FD")
			} else {
				d.gp.RectFromUpperLeftWithStyle(c.x, d.y, c.w, h, "D")
			}
			for i, l := range c.lines {
				d.text(c.x+st.Padding, d.y+st.Padding+float64(i)*lh, l, st.Size)
			}
		}
		d.y += h
	}
	d.gp.SetFillColor(0, 0, 0)
}

// Rect draws a rectangle outline.
func (d *Doc) Rect(x, y, w, h float64) {
	d.gp.SetLineWidth(0.6)
	d.gp.RectFromUpperLeftWithStyle(x, y, w, h, "D")
}

// Placeholder draws an empty box with a centred label, where a picture is missing.
func (d *Doc) Placeholder(x, y, w, h float64, label string) {
	d.gp.SetStrokeColor(150, 150, 150)
	d.Rect(x, y, w, h)
	d.gp.SetStrokeColor(0, 0, 0)
	const size = 10
	lw := d.width(label, size)
	d.gp.SetTextColor(120, 120, 120)
	d.text(x+(w-lw)/2, y+(h-size)/2, label, size)
	d.gp.SetTextColor(0, 0, 0)
}

// Image draws a JPEG or PNG picture inside the box (x, y, w, h), scaled to fit
// with its aspect ratio kept and centred. Data that is not such a picture is
// refused with ErrUnsupportedImage and nothing is drawn (the document stays usable).
func (d *Doc) Image(data []byte, x, y, w, h float64) error {
	img, err := decodeImage(data)
	if err != nil {
		return err
	}
	b := img.Bounds()
	scale := min(w/float64(b.Dx()), h/float64(b.Dy()))
	iw, ih := float64(b.Dx())*scale, float64(b.Dy())*scale
	// Re-encoding gives gopdf a plain 8-bit baseline JPEG whatever came in
	// (16-bit or interlaced PNGs, CMYK JPEGs, alpha), and drops EXIF.
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return fmt.Errorf("pdf: encode image: %w", err)
	}
	holder, err := gopdf.ImageHolderByBytes(buf.Bytes())
	if err != nil {
		return fmt.Errorf("pdf: image: %w", err)
	}
	d.fail(d.gp.ImageByHolder(holder, x+(w-iw)/2, y+(h-ih)/2, &gopdf.Rect{W: iw, H: ih}))
	return nil
}

// decodeImage checks the format and size before decoding, then flattens the
// picture onto white and scales it down to at most maxImageSide pixels.
func decodeImage(data []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedImage, err)
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("%w: format %s", ErrUnsupportedImage, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%w: %d×%d pixels", ErrUnsupportedImage, cfg.Width, cfg.Height)
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnsupportedImage, err)
	}
	sw, sh := src.Bounds().Dx(), src.Bounds().Dy()
	dw, dh := sw, sh
	if m := max(sw, sh); m > maxImageSide {
		dw, dh = max(1, sw*maxImageSide/m), max(1, sh*maxImageSide/m)
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	xdraw.Draw(dst, dst.Bounds(), image.NewUniform(color.White), image.Point{}, xdraw.Src)
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Over, nil)
	return dst, nil
}

// QRCodePNG renders content as a QR code (error correction M, with its quiet
// zone) of px × px pixels, as an 8-bit grey PNG.
func QRCodePNG(content string, px int) ([]byte, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("pdf: qr code: %w", err)
	}
	src := q.Image(px)
	gray := image.NewGray(src.Bounds())
	xdraw.Draw(gray, gray.Bounds(), src, src.Bounds().Min, xdraw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, gray); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// QRCode draws a QR code of content as a size × size square at (x, y). It is
// embedded losslessly (PNG) so it scans from print and screen alike.
func (d *Doc) QRCode(content string, x, y, size float64) error {
	data, err := QRCodePNG(content, 330)
	if err != nil {
		d.fail(err)
		return err
	}
	holder, err := gopdf.ImageHolderByBytes(data)
	if err != nil {
		d.fail(err)
		return err
	}
	d.fail(d.gp.ImageByHolder(holder, x, y, &gopdf.Rect{W: size, H: size}))
	return d.err
}

// Bytes finishes the document and returns it, or the first error met.
func (d *Doc) Bytes() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.gp.GetBytesPdfReturnErr()
}
