package scoring

import (
	"context"
	"time"

	"github.com/kaowu/kaowu/internal/ratelimit"
)

// count counts one public lookup against key (see internal/ratelimit):
// counters live under "lookup:" and are dropped two ID windows after use.
// ctx is a system context.
func (s *Service) count(ctx context.Context, key string, limit int, window time.Duration) error {
	c := ratelimit.Counter{Client: s.Client, Prefix: "lookup:", KeepFor: 2 * LookupIDWindow, Now: s.now}
	return c.Count(ctx, key, limit, window)
}
