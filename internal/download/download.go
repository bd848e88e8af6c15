// Package download writes the files kaowu serves outside GraphQL (PDFs,
// question-bank exports) and their errors, in one shape: errors answer JSON
// like GraphQL errors ({"errors":[{"message","extensions":{"code",…}}]})
// with a matching HTTP status, so clients handle both the same way.
package download

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Write sends b as a file. Disposition is "inline" (shown by the browser)
// or "attachment" (saved). Files here hold personal data: never cached.
func Write(w http.ResponseWriter, r *http.Request, contentType, disposition, filename string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": filename}))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// WriteError maps a service error to an HTTP status and a GraphQL-like
// body. Unexpected errors are logged and answered with a generic message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code, msg := apperr.Internal, "服务器内部错误，请稍后重试"
	ext := map[string]any{}
	if e, ok := apperr.As(err); ok {
		code, msg = e.Code, e.Message
		for k, v := range e.Extra {
			ext[k] = v
		}
		if e.Field != "" {
			ext["field"] = e.Field
		}
	} else if errors.Is(err, privacy.Deny) {
		code, msg = apperr.Forbidden, "没有权限执行此操作"
		if viewer.FromContext(r.Context()) == nil {
			code, msg = apperr.Unauthenticated, "请先登录"
		}
	} else if ent.IsNotFound(err) {
		code, msg = apperr.NotFound, "记录不存在或无权查看"
	}
	status := http.StatusInternalServerError
	switch code {
	case apperr.Unauthenticated:
		status = http.StatusUnauthorized
	case apperr.Forbidden:
		status = http.StatusForbidden
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.BadInput:
		status = http.StatusBadRequest
	case apperr.Conflict:
		status = http.StatusConflict
	case apperr.TooManyRequests:
		status = http.StatusTooManyRequests
	}
	if status == http.StatusInternalServerError {
		if log == nil {
			log = slog.Default()
		}
		log.ErrorContext(r.Context(), "download failed", "path", r.URL.Path, "err", err)
	}
	ext["code"] = string(code)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": ext}}})
}
