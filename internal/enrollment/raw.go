package enrollment

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"github.com/kaowu/kaowu/internal/seats"
)

// RawSeat is the enrollment row RawSeatTx writes.
type RawSeat struct {
	SessionID, SiteID, CandidateID, PlanID, SubjectID, FeeCents int
	At                                                          time.Time
}

// RawSeatTx is the seat transaction of Enroll written directly against
// database/sql — no ent, privacy, audit, validation or notification:
//
//	BEGIN
//	UPDATE exam_sessions SET taken = taken + 1 WHERE id = ? AND status IN ('SCHEDULED','OPEN') AND taken < capacity
//	INSERT INTO enrollments (…) VALUES (…) RETURNING id
//	COMMIT
//
// It is the database engine's own figure for what Enroll does, for
// benchmarks and load tools to print beside Enroll's. dialectName is
// dialect.Postgres or dialect.SQLite (db.DB.Dialect). A full session returns
// seats.ErrFull and writes nothing.
func RawSeatTx(ctx context.Context, db *sql.DB, dialectName string, r RawSeat) (int, error) {
	ph := func(n int) string { return "?" }
	if dialectName == dialect.Postgres {
		ph = func(n int) string { return fmt.Sprintf("$%d", n) }
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	res, err := tx.ExecContext(ctx, "UPDATE exam_sessions SET taken = taken + 1, updated_at = "+ph(1)+
		" WHERE id = "+ph(2)+" AND status IN ('SCHEDULED', 'OPEN') AND taken < capacity", r.At, r.SessionID)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 0 {
		return 0, seats.ErrFull
	}
	cols := []string{"created_at", "updated_at", "candidate_id", "plan_id", "subject_id", "session_id", "site_id",
		"enrolled_by_id", "source", "status", "pledge_accepted_at", "submitted_at", "fee_cents", "payment_status"}
	args := []any{r.At, r.At, r.CandidateID, r.PlanID, r.SubjectID, r.SessionID, r.SiteID,
		r.CandidateID, "SELF", "PENDING_REVIEW", r.At, r.At, r.FeeCents, "UNPAID"}
	marks := make([]string, len(cols))
	for i := range marks {
		marks[i] = ph(i + 1)
	}
	var id int
	err = tx.QueryRowContext(ctx, "INSERT INTO enrollments ("+strings.Join(cols, ", ")+") VALUES ("+
		strings.Join(marks, ", ")+") RETURNING id", args...).Scan(&id)
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}
