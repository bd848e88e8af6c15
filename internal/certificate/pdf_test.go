package certificate_test

import (
	"bytes"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/pdf/pdftest"
	"github.com/kaowu/kaowu/internal/testenv"
)

func TestPDF(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		e := newEnv(t, url)
		li := e.candidate("李堃喆")
		e.photo(li)
		c := e.issued(li, e.c1)
		b, err := e.svc.PDF(e.as(li), c.ID)
		mustOK(t, err)
		if dir := os.Getenv("KAOWU_KEEP_PDF"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, "certificate.pdf"), b, 0o644)
		}

		t.Run("text", func(t *testing.T) {
			if !bytes.HasPrefix(b, []byte("%PDF-")) {
				t.Fatal("not a PDF")
			}
			text := pdftest.Text(t, b)
			for _, want := range []string{
				"安全生产考核合格证书", "广东省安全生产考试中心", c.Number, "李堃喆", idcard.Mask(*li.IDNumber), "居民身份证",
				"建筑施工企业专职安全生产管理人员（C1）", "深圳建工集团", "深圳市", e.site.Name,
				"2026年03月01日 至 2029年02月28日", "扫码验证证书真伪",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("certificate lacks %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, *li.IDNumber) || bytes.Contains(b, []byte(*li.IDNumber)) {
				t.Error("the full ID number is in the PDF")
			}
			if strings.Contains(text, "照片") {
				t.Error("placeholder drawn although there is a photo")
			}
		})

		t.Run("QR code verifies; photo drawn", func(t *testing.T) {
			img, _, err := image.Decode(bytes.NewReader(pdftest.RenderPNG(t, b, 1, 150)))
			mustOK(t, err)
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			mustOK(t, err)
			res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_CHARACTER_SET: "UTF-8"})
			mustOK(t, err)
			r, err := e.svc.Verify(e.from("10.2.0.1"), res.GetText())
			mustOK(t, err)
			if !r.Authentic || r.Status != certificate.VerifyValid || r.Current.Number != c.Number {
				t.Fatalf("QR %q: %+v", res.GetText(), r)
			}
			red := 0
			if m, ok := img.(*image.RGBA); ok {
				for i := 0; i+3 < len(m.Pix); i += 4 {
					if m.Pix[i] > 0xb0 && m.Pix[i+1] < 0x40 && m.Pix[i+2] < 0x40 {
						red++
					}
				}
			} else {
				t.Fatalf("page decoded as %T", img)
			}
			if red < 40000 {
				t.Fatalf("photo not drawn: %d red pixels", red)
			}
		})

		t.Run("who may download", func(t *testing.T) {
			for _, u := range []*ent.User{e.siteU, e.admin} {
				if _, err := e.svc.PDF(e.as(u), c.ID); err != nil {
					t.Errorf("%s: %v", u.Role, err)
				}
			}
			for _, u := range []*ent.User{e.candidate("王珺"), e.site2U} {
				_, err := e.svc.PDF(e.as(u), c.ID)
				wantCode(t, err, apperr.NotFound)
			}
			_, err := e.svc.PDF(e.as(e.reviewer), c.ID)
			wantCode(t, err, apperr.Forbidden)
			_, err = e.svc.PDF(e.ctx, c.ID)
			wantCode(t, err, apperr.Unauthenticated)
		})

		t.Run("without a photo, and expired", func(t *testing.T) {
			wang := e.candidate("王珺")
			c2 := e.issued(wang, e.other)
			e.clock.Set(time.Date(2029, 3, 2, 0, 0, 0, 0, cst))
			defer e.clock.Set(t0)
			b, err := e.svc.PDF(e.as(wang), c2.ID)
			mustOK(t, err)
			text := pdftest.Text(t, b)
			if !strings.Contains(text, "照片") || !strings.Contains(text, "已超过有效期") {
				t.Fatalf("text:\n%s", text)
			}
		})
	})
}
