package tickets

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/download"
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
			download.WriteError(w, r, s.log(), apperr.New(apperr.NotFound, "文件不存在"))
			return
		}
		b, err := render(r.Context(), id)
		if err != nil {
			download.WriteError(w, r, s.log(), err)
			return
		}
		download.Write(w, r, "application/pdf", "inline", name+"-"+idText+".pdf", b)
	}
}
