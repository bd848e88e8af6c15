package tickets

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/ent"
	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Paths served by Handler.
const (
	TicketPath = "/documents/tickets/" // + {enrollmentID}.pdf
	FormPath   = "/documents/forms/"   // + {enrollmentID}.pdf
)

// Handler serves
//
//	GET /documents/tickets/{enrollmentID}.pdf   admission ticket
//	GET /documents/forms/{enrollmentID}.pdf     registration form
//
// as application/pdf. The viewer comes from the request context
// (viewer.FromContext): mount it behind the same bearer-token middleware as
// /graphql. Errors answer JSON shaped like GraphQL errors
// ({"errors":[{"message","extensions":{"code",…}}]}) with a matching status.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+TicketPath+"{file}", s.serve(s.AdmissionTicket, "准考证"))
	mux.HandleFunc("GET "+FormPath+"{file}", s.serve(s.RegistrationForm, "报名表"))
	return mux
}

func (s *Service) serve(render func(context.Context, int) ([]byte, error), name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		idText, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
		id, err := strconv.Atoi(idText)
		if !ok || err != nil || id <= 0 || strconv.Itoa(id) != idText {
			writeError(w, r, s.log(), apperr.New(apperr.NotFound, "文件不存在"))
			return
		}
		b, err := render(r.Context(), id)
		if err != nil {
			writeError(w, r, s.log(), err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/pdf")
		h.Set("Content-Length", strconv.Itoa(len(b)))
		h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name + "-" + idText + ".pdf"}))
		// Personal data: never cached by shared caches or kept by the browser.
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(b)
		}
	}
}

// writeError maps service errors to an HTTP status and a GraphQL-like body.
// Unexpected errors are logged and answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
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
	}
	if status == http.StatusInternalServerError {
		log.ErrorContext(r.Context(), "document rendering failed", "path", r.URL.Path, "err", err)
	}
	ext["code"] = string(code)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []any{map[string]any{"message": msg, "extensions": ext}}})
}
