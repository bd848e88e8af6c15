package checkin

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attachment"
	"github.com/kaowu/kaowu/ent/enrollment"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/idcard"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Roster is a session's list of seated candidates with their check-in state.
type Roster struct {
	Session   *ent.ExamSession
	Entries   []RosterEntry
	Total     int
	CheckedIn int
}

// RosterEntry is one candidate of a roster. It carries what the site and
// its proctors need to recognise a person (name, masked ID number, ticket
// number, live photo) and nothing more: they cannot read the candidate's
// account or profile rows themselves.
type RosterEntry struct {
	Enrollment     *ent.Enrollment
	CandidateName  string
	MaskedIDNumber string
	TicketNo       string
	PaymentStatus  enrollment.PaymentStatus
	CheckIn        *ent.CheckIn // nil until checked in
	// LivePhotoURL is a short-lived signed URL of the live photo ("" when not
	// checked in or when the service has no Profiles to sign with).
	LivePhotoURL    string
	LivePhotoExpiry time.Time
}

// Roster lists the APPROVED enrollments seated in a session, by ticket
// number, with their check-in state. EXAM_SITE operators and PROCTORs of the
// session's site, REVIEWERs and ADMINs may read it.
//
// A service rather than a GraphQL query over enrollments: the site and its
// proctors may read the enrollments (privacy filters them by site_id) and
// check-ins, but not the candidates' User rows, so names and masked ID
// numbers must be read here after the caller is allowed.
func (s *Service) Roster(ctx context.Context, sessionID int) (*Roster, error) {
	sess, err := s.watcher(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	sys := viewer.SystemContext(ctx)
	list, err := s.db(ctx).Enrollment.Query().
		Where(enrollment.SessionID(sessionID), enrollment.StatusEQ(enrollment.StatusAPPROVED)).
		WithCandidate().WithCheckIn().
		Order(ent.Asc(enrollment.FieldTicketNo), ent.Asc(enrollment.FieldID)).All(sys)
	if err != nil {
		return nil, err
	}
	photos := map[int]*ent.Attachment{}
	if s.Profiles != nil {
		var ids []int
		for _, e := range list {
			if ci := e.Edges.CheckIn; ci != nil {
				ids = append(ids, ci.LivePhotoID)
			}
		}
		if len(ids) > 0 {
			all, err := s.db(ctx).Attachment.Query().Where(attachment.IDIn(ids...)).All(sys)
			if err != nil {
				return nil, err
			}
			for _, a := range all {
				photos[a.ID] = a
			}
		}
	}
	r := &Roster{Session: sess, Total: len(list), Entries: make([]RosterEntry, 0, len(list))}
	for _, e := range list {
		en := RosterEntry{Enrollment: e, PaymentStatus: e.PaymentStatus, CheckIn: e.Edges.CheckIn}
		if c := e.Edges.Candidate; c != nil {
			en.CandidateName = c.Name
			if c.IDNumber != nil {
				en.MaskedIDNumber = idcard.Mask(*c.IDNumber)
			}
		}
		if e.TicketNo != nil {
			en.TicketNo = *e.TicketNo
		}
		if en.CheckIn != nil {
			r.CheckedIn++
			if a := photos[en.CheckIn.LivePhotoID]; a != nil {
				en.LivePhotoURL, en.LivePhotoExpiry = s.Profiles.SignedURL(a)
			}
		}
		r.Entries = append(r.Entries, en)
	}
	return r, nil
}

// watcher checks that the viewer may follow a session's check-ins: an
// EXAM_SITE operator or PROCTOR of its site, a REVIEWER or an ADMIN.
func (s *Service) watcher(ctx context.Context, sessionID int) (*ent.ExamSession, error) {
	v, err := authz.Require(ctx, "您的账号不能查看考场名单", viewer.ExamSite, viewer.Proctor, viewer.Reviewer, viewer.Admin)
	if err != nil {
		return nil, err
	}
	if sessionID <= 0 {
		return nil, apperr.Input("sessionID", "请选择考试场次")
	}
	sess, err := s.db(ctx).ExamSession.Get(ctx, sessionID)
	if ent.IsNotFound(err) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "考试场次不存在", Field: "sessionID"}
	} else if err != nil {
		return nil, err
	}
	if v.Is(viewer.ExamSite, viewer.Proctor) && sess.SiteID != v.OrgID {
		return nil, apperr.New(apperr.Forbidden, "只能查看本考点的考场名单")
	}
	return sess, nil
}

// CheckedInEvent is a check-in as a subscriber hears of it.
type CheckedInEvent struct {
	SessionID    int
	EnrollmentID int
	CheckInID    int
	At           time.Time
}

// Subscribe delivers the session's check-ins as they commit, to those who
// may read its roster, until ctx is done. Delivery is at-most-once (see
// internal/events): a dashboard fetches Roster when it (re)subscribes and
// treats events as updates to it.
func (s *Service) Subscribe(ctx context.Context, sessionID int) (<-chan CheckedInEvent, error) {
	if _, err := s.watcher(ctx, sessionID); err != nil {
		return nil, err
	}
	if s.Bus == nil {
		return nil, errors.New("checkin: no event bus")
	}
	src, err := s.Bus.Subscribe(ctx, SessionTopic(sessionID))
	if err != nil {
		return nil, err
	}
	out := make(chan CheckedInEvent)
	go func() {
		defer close(out)
		for ev := range src { // closed when ctx is done or the bus closes
			if ev.Type != EventCheckedIn {
				continue // the session topic also carries the exam's own events
			}
			var p struct {
				ID        int `json:"id"`
				CheckInID int `json:"checkInID"`
			}
			if json.Unmarshal(ev.Payload, &p) != nil {
				continue
			}
			select {
			case out <- CheckedInEvent{SessionID: sessionID, EnrollmentID: p.ID, CheckInID: p.CheckInID, At: ev.At}:
			case <-ctx.Done():
				// Drain so the bus's forwarder is never stuck on us.
				for range src {
				}
				return
			}
		}
	}()
	return out, nil
}
