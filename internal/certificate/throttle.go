package certificate

import (
	"context"
	"time"

	"github.com/kaowu/kaowu/internal/ratelimit"
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

// count counts one public request against key (see internal/ratelimit).
// ctx is a system context.
func (s *Service) count(ctx context.Context, key string, limit int, window time.Duration) error {
	c := ratelimit.Counter{Client: s.Client, Prefix: throttlePrefix, KeepFor: throttleKeepFor, Now: s.now}
	return c.Count(ctx, key, limit, window)
}
