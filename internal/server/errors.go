package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"entgo.io/ent/privacy"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// presentError maps every error to a GraphQL error with extensions.code and a
// message a person can act on. Internals (SQL, stack traces) are logged, never sent.
func presentError(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		cause := err.Error() // before the message is replaced below (gerr may be err itself)
		gerr := graphql.DefaultErrorPresenter(ctx, err)
		// Errors gqlgen made itself (parse, validation, limits) already carry a code.
		var own *gqlerror.Error
		if errors.As(err, &own) && own.Err == nil {
			if gerr.Extensions == nil || gerr.Extensions["code"] == nil {
				setCode(gerr, string(apperr.BadInput))
			}
			return gerr
		}
		code, msg, ext := classify(ctx, err)
		gerr.Message = msg
		if gerr.Extensions == nil {
			gerr.Extensions = map[string]any{}
		}
		gerr.Extensions["code"] = string(code)
		for k, v := range ext {
			gerr.Extensions[k] = v
		}
		if code == apperr.Internal {
			log.ErrorContext(ctx, "internal error", "path", gerr.Path.String(), "err", cause)
		}
		return gerr
	}
}

func setCode(e *gqlerror.Error, code string) {
	if e.Extensions == nil {
		e.Extensions = map[string]any{}
	}
	e.Extensions["code"] = code
}

func classify(ctx context.Context, err error) (apperr.Code, string, map[string]any) {
	if e, ok := apperr.As(err); ok {
		ext := map[string]any{}
		for k, v := range e.Extra {
			ext[k] = v
		}
		if e.Field != "" {
			ext["field"] = e.Field
		}
		return e.Code, e.Message, ext
	}
	var verr *ent.ValidationError
	switch {
	case errors.Is(err, privacy.Deny):
		if viewer.FromContext(ctx) == nil {
			return apperr.Unauthenticated, "请先登录", nil
		}
		return apperr.Forbidden, "没有权限执行此操作", nil
	case ent.IsNotFound(err):
		return apperr.NotFound, "记录不存在或无权查看", nil
	case errors.As(err, &verr):
		return apperr.BadInput, fmt.Sprintf("输入无效：%s", verr.Name), map[string]any{"field": verr.Name}
	case ent.IsConstraintError(err):
		return apperr.Conflict, "数据冲突：记录已存在或仍被引用", nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "TIMEOUT", "请求超时，请重试", nil
	}
	return apperr.Internal, "服务器内部错误，请稍后重试", nil
}

// recoverFunc turns a resolver panic into an INTERNAL error and logs the stack.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return apperr.New(apperr.Internal, "服务器内部错误，请稍后重试")
	}
}
