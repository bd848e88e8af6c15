// Package seats holds and releases exam seats. A seat is taken by one
// conditional UPDATE (taken < capacity) — never read-then-write — so no
// concurrency can oversell a session; the CHECK constraint on exam_sessions
// (0 ≤ taken ≤ capacity) is the last line of defence.
package seats

import (
	"context"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/examsession"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// ErrFull is the refusal when a session has no seat left (DOMAIN.md step 4).
var ErrFull = apperr.New(apperr.Conflict, "该场考试已无剩余座位，请选择其他考试进行报名")

// hasFreeSeat compares two columns: taken < capacity.
func hasFreeSeat() func(*entsql.Selector) {
	return func(s *entsql.Selector) {
		s.Where(entsql.ColumnsLT(s.C(examsession.FieldTaken), s.C(examsession.FieldCapacity)))
	}
}

// Take holds one seat in the session, or returns ErrFull. It runs on the
// client (or transaction) given; inside a transaction the seat is released
// again if the transaction rolls back.
func Take(ctx context.Context, c *ent.Client, sessionID int) error {
	n, err := c.ExamSession.Update().
		Where(examsession.ID(sessionID), examsession.StatusIn(examsession.StatusSCHEDULED, examsession.StatusOPEN), hasFreeSeat()).
		AddTaken(1).Save(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrFull
	}
	return nil
}

// TakeMany holds n seats at once (plan assignment), all or none.
func TakeMany(ctx context.Context, c *ent.Client, sessionID, n int) error {
	if n <= 0 {
		return nil
	}
	got, err := c.ExamSession.Update().
		Where(examsession.ID(sessionID), examsession.StatusIn(examsession.StatusSCHEDULED, examsession.StatusOPEN),
			func(s *entsql.Selector) {
				// P with Arg renders the dialect's placeholder ($n on PostgreSQL).
				s.Where(entsql.P(func(b *entsql.Builder) {
					b.WriteString(s.C(examsession.FieldTaken) + " + ").Arg(n).WriteString(" <= " + s.C(examsession.FieldCapacity))
				}))
			}).
		AddTaken(n).Save(viewer.SystemContext(ctx))
	if err != nil {
		return err
	}
	if got == 0 {
		return ErrFull
	}
	return nil
}

// Release gives a seat back. It never takes taken below zero.
func Release(ctx context.Context, c *ent.Client, sessionID int) error {
	_, err := c.ExamSession.Update().
		Where(examsession.ID(sessionID), examsession.TakenGT(0)).
		AddTaken(-1).Save(viewer.SystemContext(ctx))
	return err
}

// Move gives up the seat in `from` and takes one in `to`. Run it in a
// transaction: if `to` is full the transaction rolls back and the old seat
// is kept (nobody sees it free before commit). The two session rows are
// locked in id order — the lower id first — so two moves in opposite
// directions (A→B, B→A) cannot lock them crosswise and deadlock on PostgreSQL.
func Move(ctx context.Context, c *ent.Client, from, to int) error {
	if from == to {
		return nil
	}
	if to < from {
		if err := Take(ctx, c, to); err != nil {
			return err
		}
		return Release(ctx, c, from)
	}
	if err := Release(ctx, c, from); err != nil {
		return err
	}
	return Take(ctx, c, to)
}
