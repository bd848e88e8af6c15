package server

import (
	"context"

	"github.com/dgraph-io/ristretto/v2"
)

// ristrettoCache adapts ristretto to gqlgen's cache interface. It backs the
// parsed-query and persisted-query caches only: entries may be dropped or land
// late, which costs a re-parse or a PersistedQueryNotFound round trip, nothing
// more. Nothing that must be exact (seats, answers, payments) is cached; the
// short-lived session cache is internal/auth's, with its own invalidation.
type ristrettoCache[T any] struct {
	c    *ristretto.Cache[string, T]
	cost func(T) int64
}

func newRistrettoCache[T any](maxCost int64, cost func(T) int64) (*ristrettoCache[T], error) {
	c, err := ristretto.NewCache(&ristretto.Config[string, T]{
		NumCounters: maxCost / 100,
		MaxCost:     maxCost,
		BufferItems: 64,
	})
	if err != nil {
		return nil, err
	}
	return &ristrettoCache[T]{c: c, cost: cost}, nil
}

func (r *ristrettoCache[T]) Get(_ context.Context, key string) (T, bool) { return r.c.Get(key) }

func (r *ristrettoCache[T]) Add(_ context.Context, key string, value T) {
	r.c.Set(key, value, r.cost(value))
}

func (r *ristrettoCache[T]) Close() { r.c.Close() }
