// Package authz holds the privacy rules the ent schemas are built from.
//
// Rules here depend only on ent's generic packages and on internal/viewer, never
// on generated entity types, so the schema can be regenerated from scratch.
// Every policy ends in a deny: what is not explicitly allowed is refused.
package authz

import (
	"context"
	"reflect"
	"slices"

	"entgo.io/ent"
	"entgo.io/ent/entql"
	"entgo.io/ent/privacy"

	"github.com/kaowu/kaowu/internal/viewer"
)

// QueryRuleFunc adapts a function to a query rule.
type QueryRuleFunc func(context.Context, ent.Query) error

// EvalQuery implements privacy.QueryRule.
func (f QueryRuleFunc) EvalQuery(ctx context.Context, q ent.Query) error { return f(ctx, q) }

// both is a rule that evaluates the same function for queries and mutations.
type both func(context.Context) error

func (f both) EvalQuery(ctx context.Context, _ ent.Query) error       { return f(ctx) }
func (f both) EvalMutation(ctx context.Context, _ ent.Mutation) error { return f(ctx) }

// AllowSystem allows work running under viewer.SystemContext.
func AllowSystem() privacy.QueryMutationRule {
	return both(func(ctx context.Context) error {
		if viewer.IsSystem(ctx) {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// DenyAnonymous refuses requests without a viewer.
func DenyAnonymous() privacy.QueryMutationRule {
	return both(func(ctx context.Context) error {
		if viewer.FromContext(ctx) == nil {
			return privacy.Denyf("authz: login required")
		}
		return privacy.Skip
	})
}

// AllowRoles allows viewers having one of the roles.
func AllowRoles(roles ...viewer.Role) privacy.QueryMutationRule {
	return both(func(ctx context.Context) error {
		if viewer.FromContext(ctx).Is(roles...) {
			return privacy.Allow
		}
		return privacy.Skip
	})
}

// AllowAnyone allows every query, logged in or not.
func AllowAnyone() privacy.QueryRule {
	return QueryRuleFunc(func(context.Context, ent.Query) error { return privacy.Allow })
}

// DenyOps refuses the given mutation operations for everyone, system included.
// Use it first in a mutation policy for things that must never happen
// (deleting rooms, editing the audit log).
func DenyOps(ops ...ent.Op) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(_ context.Context, m ent.Mutation) error {
		for _, op := range ops {
			if m.Op().Is(op) {
				return privacy.Denyf("authz: %s %s is not allowed", m.Op(), m.Type())
			}
		}
		return privacy.Skip
	})
}

// Predicate builds an entql predicate for a viewer; ok=false skips the rule.
// entql keeps rules independent of generated types: every generated query and
// mutation exposes Filter().Where(entql.P).
type Predicate func(v *viewer.Viewer) (p entql.P, ok bool)

// Column compares a column to a value taken from the viewer.
func Column(column string, value func(*viewer.Viewer) int) Predicate {
	return func(v *viewer.Viewer) (entql.P, bool) {
		val := value(v)
		if val == 0 {
			return nil, false
		}
		return entql.FieldEQ(column, val), true
	}
}

// Through matches rows with an edge to a row whose column equals a value
// taken from the viewer (e.g. users whose profile names the viewer's company).
func Through(edge, column string, value func(*viewer.Viewer) int) Predicate {
	return func(v *viewer.Viewer) (entql.P, bool) {
		val := value(v)
		if val == 0 {
			return nil, false
		}
		return entql.HasEdgeWith(edge, entql.FieldEQ(column, val)), true
	}
}

// Self is the viewer's user id; Org the viewer's organisation id.
func Self(v *viewer.Viewer) int { return v.UserID }

// Org returns the viewer's organisation id (0 when none).
func Org(v *viewer.Viewer) int { return v.OrgID }

// Or joins predicates; predicates that do not apply are left out.
func Or(ps ...Predicate) Predicate {
	return func(v *viewer.Viewer) (entql.P, bool) {
		var out []entql.P
		for _, p := range ps {
			if f, ok := p(v); ok {
				out = append(out, f)
			}
		}
		switch len(out) {
		case 0:
			return nil, false
		case 1:
			return out[0], true
		}
		return entql.Or(out[0], out[1], out[2:]...), true
	}
}

// Static is a predicate that does not depend on the viewer.
func Static(p entql.P) Predicate {
	return func(*viewer.Viewer) (entql.P, bool) { return p, true }
}

// FilterQuery narrows queries of viewers with one of the roles (any role when
// none given; anonymous viewers too if anon) to rows matching p, then allows.
func FilterQuery(p Predicate, roles ...viewer.Role) privacy.QueryRule {
	return QueryRuleFunc(func(ctx context.Context, q ent.Query) error {
		v := viewer.FromContext(ctx)
		if v == nil || (len(roles) > 0 && !v.Is(roles...)) {
			return privacy.Skip
		}
		f, ok := p(v)
		if !ok {
			return privacy.Skip
		}
		if err := where(q, f); err != nil {
			return err
		}
		return privacy.Allow
	})
}

// FilterAnonymousQuery narrows queries without a viewer to rows matching p.
func FilterAnonymousQuery(p entql.P) privacy.QueryRule {
	return QueryRuleFunc(func(ctx context.Context, q ent.Query) error {
		if viewer.FromContext(ctx) != nil {
			return privacy.Skip
		}
		if err := where(q, p); err != nil {
			return err
		}
		return privacy.Allow
	})
}

// MutationSpec says which mutations a set of roles may make on their own rows.
type MutationSpec struct {
	Roles []viewer.Role
	Ops   ent.Op // allowed operations, e.g. ent.OpUpdateOne|ent.OpCreate
	// Owner narrows updates and deletes to the viewer's rows (required unless Ops is create only).
	Owner Predicate
	// OwnerField, for creates, must be set to OwnerValue(viewer) (e.g. site_id = viewer's org).
	OwnerField string
	OwnerValue func(*viewer.Viewer) int
	// Fields lists the only fields the role may set; empty means any.
	Fields []string
	// AnyRow allows updates of every row (for roles whose limit is the
	// fields, not the rows: a reviewer deciding any plan).
	AnyRow bool
}

// AllowOwn allows mutations described by spec, narrowing them to the viewer's rows.
func AllowOwn(spec MutationSpec) privacy.MutationRule {
	return privacy.MutationRuleFunc(func(ctx context.Context, m ent.Mutation) error {
		v := viewer.FromContext(ctx)
		if v == nil || !v.Is(spec.Roles...) || !spec.Ops.Is(m.Op()) {
			return privacy.Skip
		}
		if len(spec.Fields) > 0 {
			for _, f := range append(m.Fields(), m.ClearedFields()...) {
				if !slices.Contains(spec.Fields, f) {
					return privacy.Denyf("authz: %s may not change %s.%s", v.Role, m.Type(), f)
				}
			}
		}
		if m.Op().Is(ent.OpCreate) {
			if spec.OwnerField != "" {
				val, ok := m.Field(spec.OwnerField)
				if !ok || toInt(val) != spec.OwnerValue(v) || spec.OwnerValue(v) == 0 {
					return privacy.Denyf("authz: %s may only create %s for its own organisation", v.Role, m.Type())
				}
			}
			return privacy.Allow
		}
		if spec.OwnerField != "" {
			if val, ok := m.Field(spec.OwnerField); ok && toInt(val) != spec.OwnerValue(v) {
				return privacy.Denyf("authz: %s may not move %s to another owner", v.Role, m.Type())
			}
		}
		if spec.AnyRow {
			return privacy.Allow
		}
		if spec.Owner == nil {
			return privacy.Denyf("authz: no owner rule for %s", m.Type())
		}
		f, ok := spec.Owner(v)
		if !ok {
			return privacy.Skip
		}
		if err := where(m, f); err != nil {
			return err
		}
		return privacy.Allow
	})
}

func toInt(v ent.Value) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	}
	return -1
}

type filterer interface {
	Where(entql.P)
}

// where adds p to a generated query or mutation through its entql Filter().
func where(x any, p entql.P) error {
	if m := reflect.ValueOf(x).MethodByName("Filter"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
		if f, ok := m.Call(nil)[0].Interface().(filterer); ok {
			f.Where(p)
			return nil
		}
	}
	return privacy.Denyf("authz: cannot filter %T", x)
}
