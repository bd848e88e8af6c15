// Package checkin identifies candidates at the exam site (实名认证, DOMAIN.md
// step 11): the operator reads the ID card (number, name, photo), the
// system matches it against the session's roster, a live photo is taken and
// stored, and the candidate is checked in. Proctor dashboards hear of it on
// the session's event topic.
package checkin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/media"
	"github.com/kaowu/kaowu/internal/profile"
	"github.com/kaowu/kaowu/internal/storage"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Service checks candidates in.
type Service struct {
	Client *ent.Client
	Store  storage.Store
	Bus    events.Bus
	Now    func() time.Time // server clock; time.Now when nil
	// Limits bound the photos (media.DefaultLimits when zero): they are
	// checked by content and normalised (upright, no EXIF, within size).
	Limits media.Limits
	// Profiles signs download URLs of live photos for Roster; optional.
	Profiles *profile.Service
	Log      *slog.Logger
}

// The check-in window of a session, around its start time.
const (
	OpensBefore = 60 * time.Minute // check-in opens an hour before the start
	ClosesAfter = 30 * time.Minute // and closes 30 minutes after it (no entry later)
)

// EventCheckedIn is published on SessionTopic after a check-in commits, with
// payload {"id": enrollmentID, "checkInID": checkInID}.
const EventCheckedIn = "CHECKED_IN"

// SessionTopic is the event topic of one exam session (proctor dashboards).
func SessionTopic(sessionID int) string { return "session:" + strconv.Itoa(sessionID) }

// minPhotoSide is the smallest side of a usable photo, in pixels.
const minPhotoSide = 100

// cleanupTimeout bounds removing the blobs of a check-in that did not commit.
const cleanupTimeout = 30 * time.Second

var chinaTZ = time.FixedZone("CST", 8*3600)

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

// Input is what the check-in desk sends: the ID card reader's data and the
// live photo taken there.
type Input struct {
	SessionID      int
	ReaderIDNumber string // as read from the card
	ReaderName     string // as read from the card
	ReaderPhoto    []byte // the card's photo; optional (not every reader gives it)
	LivePhoto      []byte // required: JPEG or PNG
}

// inputErr is BAD_USER_INPUT on field, keeping cause for the logs.
func inputErr(cause error, field, msg string) *apperr.Error {
	e := apperr.Wrap(cause, apperr.BadInput, msg)
	e.Field = field
	return e
}

// refuse is a check-in refusal; extensions.reason says which rule.
func refuse(code apperr.Code, reason, msg string) *apperr.Error {
	return apperr.New(code, msg).With("reason", reason)
}

// Window returns when check-in for a session starting at start opens and closes.
func Window(start time.Time) (opens, closes time.Time) {
	return start.Add(-OpensBefore), start.Add(ClosesAfter)
}

// CheckIn matches the reader's data against the session's roster and, when
// everything agrees, stores the photos and checks the candidate in. Only an
// EXAM_SITE operator of the session's site may do it, within Window of the
// session's start. Refusals carry extensions.reason:
//
//	NOT_FOUND  NOT_ON_ROSTER       该考生不在本场考试名单中
//	BAD_INPUT  NAME_MISMATCH       姓名与报名信息不一致 (field readerName)
//	FORBIDDEN  NOT_APPROVED, NOT_PAID, SESSION_CANCELLED, SESSION_CLOSED,
//	           NOT_OPEN_YET, WINDOW_CLOSED
//	CONFLICT   ALREADY_CHECKED_IN  (extensions.checkedInAt)
//
// A refused call writes nothing (no row, no blob, no event).
func (s *Service) CheckIn(ctx context.Context, in Input) (*ent.CheckIn, error) {
	v, err := authz.Require(ctx, "只有考点工作人员可以办理考生签到", viewer.ExamSite)
	if err != nil {
		return nil, err
	}
	if v.OrgID == 0 {
		return nil, apperr.New(apperr.Forbidden, "您的账号未关联考点，不能办理签到")
	}
	if in.SessionID <= 0 {
		return nil, apperr.Input("sessionID", "请选择考试场次")
	}
	number, err := readerNumber(in.ReaderIDNumber)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.ReaderName)
	if name == "" {
		return nil, apperr.Input("readerName", "读卡信息缺少姓名")
	}
	if utf8.RuneCountInString(name) > 64 {
		return nil, apperr.Input("readerName", "姓名不能超过64个字")
	}
	if len(in.LivePhoto) == 0 {
		return nil, apperr.Input("livePhoto", "请拍摄考生现场照片")
	}
	live, err := s.photo(ctx, "livePhoto", "现场照片", in.LivePhoto)
	if err != nil {
		return nil, err
	}
	var reader *media.File
	if len(in.ReaderPhoto) > 0 {
		if reader, err = s.photo(ctx, "readerPhoto", "证件照片", in.ReaderPhoto); err != nil {
			return nil, err
		}
	}

	sess, err := s.db(ctx).ExamSession.Get(ctx, in.SessionID)
	if ent.IsNotFound(err) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "考试场次不存在", Field: "sessionID"}
	} else if err != nil {
		return nil, err
	}
	if sess.SiteID != v.OrgID {
		return nil, apperr.New(apperr.Forbidden, "只能为本考点的考试场次办理签到")
	}
	now := s.now()
	if err := checkSession(sess, now); err != nil {
		return nil, err
	}
	// The operator may check people in for this session: from here the
	// roster (candidates' ID numbers, which the site cannot query itself) is
	// read as system work.
	sys := viewer.SystemContext(ctx)
	e, err := s.match(sys, sess.ID, number, name)
	if err != nil {
		return nil, err
	}

	// Blobs go in before the transaction (a slow upload must not hold a
	// database write lock) and are removed again if it does not commit.
	var keys []string
	remove := func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		for _, k := range keys {
			if err := s.Store.Delete(cctx, k); err != nil {
				s.log().WarnContext(cctx, "check-in photo left behind", "key", k, "err", err)
			}
		}
	}
	put := func(kind string, f *media.File) (storage.ObjectInfo, error) {
		key := fmt.Sprintf("checkins/%d/%d/%s-%s.%s", sess.ID, e.ID, kind, randomHex(8), f.Kind.Ext())
		info, err := s.Store.Put(ctx, key, bytes.NewReader(f.Data), int64(len(f.Data)), f.Kind.ContentType())
		if err == nil {
			keys = append(keys, key)
		}
		return info, err
	}
	liveInfo, err := put("live", live)
	var readerInfo storage.ObjectInfo
	if err == nil && reader != nil {
		readerInfo, err = put("reader", reader)
	}
	if err != nil {
		remove()
		return nil, fmt.Errorf("checkin: store photo: %w", err)
	}

	var ci *ent.CheckIn
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		sys := viewer.SystemContext(ctx)
		c := s.db(ctx)
		// Conditional on everything matched above, so a concurrent check-in
		// (or a cancellation) between the read and now cannot slip through.
		n, err := c.Enrollment.Update().Where(
			enrollment.ID(e.ID), enrollment.SessionID(sess.ID), enrollment.CheckedInAtIsNil(),
			enrollment.StatusEQ(enrollment.StatusAPPROVED), enrollment.PaymentStatusEQ(enrollment.PaymentStatusPAID),
		).SetCheckedInAt(now).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			cur, err := c.Enrollment.Get(sys, e.ID)
			if err != nil {
				return err
			}
			if err := eligible(cur); err != nil {
				return err
			}
			return apperr.New(apperr.Conflict, "该考生的报名信息刚刚发生变化，请重新读卡")
		}
		la, err := c.Attachment.Create().SetOwnerID(e.CandidateID).SetKind(attachment.KindCHECKIN_LIVE_PHOTO).
			SetBlobKey(keys[0]).SetContentType(liveInfo.ContentType).SetSize(liveInfo.Size).SetSha256(liveInfo.SHA256).
			SetFileName("live." + live.Kind.Ext()).SetWidth(live.Width).SetHeight(live.Height).
			SetUploadedByID(v.UserID).SetCreatedAt(now).Save(sys)
		if err != nil {
			return err
		}
		create := c.CheckIn.Create().SetEnrollmentID(e.ID).SetSessionID(sess.ID).SetSiteID(sess.SiteID).
			SetOperatorID(v.UserID).SetReaderName(name).SetLivePhotoID(la.ID).SetCheckedInAt(now)
		if reader != nil {
			ra, err := c.Attachment.Create().SetOwnerID(e.CandidateID).SetKind(attachment.KindCHECKIN_READER_PHOTO).
				SetBlobKey(keys[1]).SetContentType(readerInfo.ContentType).SetSize(readerInfo.Size).SetSha256(readerInfo.SHA256).
				SetFileName("reader." + reader.Kind.Ext()).SetWidth(reader.Width).SetHeight(reader.Height).
				SetUploadedByID(v.UserID).SetCreatedAt(now).Save(sys)
			if err != nil {
				return err
			}
			create.SetReaderPhotoID(ra.ID)
		}
		if ci, err = create.Save(sys); err != nil {
			if ent.IsConstraintError(err) { // the unique enrollment_id, should the update ever be bypassed
				return apperr.Wrap(err, apperr.Conflict, "该考生已签到，无需重复签到").With("reason", "ALREADY_CHECKED_IN")
			}
			return err
		}
		payload, _ := json.Marshal(map[string]int{"id": e.ID, "checkInID": ci.ID})
		txn.AfterCommit(ctx, func() {
			if s.Bus == nil {
				return
			}
			// Best effort, after the response's data is durable: a dashboard
			// that misses it refetches the roster when it resubscribes.
			if err := s.Bus.Publish(context.Background(), events.Event{
				Topic: SessionTopic(sess.ID), Type: EventCheckedIn, Payload: payload, At: now,
			}); err != nil {
				s.log().Warn("check-in event not published", "session", sess.ID, "err", err)
			}
		})
		return nil
	})
	if err != nil {
		remove()
		return nil, err
	}
	// Inside a caller's transaction (a GraphQL mutation) the rows are only
	// final at its commit: remove the blobs if it rolls back instead.
	txn.AfterRollback(ctx, remove)
	return ci, nil
}

// readerNumber normalises and validates the number read from the card. ID
// card readers read resident ID cards (and the residence permits that share
// their format) and the 2023 foreign permanent resident card.
func readerNumber(raw string) (string, error) {
	r, err := idcard.Parse(raw)
	if err == nil {
		return r.Number, nil
	}
	if n, ferr := idcard.ValidateDocument(idcard.ForeignPermanentResident, raw); ferr == nil {
		return n, nil
	}
	return "", inputErr(err, "readerIDNumber", "读卡证件号码无效："+err.Error())
}

// photo checks a photo by its content (JPEG or PNG, not too many pixels,
// decodes in full) and normalises it (upright, no EXIF, within the limits).
func (s *Service) photo(ctx context.Context, field, label string, data []byte) (*media.File, error) {
	f, err := media.Prepare(ctx, bytes.NewReader(data), s.Limits)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Code == apperr.BadInput {
			return nil, inputErr(err, field, label+"："+e.Message)
		}
		return nil, err
	}
	if !f.Kind.IsImage() {
		return nil, apperr.Input(field, label+"须为 jpg 或 png 图片")
	}
	if f.Width < minPhotoSide || f.Height < minPhotoSide {
		return nil, apperr.Input(field, fmt.Sprintf("%s过小（%d×%d），请重新拍摄", label, f.Width, f.Height))
	}
	return f, nil
}

// checkSession refuses sessions that are not open for check-in at now.
func checkSession(sess *ent.ExamSession, now time.Time) error {
	switch sess.Status {
	case examsession.StatusCANCELLED:
		return refuse(apperr.Forbidden, "SESSION_CANCELLED", "该场考试已取消，不能签到")
	case examsession.StatusCLOSED:
		return refuse(apperr.Forbidden, "SESSION_CLOSED", "该场考试已结束，不能签到")
	}
	opens, closes := Window(sess.StartsAt)
	hours := fmt.Sprintf("本场考试 %s 开始，签到时间为 %s 至 %s",
		sess.StartsAt.In(chinaTZ).Format("2006-01-02 15:04"), opens.In(chinaTZ).Format("15:04"), closes.In(chinaTZ).Format("15:04"))
	var e *apperr.Error
	switch {
	case now.Before(opens):
		e = refuse(apperr.Forbidden, "NOT_OPEN_YET", "签到尚未开始："+hours)
	case now.After(closes):
		e = refuse(apperr.Forbidden, "WINDOW_CLOSED", "签到已结束："+hours)
	default:
		return nil
	}
	return e.With("opensAt", opens.In(chinaTZ).Format(time.RFC3339)).With("closesAt", closes.In(chinaTZ).Format(time.RFC3339))
}

// match finds the candidate's enrollment in the session and checks that it
// may be checked in. Runs as system work (see CheckIn).
func (s *Service) match(sys context.Context, sessionID int, number, name string) (*ent.Enrollment, error) {
	list, err := s.db(sys).Enrollment.Query().
		Where(enrollment.SessionID(sessionID), enrollment.HasCandidateWith(user.IDNumber(number))).
		WithCandidate().Order(ent.Asc(enrollment.FieldID)).All(sys)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, refuse(apperr.NotFound, "NOT_ON_ROSTER", "该考生不在本场考试名单中")
	}
	// One candidate may have an old cancelled enrollment beside the live
	// one: judge the most advanced.
	best := list[0]
	for _, e := range list[1:] {
		if rank(e) > rank(best) {
			best = e
		}
	}
	if !sameName(best.Edges.Candidate.Name, name) {
		e := refuse(apperr.BadInput, "NAME_MISMATCH", "姓名与报名信息不一致")
		e.Field = "readerName"
		return nil, e
	}
	if err := eligible(best); err != nil {
		return nil, err
	}
	return best, nil
}

func rank(e *ent.Enrollment) int {
	r := 0
	if e.Status == enrollment.StatusAPPROVED {
		r += 2
	}
	if e.PaymentStatus == enrollment.PaymentStatusPAID {
		r++
	}
	return r
}

// eligible checks the enrollment's own state.
func eligible(e *ent.Enrollment) error {
	switch {
	case e.Status == enrollment.StatusCANCELLED:
		return refuse(apperr.Forbidden, "NOT_APPROVED", "该考生的本场报名已取消，不能签到")
	case e.Status != enrollment.StatusAPPROVED:
		return refuse(apperr.Forbidden, "NOT_APPROVED", "该考生的报名未通过审核，不能签到")
	case e.PaymentStatus != enrollment.PaymentStatusPAID:
		return refuse(apperr.Forbidden, "NOT_PAID", "该考生尚未缴费，不能签到")
	case e.CheckedInAt != nil:
		at := e.CheckedInAt.In(chinaTZ)
		return refuse(apperr.Conflict, "ALREADY_CHECKED_IN", "该考生已于 "+at.Format("15:04:05")+" 签到，无需重复签到").
			With("checkedInAt", at.Format(time.RFC3339))
	}
	return nil
}

// sameName compares names as printed on a card and as registered: spaces
// and letter case do not count, full-width letters equal half-width ones,
// and the middle dots of transliterated names (·・•‧.) are one character.
func sameName(a, b string) bool { return normName(a) == normName(b) }

func normName(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			continue
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		}
		switch r {
		case '.', '·', '・', '•', '‧', '∙', '･':
			r = '·'
		}
		sb.WriteRune(unicode.ToUpper(r))
	}
	return sb.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
