package profile_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

var keyRE = regexp.MustCompile(`^users/(\d+)/([a-z-]+)/[0-9a-f]{32}\.(jpg|png|pdf)$`)

// TestUploads runs the upload rules on both databases and both blob stores.
func TestUploads(t *testing.T) {
	eachStore(t, func(t *testing.T, b blobs) {
		testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
			e := newEnv(t, dbURL, b)
			cand := e.candidate("张三")
			ctx := context.Background()

			// read returns the stored object and checks it against the row.
			read := func(t *testing.T, a *ent.Attachment) []byte {
				t.Helper()
				rc, info, err := e.store.Get(ctx, a.BlobKey)
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				data, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				if a.Sha256 != hex.EncodeToString(sum[:]) || info.SHA256 != a.Sha256 || a.Size != int64(len(data)) || info.ContentType != a.ContentType {
					t.Fatalf("row %+v does not describe the blob (%d bytes, %+v)", a, len(data), info)
				}
				return data
			}

			t.Run("jpeg", func(t *testing.T) {
				data := jpegOf(t, 300, 400, color.RGBA{90, 120, 200, 255})
				a, err := e.svc.Upload(as(cand), attachment.KindID_PHOTO, `C:\Users\张三\Desktop\证件照.jpg`, bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				m := keyRE.FindStringSubmatch(a.BlobKey)
				if m == nil || m[1] != strconv.Itoa(cand.ID) || m[2] != "id-photo" || m[3] != "jpg" {
					t.Fatalf("blob key %q", a.BlobKey)
				}
				if a.OwnerID != cand.ID || a.Kind != attachment.KindID_PHOTO || a.ContentType != "image/jpeg" ||
					*a.Width != 300 || *a.Height != 400 || a.FileName != "证件照.jpg" || *a.UploadedByID != cand.ID {
					t.Fatalf("row %+v", a)
				}
				if !bytes.Equal(read(t, a), data) {
					t.Fatal("a small JPEG was changed")
				}
			})

			t.Run("6 MB PNG is resized under a 1 MB limit and becomes JPEG", func(t *testing.T) {
				data := sixMBPNG(t)
				a, err := e.svc.Upload(as(cand), attachment.KindID_CARD_FRONT, "front.png", bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				if a.ContentType != "image/jpeg" || a.Size > 1<<20 || !strings.HasSuffix(a.BlobKey, ".jpg") {
					t.Fatalf("row %+v", a)
				}
				stored := read(t, a)
				cfg, format, err := image.DecodeConfig(bytes.NewReader(stored))
				if err != nil || format != "jpeg" || cfg.Width != *a.Width || cfg.Height != *a.Height {
					t.Fatalf("stored %s %d×%d (%v), row %d×%d", format, cfg.Width, cfg.Height, err, *a.Width, *a.Height)
				}
			})

			t.Run("pdf", func(t *testing.T) {
				a := e.upload(cand, attachment.KindEDUCATION_CERT, []byte(tinyPDF))
				if a.ContentType != "application/pdf" || a.Width != nil || !strings.HasSuffix(a.BlobKey, ".pdf") {
					t.Fatalf("row %+v", a)
				}
				if string(read(t, a)) != tinyPDF {
					t.Fatal("PDF changed")
				}
			})

			t.Run("refused uploads write nothing", func(t *testing.T) {
				company := e.companyU
				cases := []struct {
					name  string
					ctx   context.Context
					kind  attachment.Kind
					file  string
					r     io.Reader
					size  int64
					code  apperr.Code
					field string
					msg   string
				}{
					{"text named .jpg", as(cand), attachment.KindID_PHOTO, "photo.jpg", strings.NewReader("这是一段文字，不是图片"), -1, apperr.BadInput, "file", media.MsgUnsupported},
					{"PDF over the limit", as(cand), attachment.KindCOMMITMENT_LETTER, "letter.pdf", bytes.NewReader(pdfOf(5<<20 + 1)), 5<<20 + 1, apperr.BadInput, "file", "文件过大，PDF 不能超过 5 MB"},
					{"declared size over the cap is refused unread", as(cand), attachment.KindOTHER, "x.pdf", noRead{t}, 21 << 20, apperr.BadInput, "file", "文件过大，不能超过 20 MB"},
					{"dropped connection", as(cand), attachment.KindOTHER, "x.pdf", &errReader{strings.NewReader(tinyPDF)}, -1, apperr.BadInput, "file", "上传不完整"},
					{"ID photo must be an image", as(cand), attachment.KindID_PHOTO, "photo.pdf", strings.NewReader(tinyPDF), -1, apperr.BadInput, "file", "jpg 或 png"},
					{"unknown kind", as(cand), attachment.Kind("PASSPORT_SCAN"), "x.pdf", strings.NewReader(tinyPDF), -1, apperr.BadInput, "kind", ""},
					{"check-in photos are not uploaded", as(cand), attachment.KindCHECKIN_LIVE_PHOTO, "live.jpg", bytes.NewReader(jpegOf(t, 10, 10, color.Black)), -1, apperr.Forbidden, "", ""},
					{"company cannot upload an ID photo", as(company), attachment.KindID_PHOTO, "p.jpg", bytes.NewReader(jpegOf(t, 10, 10, color.Black)), -1, apperr.Forbidden, "", ""},
					{"exam site uploads nothing", as(e.site), attachment.KindOTHER, "x.pdf", strings.NewReader(tinyPDF), -1, apperr.Forbidden, "", ""},
					{"anonymous", context.Background(), attachment.KindOTHER, "x.pdf", strings.NewReader(tinyPDF), -1, apperr.Unauthenticated, "", ""},
					{"file name with invalid UTF-8", as(cand), attachment.KindOTHER, "a\xffb.pdf", strings.NewReader(tinyPDF), -1, apperr.BadInput, "fileName", ""},
				}
				rows, keys := e.attachments(), len(e.store.keys(t))
				for _, c := range cases {
					t.Run(c.name, func(t *testing.T) {
						_, err := e.svc.Upload(c.ctx, c.kind, c.file, c.r, c.size)
						ae := wantCode(t, err, c.code, c.field)
						if c.msg != "" && ae.Message != c.msg && !strings.Contains(ae.Message, c.msg) {
							t.Fatalf("message %q, want %q", ae.Message, c.msg)
						}
					})
				}
				if n := e.attachments(); n != rows {
					t.Fatalf("attachments %d → %d", rows, n)
				}
				if n := len(e.store.keys(t)); n != keys {
					t.Fatalf("blobs %d → %d: %v", keys, n, e.store.keys(t))
				}
			})

			t.Run("company letter and payment proofs", func(t *testing.T) {
				a := e.upload(e.companyU, attachment.KindCOMMITMENT_LETTER, []byte(tinyPDF))
				if a.OwnerID != e.companyU.ID {
					t.Fatalf("owner %d", a.OwnerID)
				}
				e.upload(e.companyU, attachment.KindPAYMENT_PROOF, jpegOf(t, 50, 50, color.White))
				e.upload(cand, attachment.KindPAYMENT_PROOF, jpegOf(t, 50, 50, color.White))
			})

			t.Run("rolled-back transaction removes the blob", func(t *testing.T) {
				rows, keys := e.attachments(), len(e.store.keys(t))
				boom := errors.New("later step failed")
				var key string
				err := txn.WithTx(as(cand), e.client, func(ctx context.Context) error {
					a, err := e.svc.Upload(ctx, attachment.KindSTUDY_PROOF, "proof.pdf", strings.NewReader(tinyPDF), -1)
					if err != nil {
						return err
					}
					key = a.BlobKey
					if _, err := e.store.Stat(ctx, key); err != nil {
						t.Errorf("blob missing inside the transaction: %v", err)
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatal(err)
				}
				if _, err := e.store.Stat(ctx, key); !errors.Is(err, storage.ErrNotFound) {
					t.Fatalf("blob left after rollback: %v", err)
				}
				if e.attachments() != rows || len(e.store.keys(t)) != keys {
					t.Fatal("rollback left data behind")
				}
			})

			t.Run("Attach for another owner needs the system context", func(t *testing.T) {
				other := e.candidate("李四")
				keys := len(e.store.keys(t))
				_, err := e.svc.Attach(as(cand), other.ID, attachment.KindID_PHOTO, "x.jpg", bytes.NewReader(jpegOf(t, 20, 20, color.Black)), -1)
				wantCode(t, err, apperr.Forbidden, "")
				if len(e.store.keys(t)) != keys {
					t.Fatal("refused Attach left a blob")
				}
				// The check-in service stores a live photo for the candidate,
				// recording the operator who took it.
				sys := viewer.SystemContext(as(e.site))
				a, err := e.svc.Attach(sys, other.ID, attachment.KindCHECKIN_LIVE_PHOTO, "live.jpg", bytes.NewReader(jpegOf(t, 64, 48, color.Black)), -1)
				if err != nil {
					t.Fatal(err)
				}
				if a.OwnerID != other.ID || *a.UploadedByID != e.site.ID || !strings.Contains(a.BlobKey, "/checkin-live-photo/") {
					t.Fatalf("row %+v", a)
				}
				_, err = e.svc.Attach(sys, other.ID, attachment.KindCHECKIN_LIVE_PHOTO, "live.pdf", strings.NewReader(tinyPDF), -1)
				wantCode(t, err, apperr.BadInput, "file")
			})

			t.Run("signed URL", func(t *testing.T) {
				other := e.candidate("王五")
				data := jpegOf(t, 120, 80, color.RGBA{10, 200, 10, 255})
				a := e.upload(cand, attachment.KindID_CARD_BACK, data)

				u, exp, err := e.svc.URL(as(cand), a.ID)
				if err != nil {
					t.Fatal(err)
				}
				now := e.clock.Now()
				if !exp.Equal(time.Unix(now.Add(10*time.Minute).Unix(), 0)) {
					t.Fatalf("expires %v, want now+10m", exp)
				}
				key, rawQuery, _ := strings.Cut(strings.TrimPrefix(u, "/blobs/"), "?")
				q, _ := url.ParseQuery(rawQuery)
				if key != a.BlobKey || !strings.HasPrefix(u, "/blobs/") {
					t.Fatalf("URL %q", u)
				}
				if err := e.signer.Verify(key, q.Get("exp"), q.Get("sig"), now.Add(10*time.Minute-time.Second)); err != nil {
					t.Fatalf("valid link refused: %v", err)
				}
				if err := e.signer.Verify(key, q.Get("exp"), q.Get("sig"), now.Add(10*time.Minute)); !errors.Is(err, storage.ErrExpired) {
					t.Fatalf("expired link: %v", err)
				}

				// Served back by the blob handler (which uses the real clock,
				// so sign for now).
				srv := httptest.NewServer(storage.Handler(e.store, e.signer, "/blobs/"))
				defer srv.Close()
				svc := *e.svc
				svc.Now = time.Now
				live, _, err := svc.URL(as(cand), a.ID)
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.Get(srv.URL + live)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !bytes.Equal(body, data) || resp.Header.Get("Content-Type") != "image/jpeg" {
					t.Fatalf("GET: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
				}

				// Readers allowed by the privacy policy.
				for _, who := range []*ent.User{e.reviewer, e.admin} {
					if _, _, err := e.svc.URL(as(who), a.ID); err != nil {
						t.Fatalf("%s: %v", who.Role, err)
					}
				}
				// Everyone else: as if it did not exist.
				for _, who := range []*ent.User{other, e.companyU, e.trainer, e.site} {
					_, _, err := e.svc.URL(as(who), a.ID)
					wantCode(t, err, apperr.NotFound, "")
				}
				_, _, err = e.svc.URL(context.Background(), a.ID)
				wantCode(t, err, apperr.Unauthenticated, "")
				_, _, err = e.svc.URL(as(cand), 1<<30)
				wantCode(t, err, apperr.NotFound, "")
			})
		})
	})
}

// The current attachment of a kind is the newest; the history stays.
func TestCurrentAttachments(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e := localEnv(t, dbURL)
		cand := e.candidate("张三")
		other := e.candidate("李四")
		first := e.upload(cand, attachment.KindID_PHOTO, jpegOf(t, 10, 10, color.Black))
		e.clock.Advance(time.Minute)
		letter := e.upload(cand, attachment.KindCOMMITMENT_LETTER, []byte(tinyPDF))
		e.clock.Advance(time.Minute)
		second := e.upload(cand, attachment.KindID_PHOTO, jpegOf(t, 20, 20, color.White))

		got, err := e.svc.MyAttachments(as(cand))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].ID != second.ID || got[1].ID != letter.ID {
			t.Fatalf("current = %v", ids(got))
		}
		if got, _ := e.svc.CurrentAttachments(as(e.reviewer), cand.ID); len(got) != 2 {
			t.Fatalf("reviewer sees %v", ids(got))
		}
		// Another candidate sees none of them.
		if got, err := e.svc.CurrentAttachments(as(other), cand.ID); err != nil || len(got) != 0 {
			t.Fatalf("other sees %v (%v)", ids(got), err)
		}
		if n, _ := e.client.Attachment.Query().Where(attachment.ID(first.ID)).Count(e.sys); n != 1 {
			t.Fatal("replaced attachment was deleted")
		}
		if _, err := e.svc.MyAttachments(context.Background()); !apperr.Is(err, apperr.Unauthenticated) {
			t.Fatalf("anonymous: %v", err)
		}
	})
}

func ids(as []*ent.Attachment) []int {
	out := make([]int, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// An account stores at most MaxUploadsPerDay attachments in 24 hours.
func TestUploadQuota(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, dbURL string) {
		e := localEnv(t, dbURL)
		e.svc.MaxUploadsPerDay = 2
		cand := e.candidate("张三")
		e.upload(cand, attachment.KindOTHER, []byte(tinyPDF))
		e.upload(cand, attachment.KindOTHER, []byte(tinyPDF))
		_, err := e.svc.Upload(as(cand), attachment.KindOTHER, "x.pdf", strings.NewReader(tinyPDF), -1)
		wantCode(t, err, apperr.TooManyRequests, "")
		// Others are not affected; a day later the owner may upload again.
		e.upload(e.candidate("李四"), attachment.KindOTHER, []byte(tinyPDF))
		e.clock.Advance(24*time.Hour + time.Second)
		e.upload(cand, attachment.KindOTHER, []byte(tinyPDF))
	})
}

func TestUploadKinds(t *testing.T) {
	if k := profile.UploadKinds(viewer.Company); len(k) != 3 {
		t.Fatalf("company kinds %v", k)
	}
	if k := profile.UploadKinds(viewer.Proctor); len(k) != 0 {
		t.Fatalf("proctor kinds %v", k)
	}
}
