package graph_test

// API tests of profiles, attachments, training hours, check-in and the
// admission ticket download, through the real HTTP server (multipart
// uploads, signed blob downloads, websockets, /documents/).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/room"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/graph/graphtest"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/tickets"
)

func TestProfileCheckInAPI(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, url string) {
		pcSuite(t, graphtest.New(t, url))
	})
}

// TestProfileCheckInPostgresMinIO runs the same suite on the production
// stack: PostgreSQL (LISTEN/NOTIFY bus) and blobs in MinIO.
func TestProfileCheckInPostgresMinIO(t *testing.T) {
	pcSuite(t, graphtest.New(t, testenv.Postgres(t), graphtest.WithMinIO(t)))
}

func pcSuite(t *testing.T, e *graphtest.Env) {
	e.Seed()
	t.Run("profile and attachments", func(t *testing.T) { pcProfileFlow(t, e) })
	t.Run("training hours", func(t *testing.T) { pcTrainingFlow(t, e) })
	t.Run("check-in and roster", func(t *testing.T) { pcCheckInFlow(t, e) })
	t.Run("admission ticket download", func(t *testing.T) { pcTicketFlow(t, e) })
}

// ---------------------------------------------------------------- helpers

// pcFile is a file variable of a GraphQL multipart request.
type pcFile struct {
	name string
	data []byte
}

// pcDo posts an operation. When vars hold pcFile values (at any depth) it
// sends a GraphQL multipart request: an "operations" part with those
// variables null, a "map" part naming their paths, one part per file.
// Otherwise it is e.Do.
func pcDo(e *graphtest.Env, token, query string, vars map[string]any) *graphtest.Result {
	e.T.Helper()
	files := map[string]pcFile{}
	var strip func(path string, v any) any
	strip = func(path string, v any) any {
		switch x := v.(type) {
		case pcFile:
			files[path] = x
			return nil
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, v := range x {
				out[k] = strip(path+"."+k, v)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, v := range x {
				out[i] = strip(path+"."+strconv.Itoa(i), v)
			}
			return out
		}
		return v
	}
	plain, _ := strip("variables", vars).(map[string]any)
	if len(files) == 0 {
		return e.Do(token, query, vars)
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	ops, _ := json.Marshal(map[string]any{"query": query, "variables": plain})
	_ = w.WriteField("operations", string(ops))
	m := map[string][]string{}
	for i, p := range paths {
		m[strconv.Itoa(i)] = []string{p}
	}
	mb, _ := json.Marshal(m)
	_ = w.WriteField("map", string(mb))
	for i, p := range paths {
		fw, err := w.CreateFormFile(strconv.Itoa(i), files[p].name)
		if err != nil {
			e.T.Fatal(err)
		}
		_, _ = fw.Write(files[p].data)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, e.Server.URL+"/graphql", &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		e.T.Fatalf("post multipart: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := &graphtest.Result{Status: resp.StatusCode}
	if err := json.Unmarshal(raw, res); err != nil {
		e.T.Fatalf("multipart response %d not JSON: %s", resp.StatusCode, raw)
	}
	return res
}

// pcGet fetches a path of the test server (or an absolute URL) with an
// optional bearer token.
func pcGet(t *testing.T, e *graphtest.Env, token, u string) (*http.Response, []byte) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = e.Server.URL + u
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// pcJPEG is a smooth gradient picture, as a camera-less encoder writes it
// (no EXIF): stored unchanged when within the limits.
func pcJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pcNoisyPNG is a PNG of random pixels: it does not compress, so a large one
// is far over the stored-image limit.
func pcNoisyPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	_, _ = rand.Read(img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pcPDF is the smallest file media accepts as a PDF.
var pcPDF = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

var pcSeq atomic.Int64

// pcCandidate registers a candidate account and returns its user, ID
// number and a session token.
func pcCandidate(t *testing.T, e *graphtest.Env, name string) (*ent.User, string, string) {
	t.Helper()
	n := int(pcSeq.Add(1))
	id := idcard.Generate("440305", time.Date(1988, 4, 12, 0, 0, 0, 0, time.UTC), 300+n%600)
	u, err := e.App.Auth.RegisterPerson(context.Background(), auth.PersonInput{
		IDNumber: id, Name: name, Phone: fmt.Sprintf("1391234%04d", n%10000), Password: "Cand#2026ok",
	})
	if err != nil {
		t.Fatal(err)
	}
	return u, id, e.Login(id, "Cand#2026ok")
}

// pcDemoSite is the demo site of the EXAM_SITE and PROCTOR demo accounts.
func pcDemoSite(e *graphtest.Env) *ent.Organization {
	return e.App.Client.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE)).
		Order(organization.ByID()).FirstX(sys)
}

func pcRand() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// pcSession creates, as system work, a session of the C1 subject in a room
// of the demo site starting at start.
func pcSession(e *graphtest.Env, start time.Time) *ent.ExamSession {
	c := e.App.Client
	site := pcDemoSite(e)
	rm := c.Room.Query().Where(room.SiteID(site.ID)).Order(room.ByID()).FirstX(sys)
	subj := c.Subject.Query().Where(subject.Code("C1")).OnlyX(sys)
	u := pcRand()
	reg := c.Region.Create().SetCode("R" + u).SetName("深圳市" + u).SaveX(sys)
	plan := c.ExamPlan.Create().SetName("签到测试计划" + u).SetRegionID(reg.ID).
		SetEnrollStartsAt(start.AddDate(0, -1, 0)).SetEnrollEndsAt(start.AddDate(0, 0, -7)).
		SetExamFrom(start.Add(-time.Hour)).SetExamTo(start.Add(24 * time.Hour)).SaveX(sys)
	return c.ExamSession.Create().SetPlanID(plan.ID).SetSubjectID(subj.ID).SetRoomID(rm.ID).SetSiteID(site.ID).
		SetStartsAt(start).SetDurationMinutes(90).SetCapacity(40).SaveX(sys)
}

// pcSeat enrolls a candidate APPROVED in the session with a ticket number,
// paid or not, as system work (the enrollment flow has its own tests).
func pcSeat(e *graphtest.Env, sess *ent.ExamSession, candidateID int, paid bool) *ent.Enrollment {
	submitted := time.Now().AddDate(0, 0, -10)
	c := e.App.Client
	cr := c.Enrollment.Create().SetCandidateID(candidateID).SetPlanID(sess.PlanID).SetSubjectID(sess.SubjectID).
		SetSessionID(sess.ID).SetSiteID(sess.SiteID).SetStatus(enrollment.StatusAPPROVED).
		SetPledgeAcceptedAt(submitted).SetSubmittedAt(submitted).SetReviewedAt(submitted.Add(time.Hour)).
		SetFeeCents(12000).SetTicketNo("KW" + strings.ToUpper(pcRand()))
	if paid {
		cr.SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(submitted.Add(2 * time.Hour))
	}
	return cr.SaveX(sys)
}

// pcExt returns extensions[key] of the first error.
func pcExt(r *graphtest.Result, key string) any {
	if len(r.Errors) == 0 {
		return nil
	}
	return r.Errors[0].Extensions[key]
}

// pcWantErr checks the code (and, when given, the field and reason) of a refusal.
func pcWantErr(t *testing.T, what string, r *graphtest.Result, code, field, reason string) {
	t.Helper()
	if r.Code() != code {
		t.Errorf("%s: code %q, want %q (%+v)", what, r.Code(), code, r.Errors)
		return
	}
	if field != "" && pcExt(r, "field") != field {
		t.Errorf("%s: field %v, want %s", what, pcExt(r, "field"), field)
	}
	if reason != "" && pcExt(r, "reason") != reason {
		t.Errorf("%s: reason %v, want %s", what, pcExt(r, "reason"), reason)
	}
	if msg := r.Errors[0].Message; msg == "" || strings.Contains(msg, "ent:") || strings.Contains(msg, "sql") {
		t.Errorf("%s: message not for people: %q", what, msg)
	}
}

type pcAttachment struct {
	ID          string
	Kind        string
	ContentType string
	Size        int
	Sha256      string
	FileName    string
	Width       *int
	Height      *int
	URL         string
}

const pcAttachmentFields = `id kind contentType size sha256 fileName width height url`

type pcCompleteness struct {
	Complete bool
	Missing  []struct{ Field, Label string }
	Category *string
	// NON_SOCIAL only
	ApprovedHours float64
	RequiredHours float64
}

func pcMissing(c pcCompleteness) []string {
	var out []string
	for _, m := range c.Missing {
		out = append(out, m.Field)
	}
	return out
}

// ---------------------------------------------------------------- profile

func pcProfileFlow(t *testing.T, e *graphtest.Env) {
	cand, idNumber, tok := pcCandidate(t, e, "陈晓明")
	_, _, otherTok := pcCandidate(t, e, "周立")
	res, err := idcard.Parse(idNumber)
	if err != nil {
		t.Fatal(err)
	}
	sex, otherSex := "MALE", "FEMALE" // derived from the ID number
	if string(res.Sex) != sex {
		sex, otherSex = otherSex, sex
	}
	uploadDoc := `mutation($k:AttachmentKind!,$f:Upload!){uploadAttachment(kind:$k,file:$f){` + pcAttachmentFields + `}}`
	up := func(tok, kind string, f pcFile) *graphtest.Result {
		return pcDo(e, tok, uploadDoc, map[string]any{"k": kind, "f": f})
	}

	// What may be uploaded; the ethnicity list is public.
	var kinds struct{ UploadableAttachmentKinds []string }
	e.Do(tok, `{uploadableAttachmentKinds}`, nil).Decode(t, &kinds)
	if !slices.Contains(kinds.UploadableAttachmentKinds, "ID_PHOTO") || slices.Contains(kinds.UploadableAttachmentKinds, "CHECKIN_LIVE_PHOTO") {
		t.Errorf("candidate kinds: %v", kinds.UploadableAttachmentKinds)
	}
	e.Do(e.DemoLogin("PROCTOR"), `{uploadableAttachmentKinds}`, nil).Decode(t, &kinds)
	if len(kinds.UploadableAttachmentKinds) != 0 {
		t.Errorf("proctor kinds: %v", kinds.UploadableAttachmentKinds)
	}
	var eth struct{ Ethnicities []string }
	e.Do("", `{ethnicities}`, nil).Decode(t, &eth)
	if len(eth.Ethnicities) < 56 || eth.Ethnicities[0] != "汉族" {
		t.Errorf("ethnicities: %v", eth.Ethnicities)
	}

	// Before anything: no profile, everything missing.
	var mp struct{ MyProfile *struct{ ID string } }
	e.Do(tok, `{myProfile{id}}`, nil).Decode(t, &mp)
	if mp.MyProfile != nil {
		t.Errorf("myProfile before the first save: %+v", mp.MyProfile)
	}
	completeness := func(tok string, userID any) pcCompleteness {
		t.Helper()
		var out struct{ ProfileCompleteness pcCompleteness }
		e.Do(tok, `query($u:ID){profileCompleteness(userID:$u){complete missing{field label} category approvedHours requiredHours}}`,
			map[string]any{"u": userID}).Decode(t, &out)
		return out.ProfileCompleteness
	}
	c := completeness(tok, nil)
	if c.Complete || !slices.Contains(pcMissing(c), "ID_PHOTO") || !slices.Contains(pcMissing(c), "candidateType") {
		t.Errorf("empty profile completeness: %+v", c)
	}

	// A real JPEG is stored as it is.
	photo := pcJPEG(t, 300, 400)
	var idPhoto struct{ UploadAttachment pcAttachment }
	up(tok, "ID_PHOTO", pcFile{"证件照.jpg", photo}).Decode(t, &idPhoto)
	sum := sha256.Sum256(photo)
	if a := idPhoto.UploadAttachment; a.Kind != "ID_PHOTO" || a.ContentType != "image/jpeg" || a.Sha256 != hex.EncodeToString(sum[:]) ||
		a.Width == nil || *a.Width != 300 || a.FileName != "证件照.jpg" || !strings.Contains(a.URL, "/blobs/") {
		t.Errorf("id photo: %+v", a)
	}

	// A text file named .jpg is refused by its content, and stores nothing.
	before := e.App.Client.Attachment.Query().CountX(sys)
	pcWantErr(t, "text as jpg", up(tok, "ID_CARD_FRONT", pcFile{"front.jpg", []byte("this is not a picture, just text\n")}), "BAD_USER_INPUT", "file", "")
	// ID_PHOTO must be a picture; check-in photos are not uploaded by anyone.
	pcWantErr(t, "pdf as id photo", up(tok, "ID_PHOTO", pcFile{"photo.pdf", pcPDF}), "BAD_USER_INPUT", "file", "")
	pcWantErr(t, "check-in kind", up(tok, "CHECKIN_LIVE_PHOTO", pcFile{"live.jpg", photo}), "FORBIDDEN", "", "")
	pcWantErr(t, "anonymous upload", up("", "OTHER", pcFile{"a.jpg", photo}), "UNAUTHENTICATED", "", "")
	pcWantErr(t, "proctor upload", up(e.DemoLogin("PROCTOR"), "OTHER", pcFile{"a.jpg", photo}), "FORBIDDEN", "", "")
	if after := e.App.Client.Attachment.Query().CountX(sys); after != before {
		t.Errorf("attachments: %d before refused uploads, %d after", before, after)
	}

	// An oversized PNG (over the 1 MiB stored-image limit and 2000 px) is
	// accepted, downscaled and stored as JPEG.
	big := pcNoisyPNG(t, 2400, 700)
	if len(big) < 2<<20 {
		t.Fatalf("test PNG only %d bytes", len(big))
	}
	var back struct{ UploadAttachment pcAttachment }
	up(tok, "ID_CARD_BACK", pcFile{"back.png", big}).Decode(t, &back)
	if a := back.UploadAttachment; a.ContentType != "image/jpeg" || a.Size > 1<<20 || a.Width == nil || *a.Width > 2000 || *a.Width <= *a.Height {
		t.Errorf("oversized png: %+v", a)
	}

	// The rest of the profile's files, one of them a PDF.
	for kind, f := range map[string]pcFile{
		"ID_CARD_FRONT":     {"front.jpg", pcJPEG(t, 856, 540)},
		"EDUCATION_CERT":    {"学历.jpg", pcJPEG(t, 600, 800)},
		"COMMITMENT_LETTER": {"承诺书.pdf", pcPDF},
		"STUDY_PROOF":       {"学习证明.jpg", pcJPEG(t, 600, 800)},
	} {
		var out struct{ UploadAttachment pcAttachment }
		up(tok, kind, f).Decode(t, &out)
		if kind == "COMMITMENT_LETTER" && out.UploadAttachment.ContentType != "application/pdf" {
			t.Errorf("pdf stored as %s", out.UploadAttachment.ContentType)
		}
	}

	// The newest of each kind, with working links.
	var mine struct{ MyAttachments []pcAttachment }
	e.Do(tok, `{myAttachments{`+pcAttachmentFields+`}}`, nil).Decode(t, &mine)
	if len(mine.MyAttachments) != 6 {
		t.Fatalf("myAttachments: %d, want 6: %+v", len(mine.MyAttachments), mine.MyAttachments)
	}
	for _, a := range mine.MyAttachments {
		resp, body := pcGet(t, e, "", a.URL)
		s := sha256.Sum256(body)
		if resp.StatusCode != 200 || hex.EncodeToString(s[:]) != a.Sha256 || len(body) != a.Size {
			t.Errorf("download %s: %d, %d bytes, sha256 match %v", a.Kind, resp.StatusCode, len(body), hex.EncodeToString(s[:]) == a.Sha256)
		}
	}
	var signed struct {
		AttachmentURL struct {
			URL       string
			ExpiresAt time.Time
		}
	}
	e.Do(tok, `query($id:ID!){attachmentURL(id:$id){url expiresAt}}`, map[string]any{"id": idPhoto.UploadAttachment.ID}).Decode(t, &signed)
	if d := time.Until(signed.AttachmentURL.ExpiresAt); d < 8*time.Minute || d > 11*time.Minute {
		t.Errorf("url expires in %v", d)
	}
	resp, body := pcGet(t, e, "", signed.AttachmentURL.URL)
	if resp.StatusCode != 200 || !bytes.Equal(body, photo) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("id photo download: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
	}
	if resp, _ := pcGet(t, e, "", strings.Replace(signed.AttachmentURL.URL, "sig=", "sig=0", 1)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("tampered link: %d", resp.StatusCode)
	}

	// Another candidate cannot pcGet a link nor see the files; staff who review can.
	pcWantErr(t, "other candidate's link", e.Do(otherTok, `query($id:ID!){attachmentURL(id:$id){url}}`,
		map[string]any{"id": idPhoto.UploadAttachment.ID}), "NOT_FOUND", "", "")
	pcWantErr(t, "site operator's link", e.Do(e.DemoLogin("EXAM_SITE"), `query($id:ID!){attachmentURL(id:$id){url}}`,
		map[string]any{"id": idPhoto.UploadAttachment.ID}), "NOT_FOUND", "", "")
	var of struct{ AttachmentsOf []pcAttachment }
	e.Do(otherTok, `query($u:ID!){attachmentsOf(userID:$u){id}}`, map[string]any{"u": cand.ID}).Decode(t, &of)
	if len(of.AttachmentsOf) != 0 {
		t.Errorf("other candidate sees %d attachments", len(of.AttachmentsOf))
	}
	e.Do(e.DemoLogin("REVIEWER"), `query($u:ID!){attachmentsOf(userID:$u){`+pcAttachmentFields+`}}`, map[string]any{"u": cand.ID}).Decode(t, &of)
	if len(of.AttachmentsOf) != 6 || of.AttachmentsOf[0].URL == "" {
		t.Errorf("reviewer sees %+v", of.AttachmentsOf)
	}
	pcWantErr(t, "other candidate's completeness", e.Do(otherTok, `query($u:ID){profileCompleteness(userID:$u){complete}}`,
		map[string]any{"u": cand.ID}), "FORBIDDEN", "", "")

	// Files alone do not make a profile.
	c = completeness(tok, nil)
	if c.Complete || slices.Contains(pcMissing(c), "ID_PHOTO") || !slices.Contains(pcMissing(c), "address") {
		t.Errorf("completeness with files only: %+v", c)
	}

	// Bad values are refused field by field.
	for _, bad := range []struct{ input, field string }{
		{`{postCode:"5180"}`, "postCode"},
		{`{sex:` + otherSex + `}`, "sex"}, // derived from the ID number
		{`{ethnicity:"火星族"}`, "ethnicity"},
		{`{yearsInTrade:71}`, "yearsInTrade"},
		{`{category:C1}`, "candidateType"}, // a type first
	} {
		pcWantErr(t, "profile "+bad.input, e.Do(tok, `mutation{updateMyProfile(input:`+bad.input+`){id}}`, nil), "BAD_USER_INPUT", bad.field, "")
	}
	pcWantErr(t, "company updates a profile", e.Do(e.DemoLogin("COMPANY"), `mutation{updateMyProfile(input:{address:"x"}){id}}`, nil), "FORBIDDEN", "", "")

	var saved struct {
		UpdateMyProfile struct {
			CandidateType, Category, Sex, CompanyName, Ethnicity, PostCode, Education string
			CompanyID                                                                 *string
		}
	}
	e.Do(tok, `mutation($in:UpdateProfileInput!){updateMyProfile(input:$in){candidateType category sex companyName companyID ethnicity postCode education}}`,
		map[string]any{"in": map[string]any{
			"candidateType": "SOCIAL", "category": "C1", "companyName": "深圳市安建工程有限公司", "yearsInTrade": 6,
			"education": "BACHELOR", "ethnicity": "汉", "address": "深圳市南山区科技园科苑路15号", "title": "工程师", "postCode": "５１８０５７",
		}}).Decode(t, &saved)
	p := saved.UpdateMyProfile
	companyID := e.App.Client.Organization.Query().Where(organization.Name("深圳市安建工程有限公司")).OnlyIDX(sys)
	// The exact name of a registered company links the profile to it.
	if p.Sex != sex || p.Ethnicity != "汉族" || p.PostCode != "518057" || p.Category != "C1" || p.CompanyID == nil || *p.CompanyID != strconv.Itoa(companyID) {
		t.Errorf("saved profile: %+v", p)
	}
	c = completeness(tok, nil)
	if !c.Complete || len(c.Missing) != 0 || c.Category == nil || *c.Category != "C1" || c.RequiredHours != 0 {
		t.Errorf("complete profile: %+v", c)
	}
	// The company the profile names may see it; reviewers too.
	if c := completeness(e.DemoLogin("COMPANY"), cand.ID); !c.Complete {
		t.Errorf("company's view: %+v", c)
	}
	if c := completeness(e.DemoLogin("REVIEWER"), cand.ID); !c.Complete {
		t.Errorf("reviewer's view: %+v", c)
	}
	pcWantErr(t, "site reads completeness", e.Do(e.DemoLogin("EXAM_SITE"), `query($u:ID){profileCompleteness(userID:$u){complete}}`,
		map[string]any{"u": cand.ID}), "FORBIDDEN", "", "")
	e.Do(tok, `{myProfile{id}}`, nil).Decode(t, &mp)
	if mp.MyProfile == nil {
		t.Error("myProfile after saving: null")
	}
}

// ---------------------------------------------------------------- training

func pcTrainingFlow(t *testing.T, e *graphtest.Env) {
	cand, idNumber, tok := pcCandidate(t, e, "刘洋")
	trainer := e.DemoLogin("TRAINING_ORG")
	e.Do(tok, `mutation{updateMyProfile(input:{candidateType:NON_SOCIAL}){id}}`, nil).Decode(t, &struct{}{})

	type record struct {
		ID           string
		Hours        float64
		Status       string
		Category     string
		ReviewReason *string
	}
	recordDoc := `mutation($in:RecordTrainingInput!){recordTraining(input:$in){id hours status category}}`
	day := func(daysAgo int) string {
		return time.Now().AddDate(0, 0, -daysAgo).Format(time.RFC3339)
	}
	rec := func(name string, hours float64, from, to int) *graphtest.Result {
		return e.Do(trainer, recordDoc, map[string]any{"in": map[string]any{
			"candidateIdNumber": idNumber, "candidateName": name,
			"details": map[string]any{"category": "C1", "hours": hours, "startedOn": day(from), "finishedOn": day(to), "result": "PASS", "score": 88},
		}})
	}
	pcWantErr(t, "wrong name", rec("刘羊", 16, 30, 28), "BAD_USER_INPUT", "candidateName", "")
	pcWantErr(t, "too many hours a day", rec("刘洋", 40, 30, 28), "BAD_USER_INPUT", "hours", "")
	pcWantErr(t, "site records training", e.Do(e.DemoLogin("EXAM_SITE"), recordDoc, map[string]any{"in": map[string]any{
		"candidateIdNumber": idNumber, "details": map[string]any{"category": "C1", "hours": 8, "startedOn": day(5)},
	}}), "FORBIDDEN", "", "")

	var first, second struct{ RecordTraining record }
	rec("刘洋", 16, 30, 28).Decode(t, &first)
	if first.RecordTraining.Status != "PENDING" || first.RecordTraining.Hours != 16 {
		t.Errorf("recorded: %+v", first.RecordTraining)
	}
	pcWantErr(t, "entered twice", rec("刘洋", 16, 30, 28), "CONFLICT", "", "")
	rec("刘洋", 12, 20, 19).Decode(t, &second)

	var upd struct{ UpdateTrainingRecord record }
	e.Do(trainer, `mutation($id:ID!,$d:TrainingDetailsInput!){updateTrainingRecord(id:$id,input:$d){id hours status}}`,
		map[string]any{"id": first.RecordTraining.ID, "d": map[string]any{"category": "C1", "hours": 20.5, "startedOn": day(30), "finishedOn": day(28)}}).Decode(t, &upd)
	if upd.UpdateTrainingRecord.Hours != 20.5 {
		t.Errorf("updated: %+v", upd.UpdateTrainingRecord)
	}

	hoursDoc := `query($c:ID!){trainingHours(candidateID:$c){hours category required}}`
	var h struct {
		TrainingHours struct {
			Hours    float64
			Category *string
			Required float64
		}
	}
	e.Do(trainer, hoursDoc, map[string]any{"c": cand.ID}).Decode(t, &h)
	if h.TrainingHours.Hours != 0 || h.TrainingHours.Category != nil || h.TrainingHours.Required != 32 {
		t.Errorf("hours before review: %+v", h.TrainingHours)
	}
	c := pcCompletenessOf(t, e, tok)
	if !slices.Contains(pcMissing(c), "trainingHours") || c.RequiredHours != 32 {
		t.Errorf("completeness before review: %+v", c)
	}

	reviewDoc := `mutation($id:ID!,$a:Boolean!,$r:String){reviewTraining(id:$id,approve:$a,reason:$r){id status reviewReason}}`
	pcWantErr(t, "reject without reason", e.Do(trainer, reviewDoc, map[string]any{"id": second.RecordTraining.ID, "a": false}), "BAD_USER_INPUT", "reason", "")
	pcWantErr(t, "reviewer reviews training", e.Do(e.DemoLogin("REVIEWER"), reviewDoc, map[string]any{"id": first.RecordTraining.ID, "a": true}), "FORBIDDEN", "", "")
	var rv struct{ ReviewTraining record }
	e.Do(trainer, reviewDoc, map[string]any{"id": first.RecordTraining.ID, "a": true}).Decode(t, &rv)
	if rv.ReviewTraining.Status != "APPROVED" {
		t.Errorf("approved: %+v", rv.ReviewTraining)
	}
	pcWantErr(t, "reviewed twice", e.Do(trainer, reviewDoc, map[string]any{"id": first.RecordTraining.ID, "a": true}), "CONFLICT", "", "")
	pcWantErr(t, "update after review", e.Do(trainer, `mutation($id:ID!,$d:TrainingDetailsInput!){updateTrainingRecord(id:$id,input:$d){id}}`,
		map[string]any{"id": first.RecordTraining.ID, "d": map[string]any{"category": "C1", "hours": 8, "startedOn": day(30)}}), "CONFLICT", "", "")
	e.Do(trainer, reviewDoc, map[string]any{"id": second.RecordTraining.ID, "a": true}).Decode(t, &rv)

	e.Do(tok, hoursDoc, map[string]any{"c": cand.ID}).Decode(t, &h)
	if h.TrainingHours.Hours != 32.5 || h.TrainingHours.Category == nil || *h.TrainingHours.Category != "C1" {
		t.Errorf("hours after review: %+v", h.TrainingHours)
	}
	pcWantErr(t, "company reads hours", e.Do(e.DemoLogin("COMPANY"), hoursDoc, map[string]any{"c": cand.ID}), "FORBIDDEN", "", "")
	c = pcCompletenessOf(t, e, tok)
	if slices.Contains(pcMissing(c), "trainingHours") || c.ApprovedHours != 32.5 || c.Category == nil || *c.Category != "C1" {
		t.Errorf("completeness after review: %+v", c)
	}
	// The candidate was told, in the app.
	var n struct {
		Notifications struct {
			Edges []struct{ Node struct{ Kind string } }
		}
	}
	e.Do(tok, `{notifications(first:10){edges{node{kind}}}}`, nil).Decode(t, &n)
	approved := 0
	for _, ed := range n.Notifications.Edges {
		if ed.Node.Kind == "TRAINING_APPROVED" {
			approved++
		}
	}
	if approved != 2 {
		t.Errorf("notifications: %+v", n)
	}
	// The institution lists its records through the generated connection.
	var list struct{ TrainingRecords struct{ TotalCount int } }
	e.Do(trainer, `{trainingRecords(first:5){totalCount}}`, nil).Decode(t, &list)
	if list.TrainingRecords.TotalCount < 2 {
		t.Errorf("trainingRecords: %+v", list)
	}
}

func pcCompletenessOf(t *testing.T, e *graphtest.Env, tok string) pcCompleteness {
	t.Helper()
	var out struct{ ProfileCompleteness pcCompleteness }
	e.Do(tok, `{profileCompleteness{complete missing{field label} category approvedHours requiredHours}}`, nil).Decode(t, &out)
	return out.ProfileCompleteness
}

// ---------------------------------------------------------------- check-in

const pcCheckInDoc = `mutation($s:ID!,$n:String!,$name:String!,$live:Upload!,$reader:Upload){
  checkIn(input:{sessionID:$s,readerIDNumber:$n,readerName:$name,livePhoto:$live,readerPhoto:$reader}){
    id readerName checkedInAt enrollment{id checkedInAt}
  }
}`

func pcCheckInFlow(t *testing.T, e *graphtest.Env) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess := pcSession(e, time.Now().Add(20*time.Minute))
	good, goodID, _ := pcCandidate(t, e, "黄志强")
	unpaid, unpaidID, _ := pcCandidate(t, e, "吴敏")
	enr := pcSeat(e, sess, good.ID, true)
	pcSeat(e, sess, unpaid.ID, false)
	site := e.DemoLogin("EXAM_SITE")
	proctor := e.DemoLogin("PROCTOR")
	sid := strconv.Itoa(sess.ID)
	live := pcJPEG(t, 480, 640)
	vars := func(number, name string, livePhoto any) map[string]any {
		return map[string]any{"s": sess.ID, "n": number, "name": name, "live": livePhoto}
	}

	// The proctor watches the session; anonymous and other roles may not.
	ws, err := graphtest.DialWS(ctx, e.WSURL(), proctor, "")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	subDoc := `subscription($s:ID!){sessionCheckIns(sessionID:$s){sessionID enrollmentID checkInID at}}`
	if err := ws.Subscribe("c", subDoc, map[string]any{"s": sess.ID}); err != nil {
		t.Fatal(err)
	}
	e.WaitSubscribers("session:"+sid, 1)
	for _, who := range []struct{ name, tok, code string }{{"anonymous", "", "UNAUTHENTICATED"}, {"company", e.DemoLogin("COMPANY"), "FORBIDDEN"}} {
		w, err := graphtest.DialWS(ctx, e.WSURL(), who.tok, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = w.Subscribe("x", subDoc, map[string]any{"s": sess.ID})
		// gqlgen answers a refused subscription with the error as its only result.
		if m, err := w.Next(5 * time.Second); err != nil || (m.Type != "error" && m.Type != "next") || !strings.Contains(string(m.Payload), `"code":"`+who.code+`"`) {
			t.Errorf("%s subscribes: %v %+v", who.name, err, m)
		}
		w.Close()
	}

	// Refusals carry a reason and write nothing.
	before := e.App.Client.CheckIn.Query().CountX(sys)
	pcWantErr(t, "name mismatch", pcDo(e, site, pcCheckInDoc, vars(goodID, "黄志刚", pcFile{"live.jpg", live})), "BAD_USER_INPUT", "readerName", "NAME_MISMATCH")
	stranger := idcard.Generate("110105", time.Date(1979, 1, 2, 0, 0, 0, 0, time.UTC), 77)
	pcWantErr(t, "not on roster", pcDo(e, site, pcCheckInDoc, vars(stranger, "路人", pcFile{"live.jpg", live})), "NOT_FOUND", "", "NOT_ON_ROSTER")
	pcWantErr(t, "unpaid", pcDo(e, site, pcCheckInDoc, vars(unpaidID, "吴敏", pcFile{"live.jpg", live})), "FORBIDDEN", "", "NOT_PAID")
	pcWantErr(t, "text as live photo", pcDo(e, site, pcCheckInDoc, vars(goodID, "黄志强", pcFile{"live.jpg", []byte("not a photo")})), "BAD_USER_INPUT", "livePhoto", "")
	pcWantErr(t, "bad reader number", pcDo(e, site, pcCheckInDoc, vars("123", "黄志强", pcFile{"live.jpg", live})), "BAD_USER_INPUT", "readerIDNumber", "")
	pcWantErr(t, "proctor checks in", pcDo(e, proctor, pcCheckInDoc, vars(goodID, "黄志强", pcFile{"live.jpg", live})), "FORBIDDEN", "", "")
	pcWantErr(t, "anonymous checks in", pcDo(e, "", pcCheckInDoc, vars(goodID, "黄志强", pcFile{"live.jpg", live})), "UNAUTHENTICATED", "", "")
	// An operator of another site.
	admin := e.DemoLogin("ADMIN")
	site2ID := e.App.Client.Organization.Query().Where(organization.KindEQ(organization.KindEXAM_SITE), organization.IDNEQ(sess.SiteID)).FirstIDX(sys)
	login := "site2op" + pcRand()
	e.Do(admin, `mutation($l:String!,$o:ID!){createStaffAccount(input:{role:EXAM_SITE,login:$l,name:"龙岗操作员",password:"Site2#2026ok",organizationID:$o}){id}}`,
		map[string]any{"l": login, "o": site2ID}).Decode(t, &struct{}{})
	site2 := e.Login(login, "Site2#2026ok")
	pcWantErr(t, "other site checks in", pcDo(e, site2, pcCheckInDoc, vars(goodID, "黄志强", pcFile{"live.jpg", live})), "FORBIDDEN", "", "")
	pcWantErr(t, "other site's roster", e.Do(site2, `query($s:ID!){sessionRoster(sessionID:$s){total}}`, map[string]any{"s": sess.ID}), "FORBIDDEN", "", "")
	if n := e.App.Client.CheckIn.Query().CountX(sys); n != before {
		t.Fatalf("refused check-ins wrote %d rows", n-before)
	}

	// The right person, with the card reader's photo too (names compare
	// without spaces).
	v := vars(goodID, " 黄 志强 ", pcFile{"live.jpg", live})
	v["reader"] = pcFile{"reader.png", pcNoisyPNG(t, 102, 126)}
	var ci struct {
		CheckIn struct {
			ID          string
			ReaderName  string
			CheckedInAt time.Time
			Enrollment  struct {
				ID          string
				CheckedInAt *time.Time
			}
		}
	}
	pcDo(e, site, pcCheckInDoc, v).Decode(t, &ci)
	if ci.CheckIn.Enrollment.ID != strconv.Itoa(enr.ID) || ci.CheckIn.Enrollment.CheckedInAt == nil || time.Since(ci.CheckIn.CheckedInAt) > time.Minute {
		t.Errorf("check-in: %+v", ci.CheckIn)
	}

	// The proctor hears of it.
	m, err := ws.Next(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Data struct {
			SessionCheckIns struct {
				SessionID, EnrollmentID, CheckInID string
				At                                 time.Time
			}
		}
	}
	_ = json.Unmarshal(m.Payload, &ev)
	if got := ev.Data.SessionCheckIns; m.Type != "next" || got.SessionID != sid || got.EnrollmentID != strconv.Itoa(enr.ID) || got.CheckInID != ci.CheckIn.ID {
		t.Errorf("event: %s %s", m.Type, m.Payload)
	}

	// Twice is refused.
	r := pcDo(e, site, pcCheckInDoc, vars(goodID, "黄志强", pcFile{"live.jpg", live}))
	pcWantErr(t, "checked in twice", r, "CONFLICT", "", "ALREADY_CHECKED_IN")
	if pcExt(r, "checkedInAt") == nil {
		t.Errorf("no checkedInAt: %+v", r.Errors)
	}

	// The roster: both seated, one checked in, the live photo downloadable.
	rosterDoc := `query($s:ID!){sessionRoster(sessionID:$s){session{id} total checkedIn entries{
	  enrollment{id} candidateName maskedIDNumber ticketNo paymentStatus checkIn{id} livePhotoURL livePhotoURLExpiresAt}}}`
	type entry struct {
		Enrollment            struct{ ID string }
		CandidateName         string
		MaskedIDNumber        string
		TicketNo              *string
		PaymentStatus         string
		CheckIn               *struct{ ID string }
		LivePhotoURL          *string
		LivePhotoURLExpiresAt *time.Time
	}
	var ro struct {
		SessionRoster struct {
			Session   struct{ ID string }
			Total     int
			CheckedIn int
			Entries   []entry
		}
	}
	for _, tok := range []string{proctor, e.DemoLogin("REVIEWER")} {
		e.Do(tok, rosterDoc, map[string]any{"s": sess.ID}).Decode(t, &ro)
	}
	e.Do(site, rosterDoc, map[string]any{"s": sess.ID}).Decode(t, &ro)
	rs := ro.SessionRoster
	if rs.Session.ID != sid || rs.Total != 2 || rs.CheckedIn != 1 || len(rs.Entries) != 2 {
		t.Fatalf("roster: %+v", rs)
	}
	for _, en := range rs.Entries {
		checked := en.Enrollment.ID == strconv.Itoa(enr.ID)
		if strings.Contains(en.MaskedIDNumber, goodID[6:14]) || en.TicketNo == nil || (en.CheckIn != nil) != checked || (en.LivePhotoURL != nil) != checked {
			t.Errorf("roster entry: %+v", en)
		}
		if checked {
			if en.CandidateName != "黄志强" || en.PaymentStatus != "PAID" || en.LivePhotoURLExpiresAt == nil {
				t.Errorf("checked-in entry: %+v", en)
			}
			resp, body := pcGet(t, e, "", *en.LivePhotoURL)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.HasPrefix(body, []byte{0xFF, 0xD8}) {
				t.Errorf("live photo download: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	}
	pcWantErr(t, "company reads roster", e.Do(e.DemoLogin("COMPANY"), rosterDoc, map[string]any{"s": sess.ID}), "FORBIDDEN", "", "")
	pcWantErr(t, "anonymous reads roster", e.Do("", rosterDoc, map[string]any{"s": sess.ID}), "UNAUTHENTICATED", "", "")

	// Outside the window: a session tomorrow is not open yet.
	later := pcSession(e, time.Now().Add(26*time.Hour))
	pcSeat(e, later, unpaid.ID, true)
	r = pcDo(e, site, pcCheckInDoc, map[string]any{"s": later.ID, "n": unpaidID, "name": "吴敏", "live": pcFile{"live.jpg", live}})
	pcWantErr(t, "not open yet", r, "FORBIDDEN", "", "NOT_OPEN_YET")
	if pcExt(r, "opensAt") == nil {
		t.Errorf("no opensAt: %+v", r.Errors)
	}
}

// ---------------------------------------------------------------- tickets

func pcTicketFlow(t *testing.T, e *graphtest.Env) {
	start := time.Now().Add(3 * 24 * time.Hour)
	sess := pcSession(e, start)
	cand, _, tok := pcCandidate(t, e, "郑一鸣")
	_, _, otherTok := pcCandidate(t, e, "孙二")
	enr := pcSeat(e, sess, cand.ID, true)
	// The ticket carries the ID photo.
	pcDo(e, tok, `mutation($f:Upload!){uploadAttachment(kind:ID_PHOTO,file:$f){id}}`,
		map[string]any{"f": pcFile{"photo.jpg", pcJPEG(t, 300, 400)}}).Decode(t, &struct{}{})

	var list struct {
		Enrollments struct {
			Edges []struct {
				Node struct {
					ID                     string
					AdmissionTicketOpensAt *time.Time
				}
			}
		}
	}
	e.Do(tok, `{enrollments(first:5){edges{node{id admissionTicketOpensAt}}}}`, nil).Decode(t, &list)
	if len(list.Enrollments.Edges) != 1 || list.Enrollments.Edges[0].Node.AdmissionTicketOpensAt == nil ||
		!list.Enrollments.Edges[0].Node.AdmissionTicketOpensAt.Equal(tickets.OpensAt(sess.StartsAt)) {
		t.Errorf("admissionTicketOpensAt: %+v (want %v)", list, tickets.OpensAt(sess.StartsAt))
	}

	path := fmt.Sprintf("/documents/tickets/%d.pdf", enr.ID)
	resp, body := pcGet(t, e, tok, path)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF")) {
		t.Fatalf("ticket: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 200)])
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("ticket Cache-Control %q", cc)
	}
	for _, who := range []struct {
		name, tok string
		status    []int
	}{
		{"another candidate", otherTok, []int{http.StatusNotFound, http.StatusForbidden}},
		{"proctor", e.DemoLogin("PROCTOR"), []int{http.StatusForbidden}},
		{"anonymous", "", []int{http.StatusUnauthorized}},
		{"bad token", "not-a-token", []int{http.StatusUnauthorized}},
	} {
		resp, body := pcGet(t, e, who.tok, path)
		if !slices.Contains(who.status, resp.StatusCode) || bytes.HasPrefix(body, []byte("%PDF")) {
			t.Errorf("%s gets the ticket: %d %q", who.name, resp.StatusCode, body[:min(len(body), 200)])
		}
	}
	// The site where the pcSeat is, and the registration form.
	if resp, body := pcGet(t, e, e.DemoLogin("EXAM_SITE"), path); resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("%PDF")) {
		t.Errorf("site gets the ticket: %d", resp.StatusCode)
	}
	if resp, body := pcGet(t, e, tok, fmt.Sprintf("/documents/forms/%d.pdf", enr.ID)); resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("%PDF")) {
		t.Errorf("registration form: %d %q", resp.StatusCode, body[:min(len(body), 200)])
	}

	// Too early: a session three weeks away.
	farSess := pcSession(e, time.Now().Add(21*24*time.Hour))
	far := pcSeat(e, farSess, cand.ID, true)
	resp, body = pcGet(t, e, tok, fmt.Sprintf("/documents/tickets/%d.pdf", far.ID))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "NOT_YET_OPEN") {
		t.Errorf("early ticket: %d %s", resp.StatusCode, body)
	}
}

// TestSessionCheckInsEnd: a proctor's check-in subscription ends when their
// session is revoked (rechecked every SessionCheckEvery), and neither that
// nor clients leaving or completing leave a goroutine behind.
func TestSessionCheckInsEnd(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("run", func(t *testing.T) {
		e := graphtest.New(t, t.TempDir()+"/kaowu.db")
		e.Seed()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sess := pcSession(e, time.Now().Add(30*time.Minute))
		topic := "session:" + strconv.Itoa(sess.ID)
		doc := `subscription($s:ID!){sessionCheckIns(sessionID:$s){checkInID}}`
		for i := 0; i < 4; i++ {
			ws, err := graphtest.DialWS(ctx, e.WSURL(), e.DemoLogin("PROCTOR"), "")
			if err != nil {
				t.Fatal(err)
			}
			_ = ws.Subscribe("1", doc, map[string]any{"s": sess.ID})
			e.WaitSubscribers(topic, 1)
			if i%2 == 0 {
				_ = ws.Complete("1")
			}
			ws.Close()
			pcWaitNoSubscribers(t, e, topic)
		}

		// Logging out ends the subscription on the open socket.
		tok := e.DemoLogin("PROCTOR")
		ws, err := graphtest.DialWS(ctx, e.WSURL(), tok, "")
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		_ = ws.Subscribe("1", doc, map[string]any{"s": sess.ID})
		e.WaitSubscribers(topic, 1)
		e.Do(tok, `mutation{logout}`, nil).Decode(t, &struct{}{})
		if m, err := ws.Next(5 * time.Second); err != nil || m.Type != "complete" {
			t.Errorf("after logout: %v %+v", err, m)
		}
		pcWaitNoSubscribers(t, e, topic)
	})
	goleak.VerifyNone(t, ignore,
		goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*defaultPolicy[...]).processItems"),
		goleak.IgnoreAnyFunction("github.com/dgraph-io/ristretto/v2.(*Cache[...]).processItems"),
	)
}

func pcWaitNoSubscribers(t *testing.T, e *graphtest.Env, topic string) {
	t.Helper()
	b, ok := e.App.Bus.(interface{ Subscribers(string) int })
	if !ok {
		return
	}
	for deadline := time.Now().Add(5 * time.Second); b.Subscribers(topic) > 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("topic %s: %d subscribers left", topic, b.Subscribers(topic))
		}
	}
}
