package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// depthLimit refuses operations nested deeper than Max (introspection fields
// excluded, so tools keep working where introspection is enabled).
type depthLimit struct{ Max int }

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, oc.Doc.Fragments, 0, map[string]bool{}); depth > d.Max {
		e := gqlerror.Errorf("查询嵌套过深（%d层，最多%d层）", depth, d.Max)
		setCode(e, "QUERY_TOO_DEEP")
		return e
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, frags ast.FragmentDefinitionList, depth int, seen map[string]bool) int {
	maxDepth := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			if strings.HasPrefix(s.Name, "__") {
				continue
			}
			d = selectionDepth(s.SelectionSet, frags, depth+1, seen)
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, frags, depth, seen)
		case *ast.FragmentSpread:
			if seen[s.Name] { // cycles are a validation error; do not loop
				continue
			}
			if f := frags.ForName(s.Name); f != nil {
				seen[s.Name] = true
				d = selectionDepth(f.SelectionSet, frags, depth, seen)
				delete(seen, s.Name)
			}
		}
		maxDepth = max(maxDepth, d)
	}
	return maxDepth
}

// MaxPageSize bounds first/last on every connection: reporting tools page.
const MaxPageSize = 1000

// aroundFields checks page sizes and records the mutation field for audit.
func aroundFields(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc != nil && fc.Args != nil {
		for _, name := range []string{"first", "last"} {
			if v, ok := fc.Args[name].(*int); ok && v != nil && (*v < 0 || *v > MaxPageSize) {
				return nil, apperr.Input(name, fmt.Sprintf("%s 必须在0到%d之间", name, MaxPageSize))
			}
		}
	}
	return next(ctx)
}

// aroundRootFields names the mutation in the context, for the audit log.
func aroundRootFields(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	oc := graphql.GetOperationContext(ctx)
	if oc.Operation != nil && oc.Operation.Operation == ast.Mutation {
		rc := graphql.GetRootFieldContext(ctx)
		req := *viewer.RequestFrom(ctx)
		req.Operation = rc.Field.Name
		ctx = viewer.WithRequest(ctx, &req)
	}
	return next(ctx)
}
