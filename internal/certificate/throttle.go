package certificate

import (
	"context"
	"math"
	"math/rand/v2"
	"time"

	entsql "entgo.io/ent/dialect/sql"

	"github.com/kaowu/kaowu/ent/loginthrottle"
	"github.com/kaowu/kaowu/internal/apperr"
)

// Rate limits of the public entry points, counted in the database
// (LoginThrottle rows under "certlookup:"), so every replica shares them.
const (
	LookupPerIP     = 10 // name + ID number lookups per address
	LookupIPWindow  = time.Minute
	LookupPerID     = 20 // lookups of one ID number, from any address
	LookupIDWindow  = time.Hour
	NumberPerIP     = 30 // lookups by certificate number per address
	NumberIPWindow  = time.Minute
	VerifyPerIP     = 60 // online verifications per address
	VerifyIPWindow  = time.Minute
	throttlePrefix  = "certlookup:"
	throttleKeepFor = 2 * LookupIDWindow
)

// count counts one request against key in a fixed window and refuses it
// once more than limit fall in the window (the approach of
// internal/scoring's throttle): one upsert — no read-then-write, so
// parallel requests on any replica see each other — committed at once,
// outside any caller transaction, so refused requests count too. ctx is a
// system context.
func (s *Service) count(ctx context.Context, key string, limit int, window time.Duration) error {
	key = throttlePrefix + key
	// UTC: SQLite compares stored times as text.
	now := s.now().UTC()
	cutoff := now.Add(-window)
	err := s.Client.LoginThrottle.Create().SetKey(key).SetFailures(1).SetLastFailureAt(now).
		OnConflict(entsql.ConflictColumns(loginthrottle.FieldKey), entsql.ResolveWith(func(u *entsql.UpdateSet) {
			f, l := u.Table().C(loginthrottle.FieldFailures), u.Table().C(loginthrottle.FieldLastFailureAt)
			// Both expressions read the old row: an ended window restarts at 1, now.
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
	// Now and then, drop counters of windows long over.
	if rand.IntN(64) == 0 {
		_, _ = s.Client.LoginThrottle.Delete().
			Where(loginthrottle.KeyHasPrefix(throttlePrefix), loginthrottle.LastFailureAtLT(now.Add(-throttleKeepFor))).Exec(ctx)
	}
	if t.Failures <= limit {
		return nil
	}
	retry := max(1, int(math.Ceil(t.LastFailureAt.Add(window).Sub(now).Seconds())))
	return apperr.Newf(apperr.TooManyRequests, "查询过于频繁，请%d秒后再试", retry).With("retryAfterSeconds", retry)
}
