// Package training records the training candidates receive at training
// institutions (DOMAIN.md step 3): hours and results entered by the
// institution, then approved or rejected by that same institution.
// Non-social candidates need RequiredHours approved hours before they can
// submit, and sit the category of their training.
package training

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/organization"
	"github.com/kaowu/kaowu/ent/profile"
	"github.com/kaowu/kaowu/ent/schematype"
	"github.com/kaowu/kaowu/ent/trainingrecord"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/notify"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// RequiredHours is what a non-social candidate must have approved before
// submitting (001: "需要满32学时的学习").
const RequiredHours = 32

// Bounds of one record. Hours come in half-hour steps (学时 are whole or
// half periods); a day of training counts at most MaxHoursPerDay.
const (
	MaxHoursPerRecord = 200
	MaxHoursPerDay    = 12
	hourStep          = 0.5
	maxReasonRunes    = 500
)

// earliestTraining is the first date a record may start: older dates are
// typing mistakes, not training.
var earliestTraining = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// chinaTZ gives training dates their calendar day; China has no DST.
var chinaTZ = time.FixedZone("CST", 8*3600)

// Notification kinds sent by this package.
const (
	KindApproved = "TRAINING_APPROVED"
	KindRejected = "TRAINING_REJECTED"
)

// Service implements training records.
type Service struct {
	Client   *ent.Client
	Notifier *notify.Notifier
	// Now is the clock (future-date checks, review times); time.Now when nil.
	Now func() time.Time
}

func (s *Service) db(ctx context.Context) *ent.Client { return txn.Client(ctx, s.Client) }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// RecordInput is a training record as the institution enters it.
type RecordInput struct {
	// CandidateIDNumber is the candidate's document number (their login).
	CandidateIDNumber string
	// CandidateName, when given, must match the account: a typing mistake in
	// the number then cannot credit hours to a stranger.
	CandidateName string
	Details
}

// Details are the editable fields of a record.
type Details struct {
	Category   schematype.ExamCategory
	Hours      float64
	StartedOn  time.Time  // first day of training (date)
	FinishedOn *time.Time // last day, when finished
	Result     *trainingrecord.Result
	Score      *int // 0–100
}

// Record enters a training record for a candidate found by document number.
// Only TRAINING_ORG accounts record, always for their own institution; the
// record waits (PENDING) for the institution's review.
func (s *Service) Record(ctx context.Context, in RecordInput) (*ent.TrainingRecord, error) {
	v, err := authz.Require(ctx, "只有培训机构可以录入培训记录", viewer.TrainingOrg)
	if err != nil {
		return nil, err
	}
	d, err := s.validate(in.Details)
	if err != nil {
		return nil, err
	}
	var out *ent.TrainingRecord
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		if err := s.ownInstitution(ctx, v); err != nil {
			return err
		}
		cand, err := s.findCandidate(ctx, in.CandidateIDNumber, in.CandidateName)
		if err != nil {
			return err
		}
		db := s.db(ctx)
		// The same training entered twice would count twice.
		dup, err := db.TrainingRecord.Query().Where(
			trainingrecord.CandidateID(cand.ID), trainingrecord.TrainingOrgID(v.OrgID),
			trainingrecord.CategoryEQ(d.Category), trainingrecord.StartedOn(d.StartedOn),
			trainingrecord.StatusNEQ(trainingrecord.StatusREJECTED),
		).Exist(ctx)
		if err != nil {
			return err
		}
		if dup {
			return apperr.New(apperr.Conflict, "该考生同一日期开始的此类别培训记录已存在，请勿重复录入")
		}
		out, err = db.TrainingRecord.Create().
			SetCandidateID(cand.ID).SetTrainingOrgID(v.OrgID).
			SetCategory(d.Category).SetHours(d.Hours).SetStartedOn(d.StartedOn).SetNillableFinishedOn(d.FinishedOn).
			SetNillableResult(d.Result).SetNillableScore(d.Score).
			Save(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Update replaces the details of a PENDING record of the viewer's
// institution. Reviewed records are final.
func (s *Service) Update(ctx context.Context, id int, in Details) (*ent.TrainingRecord, error) {
	if _, err := authz.Require(ctx, "只有培训机构可以修改培训记录", viewer.TrainingOrg); err != nil {
		return nil, err
	}
	d, err := s.validate(in)
	if err != nil {
		return nil, err
	}
	var out *ent.TrainingRecord
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		rec, err := s.get(ctx, id)
		if err != nil {
			return err
		}
		if rec.Status != trainingrecord.StatusPENDING {
			return apperr.New(apperr.Conflict, "培训记录已审核，不能再修改")
		}
		db := s.db(ctx)
		dup, err := db.TrainingRecord.Query().Where(
			trainingrecord.IDNEQ(id), trainingrecord.CandidateID(rec.CandidateID), trainingrecord.TrainingOrgID(rec.TrainingOrgID),
			trainingrecord.CategoryEQ(d.Category), trainingrecord.StartedOn(d.StartedOn),
			trainingrecord.StatusNEQ(trainingrecord.StatusREJECTED),
		).Exist(ctx)
		if err != nil {
			return err
		}
		if dup {
			return apperr.New(apperr.Conflict, "该考生同一日期开始的此类别培训记录已存在，请勿重复录入")
		}
		upd := db.TrainingRecord.Update().
			Where(trainingrecord.ID(id), trainingrecord.StatusEQ(trainingrecord.StatusPENDING)).
			SetCategory(d.Category).SetHours(d.Hours).SetStartedOn(d.StartedOn)
		if d.FinishedOn != nil {
			upd.SetFinishedOn(*d.FinishedOn)
		} else {
			upd.ClearFinishedOn()
		}
		if d.Result != nil {
			upd.SetResult(*d.Result)
		} else {
			upd.ClearResult()
		}
		if d.Score != nil {
			upd.SetScore(*d.Score)
		} else {
			upd.ClearScore()
		}
		// Conditional on PENDING: a review racing this edit wins or loses whole.
		n, err := upd.Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "培训记录已审核，不能再修改")
		}
		out, err = db.TrainingRecord.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Review approves or rejects a PENDING record of the viewer's institution
// (a reason is required to reject) and tells the candidate. Approving
// moves a non-social candidate's profile to the category of their latest
// approved training.
func (s *Service) Review(ctx context.Context, id int, approve bool, reason string) (*ent.TrainingRecord, error) {
	v, err := authz.Require(ctx, "只有培训机构可以审核培训记录", viewer.TrainingOrg)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return nil, apperr.Input("reason", "驳回时必须填写原因")
	}
	if utf8.RuneCountInString(reason) > maxReasonRunes {
		return nil, apperr.Input("reason", fmt.Sprintf("原因不能超过%d个字", maxReasonRunes))
	}
	if hasControl(reason) {
		return nil, apperr.Input("reason", "原因含有不可见字符")
	}
	var out *ent.TrainingRecord
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		rec, err := s.get(ctx, id)
		if err != nil {
			return err
		}
		if rec.Status != trainingrecord.StatusPENDING {
			return apperr.New(apperr.Conflict, "该培训记录已审核，无需重复审核")
		}
		status := trainingrecord.StatusAPPROVED
		if !approve {
			status = trainingrecord.StatusREJECTED
		}
		db := s.db(ctx)
		n, err := db.TrainingRecord.Update().
			Where(trainingrecord.ID(id), trainingrecord.StatusEQ(trainingrecord.StatusPENDING)).
			SetStatus(status).SetReviewReason(reason).SetReviewedByID(v.UserID).SetReviewedAt(s.now()).
			Save(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return apperr.New(apperr.Conflict, "该培训记录已审核，无需重复审核")
		}
		if approve {
			if err := s.syncCategory(ctx, rec.CandidateID); err != nil {
				return err
			}
		}
		if s.Notifier != nil {
			title := "培训记录已审核通过"
			body := fmt.Sprintf("您的%s类培训记录（%s 学时）已审核通过。", rec.Category, FormatHours(rec.Hours))
			kind := KindApproved
			if !approve {
				title, kind = "培训记录未通过审核", KindRejected
				body = fmt.Sprintf("您的%s类培训记录（%s 学时）未通过审核。驳回原因：%s", rec.Category, FormatHours(rec.Hours), reason)
			}
			if err := s.Notifier.Notify(ctx, rec.CandidateID, kind, title, body); err != nil {
				return err
			}
		}
		out, err = db.TrainingRecord.Get(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// syncCategory sets a non-social candidate's profile category to the one
// their training now gives (the profile follows the training, never the
// other way round).
func (s *Service) syncCategory(ctx context.Context, candidateID int) error {
	sum, err := ApprovedOf(ctx, s.db(ctx), []int{candidateID})
	if err != nil {
		return err
	}
	cat := sum[candidateID].Category
	if cat == nil {
		return nil
	}
	sys := viewer.SystemContext(ctx)
	_, err = s.db(ctx).Profile.Update().
		Where(profile.UserID(candidateID), profile.CandidateTypeEQ(profile.CandidateTypeNON_SOCIAL)).
		SetCategory(*cat).Save(sys)
	return err
}

// ApprovedHours returns a candidate's approved study hours and the category
// of their latest approved training (nil when none). Hours count in that
// category only: 20 hours of A and 20 of C1 do not make 32 hours for C1.
// The candidate themself, reviewers, admins and training institutions may
// ask.
func (s *Service) ApprovedHours(ctx context.Context, candidateID int) (float64, *schematype.ExamCategory, error) {
	v, err := authz.Require(ctx, "无权查看该考生的学时")
	if err != nil && !viewer.IsSystem(ctx) {
		return 0, nil, err
	}
	if !viewer.IsSystem(ctx) && v.UserID != candidateID && !v.Is(viewer.Admin, viewer.Reviewer, viewer.TrainingOrg) {
		return 0, nil, apperr.New(apperr.Forbidden, "无权查看该考生的学时")
	}
	sum, err := ApprovedOf(ctx, s.db(ctx), []int{candidateID})
	if err != nil {
		return 0, nil, err
	}
	h := sum[candidateID]
	return h.Hours, h.Category, nil
}

// Summary is a candidate's approved training.
type Summary struct {
	// Category is that of the latest approved training (by start date),
	// nil when nothing is approved.
	Category *schematype.ExamCategory
	// Hours are the approved hours in Category.
	Hours float64
	// TotalHours are the approved hours in every category.
	TotalHours float64
}

// Enough reports whether the summary meets RequiredHours.
func (s Summary) Enough() bool { return s.Category != nil && s.Hours >= RequiredHours }

// ApprovedOf summarises the approved training of several candidates in one
// query. It reads as the system: callers decide who may know (the profile
// service for completeness, ApprovedHours above).
func ApprovedOf(ctx context.Context, client *ent.Client, candidateIDs []int) (map[int]Summary, error) {
	out := make(map[int]Summary, len(candidateIDs))
	if len(candidateIDs) == 0 {
		return out, nil
	}
	recs, err := client.TrainingRecord.Query().
		Where(trainingrecord.CandidateIDIn(candidateIDs...), trainingrecord.StatusEQ(trainingrecord.StatusAPPROVED)).
		Select(trainingrecord.FieldCandidateID, trainingrecord.FieldCategory, trainingrecord.FieldHours, trainingrecord.FieldStartedOn).
		All(viewer.SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	latest := map[int]*ent.TrainingRecord{}
	for _, r := range recs {
		l := latest[r.CandidateID]
		if l == nil || later(r, l) {
			latest[r.CandidateID] = r
		}
	}
	for _, r := range recs {
		sm := out[r.CandidateID]
		sm.TotalHours += r.Hours
		if l := latest[r.CandidateID]; r.Category == l.Category {
			sm.Hours += r.Hours
			c := l.Category
			sm.Category = &c
		}
		out[r.CandidateID] = sm
	}
	return out, nil
}

// later orders approved records: by start date, then by id (entry order).
func later(a, b *ent.TrainingRecord) bool {
	var as, bs time.Time
	if a.StartedOn != nil {
		as = *a.StartedOn
	}
	if b.StartedOn != nil {
		bs = *b.StartedOn
	}
	if !as.Equal(bs) {
		return as.After(bs)
	}
	return a.ID > b.ID
}

// FormatHours prints hours without a trailing ".0": 12, 31.5.
func FormatHours(h float64) string { return strconv.FormatFloat(h, 'f', -1, 64) }

// ---------------------------------------------------------------- helpers

// get loads a record as the viewer: privacy narrows TRAINING_ORG to its own
// institution, so another institution's record is NOT_FOUND.
func (s *Service) get(ctx context.Context, id int) (*ent.TrainingRecord, error) {
	rec, err := s.db(ctx).TrainingRecord.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "培训记录不存在").With("field", "id")
	}
	return rec, err
}

// ownInstitution checks that the viewer's organisation is a training
// institution (a misconfigured account must not record hours).
func (s *Service) ownInstitution(ctx context.Context, v *viewer.Viewer) error {
	if v.OrgID == 0 {
		return apperr.New(apperr.Forbidden, "该账号未关联培训机构")
	}
	ok, err := s.db(ctx).Organization.Query().
		Where(organization.ID(v.OrgID), organization.KindEQ(organization.KindTRAINING_ORG)).
		Exist(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if !ok {
		return apperr.New(apperr.Forbidden, "该账号未关联培训机构")
	}
	return nil
}

// findCandidate finds the candidate account by document number. Staff and
// company accounts answer like unknown numbers.
func (s *Service) findCandidate(ctx context.Context, number, name string) (*ent.User, error) {
	const field = "candidateIdNumber"
	logins := normalizedNumbers(number)
	if len(logins) == 0 {
		return nil, apperr.Input(field, "证件号码格式不正确")
	}
	u, err := s.db(ctx).User.Query().
		Where(user.LoginIn(logins...), user.RoleEQ(user.RoleCANDIDATE)).
		Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, apperr.Input(field, "未找到该证件号码的考生，请确认考生已注册")
	} else if err != nil {
		return nil, err
	}
	if name = strings.TrimSpace(name); name != "" && name != u.Name {
		return nil, apperr.Input("candidateName", "考生姓名与证件号码不符")
	}
	if u.Status != user.StatusACTIVE {
		return nil, apperr.Input(field, "该考生账号不可用")
	}
	return u, nil
}

// normalizedNumbers returns the number as each document type would store it
// (candidates log in with the normalised number).
func normalizedNumbers(number string) []string {
	var out []string
	for _, t := range idcard.AllDocTypes() {
		if n, err := idcard.ValidateDocument(t, number); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// validate checks details and returns them with dates reduced to the day.
func (s *Service) validate(d Details) (Details, error) {
	if !slices.Contains(schematype.ExamCategory("").Values(), string(d.Category)) {
		return d, apperr.Input("category", "请选择培训类别（A、B、C1 或 C2）")
	}
	switch h := d.Hours; {
	case math.IsNaN(h) || math.IsInf(h, 0) || h <= 0:
		return d, apperr.Input("hours", "学时必须大于0")
	case h > MaxHoursPerRecord:
		return d, apperr.Input("hours", fmt.Sprintf("一条培训记录不能超过%d学时", MaxHoursPerRecord))
	case math.Mod(h, hourStep) != 0:
		return d, apperr.Input("hours", "学时以0.5为单位")
	}
	today := day(s.now())
	if d.StartedOn.IsZero() {
		return d, apperr.Input("startedOn", "请填写培训开始日期")
	}
	d.StartedOn = day(d.StartedOn)
	if d.StartedOn.Before(earliestTraining) {
		return d, apperr.Input("startedOn", "培训开始日期不正确")
	}
	if d.StartedOn.After(today) {
		return d, apperr.Input("startedOn", "培训开始日期不能晚于今天")
	}
	end := today // an unfinished training can only have run until today
	if d.FinishedOn != nil {
		f := day(*d.FinishedOn)
		if f.After(today) {
			return d, apperr.Input("finishedOn", "培训结束日期不能晚于今天")
		}
		if f.Before(d.StartedOn) {
			return d, apperr.Input("finishedOn", "培训结束日期不能早于开始日期")
		}
		d.FinishedOn, end = &f, f
	}
	days := int(end.Sub(d.StartedOn).Hours()/24) + 1
	if d.Hours > float64(days*MaxHoursPerDay) {
		return d, apperr.Input("hours", fmt.Sprintf("%d天的培训最多%d学时", days, days*MaxHoursPerDay))
	}
	if d.Result != nil && trainingrecord.ResultValidator(*d.Result) != nil {
		return d, apperr.Input("result", "培训结果只能是合格或不合格")
	}
	if d.Score != nil && (*d.Score < 0 || *d.Score > 100) {
		return d, apperr.Input("score", "成绩应在0到100之间")
	}
	return d, nil
}

// day is the calendar day of t in China, as midnight UTC (the convention of
// idcard birth dates), so dates compare and store the same on every server.
func day(t time.Time) time.Time {
	y, m, d := t.In(chinaTZ).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' || r == 0x7f {
			return true
		}
	}
	return false
}
