package server

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/kaowu/kaowu/internal/apperr"
	"github.com/kaowu/kaowu/internal/viewer"
)

// MaxPageSize bounds first/last on every connection: reporting tools page.
const MaxPageSize = 1000

// operationLimits refuses, before anything runs, an operation nested deeper
// than MaxDepth (introspection fields excluded, so tools keep working where
// introspection is enabled) or asking any connection for a page outside
// 0..MaxPageSize (first or last, literal or variable). One walk over the
// operation checks both, once per operation: a field middleware would run
// for every field of every result, including each subscription event.
type operationLimits struct{ MaxDepth int }

func (operationLimits) ExtensionName() string                   { return "OperationLimits" }
func (operationLimits) Validate(graphql.ExecutableSchema) error { return nil }
func (l operationLimits) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	depth := 0
	var pageErr *gqlerror.Error
	walkFields(oc.Operation.SelectionSet, oc.Doc.Fragments, 1, map[string]bool{}, func(f *ast.Field, d int) bool {
		if strings.HasPrefix(f.Name, "__") {
			return false
		}
		depth = max(depth, d)
		if pageErr == nil {
			pageErr = checkPage(f, oc.Variables)
		}
		return true
	})
	if depth > l.MaxDepth {
		e := gqlerror.Errorf("查询嵌套过深（%d层，最多%d层）", depth, l.MaxDepth)
		setCode(e, "QUERY_TOO_DEEP")
		return e
	}
	return pageErr
}

// walkFields calls visit for every field of set at depth (fragments
// expanded, which add no depth) and goes into the field's own selections
// when visit returns true.
func walkFields(set ast.SelectionSet, frags ast.FragmentDefinitionList, depth int, onPath map[string]bool, visit func(*ast.Field, int) bool) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if visit(s, depth) {
				walkFields(s.SelectionSet, frags, depth+1, onPath, visit)
			}
		case *ast.InlineFragment:
			walkFields(s.SelectionSet, frags, depth, onPath, visit)
		case *ast.FragmentSpread:
			// Cycles are a validation error; do not loop on them.
			if f := frags.ForName(s.Name); f != nil && !onPath[s.Name] {
				onPath[s.Name] = true
				walkFields(f.SelectionSet, frags, depth, onPath, visit)
				delete(onPath, s.Name)
			}
		}
	}
}

// checkPage refuses a first or last argument of f outside 0..MaxPageSize.
func checkPage(f *ast.Field, vars map[string]any) *gqlerror.Error {
	if f.Definition == nil || len(f.Arguments) == 0 {
		return nil
	}
	args := f.ArgumentMap(vars)
	for _, name := range []string{"first", "last"} {
		if n, ok := pageArg(args[name]); ok && (n < 0 || n > MaxPageSize) {
			e := gqlerror.Errorf("%s 必须在0到%d之间", name, MaxPageSize)
			setCode(e, string(apperr.BadInput))
			e.Extensions["field"] = name
			return e
		}
	}
	return nil
}

// pageArg reads an Int argument as gqlparser gives it: int64 from a
// literal, int64 or json.Number from a variable, nil when absent.
func pageArg(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		return int64(n), true
	}
	return 0, false
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
