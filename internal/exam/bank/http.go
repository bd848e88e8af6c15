package bank

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/download"
)

// ExportPath serves a subject's question bank as a file:
//
//	GET /exports/questions?subjectID=<id>&format=xlsx|csv
//
// for the viewer of the request context (mount it behind the bearer-token
// middleware, like /graphql). Export checks the role.
const ExportPath = "/exports/questions"

// Handler serves ExportPath.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ExportPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		id, err := strconv.Atoi(q.Get("subjectID"))
		if err != nil || id <= 0 {
			download.WriteError(w, r, nil, apperr.Input("subjectID", "请选择科目"))
			return
		}
		format := strings.ToLower(q.Get("format"))
		if format == "" {
			format = FormatXLSX
		}
		var buf bytes.Buffer
		if err := s.Export(r.Context(), id, format, &buf); err != nil {
			download.WriteError(w, r, nil, err)
			return
		}
		ct := "text/csv; charset=utf-8"
		if format == FormatXLSX {
			ct = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
		}
		download.Write(w, r, ct, "attachment", "题库-"+strconv.Itoa(id)+"."+format, buf.Bytes())
	})
	return mux
}
