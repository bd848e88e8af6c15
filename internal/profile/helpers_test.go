package profile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/training"
	"github.com/kaowu/kaowu/internal/viewer"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef")

type clock = testenv.Clock

// blobs is a store under test and a way to list what it holds.
type blobs struct {
	storage.Store
	keys func(t *testing.T) []string
}

// eachStore runs fn against local disk and against MinIO (a fresh bucket).
func eachStore(t *testing.T, fn func(t *testing.T, b blobs)) {
	t.Run("local", func(t *testing.T) {
		dir := t.TempDir()
		l, err := storage.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		fn(t, blobs{Store: l, keys: func(t *testing.T) []string {
			var out []string
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				out = append(out, filepath.ToSlash(rel))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			return out
		}})
	})
	t.Run("minio", func(t *testing.T) {
		env := testenv.MinIO(t)
		ctx := context.Background()
		m, err := storage.NewMinIO(ctx, storage.MinIOConfig{Endpoint: env.Endpoint, AccessKey: env.AccessKey, SecretKey: env.SecretKey, Bucket: env.Bucket})
		if err != nil {
			t.Fatal(err)
		}
		mc, err := minio.New(env.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.AccessKey, env.SecretKey, "")})
		if err != nil {
			t.Fatal(err)
		}
		list := func() []string {
			var out []string
			for o := range mc.ListObjects(ctx, env.Bucket, minio.ListObjectsOptions{Recursive: true}) {
				if o.Err != nil {
					t.Fatal(o.Err)
				}
				out = append(out, o.Key)
			}
			return out
		}
		t.Cleanup(func() {
			for _, k := range list() {
				_ = mc.RemoveObject(ctx, env.Bucket, k, minio.RemoveObjectOptions{})
			}
			_ = mc.RemoveBucket(ctx, env.Bucket)
		})
		fn(t, blobs{Store: m, keys: func(t *testing.T) []string { return list() }})
	})
}

type env struct {
	t        *testing.T
	d        *db.DB
	client   *ent.Client
	svc      *profile.Service
	train    *training.Service
	store    blobs
	signer   *storage.Signer
	clock    *clock
	sys      context.Context
	seq      int
	company  *ent.Organization
	companyU *ent.User
	trainer  *ent.User
	reviewer *ent.User
	admin    *ent.User
	site     *ent.User
}

func newEnv(t *testing.T, url string, b blobs) *env {
	t.Helper()
	ctx := context.Background()
	d, client := testenv.Client(t, url, db.Options{})
	bus := events.NewLocal()
	t.Cleanup(func() { _ = bus.Close() })
	c := testenv.NewClock(time.Date(2026, 3, 10, 4, 0, 0, 0, time.UTC))
	signer := storage.NewSigner(testSecret)
	e := &env{
		t: t, d: d, client: client, store: b, signer: signer, clock: c, sys: viewer.SystemContext(ctx),
		svc: &profile.Service{Client: client, Store: b, Signer: signer, Now: c.Now, Limits: media.Limits{MaxImageBytes: 1 << 20}},
		train: &training.Service{Client: client, Now: c.Now,
			Notifier: &notify.Notifier{Client: client, Bus: bus, SMS: &notify.Recorder{}}},
	}
	e.company = e.org(organization.KindCOMPANY, "深圳市安建工程有限公司")
	e.companyU = e.user(user.RoleCOMPANY, "anjian", e.company)
	e.trainer = e.user(user.RoleTRAINING_ORG, "trainer", e.org(organization.KindTRAINING_ORG, "培训中心"))
	e.reviewer = e.user(user.RoleREVIEWER, "reviewer", e.org(organization.KindDEPARTMENT, "监管处"))
	e.admin = e.user(user.RoleADMIN, "admin", nil)
	e.site = e.user(user.RoleEXAM_SITE, "siteop", e.org(organization.KindEXAM_SITE, "考点"))
	return e
}

// localEnv is newEnv with a local-disk store, for suites about data rather
// than blobs.
func localEnv(t *testing.T, url string) *env {
	t.Helper()
	dir := t.TempDir()
	l, err := storage.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return newEnv(t, url, blobs{Store: l, keys: func(*testing.T) []string { return nil }})
}

func (e *env) org(kind organization.Kind, name string) *ent.Organization {
	e.t.Helper()
	o, err := e.client.Organization.Create().SetKind(kind).SetName(name).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

func (e *env) user(role user.Role, login string, org *ent.Organization) *ent.User {
	e.t.Helper()
	e.seq++
	c := e.client.User.Create().SetRole(role).SetLogin(login).SetName(login).SetPasswordHash("x").
		SetPhone(fmt.Sprintf("1380000%04d", e.seq))
	if org != nil {
		c.SetOrganization(org)
	}
	u, err := c.Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// residentBirth is the birth date in every generated resident ID number.
var residentBirth = time.Date(1988, 6, 1, 0, 0, 0, 0, time.UTC)

// candidate registers a resident-ID candidate (seq odd = male).
func (e *env) candidate(name string) *ent.User {
	e.t.Helper()
	e.seq++
	n := idcard.Generate("110105", residentBirth, e.seq)
	u, err := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(n).SetName(name).SetPasswordHash("x").SetPhone(fmt.Sprintf("1390000%04d", e.seq)).Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// passportHolder registers a candidate with a passport.
func (e *env) passportHolder(name string) *ent.User {
	e.t.Helper()
	e.seq++
	n := fmt.Sprintf("E%08d", e.seq)
	u, err := e.client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(n).SetIDType(user.IDTypePASSPORT).
		SetIDNumber(n).SetName(name).SetPasswordHash("x").Save(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(context.Background(), v)
}

func ptr[T any](v T) *T { return &v }

func (e *env) attachments() int {
	e.t.Helper()
	n, err := e.client.Attachment.Query().Count(e.sys)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) upload(u *ent.User, kind attachment.Kind, data []byte) *ent.Attachment {
	e.t.Helper()
	a, err := e.svc.Upload(as(u), kind, "file", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		e.t.Fatalf("upload %s: %v", kind, err)
	}
	return a
}

// ---------------------------------------------------------------- files

func jpegOf(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	return testenv.Encode(t, testenv.Solid(w, h, c), "jpeg", 90)
}

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	bigPNGOnce sync.Once
	bigPNG     []byte
)

// sixMBPNG is a ≈6 MB PNG of noise, generated once per test binary.
func sixMBPNG(t testing.TB) []byte {
	bigPNGOnce.Do(func() {
		r := rand.New(rand.NewPCG(1, 2))
		img := image.NewNRGBA(image.Rect(0, 0, 1500, 1400))
		for i := 0; i < len(img.Pix); i += 4 {
			v := r.Uint32()
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = byte(v), byte(v>>8), byte(v>>16), 0xFF
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		bigPNG = b.Bytes()
	})
	if len(bigPNG) < 6_000_000 {
		t.Fatalf("test PNG is %d bytes", len(bigPNG))
	}
	return bigPNG
}

const tinyPDF = "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" +
	"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
	"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n" +
	"trailer<</Root 1 0 R>>\n%%EOF\n"

func pdfOf(n int) []byte {
	head, tail := "%PDF-1.4\n", "\ntrailer<</Root 1 0 R>>\n%%EOF\n"
	pad := strings.Repeat("%padding padding padding padding\n", n/33+1)
	return []byte(head + pad[:n-len(head)-len(tail)] + tail)
}

// ---------------------------------------------------------------- asserts

func wantCode(t *testing.T, err error, code apperr.Code, field string) *apperr.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got nil", code)
	}
	ae, ok := apperr.As(err)
	if !ok {
		t.Fatalf("want %s, got %T: %v", code, err, err)
	}
	if ae.Code != code {
		t.Fatalf("want %s, got %s: %s", code, ae.Code, ae.Message)
	}
	got := ae.Field
	if got == "" {
		got, _ = ae.Extra["field"].(string)
	}
	if field != "" && got != field {
		t.Fatalf("want field %q, got %q (%s)", field, got, ae.Message)
	}
	return ae
}

// errReader fails after yielding some bytes, as a dropped connection would.
type errReader struct{ r io.Reader }

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		return n, errors.New("connection reset by peer")
	}
	return n, err
}

// noRead fails the test if anything reads it.
type noRead struct{ t *testing.T }

func (n noRead) Read([]byte) (int, error) {
	n.t.Error("reader was read")
	return 0, io.EOF
}
