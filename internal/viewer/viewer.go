// Package viewer carries who is making a request through the context.
//
// It is set by the HTTP middleware (bearer token) and by the websocket init
// payload, and read by the privacy rules in internal/authz. System work
// (migrations, jobs, registration internals) runs under SystemContext, which
// only code inside this module can create.
package viewer

import "context"

// Role is an account role. The values match the ent enum user.Role.
type Role string

// Roles, see DOMAIN.md.
const (
	Candidate   Role = "CANDIDATE"
	Company     Role = "COMPANY"
	TrainingOrg Role = "TRAINING_ORG"
	ExamSite    Role = "EXAM_SITE"
	Reviewer    Role = "REVIEWER"
	Proctor     Role = "PROCTOR"
	Admin       Role = "ADMIN"
)

// AllRoles lists every role, in DOMAIN.md order.
var AllRoles = []Role{Candidate, Company, TrainingOrg, ExamSite, Reviewer, Proctor, Admin}

// Staff reports whether accounts of this role are created by ADMIN only.
func (r Role) Staff() bool { return r != Candidate && r != Company && r != "" }

// Viewer is the authenticated account behind a request.
type Viewer struct {
	UserID    int
	Role      Role
	OrgID     int // organisation of staff and company accounts; 0 if none
	SessionID int
}

// Is reports whether the viewer has one of the roles.
func (v *Viewer) Is(roles ...Role) bool {
	if v == nil {
		return false
	}
	for _, r := range roles {
		if v.Role == r {
			return true
		}
	}
	return false
}

type ctxKey int

const (
	viewerKey ctxKey = iota
	systemKey
	requestKey
)

// NewContext returns ctx carrying v.
func NewContext(ctx context.Context, v *Viewer) context.Context {
	return context.WithValue(ctx, viewerKey, v)
}

// FromContext returns the viewer, or nil for an anonymous request.
func FromContext(ctx context.Context) *Viewer {
	v, _ := ctx.Value(viewerKey).(*Viewer)
	return v
}

// SystemContext marks ctx as system work: privacy rules allow everything.
// Use it only in code that has already decided the caller may do what follows.
func SystemContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, systemKey, true)
}

// IsSystem reports whether ctx was made by SystemContext.
func IsSystem(ctx context.Context) bool {
	b, _ := ctx.Value(systemKey).(bool)
	return b
}

// Request describes the HTTP request behind the context, for audit and throttling.
type Request struct {
	IP        string
	UserAgent string
	Operation string // GraphQL field name of the mutation, when known
}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, requestKey, r)
}

// RequestFrom returns the request info, or an empty one.
func RequestFrom(ctx context.Context) *Request {
	if r, ok := ctx.Value(requestKey).(*Request); ok && r != nil {
		return r
	}
	return &Request{}
}
