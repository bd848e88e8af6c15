package certificate

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/download"
)

// Paths served outside GraphQL.
const (
	// PDFPath + {id}.pdf: the certificate PDF for the holder, the issuing
	// site and ADMIN (mount behind the bearer-token middleware).
	PDFPath = "/documents/certificates/"
	// KeysPath: the published verification keys (public).
	KeysPath = "/verify/keys.json"
)

// PDFPathOf is the download path of a certificate's PDF.
func PDFPathOf(id int) string { return PDFPath + strconv.Itoa(id) + ".pdf" }

// PDFHandler serves GET PDFPath{id}.pdf.
func (s *Service) PDFHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PDFPath+"{file}", func(w http.ResponseWriter, r *http.Request) {
		idText, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
		id, err := strconv.Atoi(idText)
		if !ok || err != nil || id <= 0 || strconv.Itoa(id) != idText {
			download.WriteError(w, r, s.log(), apperr.New(apperr.NotFound, "文件不存在"))
			return
		}
		b, err := s.PDF(r.Context(), id)
		if err != nil {
			download.WriteError(w, r, s.log(), err)
			return
		}
		download.Write(w, r, "application/pdf", "inline", "证书-"+idText+".pdf", b)
	})
	return mux
}

// KeysHandler serves the public keys that verify certificate QR codes, for
// `kaowu verify-cert --keys` and anyone checking offline.
func (s *Service) KeysHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		b, err := json.MarshalIndent(s.PublicKeys(), "", "  ")
		if err != nil {
			download.WriteError(w, r, s.log(), err)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(b)
		}
	})
}
