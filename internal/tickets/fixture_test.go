package tickets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"image/color"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/db"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/testenv"
	"github.com/kaowu/kaowu/internal/testenv/teststore"
	"github.com/kaowu/kaowu/internal/tickets"
	"github.com/kaowu/kaowu/internal/viewer"
)

var cst = time.FixedZone("CST", 8*3600)

type clock = testenv.Clock

// eachBackend runs fn on SQLite and PostgreSQL, each with blobs on local
// disk and on MinIO.
func eachBackend(t *testing.T, fn func(t *testing.T, client *ent.Client, store storage.Store)) {
	teststore.EachBackend(t, func(t *testing.T, d *db.DB, st storage.Store) { fn(t, d.Client(), st) })
}

// world is one exam session with a seated, paid candidate and accounts of every role.
type world struct {
	t      *testing.T
	client *ent.Client
	store  storage.Store
	clock  *clock
	svc    *tickets.Service
	sys    context.Context
	u      string // unique suffix: several worlds share a database

	site, site2, company, dept, trainer *ent.Organization
	cand, other                         *ent.User
	companyU, siteU, site2U, proctor    *ent.User
	admin, reviewer, trainerU           *ent.User
	subj                                *ent.Subject
	plan                                *ent.ExamPlan
	sess                                *ent.ExamSession
	enr                                 *ent.Enrollment // approved, paid, seated, with ticket number
	idNumber, ticketNo                  string
}

// idSeq keeps ID numbers of worlds in one database distinct.
var idSeq atomic.Int64

var examStart = time.Date(2026, 5, 15, 9, 0, 0, 0, cst)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newWorld(t *testing.T, client *ent.Client, store storage.Store) *world {
	t.Helper()
	sys := viewer.SystemContext(context.Background())
	w := &world{t: t, client: client, store: store, sys: sys, u: randHex(4)}
	w.clock = testenv.NewClock(time.Date(2026, 5, 9, 12, 0, 0, 0, cst))
	w.svc = &tickets.Service{Client: client, Store: store, Now: w.clock.Now}

	org := func(kind organization.Kind, name, addr string) *ent.Organization {
		return client.Organization.Create().SetKind(kind).SetName(name + w.u).SetAddress(addr).SaveX(sys)
	}
	w.site = org(organization.KindEXAM_SITE, "南山考点", "深圳市南山区珺赟路88号")
	w.site2 = org(organization.KindEXAM_SITE, "福田考点", "深圳市福田区")
	w.company = org(organization.KindCOMPANY, "深圳市安建工程有限公司", "")
	w.dept = org(organization.KindDEPARTMENT, "安全监管处", "")
	w.trainer = org(organization.KindTRAINING_ORG, "安培培训中心", "")

	seq := int(idSeq.Add(1) % 999)
	w.idNumber = idcard.Generate("440304", time.Date(1990, 5, 17, 0, 0, 0, 0, time.UTC), seq)
	w.cand = client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(w.idNumber).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(w.idNumber).SetName("李堃喆").SetPhone("13800138000").SetPasswordHash("x").SetOrganizationID(w.company.ID).SaveX(sys)
	otherID := idcard.Generate("440304", time.Date(1991, 6, 1, 0, 0, 0, 0, time.UTC), seq)
	w.other = client.User.Create().SetRole(user.RoleCANDIDATE).SetLogin(otherID).SetIDType(user.IDTypeRESIDENT_ID).
		SetIDNumber(otherID).SetName("王五").SetPasswordHash("x").SaveX(sys)
	staff := func(role user.Role, o *ent.Organization) *ent.User {
		c := client.User.Create().SetRole(role).SetLogin(string(role) + w.u + randHex(2)).SetName(string(role)).SetPasswordHash("x")
		if o != nil {
			c.SetOrganizationID(o.ID)
		}
		return c.SaveX(sys)
	}
	w.companyU = staff(user.RoleCOMPANY, w.company)
	w.siteU = staff(user.RoleEXAM_SITE, w.site)
	w.site2U = staff(user.RoleEXAM_SITE, w.site2)
	w.proctor = staff(user.RolePROCTOR, w.site)
	w.admin = staff(user.RoleADMIN, nil)
	w.reviewer = staff(user.RoleREVIEWER, w.dept)
	w.trainerU = staff(user.RoleTRAINING_ORG, w.trainer)

	client.Profile.Create().SetUserID(w.cand.ID).SetCandidateType(profile.CandidateTypeSOCIAL).SetSex(profile.SexMALE).
		SetBirthDate(time.Date(1990, 5, 17, 0, 0, 0, 0, cst)).SetCompanyName(w.company.Name).SetEducation(profile.EducationBACHELOR).
		SetEthnicity("汉族").SetAddress("深圳市南山区科技园珺赟路1号").SetPostCode("518000").SetYearsInTrade(8).SaveX(sys)

	room := client.Room.Create().SetSiteID(w.site.ID).SetName("第一考场").SetLocation("3楼301").SetCapacity(40).SaveX(sys)
	w.subj = client.Subject.Create().SetCode("C1" + w.u).SetName("建筑施工企业专职安全生产管理人员（C1）").SetCategory("C1").SetFeeCents(6000).SaveX(sys)
	reg := client.Region.Create().SetCode(w.u).SetName("深圳市" + w.u).SaveX(sys)
	w.plan = client.ExamPlan.Create().SetName("2026年第二批安全生产考试").SetRegionID(reg.ID).
		SetEnrollStartsAt(examStart.AddDate(0, -1, 0)).SetEnrollEndsAt(examStart.AddDate(0, 0, -10)).
		SetExamFrom(examStart).SetExamTo(examStart.AddDate(0, 0, 2)).SaveX(sys)
	w.sess = client.ExamSession.Create().SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).SetRoomID(room.ID).SetSiteID(w.site.ID).
		SetStartsAt(examStart).SetDurationMinutes(90).SetCapacity(40).SaveX(sys)

	w.ticketNo = "KW" + strings.ToUpper(w.u) + "0001"
	submitted := examStart.AddDate(0, 0, -20)
	w.enr = client.Enrollment.Create().SetCandidateID(w.cand.ID).SetPlanID(w.plan.ID).SetSubjectID(w.subj.ID).
		SetSessionID(w.sess.ID).SetSiteID(w.site.ID).SetCompanyID(w.company.ID).SetSource(enrollment.SourceCOMPANY).
		SetStatus(enrollment.StatusAPPROVED).SetPledgeAcceptedAt(submitted).SetSubmittedAt(submitted).
		SetReviewedAt(submitted.Add(24 * time.Hour)).SetReviewerID(w.reviewer.ID).SetReviewDepartmentID(w.dept.ID).
		SetFeeCents(6000).SetPaymentStatus(enrollment.PaymentStatusPAID).SetPaidAt(submitted.Add(48 * time.Hour)).
		SetTicketNo(w.ticketNo).SaveX(sys)
	return w
}

// as returns a context for the user.
func (w *world) as(u *ent.User) context.Context {
	v := &viewer.Viewer{UserID: u.ID, Role: viewer.Role(u.Role)}
	if u.OrganizationID != nil && u.Role != user.RoleCANDIDATE {
		v.OrgID = *u.OrganizationID
	}
	return viewer.NewContext(context.Background(), v)
}

// redJPEG is a solid red picture, easy to find on a rendered page.
func redJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	return testenv.JPEG(t, w, h, color.RGBA{220, 0, 0, 255})
}

// addPhoto stores an ID photo for the candidate.
func (w *world) addPhoto(data []byte, contentType string) {
	w.t.Helper()
	key := "attachments/" + w.u + "/id-photo-" + randHex(4)
	info, err := w.store.Put(context.Background(), key, bytes.NewReader(data), int64(len(data)), contentType)
	if err != nil {
		w.t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	w.client.Attachment.Create().SetOwnerID(w.cand.ID).SetKind(attachment.KindID_PHOTO).SetBlobKey(key).
		SetContentType(contentType).SetSize(info.Size).SetSha256(hex.EncodeToString(sum[:])).SaveX(w.sys)
}
