// Package tickets renders the candidate's printable documents (DOMAIN.md
// step 8): the admission ticket (准考证), open from five days before the
// exam, and the registration form (报名表), open once an enrollment is
// submitted. Both are PDFs built with internal/pdf and served by Handler.
package tickets

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/pdf"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Service renders admission tickets and registration forms.
type Service struct {
	Client *ent.Client
	Store  storage.Store    // ID photos
	Now    func() time.Time // server clock; time.Now when nil
	Rules  string           // 考生须知 printed on the ticket; DefaultRules when empty
	Log    *slog.Logger     // slog.Default() when nil
	Footer string           // issuer line printed at the bottom; DefaultFooter when empty
}

// OpenDaysBefore is how many days before the exam day the ticket opens.
const OpenDaysBefore = 5

// DefaultFooter is the issuer line printed on every page.
const DefaultFooter = "安全生产考试考务管理系统"

// maxPhotoBytes bounds what is read from the store for a photo.
const maxPhotoBytes = 20 << 20

// ChinaTZ is the time zone dates are printed and ticket windows counted in
// (UTC+8, no daylight saving since 1991).
var ChinaTZ = time.FixedZone("CST", 8*3600)

// OpensAt is when the admission ticket of a session starting at start can be
// printed: 00:00 China time on the day OpenDaysBefore days before the exam
// day (exam on 15 May at 09:00 → from 10 May 00:00).
func OpensAt(start time.Time) time.Time {
	s := start.In(ChinaTZ)
	return time.Date(s.Year(), s.Month(), s.Day()-OpenDaysBefore, 0, 0, 0, 0, ChinaTZ)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

// Errors of the ticket rules. Each carries extensions.reason for clients.
func refuse(reason, msg string) *apperr.Error {
	return apperr.New(apperr.Forbidden, msg).With("reason", reason)
}

// visible loads the enrollment as the viewer and checks the viewer may print
// its documents: the candidate, the company that enrolled them, ADMIN and
// REVIEWER, the exam site where the seat is, and (forms only) the training
// institution that assigned it. Enrollments the viewer cannot see answer
// NOT_FOUND, so their existence does not leak.
func (s *Service) visible(ctx context.Context, id int, form bool) (*ent.Enrollment, error) {
	roles := []viewer.Role{viewer.Candidate, viewer.Company, viewer.Admin, viewer.Reviewer, viewer.ExamSite}
	if form {
		roles = append(roles, viewer.TrainingOrg)
	}
	v, err := authz.Require(ctx, "您的账号不能打印考生的准考证或报名表", roles...)
	if err != nil {
		return nil, err
	}
	if id <= 0 {
		return nil, apperr.Input("enrollmentID", "报名记录编号无效")
	}
	e, err := s.db(ctx).Enrollment.Get(ctx, id) // privacy narrows to the viewer's rows
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "报名记录不存在或无权查看")
	} else if err != nil {
		return nil, err
	}
	// The privacy policy already filtered; this states the rule explicitly so a
	// broader policy later cannot widen who prints documents.
	ok := false
	switch v.Role {
	case viewer.Admin, viewer.Reviewer:
		ok = true
	case viewer.Candidate:
		ok = e.CandidateID == v.UserID
	case viewer.Company:
		ok = e.CompanyID != nil && *e.CompanyID == v.OrgID
	case viewer.ExamSite:
		ok = e.SiteID != nil && *e.SiteID == v.OrgID
	case viewer.TrainingOrg:
		ok = e.TrainingOrgID != nil && *e.TrainingOrgID == v.OrgID
	}
	if !ok {
		return nil, apperr.New(apperr.NotFound, "报名记录不存在或无权查看")
	}
	return e, nil
}

// docData is everything a document shows, loaded after the viewer is allowed.
type docData struct {
	e       *ent.Enrollment
	cand    *ent.User
	prof    *ent.Profile // nil when the candidate has none
	subj    *ent.Subject
	plan    *ent.ExamPlan
	sess    *ent.ExamSession // nil when not seated
	room    *ent.Room
	site    *ent.Organization
	company *ent.Organization
	dept    *ent.Organization
	photo   []byte // latest ID photo, nil when none
}

// load reads the related rows under the system context: the caller may see
// this enrollment's documents, but not, say, the candidate's profile row
// (an exam site) — the document itself is what they are entitled to.
func (s *Service) load(ctx context.Context, e *ent.Enrollment) (*docData, error) {
	sys := viewer.SystemContext(ctx)
	c := s.db(ctx)
	d := &docData{e: e}
	var err error
	if d.cand, err = c.User.Get(sys, e.CandidateID); err != nil {
		return nil, err
	}
	if d.prof, err = c.Profile.Query().Where(profile.UserID(e.CandidateID)).Only(sys); ent.IsNotFound(err) {
		d.prof = nil
	} else if err != nil {
		return nil, err
	}
	if d.subj, err = c.Subject.Get(sys, e.SubjectID); err != nil {
		return nil, err
	}
	if d.plan, err = c.ExamPlan.Get(sys, e.PlanID); err != nil {
		return nil, err
	}
	if e.SessionID != nil {
		if d.sess, err = c.ExamSession.Get(sys, *e.SessionID); err != nil {
			return nil, err
		}
		if d.room, err = c.Room.Get(sys, d.sess.RoomID); err != nil {
			return nil, err
		}
		if d.site, err = c.Organization.Get(sys, d.sess.SiteID); err != nil {
			return nil, err
		}
	}
	if e.CompanyID != nil {
		if d.company, err = c.Organization.Get(sys, *e.CompanyID); err != nil {
			return nil, err
		}
	}
	if e.ReviewDepartmentID != nil {
		if d.dept, err = c.Organization.Get(sys, *e.ReviewDepartmentID); err != nil {
			return nil, err
		}
	}
	if d.photo, err = s.idPhoto(ctx, e.CandidateID); err != nil {
		return nil, err
	}
	return d, nil
}

// idPhoto returns the candidate's latest ID photo, or nil when there is none
// or its blob is gone (the document then shows an empty photo box).
func (s *Service) idPhoto(ctx context.Context, userID int) ([]byte, error) {
	a, err := s.db(ctx).Attachment.Query().
		Where(attachment.OwnerID(userID), attachment.KindEQ(attachment.KindID_PHOTO)).
		Order(ent.Desc(attachment.FieldCreatedAt), ent.Desc(attachment.FieldID)).
		First(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	if s.Store == nil {
		return nil, nil
	}
	rc, _, err := s.Store.Get(ctx, a.BlobKey)
	if errors.Is(err, storage.ErrNotFound) {
		s.log().WarnContext(ctx, "id photo blob missing", "attachment", a.ID)
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("tickets: read id photo: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxPhotoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("tickets: read id photo: %w", err)
	}
	if len(b) > maxPhotoBytes {
		s.log().WarnContext(ctx, "id photo too large for documents", "attachment", a.ID)
		return nil, nil
	}
	return b, nil
}

// printable checks the ticket rules at now; it needs the session loaded.
func printable(e *ent.Enrollment, sess *ent.ExamSession, now time.Time) error {
	switch {
	case e.Status != enrollment.StatusAPPROVED:
		return refuse("NOT_APPROVED", "报名尚未审核通过，不能打印准考证")
	case e.PaymentStatus != enrollment.PaymentStatusPAID:
		return refuse("NOT_PAID", "报名尚未缴费，不能打印准考证")
	case e.SessionID == nil || sess == nil:
		return refuse("NOT_SEATED", "尚未选择考试场次，不能打印准考证")
	case e.TicketNo == nil || *e.TicketNo == "":
		return refuse("NO_TICKET_NUMBER", "准考证号尚未生成，请稍后再试")
	case sess.Status == examsession.StatusCANCELLED:
		return refuse("SESSION_CANCELLED", "该场考试已取消，请重新选择考试场次")
	}
	if opens := OpensAt(sess.StartsAt); now.Before(opens) {
		return refuse("NOT_YET_OPEN", fmt.Sprintf("准考证将于 %s 起开放打印", opens.Format("2006-01-02"))).
			With("opensAt", opens.Format(time.RFC3339))
	}
	return nil
}

// AdmissionTicket renders the admission ticket of an enrollment: APPROVED,
// PAID, seated, with a ticket number, from OpensAt(session start) on.
func (s *Service) AdmissionTicket(ctx context.Context, enrollmentID int) ([]byte, error) {
	e, err := s.visible(ctx, enrollmentID, false)
	if err != nil {
		return nil, err
	}
	var sess *ent.ExamSession
	if e.SessionID != nil {
		if sess, err = s.db(ctx).ExamSession.Get(viewer.SystemContext(ctx), *e.SessionID); err != nil {
			return nil, err
		}
	}
	if err := printable(e, sess, s.now()); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, e)
	if err != nil {
		return nil, err
	}
	return s.renderTicket(d)
}

// RegistrationForm renders the registration form of a submitted enrollment,
// in any state: profile, enrollment details, review and payment status, photo.
func (s *Service) RegistrationForm(ctx context.Context, enrollmentID int) ([]byte, error) {
	e, err := s.visible(ctx, enrollmentID, true)
	if err != nil {
		return nil, err
	}
	d, err := s.load(ctx, e)
	if err != nil {
		return nil, err
	}
	return s.renderForm(d)
}

// photoBox draws the photo, or an empty box when there is none or it is not
// a picture (a PDF upload, say).
func (s *Service) photoBox(doc *pdf.Doc, photo []byte, x, y, w, h float64) {
	if photo != nil {
		err := doc.Image(photo, x, y, w, h)
		if err == nil {
			doc.Rect(x, y, w, h)
			return
		}
		if !errors.Is(err, pdf.ErrUnsupportedImage) {
			s.log().Warn("id photo not drawn", "err", err)
		}
	}
	doc.Placeholder(x, y, w, h, "照片")
}
