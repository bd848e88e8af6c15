package auth

import (
	"context"
	"encoding/hex"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/ristretto/v2"

	"github.com/kaowu/kaowu/internal/txn"
)

// DefaultSessionCacheTTL is how long a validated bearer-token session is
// reused without reading it again. Every request on the hot paths (answer
// saves, snapshots, heartbeats) would otherwise spend a statement on it.
// A revocation through this process takes effect at once (the cache is
// invalidated); through another replica, within this time.
const DefaultSessionCacheTTL = 2 * time.Second

// sessionCache holds recently validated sessions by token hash. Entries may
// be dropped or land late (ristretto): a miss costs one query, nothing more.
type sessionCache struct {
	c   *ristretto.Cache[string, cachedSession]
	ttl time.Duration
	// epoch invalidates every entry at once: revocations are rare, and a
	// token-hash key cannot be found from a session or user id.
	epoch atomic.Uint64
}

type cachedSession struct {
	row   sessionRow
	epoch uint64
}

func newSessionCache(ttl time.Duration) *sessionCache {
	if ttl <= 0 {
		return nil
	}
	c, err := ristretto.NewCache(&ristretto.Config[string, cachedSession]{
		NumCounters: 1 << 20, MaxCost: 100_000, BufferItems: 64,
	})
	if err != nil {
		return nil // the cache is an optimisation: run without it
	}
	return &sessionCache{c: c, ttl: ttl}
}

func (sc *sessionCache) get(hash []byte) (sessionRow, bool) {
	if sc == nil {
		return sessionRow{}, false
	}
	e, ok := sc.c.Get(hex.EncodeToString(hash))
	if !ok || e.epoch != sc.epoch.Load() {
		return sessionRow{}, false
	}
	return e.row, true
}

// put stores a row read under epoch (loaded before the read, so a
// revocation during the read leaves the entry already stale).
func (sc *sessionCache) put(hash []byte, row sessionRow, epoch uint64) {
	if sc == nil {
		return
	}
	sc.c.SetWithTTL(hex.EncodeToString(hash), cachedSession{row: row, epoch: epoch}, 1, sc.ttl)
	// Puts happen on misses only (once per session per TTL): waiting for
	// the write makes the next request a hit rather than another read.
	sc.c.Wait()
}

func (sc *sessionCache) current() uint64 {
	if sc == nil {
		return 0
	}
	return sc.epoch.Load()
}

// invalidate drops every cached session now and again when ctx's
// transaction commits, so no request caches the pre-revocation row in
// between.
func (sc *sessionCache) invalidate(ctx context.Context) {
	if sc == nil {
		return
	}
	sc.epoch.Add(1)
	txn.AfterCommit(ctx, func() { sc.epoch.Add(1) })
}

func (sc *sessionCache) close() {
	if sc != nil {
		sc.c.Close()
	}
}
