package scoring

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/internal/apperr"
)

// count counts one request against key in a fixed window and refuses it
// once more than limit fall in the current window. The counter is a
// LoginThrottle row (failures = requests in the window, last_failure_at =
// the window's start), changed by one upsert — no read-then-write, so
// parallel requests on any replica each see the others — and committed at
// once, outside any caller transaction, so a refused request still counts.
// ctx is a system context.
func (s *Service) count(ctx context.Context, key string, limit int, window time.Duration) error {
	// UTC: SQLite compares stored times as text.
	now := s.now().UTC()
	cutoff := now.Add(-window)
	err := s.Client.LoginThrottle.Create().SetKey(key).SetFailures(1).SetLastFailureAt(now).
		OnConflict(entsql.ConflictColumns(loginthrottle.FieldKey), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			f, l := u.Table().C(loginthrottle.FieldFailures), u.Table().C(loginthrottle.FieldLastFailureAt)
			// Both SET expressions read the old row: a window that has ended
			// starts again at 1, now.
			u.Set(loginthrottle.FieldFailures, entsql.ExprFunc(func(b *entsql.Builder) {
				b.WriteString("CASE WHEN " + l + " <= ").Arg(cutoff).WriteString(" THEN 1 ELSE " + f + " + 1 END")
			}))
			u.Set(loginthrottle.FieldLastFailureAt, entsql.ExprFunc(func(b *entsql.Builder) {
				b.WriteString("CASE WHEN " + l + " <= ").Arg(cutoff).WriteString(" THEN ").Arg(now).WriteString(" ELSE " + l + " END")
			}))
		})).Exec(ctx)
	if err != nil {
		return err
	}
	t, err := s.Client.LoginThrottle.Query().Where(loginthrottle.Key(key)).Only(ctx)
	if err != nil {
		return err
	}
	// Now and then, drop the lookup counters of windows long over.
	if rand.IntN(64) == 0 {
		_, _ = s.Client.LoginThrottle.Delete().
			Where(loginthrottle.KeyHasPrefix("lookup:"), loginthrottle.LastFailureAtLT(now.Add(-2*LookupIDWindow))).Exec(ctx)
	}
	if t.Failures <= limit {
		return nil
	}
	retry := int(math.Ceil(t.LastFailureAt.Add(window).Sub(now).Seconds()))
	if retry < 1 {
		retry = 1
	}
	return apperr.Newf(apperr.TooManyRequests, "查询过于频繁，请%d秒后再试", retry).With("retryAfterSeconds", retry)
}
