package graph

// Small conversions between service results and what gqlgen wants, shared
// by the resolvers.

import (
	"encoding/base64"
	"path"
	"strings"
	"time"

	"github.com/kaowu/kaowu/ent/question"
	"github.com/kaowu/kaowu/ent/schema"
	"github.com/kaowu/kaowu/graph/model"
	"github.com/kaowu/kaowu/internal/certificate"
	"github.com/kaowu/kaowu/internal/exam/bank"
	"github.com/kaowu/kaowu/internal/pdf"
)

// ok turns a service call that returns only an error into a Boolean! result.
func ok(err error) (bool, error) { return err == nil, err }

// ptrs turns a service's value slice into the pointer slice gqlgen wants.
func ptrs[T any](xs []T, err error) ([]*T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(xs))
	for i := range xs {
		out[i] = &xs[i]
	}
	return out, nil
}

// ptr turns a service's value result into the pointer gqlgen wants.
func ptr[T any](v T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func optStr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func intOr(p *int, d int) int {
	if p == nil {
		return d
	}
	return *p
}

// bankFormat is the import format named by an uploaded file's extension;
// the service rejects anything else with a message naming the formats.
func bankFormat(filename string) string {
	return strings.TrimPrefix(strings.ToLower(path.Ext(filename)), ".")
}

func templateInput(in model.PaperTemplateInput) bank.TemplateInput {
	rules := make([]schema.PaperRule, len(in.Rules))
	for i, r := range in.Rules {
		rules[i] = schema.PaperRule{Type: string(r.Type), Category: deref(r.Category), Count: r.Count, Points: r.Points}
	}
	return bank.TemplateInput{ID: in.ID, SubjectID: in.SubjectID, Kind: in.Kind, Name: in.Name,
		DurationMinutes: in.DurationMinutes, PassMark: in.PassMark, Rules: rules, Active: in.Active}
}

func paperRules(rs []schema.PaperRule) []*model.PaperRule {
	out := make([]*model.PaperRule, len(rs))
	for i, r := range rs {
		pr := &model.PaperRule{Type: question.Type(r.Type), Count: r.Count, Points: r.Points}
		if r.Category != "" {
			c := r.Category
			pr.Category = &c
		}
		out[i] = pr
	}
	return out
}

// qrDataURL renders a QR code as a data: URL the page can show directly.
func qrDataURL(content string) (string, error) {
	png, err := pdf.QRCodePNG(content, 256)
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(png), nil
}

func timeOr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

func certificateFee(in model.CertificateFeeInput) certificate.FeeInput {
	return certificate.FeeInput{AmountCents: in.AmountCents, Method: in.Method, PaidAt: timeOr(in.PaidAt)}
}
