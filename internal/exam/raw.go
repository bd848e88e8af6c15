package exam

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"entgo.io/ent/dialect"
)

// rawUpsert is the statement the Saver issues per row (its multi-row form),
// keeping only a newer seq.
const rawUpsert = `INSERT INTO attempt_answers (attempt_id, question_id, response, seq, saved_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (attempt_id, question_id) DO UPDATE SET response = excluded.response, seq = excluded.seq, saved_at = excluded.saved_at
WHERE attempt_answers.seq < excluded.seq`

// RawUpsert is the engine figure answer saves are compared with
// (cmd/kaowu-bench): one answer row upserted in a transaction of its own,
// straight on database/sql, with no checks. response is the answer's JSON.
func RawUpsert(ctx context.Context, db *sql.DB, dialectName string, attemptID, questionID int, response []byte, seq int64, at time.Time) error {
	q := rawUpsert
	if dialectName == dialect.SQLite {
		for _, n := range []string{"$1", "$2", "$3", "$4", "$5"} {
			q = strings.Replace(q, n, "?", 1)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q, attemptID, questionID, string(response), seq, at); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
