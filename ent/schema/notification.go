package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/kaowu/kaowu/internal/authz"
	"github.com/kaowu/kaowu/internal/viewer"
)

// Notification is an in-app message about a state change a person waits for.
type Notification struct{ ent.Schema }

// Mixin of Notification.
func (Notification) Mixin() []ent.Mixin { return []ent.Mixin{AuditMixin{}} }

// Fields of Notification.
func (Notification) Fields() []ent.Field {
	return []ent.Field{
		field.Int("user_id").Immutable().Annotations(entgql.Type("ID")),
		field.String("kind").Validate(maxRunes(64)).Immutable(),
		field.String("title").Validate(maxRunes(200)).Immutable(),
		field.Text("body").Optional().Immutable(),
		field.Time("created_at").Default(time.Now).Immutable().Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("read_at").Optional().Nillable(),
	}
}

// Edges of Notification.
func (Notification) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("notifications").Field("user_id").Unique().Required().Immutable().
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Indexes of Notification.
func (Notification) Indexes() []ent.Index {
	return []ent.Index{index.Fields("user_id", "created_at")}
}

// Annotations of Notification.
func (Notification) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of Notification: each person reads and marks their own.
func (Notification) Policy() ent.Policy {
	own := authz.Column("user_id", authz.Self)
	return privacy.Policy{
		Query: privacy.QueryPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.FilterQuery(own),
			privacy.AlwaysDenyRule(),
		},
		Mutation: privacy.MutationPolicy{
			authz.AllowSystem(),
			authz.DenyAnonymous(),
			authz.AllowOwn(authz.MutationSpec{Roles: viewer.AllRoles, Ops: ent.OpUpdateOne | ent.OpUpdate, Owner: own, Fields: []string{"read_at"}}),
			privacy.AlwaysDenyRule(),
		},
	}
}
