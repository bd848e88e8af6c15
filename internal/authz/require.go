package authz

import (
	"context"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Require returns the viewer when it has one of the roles (any role when none
// given): UNAUTHENTICATED without a login, FORBIDDEN with the wrong role.
// Services use it for checks that are about the caller, not about a row;
// row-level rules stay in the privacy policies.
func Require(ctx context.Context, forbidden string, roles ...viewer.Role) (*viewer.Viewer, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "请先登录")
	}
	if len(roles) > 0 && !v.Is(roles...) {
		return nil, apperr.New(apperr.Forbidden, forbidden)
	}
	return v, nil
}
