package proctor

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/evidence"
	"github.com/kaowu/kaowu/internal/jobs"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// maxTokenLen bounds tokens read from clients (auth.NewToken makes 43).
const maxTokenLen = 128

// ownAttempt loads the caller's own attempt (a CANDIDATE's), IN_PROGRESS.
func (s *Service) ownAttempt(ctx context.Context, id int) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有考生本人可以进行此操作", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	a, err := s.attempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.CandidateID != v.UserID {
		return nil, apperr.New(apperr.Forbidden, "这不是您的考试")
	}
	if a.Status != attempt.StatusIN_PROGRESS {
		return nil, errEnded()
	}
	return a, nil
}

// NewPairing issues the QR code for pairing the phone with the caller's
// attempt: a random single-use token, valid PairTTL, stored only as its
// hash. A new pairing replaces an unused earlier one.
func (s *Service) NewPairing(ctx context.Context, attemptID int) (token string, expiresAt time.Time, qrPayload string, err error) {
	a, err := s.ownAttempt(ctx, attemptID)
	if err != nil {
		return "", time.Time{}, "", err
	}
	tok, hash := auth.NewToken()
	now := s.now()
	expiresAt = now.Add(PairTTL)
	n, err := s.db(ctx).Attempt.Update().
		Where(attempt.ID(a.ID), attempt.StatusEQ(attempt.StatusIN_PROGRESS)).
		SetPairTokenHash(hash).SetPairTokenExpiresAt(expiresAt).SetUpdatedAt(now).
		Save(viewer.SystemContext(ctx))
	if err != nil {
		return "", time.Time{}, "", err
	}
	if n == 0 {
		return "", time.Time{}, "", errEnded()
	}
	return tok, expiresAt, strings.TrimRight(s.BaseURL, "/") + "/#/phone?t=" + url.QueryEscape(tok), nil
}

func errBadPairing() error {
	return apperr.New(apperr.Unauthenticated, "二维码无效或已过期，请在电脑上重新生成二维码")
}

// Pair exchanges a pairing token, once, for the phone's own token, which
// authenticates the phone page from then on (AuthenticatePhone). No login
// is needed: holding the fresh token is the proof. Pairing again replaces
// the previous phone (its token stops working).
func (s *Service) Pair(ctx context.Context, token string) (phoneToken string, a *ent.Attempt, err error) {
	if token == "" || len(token) > maxTokenLen {
		return "", nil, errBadPairing()
	}
	hash := auth.HashToken(token)
	now := s.now()
	sys := viewer.SystemContext(ctx)
	cur, err := s.db(ctx).Attempt.Query().Where(attempt.PairTokenHash(hash)).Only(sys)
	if ent.IsNotFound(err) {
		return "", nil, errBadPairing()
	} else if err != nil {
		return "", nil, err
	}
	if cur.Status != attempt.StatusIN_PROGRESS {
		return "", nil, errEnded()
	}
	phoneToken, phoneHash := auth.NewToken()
	err = txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		// Consumes the token: of two concurrent exchanges only one matches.
		n, err := s.db(ctx).Attempt.Update().Where(
			attempt.ID(cur.ID), attempt.PairTokenHash(hash), attempt.PairTokenExpiresAtGT(now),
			attempt.StatusEQ(attempt.StatusIN_PROGRESS),
		).ClearPairTokenHash().ClearPairTokenExpiresAt().SetPhoneTokenHash(phoneHash).
			SetPhoneState(attempt.PhoneStateCONNECTED).SetPhoneLastSeenAt(now).SetUpdatedAt(now).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return errBadPairing()
		}
		if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", cur.ID), evidence.KindPhoneBack, nil, now,
			map[string]any{"event": "PAIRED"}); err != nil {
			return err
		}
		if err := s.scheduleCheck(ctx, cur.ID, now); err != nil {
			return err
		}
		s.publish(ctx, EventPhoneConnected, now, map[string]any{"attemptID": cur.ID},
			SessionTopic(cur.SessionID), AttemptTopic(cur.ID))
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	a, err = s.attempt(ctx, cur.ID)
	if err != nil {
		return "", nil, err
	}
	return phoneToken, a, nil
}

func errBadPhone() error {
	return apperr.New(apperr.Unauthenticated, "手机端连接已失效，请在电脑上重新扫码配对")
}

// AuthenticatePhone returns the attempt a phone token belongs to.
func (s *Service) AuthenticatePhone(ctx context.Context, phoneToken string) (int, error) {
	a, err := s.phoneAttempt(ctx, phoneToken)
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

func (s *Service) phoneAttempt(ctx context.Context, phoneToken string) (*ent.Attempt, error) {
	if phoneToken == "" || len(phoneToken) > maxTokenLen {
		return nil, errBadPhone()
	}
	a, err := s.db(ctx).Attempt.Query().Where(attempt.PhoneTokenHash(auth.HashToken(phoneToken))).
		Only(viewer.SystemContext(ctx))
	if ent.IsNotFound(err) {
		return nil, errBadPhone()
	}
	return a, err
}

// phoneCheck is the payload of a JobPhoneCheck job.
type phoneCheck struct {
	AttemptID int `json:"attemptID"`
}

// scheduleCheck (re)arms the lost-phone check PhoneTimeout after seen.
func (s *Service) scheduleCheck(ctx context.Context, attemptID int, seen time.Time) error {
	return jobs.Schedule(ctx, s.Client, JobPhoneCheck, fmt.Sprintf("attempt:%d", attemptID),
		seen.Add(PhoneTimeout), phoneCheck{AttemptID: attemptID})
}

// Heartbeat records that the phone is alive. A phone that had been LOST is
// CONNECTED again (PHONE_BACK evidence and event).
func (s *Service) Heartbeat(ctx context.Context, phoneToken string) error {
	a, err := s.phoneAttempt(ctx, phoneToken)
	if err != nil {
		return err
	}
	if a.Status != attempt.StatusIN_PROGRESS {
		return errEnded()
	}
	now := s.now()
	sys := viewer.SystemContext(ctx)
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		c := s.db(ctx)
		// Back from LOST: conditional, so one heartbeat reports the return.
		back, err := c.Attempt.Update().Where(attempt.ID(a.ID), attempt.StatusEQ(attempt.StatusIN_PROGRESS),
			attempt.PhoneTokenHash(auth.HashToken(phoneToken)), attempt.PhoneStateEQ(attempt.PhoneStateLOST)).
			SetPhoneState(attempt.PhoneStateCONNECTED).SetPhoneLastSeenAt(now).SetUpdatedAt(now).Save(sys)
		if err != nil {
			return err
		}
		if back == 0 {
			n, err := c.Attempt.Update().Where(attempt.ID(a.ID), attempt.StatusEQ(attempt.StatusIN_PROGRESS),
				attempt.PhoneTokenHash(auth.HashToken(phoneToken))).
				SetPhoneLastSeenAt(now).SetUpdatedAt(now).Save(sys)
			if err != nil {
				return err
			}
			if n == 0 {
				return errEnded()
			}
		} else {
			if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", a.ID), evidence.KindPhoneBack, nil, now,
				map[string]any{"event": "BACK"}); err != nil {
				return err
			}
			s.publish(ctx, EventPhoneBack, now, map[string]any{"attemptID": a.ID}, SessionTopic(a.SessionID), AttemptTopic(a.ID))
		}
		return s.scheduleCheck(ctx, a.ID, now)
	})
}

// PhoneCheckHandler is the JobPhoneCheck handler: a CONNECTED phone of an
// IN_PROGRESS attempt unseen for PhoneTimeout becomes LOST (PHONE_LOST
// evidence and event). Idempotent: the change is one conditional UPDATE.
func (s *Service) PhoneCheckHandler() jobs.Handler {
	return func(ctx context.Context, j *ent.Job) error {
		var p phoneCheck
		if err := jobs.Decode(j, &p); err != nil {
			return err
		}
		sys := viewer.SystemContext(ctx)
		now := s.now()
		return txn.WithTx(sys, s.Client, func(ctx context.Context) error {
			n, err := s.db(ctx).Attempt.Update().Where(attempt.ID(p.AttemptID),
				attempt.StatusEQ(attempt.StatusIN_PROGRESS), attempt.PhoneStateEQ(attempt.PhoneStateCONNECTED),
				attempt.PhoneLastSeenAtLTE(now.Add(-PhoneTimeout)),
			).SetPhoneState(attempt.PhoneStateLOST).SetUpdatedAt(now).Save(ctx)
			if err != nil || n == 0 {
				return err
			}
			a, err := s.db(ctx).Attempt.Get(ctx, p.AttemptID)
			if err != nil {
				return err
			}
			payload := map[string]any{"lastSeenAt": a.PhoneLastSeenAt.UTC().Format(time.RFC3339Nano)}
			if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", a.ID), evidence.KindPhoneLost, nil, now, payload); err != nil {
				return err
			}
			s.publish(ctx, EventPhoneLost, now, map[string]any{"attemptID": a.ID}, SessionTopic(a.SessionID), AttemptTopic(a.ID))
			return nil
		})
	}
}

// EndPhone is the phone page closing its side. Before the PC has submitted
// it is an event in itself (PHONE_ENDED evidence and event); the phone token
// stops working either way. After the submission it only logs the phone out.
func (s *Service) EndPhone(ctx context.Context, phoneToken string) error {
	a, err := s.phoneAttempt(ctx, phoneToken)
	if err != nil {
		return err
	}
	now := s.now()
	sys := viewer.SystemContext(ctx)
	return txn.WithTx(ctx, s.Client, func(ctx context.Context) error {
		n, err := s.db(ctx).Attempt.Update().Where(attempt.ID(a.ID), attempt.PhoneTokenHash(auth.HashToken(phoneToken))).
			ClearPhoneTokenHash().SetPhoneState(attempt.PhoneStateNONE).SetUpdatedAt(now).Save(sys)
		if err != nil {
			return err
		}
		if n == 0 {
			return errBadPhone()
		}
		if a.Status != attempt.StatusIN_PROGRESS {
			return nil
		}
		if _, err := jobs.Cancel(ctx, s.Client, JobPhoneCheck, fmt.Sprintf("attempt:%d", a.ID)); err != nil {
			return err
		}
		if _, err := evidence.Append(ctx, s.Client, evidence.Chain("attempt", a.ID), KindPhoneEnded, nil, now,
			map[string]any{"phoneState": string(a.PhoneState)}); err != nil {
			return err
		}
		s.publish(ctx, EventPhoneEnded, now, map[string]any{"attemptID": a.ID}, SessionTopic(a.SessionID), AttemptTopic(a.ID))
		return nil
	})
}

// Follow loads the calling candidate's own attempt, whatever its status,
// for their event feed (attemptEvents). Anyone else's is NOT_FOUND.
func (s *Service) Follow(ctx context.Context, attemptID int) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有考生本人可以订阅本场考试的消息", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	a, err := s.db(ctx).Attempt.Get(viewer.SystemContext(ctx), attemptID)
	if ent.IsNotFound(err) || (err == nil && a.CandidateID != v.UserID) {
		return nil, &apperr.Error{Code: apperr.NotFound, Message: "考试记录不存在", Field: "attemptID"}
	}
	return a, err
}
