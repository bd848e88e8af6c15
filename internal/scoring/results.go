package scoring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/ent/subject"
	"github.com/kaowu/kaowu/ent/user"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Result is one formal exam result as shown to its candidate and by the
// public lookup.
type Result struct {
	AttemptID      int
	SubjectID      int
	SubjectCode    string
	SubjectName    string
	ExamDate       time.Time // the session's start
	Score          *int      // objective (theory) score
	PassMark       int
	PracticalScore *int
	HasPractical   bool
	Result         attempt.Result
	ReviewedAt     *time.Time
}

// LookupResult is the public answer for one matching person: their name,
// the masked ID number, and their formal results.
type LookupResult struct {
	Name     string
	MaskedID string
	Results  []Result
}

// Rate limits of the public lookup. Counted in the database (LoginThrottle
// rows), so that every replica shares them.
const (
	LookupPerIP       = 10
	LookupIPWindow    = time.Minute
	LookupPerID       = 20
	LookupIDWindow    = time.Hour
	lookupKeyPrefixIP = "ip:"
	lookupKeyPrefixID = "id:"
)

// MyResults lists the caller's (a CANDIDATE's) formal results, newest exam
// first: submitted formal attempts only (mock papers are practice).
func (s *Service) MyResults(ctx context.Context) ([]Result, error) {
	v, err := authz.Require(ctx, "只有考生可以查看本人成绩", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	return s.results(viewer.SystemContext(ctx), v.UserID)
}

// results reads userID's formal results; ctx is a system context (the caller
// decided userID's results may be shown).
func (s *Service) results(ctx context.Context, userIDs ...int) ([]Result, error) {
	atts, err := s.Client.Attempt.Query().
		Where(attempt.CandidateIDIn(userIDs...), attempt.KindEQ(attempt.KindFORMAL),
			attempt.StatusEQ(attempt.StatusSUBMITTED), attempt.ResultNotNil()).
		Order(attempt.ByID(entsql.OrderDesc())).All(ctx)
	if err != nil || len(atts) == 0 {
		return nil, err
	}
	var enrIDs, sessIDs []int
	for _, a := range atts {
		enrIDs = append(enrIDs, a.EnrollmentID)
		sessIDs = append(sessIDs, a.SessionID)
	}
	enrs, err := s.Client.Enrollment.Query().Where(enrollment.IDIn(enrIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	subjOf := map[int]int{}
	var subjIDs []int
	for _, e := range enrs {
		subjOf[e.ID] = e.SubjectID
		subjIDs = append(subjIDs, e.SubjectID)
	}
	subjs, err := s.Client.Subject.Query().Where(subject.IDIn(subjIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	subjByID := map[int]*ent.Subject{}
	for _, sj := range subjs {
		subjByID[sj.ID] = sj
	}
	sess, err := s.Client.ExamSession.Query().Where(examsession.IDIn(sessIDs...)).All(ctx)
	if err != nil {
		return nil, err
	}
	startOf := map[int]time.Time{}
	for _, se := range sess {
		startOf[se.ID] = se.StartsAt
	}
	out := make([]Result, 0, len(atts))
	for _, a := range atts {
		r := Result{
			AttemptID: a.ID, ExamDate: startOf[a.SessionID], Score: a.Score, PassMark: a.PassMark,
			PracticalScore: a.PracticalScore, Result: *a.Result, ReviewedAt: a.ReviewedAt,
		}
		if sj := subjByID[subjOf[a.EnrollmentID]]; sj != nil {
			r.SubjectID, r.SubjectCode, r.SubjectName, r.HasPractical = sj.ID, sj.Code, sj.Name, sj.HasPractical
		}
		out = append(out, r)
	}
	return out, nil
}

// Lookup is the public result lookup (no login needed). It is rate-limited
// per client address (LookupPerIP per LookupIPWindow) and per ID number
// (LookupPerID per LookupIDWindow, against many addresses probing one
// person), counted before anything is matched; over the limit it answers
// TOO_MANY_REQUESTS with retryAfterSeconds. It answers only when the name
// and the ID number both match a candidate account, and gives the same
// empty list for an unknown ID number, a wrong name, or a person without
// results, so it cannot be used to probe which ID numbers exist. The ID
// number in the answer is masked.
func (s *Service) Lookup(ctx context.Context, name, idNumber string) ([]LookupResult, error) {
	sys := viewer.SystemContext(ctx)
	ip := viewer.RequestFrom(ctx).IP
	if ip == "" {
		ip = "-"
	}
	if err := s.count(sys, lookupKeyPrefixIP+ip, LookupPerIP, LookupIPWindow); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 128 {
		return nil, apperr.Input("name", "请输入姓名")
	}
	forms := idForms(idNumber)
	if len(forms) == 0 {
		return nil, apperr.Input("idNumber", "证件号码格式不正确")
	}
	sum := sha256.Sum256([]byte(forms[0]))
	if err := s.count(sys, lookupKeyPrefixID+hex.EncodeToString(sum[:16]), LookupPerID, LookupIDWindow); err != nil {
		return nil, err
	}
	users, err := s.Client.User.Query().
		Where(user.RoleEQ(user.RoleCANDIDATE), user.IDNumberIn(forms...), user.Name(name)).All(sys)
	if err != nil {
		return nil, err
	}
	out := []LookupResult{}
	for _, u := range users {
		rs, err := s.results(sys, u.ID)
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			continue
		}
		out = append(out, LookupResult{Name: u.Name, MaskedID: idcard.Mask(*u.IDNumber), Results: rs})
	}
	return out, nil
}

// idForms normalises an ID number the way accounts store it: a valid
// resident ID, else every other document type it is valid for.
func idForms(s string) []string {
	if r, err := idcard.Parse(s); err == nil {
		return []string{r.Number}
	}
	var out []string
	for _, t := range idcard.AllDocTypes() {
		if t == idcard.ResidentID {
			continue
		}
		if n, err := idcard.ValidateDocument(t, s); err == nil && !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
