// Package ratelimit counts requests of the public entry points (result and
// certificate lookups, verification) in fixed windows, in the database, so
// every replica shares the counts.
package ratelimit

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/internal/apperr"
)

// Counter counts under one key prefix. Its rows are LoginThrottle rows
// (failures = requests in the window, last_failure_at = the window's start).
type Counter struct {
	Client *ent.Client
	// Prefix keeps each user's keys apart ("lookup:", "certlookup:").
	Prefix string
	// KeepFor: counters idle this long are dropped now and then (at least
	// the longest window counted with this Counter).
	KeepFor time.Duration
	Now     func() time.Time
}

// Count counts one request against key and refuses it (TOO_MANY_REQUESTS,
// with extensions.retryAfterSeconds) once more than limit fall in the
// current window. One upsert — no read-then-write, so parallel requests on
// any replica each see the others — committed at once, outside any caller
// transaction, so a refused request still counts. ctx is a system context.
func (c *Counter) Count(ctx context.Context, key string, limit int, window time.Duration) error {
	key = c.Prefix + key
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	now = now.UTC() // SQLite compares stored times as text
	cutoff := now.Add(-window)
	err := c.Client.LoginThrottle.Create().SetKey(key).SetFailures(1).SetLastFailureAt(now).
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
	t, err := c.Client.LoginThrottle.Query().Where(loginthrottle.Key(key)).Only(ctx)
	if err != nil {
		return err
	}
	// Now and then, drop the counters of windows long over.
	if c.Prefix != "" && rand.IntN(64) == 0 {
		_, _ = c.Client.LoginThrottle.Delete().
			Where(loginthrottle.KeyHasPrefix(c.Prefix), loginthrottle.LastFailureAtLT(now.Add(-max(c.KeepFor, window)))).Exec(ctx)
	}
	if t.Failures <= limit {
		return nil
	}
	retry := max(1, int(math.Ceil(t.LastFailureAt.Add(window).Sub(now).Seconds())))
	return apperr.Newf(apperr.TooManyRequests, "查询过于频繁，请%d秒后再试", retry).With("retryAfterSeconds", retry)
}
