package proctor

import (
	"context"
	"sync"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/attempt"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// attemptRefs remembers who owns an attempt in progress and where it is
// sat: facts that never change once it starts. A PC uploads a snapshot
// every 20–60 s for the whole paper; each would otherwise load the attempt
// again. Whether it is still in progress is not remembered: the guard
// checks that inside the upload's transaction, and forget drops an ended one.
type attemptRefs struct {
	mu sync.Mutex
	m  map[int]*ent.Attempt
}

// lazyInit guards the lazy creation of Service.refs and Service.snaps (a
// Service is a plain struct literal, copied by value in places).
var lazyInit sync.Mutex

func (s *Service) refCache() *attemptRefs {
	lazyInit.Lock()
	defer lazyInit.Unlock()
	if s.refs == nil {
		s.refs = &attemptRefs{}
	}
	return s.refs
}

// maxRefs bounds the cache; beyond it an arbitrary entry is dropped.
const maxRefs = 8192

func (r *attemptRefs) get(id int) *ent.Attempt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.m[id]
}

func (r *attemptRefs) put(a *ent.Attempt) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[int]*ent.Attempt)
	}
	if len(r.m) >= maxRefs {
		for k := range r.m {
			delete(r.m, k)
			break
		}
	}
	// Only the immutable facts: a stale status must never be read from here.
	r.m[a.ID] = &ent.Attempt{ID: a.ID, CandidateID: a.CandidateID, SessionID: a.SessionID, SiteID: a.SiteID}
}

func (r *attemptRefs) forget(id int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
}

// ownAttemptRef is ownAttempt for the PC upload path: the caller's own
// attempt, from the cache after the first upload. The returned attempt
// holds only ID, CandidateID, SessionID and SiteID.
func (s *Service) ownAttemptRef(ctx context.Context, id int) (*ent.Attempt, error) {
	v, err := authz.Require(ctx, "只有考生本人可以进行此操作", viewer.Candidate)
	if err != nil {
		return nil, err
	}
	if a := s.refCache().get(id); a != nil {
		if a.CandidateID != v.UserID {
			return nil, apperr.New(apperr.Forbidden, "这不是您的考试")
		}
		return a, nil
	}
	a, err := s.ownAttempt(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Status == attempt.StatusIN_PROGRESS {
		s.refCache().put(a)
	}
	return a, nil
}
