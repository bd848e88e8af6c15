// Package graph holds the GraphQL resolvers. They stay thin: each parses its
// arguments, makes one call into ent or a service in internal/, and returns.
package graph

import (
	"context"
	"encoding/json"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/graph/generated"
	"github.com/kaowu/kaowu/graph/model"
	"github.com/kaowu/kaowu/internal/app"
	"github.com/kaowu/kaowu/internal/auth"
	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/events"
	"github.com/kaowu/kaowu/internal/txn"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Resolver is the root resolver; it reaches the services through the app.
type Resolver struct {
	*app.App
	evMemo *evMemo
}

// Schema builds the executable schema of a wired app (see app.Options.Schema).
func Schema(a *app.App) graphql.ExecutableSchema {
	return generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{App: a, evMemo: &evMemo{}}})
}

// db is the transaction of the current mutation, or the client.
func (r *Resolver) db(ctx context.Context) *ent.Client { return txn.Client(ctx, r.Client) }

func requireViewer(ctx context.Context) (*viewer.Viewer, error) { return authz.Require(ctx, "") }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// SessionCheckEvery is how often a long-running subscription rechecks that
// its session is still live; a revoked session's subscriptions end by then.
var SessionCheckEvery = time.Minute

// pump is every subscription's loop: it delivers what conv makes of the
// events of src (and of also, when not nil; conv returns false to skip
// one) until the subscription ends, the viewer's session does, or a recheck
// fails on the periodic check every SessionCheckEvery. Every send watches
// ctx; cancel (which ends the sources) runs when it stops.
func pump[E, T any](ctx context.Context, cancel context.CancelFunc, r *Resolver, src, also <-chan E,
	conv func(context.Context, E) (T, bool), recheck ...func(context.Context) error) <-chan T {
	out := make(chan T, 1)
	v := viewer.FromContext(ctx)
	go func() {
		defer cancel()
		defer close(out)
		tick := time.NewTicker(SessionCheckEvery)
		defer tick.Stop()
		for {
			var e E
			var ok bool
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if r.Auth.Revalidate(ctx, v) != nil {
					return
				}
				for _, f := range recheck {
					if f(ctx) != nil {
						return
					}
				}
				continue
			case e, ok = <-src:
			case e, ok = <-also: // never ready when nil
			}
			if !ok {
				return
			}
			item, send := conv(ctx, e)
			if !send {
				continue
			}
			select {
			case out <- item:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// forward turns bus events carrying {"id": n} into entities loaded with the
// subscriber's own context (so privacy applies to every pushed item).
func forward[T any](ctx context.Context, r *Resolver, topic string, load func(context.Context, int) (T, error)) (<-chan T, error) {
	ctx, cancel := context.WithCancel(ctx)
	evts, err := r.Bus.Subscribe(ctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	return pump(ctx, cancel, r, evts, nil, func(ctx context.Context, e events.Event) (T, bool) {
		var p struct {
			ID int `json:"id"`
		}
		var zero T
		if json.Unmarshal(e.Payload, &p) != nil || p.ID == 0 {
			return zero, false
		}
		item, err := load(ctx, p.ID)
		if err != nil {
			return zero, false // deleted, or not visible to this viewer
		}
		return item, true
	}), nil
}

func loginPayload(res *auth.LoginResult, err error) (*model.LoginPayload, error) {
	if err != nil {
		return nil, err
	}
	p := &model.LoginPayload{User: res.User}
	if res.Token != "" {
		p.Token, p.ExpiresAt = &res.Token, &res.ExpiresAt
	}
	if res.Challenge != "" {
		p.Challenge, p.PhoneMasked = &res.Challenge, &res.PhoneMasked
	}
	return p, nil
}
