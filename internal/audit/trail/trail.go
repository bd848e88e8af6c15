// Package trail captures which rows a bulk change touches, from inside the
// entity's privacy hook, for the audit hook outside it.
//
// Hooks installed with client.Use (the audit hook) run before the schema's
// privacy policy narrows a mutation, so they cannot see which rows it will
// touch. The schema mixins install Hook, which runs after the policy, and
// hands the IDs out through the context.
package trail

import (
	"context"

	"entgo.io/ent"

	"github.com/kaowu/kaowu/internal/viewer"
)

// Rows receives the IDs of a bulk update or delete.
type Rows struct {
	IDs []int
	Set bool
}

type key struct{}

// With returns a context in which Hook records into the returned Rows.
func With(ctx context.Context) (context.Context, *Rows) {
	r := &Rows{}
	return context.WithValue(ctx, key{}, r), r
}

// Hook records the IDs a bulk update or delete is about to touch, with every
// predicate (privacy filters included) already applied.
func Hook(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if r, ok := ctx.Value(key{}).(*Rows); ok && !r.Set && m.Op().Is(ent.OpUpdate|ent.OpDelete) {
			if q, ok := m.(interface {
				IDs(context.Context) ([]int, error)
			}); ok {
				ids, err := q.IDs(viewer.SystemContext(ctx))
				if err != nil {
					return nil, err
				}
				r.IDs, r.Set = ids, true
			}
		}
		return next.Mutate(ctx, m)
	})
}
