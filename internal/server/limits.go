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

// pageLimit refuses an operation that asks any connection for a page
// outside 0..MaxPageSize (first or last, literal or variable), before
// anything runs. Checked once per operation rather than in a field
// middleware: a middleware runs for every field of every result, including
// each event of every subscription.
type pageLimit struct{}

func (pageLimit) ExtensionName() string                   { return "PageLimit" }
func (pageLimit) Validate(graphql.ExecutableSchema) error { return nil }
func (pageLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	return checkPages(oc.Operation.SelectionSet, oc.Doc.Fragments, oc.Variables, map[string]bool{})
}

func checkPages(set ast.SelectionSet, frags ast.FragmentDefinitionList, vars map[string]any, seen map[string]bool) *gqlerror.Error {
	for _, sel := range set {
		var err *gqlerror.Error
		switch s := sel.(type) {
		case *ast.Field:
			if s.Definition != nil && len(s.Arguments) > 0 {
				args := s.ArgumentMap(vars)
				for _, name := range []string{"first", "last"} {
					if n, ok := pageArg(args[name]); ok && (n < 0 || n > MaxPageSize) {
						e := gqlerror.Errorf("%s 必须在0到%d之间", name, MaxPageSize)
						setCode(e, string(apperr.BadInput))
						e.Extensions["field"] = name
						return e
					}
				}
			}
			err = checkPages(s.SelectionSet, frags, vars, seen)
		case *ast.InlineFragment:
			err = checkPages(s.SelectionSet, frags, vars, seen)
		case *ast.FragmentSpread:
			if f := frags.ForName(s.Name); f != nil && !seen[s.Name] {
				seen[s.Name] = true // a fragment is checked once, wherever it is spread
				err = checkPages(f.SelectionSet, frags, vars, seen)
			}
		}
		if err != nil {
			return err
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
