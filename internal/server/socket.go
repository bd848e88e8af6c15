package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/internal/viewer"
)

type socketKey struct{}

// withSocket marks a context as belonging to an authenticated websocket: its
// viewer was checked once at connection_init, so later operations recheck.
func withSocket(ctx context.Context) context.Context {
	return context.WithValue(ctx, socketKey{}, true)
}

func onSocket(ctx context.Context) bool { b, _ := ctx.Value(socketKey{}).(bool); return b }

// revalidateSocket refuses a new operation on a socket whose session has been
// revoked or has expired since the connection was opened.
func revalidateSocket(a Authenticator) graphql.OperationMiddleware {
	return func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if onSocket(ctx) {
			if err := a.Revalidate(ctx, viewer.FromContext(ctx)); err != nil {
				_, msg, _ := classify(ctx, err)
				return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{{
					Message: msg, Extensions: map[string]any{"code": "UNAUTHENTICATED"},
				}}})
			}
		}
		return next(ctx)
	}
}
