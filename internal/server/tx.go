package server

import (
	"context"
	"slices"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// allRootFieldsIn reports whether every root field of a mutation is in names.
func allRootFieldsIn(op *ast.OperationDefinition, names []string) bool {
	if op == nil || op.Operation != ast.Mutation || len(op.SelectionSet) == 0 {
		return false
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok || !slices.Contains(names, f.Name) {
			return false
		}
	}
	return true
}

// selfTransacting refuses operations that mix self-transacting mutations
// with others: the others would silently lose their shared transaction.
type selfTransacting []string

func (selfTransacting) ExtensionName() string                   { return "SelfTransacting" }
func (selfTransacting) Validate(graphql.ExecutableSchema) error { return nil }

func (s selfTransacting) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	op := oc.Operation
	if op == nil || op.Operation != ast.Mutation || allRootFieldsIn(op, s) {
		return nil
	}
	for _, sel := range op.SelectionSet {
		if f, ok := sel.(*ast.Field); ok && slices.Contains(s, f.Name) {
			e := gqlerror.Errorf("%s 须单独提交，不能与其他操作放在同一请求中", f.Name)
			setCode(e, "BAD_USER_INPUT")
			return e
		}
	}
	return nil
}
